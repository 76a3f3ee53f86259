// Command scaleouthandler is the custom handler of the scale-out test. It
// appends one line per invocation to the file $SCALEOUT_LOG, each starting
// with the host's name ($SCALEOUT_HOST) and the handler's pid:
//
//	<host> <pid> work <message>
//	<host> <pid> held <message>
//	<host> <pid> blob <name>
//	<host> <pid> tick <unix milliseconds> <ScheduleStatus.Last>
//
// A queue message "hold <host> <n>" is handled at once by every host but
// the one it names, where it is logged as held and never finishes, so that
// the host has messages in flight when it is killed. Each line is one write
// to a file opened with O_APPEND, so that several processes can share the
// file. The handler exits when funcd, its parent, is gone.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

type invocation struct {
	Data     map[string]json.RawMessage
	Metadata map[string]json.RawMessage
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

// text decodes a string the host sends as JSON; string data arrives
// double-encoded, as the Azure Functions host sends it: a JSON string in a
// JSON string.
func text(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	var inner string
	if json.Unmarshal([]byte(s), &inner) == nil {
		s = inner
	}
	return s, nil
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
	host := os.Getenv("SCALEOUT_HOST")
	prefix := fmt.Sprintf("%s %d ", host, os.Getpid())
	http.HandleFunc("POST /work", func(w http.ResponseWriter, r *http.Request) {
		handle(w, r, func(inv invocation) (string, error) {
			msg, err := text(inv.Data["msg"])
			if err != nil {
				return "", fmt.Errorf("msg: %w", err)
			}
			if f := strings.Fields(msg); len(f) == 3 && f[0] == "hold" && f[1] == host {
				if err := appendLine(prefix + "held " + msg); err != nil {
					return "", err
				}
				<-r.Context().Done() // until the host is killed
				return "", errors.New("held until the host went away")
			}
			// A little work, so that one host cannot drain the queue alone.
			time.Sleep(20 * time.Millisecond)
			return prefix + "work " + msg, nil
		})
	})
	http.HandleFunc("POST /inbox", func(w http.ResponseWriter, r *http.Request) {
		handle(w, r, func(inv invocation) (string, error) {
			name, err := text(inv.Metadata["name"])
			if err != nil {
				return "", fmt.Errorf("name: %w", err)
			}
			time.Sleep(20 * time.Millisecond)
			return prefix + "blob " + name, nil
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
			return fmt.Sprintf("%stick %d %s", prefix, time.Now().UnixMilli(), last), nil
		})
	})
	// funcd starts the handler in a process group of its own; when funcd
	// is killed nothing stops the handler, so it stops itself.
	parent := os.Getppid()
	go func() {
		for range time.Tick(100 * time.Millisecond) {
			if os.Getppid() != parent {
				os.Exit(0)
			}
		}
	}()
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" {
		port = "8080"
	}
	if err := http.ListenAndServe("127.0.0.1:"+port, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
