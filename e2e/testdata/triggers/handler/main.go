// Command handler is the custom handler of funcd's trigger end-to-end tests.
// It appends every invocation's function name and payload, as one JSON line,
// to the file "calls.jsonl" of its working directory (the app root), synced
// before it answers, so that a test can see what each function received even
// across crashes of the host.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
)

type invocation struct {
	Data     map[string]json.RawMessage
	Metadata map[string]json.RawMessage
}

// call is one line of calls.jsonl.
type call struct {
	Function string          `json:"function"`
	Payload  json.RawMessage `json:"payload"`
}

type journal struct {
	mu sync.Mutex
	f  *os.File
}

func (j *journal) add(fn string, payload []byte) error {
	line, err := json.Marshal(call{Function: fn, Payload: payload})
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(append(line, '\n')); err != nil {
		return err
	}
	return j.f.Sync()
}

// text decodes a string binding value, which the host sends double-encoded
// (a JSON string holding a JSON string); a singly encoded one is accepted too.
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return string(raw)
	}
	var inner string
	if json.Unmarshal([]byte(s), &inner) == nil {
		return inner
	}
	return s
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func main() {
	f, err := os.OpenFile("calls.jsonl", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// A line cut short by a kill ends here, so that the next one starts
	// on its own line.
	if b, err := os.ReadFile("calls.jsonl"); err == nil && len(b) > 0 && b[len(b)-1] != '\n' {
		_, _ = f.Write([]byte("\n"))
	}
	j := &journal{f: f}
	// Tests that kill the host kill its orphaned handler by this pid.
	if err := os.WriteFile("handler.pid", []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			return // readiness probe
		}
		raw, _ := io.ReadAll(r.Body)
		fn := strings.TrimPrefix(r.URL.Path, "/")
		if err := j.add(fn, raw); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		var inv invocation
		_ = json.Unmarshal(raw, &inv)
		switch fn {
		case "queuefanout":
			msg := text(inv.Data["msg"])
			reply(w, map[string]any{"Outputs": map[string]any{"out": []any{
				"first of " + msg, "second of " + msg, map[string]any{"from": msg},
			}}})
		case "httpqueue":
			// The "!" keeps the text from being valid base64 once the host's
			// base64 quirk drops its spaces (host.md 1.5).
			reply(w, map[string]any{"Outputs": map[string]any{
				"res": map[string]any{"statusCode": "201", "body": "queued"},
				"out": "sent over http!",
			}})
		case "queuefail":
			http.Error(w, "failing on purpose", http.StatusInternalServerError)
		case "blobcopy":
			reply(w, map[string]any{"Outputs": map[string]any{"copy": text(inv.Data["blob"])}})
		default:
			reply(w, map[string]any{})
		}
	})
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if err := http.ListenAndServe("127.0.0.1:"+port, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
