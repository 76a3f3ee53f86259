// Command scaleouthandler is the custom handler of the scale-out test. Its
// queue function appends "<pid> <message>" to the file $SCALEOUT_LOG, its
// timer function "<pid> tick <unix milliseconds> <ScheduleStatus.Last>";
// each line is one write to a file opened with O_APPEND, so that several
// processes can share the file.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"
)

type invocation struct {
	Data map[string]json.RawMessage
}

// appendLine writes line to the shared log in one write.
func appendLine(line string) error {
	f, err := os.OpenFile(os.Getenv("SCALEOUT_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte(line + "\n")); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func handle(w http.ResponseWriter, r *http.Request, line func(invocation) (string, error)) {
	var inv invocation
	if err := json.NewDecoder(r.Body).Decode(&inv); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	l, err := line(inv)
	if err == nil {
		err = appendLine(l)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"Outputs":{},"Logs":[],"ReturnValue":null}`))
}

func main() {
	pid := os.Getpid()
	http.HandleFunc("POST /work", func(w http.ResponseWriter, r *http.Request) {
		handle(w, r, func(inv invocation) (string, error) {
			var msg string
			if err := json.Unmarshal(inv.Data["msg"], &msg); err != nil {
				return "", fmt.Errorf("msg: %w", err)
			}
			// The host double-encodes string data, as the Azure Functions
			// host does: the text arrives as a JSON string in a JSON string.
			var text string
			if json.Unmarshal([]byte(msg), &text) == nil {
				msg = text
			}
			// A little work, so that one host cannot drain the queue alone.
			time.Sleep(20 * time.Millisecond)
			return fmt.Sprintf("%d %s", pid, msg), nil
		})
	})
	http.HandleFunc("POST /tick", func(w http.ResponseWriter, r *http.Request) {
		handle(w, r, func(inv invocation) (string, error) {
			var timer struct {
				ScheduleStatus *struct{ Last string }
			}
			_ = json.Unmarshal(inv.Data["timer"], &timer)
			last := "-"
			if timer.ScheduleStatus != nil && timer.ScheduleStatus.Last != "" {
				last = timer.ScheduleStatus.Last
			}
			return fmt.Sprintf("%d tick %d %s", pid, time.Now().UnixMilli(), last), nil
		})
	})
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" {
		port = "8080"
	}
	if err := http.ListenAndServe("127.0.0.1:"+port, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
