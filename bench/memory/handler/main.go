// Command handler is the custom handler of the memory benchmark: it reads
// and discards each request body and answers with its length, in the JSON
// protocol (POST /big) and in forwarding mode (POST /api/big). GET /ten and
// GET /api/ten answer 10 MiB, in the JSON protocol and in forwarding mode.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// tenMiB is the size of the GET /ten and /api/ten bodies.
const tenMiB = 10 << 20

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("POST /big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"Outputs":{"res":{"body":"%d"}}}`, n)
	})
	mux.HandleFunc("POST /api/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, strconv.FormatInt(n, 10))
	})
	ten := strings.Repeat("0123456789abcdef", tenMiB/16)
	mux.HandleFunc("GET /api/ten", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(ten)))
		_, _ = io.WriteString(w, ten)
	})
	tenJSON := `{"Outputs":{"res":{"statusCode":200,"body":"` + ten + `"}}}`
	mux.HandleFunc("POST /ten", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, tenJSON)
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"), mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
