// Command queuehandler is the no-op Azure Functions custom handler of the
// queue benchmark (bench/cmd/queuebench). funcd invokes it with POST /drain
// for every message of the benchmark's queue; it answers at once, after
// appending one line to the file $QUEUEBENCH_RECORDS:
//
//	<kind> <enqueued> <received>
//
// kind is the message's first byte ('t' for a pre-filled message, 'l' for
// one of the paced latency run), enqueued the Unix time in nanoseconds that
// the message's text carries after '=' ("t=1733..."), and received the
// handler's own clock when the request arrived. The file is opened for
// appending and each line is written with a single write, so lines from
// concurrent invocations never interleave.
//
// It listens on 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT, as funcd starts it.
package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// reply is the custom-handler reply of a function without outputs.
const reply = `{"Outputs":{},"Logs":[],"ReturnValue":null}`

func main() {
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	path := os.Getenv("QUEUEBENCH_RECORDS")
	if port == "" || path == "" {
		fmt.Fprintln(os.Stderr, "queuehandler: set FUNCTIONS_CUSTOMHANDLER_PORT and QUEUEBENCH_RECORDS")
		os.Exit(2)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "queuehandler:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /drain", func(w http.ResponseWriter, r *http.Request) {
		received := time.Now().UnixNano()
		body, _ := io.ReadAll(r.Body)
		kind, enqueued := parse(body)
		line := make([]byte, 0, 48)
		line = append(line, kind, ' ')
		line = strconv.AppendInt(line, enqueued, 10)
		line = append(line, ' ')
		line = strconv.AppendInt(line, received, 10)
		line = append(line, '\n')
		if _, err := f.Write(line); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, reply)
	})
	mux.HandleFunc("GET /", func(http.ResponseWriter, *http.Request) {})
	srv := &http.Server{Addr: "127.0.0.1:" + port, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "queuehandler:", err)
		os.Exit(1)
	}
}

// parse finds the message text "k=<nanoseconds>" in the invocation payload
// (where it is a JSON string, in Data) and returns k and the number; '?'
// and 0 when there is none.
func parse(payload []byte) (byte, int64) {
	for _, k := range []byte{'t', 'l'} {
		i := bytes.Index(payload, []byte{'"', k, '='})
		if i < 0 {
			continue
		}
		digits := payload[i+3:]
		n := 0
		for n < len(digits) && '0' <= digits[n] && digits[n] <= '9' {
			n++
		}
		v, err := strconv.ParseInt(string(digits[:n]), 10, 64)
		if err == nil {
			return k, v
		}
	}
	return '?', 0
}
