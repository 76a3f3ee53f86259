// Command jsschema writes the FunctionRpc schema module of the Node.js
// worker (see package jsschema).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/funcd/funcd/worker/grpcworker/internal/jsschema"
)

func main() {
	out := flag.String("o", "", "the file to write (default: standard output)")
	flag.Parse()
	b, err := jsschema.Generate()
	if err == nil {
		if *out == "" {
			_, err = os.Stdout.Write(b)
		} else {
			err = os.WriteFile(*out, b, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "jsschema:", err)
		os.Exit(1)
	}
}
