// Command handler is a custom handler for httpworker's tests. Its behaviour
// is chosen by the function name (the request path) and by environment
// variables:
//
//	HANDLER_MODE=never        never listen (readiness times out)
//	HANDLER_MODE=exit         write to stderr and exit 1 at once
//	HANDLER_MODE=child        start a child process (reported by /pids)
//	HANDLER_START_DELAY=300ms wait before listening
//
// Functions (POST /{name}):
//
//	echo     ReturnValue = {"raw": the payload text, "method", "path", "headers"}
//	reply    answer with the spec found in the payload (see replySpec)
//	sleep    block until the client goes away
//	crash    write to stderr and exit 3
//	logwait  write to stdout and stderr, then wait for GET /release
//	pids     ReturnValue = {"pid", "child"}
//	env      ReturnValue = the arguments, working directory and variables
//	bench    a fixed small reply
//
// Any other path (forwarded requests) is echoed back as JSON, with the status
// from the X-Test-Status request header.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	childPid int
	release  = make(chan struct{})
	once     sync.Once
)

func main() {
	switch os.Getenv("HANDLER_MODE") {
	case "never":
		blockForever()
	case "exit":
		fmt.Fprintln(os.Stderr, "handler failed to start")
		os.Exit(1)
	case "child":
		startChild()
	case "sleeper":
		blockForever()
	}
	if d, err := time.ParseDuration(os.Getenv("HANDLER_START_DELAY")); err == nil {
		time.Sleep(d)
	}
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" || port != os.Getenv("FUNCTIONS_HTTPWORKER_PORT") {
		fmt.Fprintln(os.Stderr, "port variables missing")
		os.Exit(2)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("handler listening on", port)
	_ = http.Serve(l, http.HandlerFunc(serve))
}

// blockForever blocks until a signal ends the process. A bare select {}
// would not do: with every goroutine blocked and no timer pending, the
// runtime may abort with "all goroutines are asleep - deadlock!" (exit code
// 2), as it does at once in a build without cgo. A pending timer keeps it
// from reporting a deadlock.
func blockForever() {
	for {
		time.Sleep(time.Hour)
	}
}

func startChild() {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "HANDLER_MODE=sleeper")
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	childPid = cmd.Process.Pid
}

func serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.URL.Path == "/" && r.Method == http.MethodGet:
		fmt.Fprint(w, "ready")
	case r.URL.Path == "/release":
		once.Do(func() { close(release) })
	case r.Method == http.MethodPost && r.URL.Path == "/echo":
		echo(w, r, body)
	case r.Method == http.MethodPost && r.URL.Path == "/reply":
		replySpec(w, body)
	case r.URL.Path == "/sleep":
		<-r.Context().Done()
	case r.URL.Path == "/crash":
		fmt.Fprintln(os.Stderr, "crashing on purpose")
		os.Exit(3)
	case r.URL.Path == "/logwait":
		fmt.Println("hello from stdout")
		fmt.Fprintln(os.Stderr, "oops on stderr")
		fmt.Fprintln(os.Stderr, "a Warning on stderr")
		select {
		case <-release:
		case <-r.Context().Done():
		}
		writeJSON(w, 200, `{"Outputs":{},"Logs":["from the reply"],"ReturnValue":null}`)
	case r.URL.Path == "/pids":
		writeJSON(w, 200, fmt.Sprintf(`{"ReturnValue":{"pid":%d,"child":%d}}`, os.Getpid(), childPid))
	case r.URL.Path == "/env":
		wd, _ := os.Getwd()
		v := map[string]any{"args": os.Args[1:], "cwd": wd}
		for _, k := range []string{"FUNCTIONS_CUSTOMHANDLER_PORT", "FUNCTIONS_CUSTOMHANDLER_WORKER_ID", "FUNCTIONS_HTTPWORKER_PORT",
			"FUNCTIONS_HTTPWORKER_ID", "FUNCTIONS_APP_ROOT_PATH", "AzureWebJobsScriptRoot", "MY_SETTING"} {
			v[k] = os.Getenv(k)
		}
		b, _ := json.Marshal(map[string]any{"ReturnValue": v})
		writeJSON(w, 200, string(b))
	case r.URL.Path == "/bench":
		writeJSON(w, 200, `{"Outputs":{"res":{"statusCode":200,"body":"hello"}},"Logs":[],"ReturnValue":null}`)
	default:
		forwarded(w, r, body)
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func echo(w http.ResponseWriter, r *http.Request, body []byte) {
	v := map[string]any{
		"raw":     string(body),
		"method":  r.Method,
		"path":    r.URL.Path,
		"headers": r.Header,
		"host":    r.Host,
	}
	b, _ := json.Marshal(map[string]any{"ReturnValue": v, "Outputs": map[string]any{}})
	writeJSON(w, 200, string(b))
}

// replySpec answers with {"status", "contentType", "body"} taken from the
// payload: the HTTP request body for an HTTP trigger, else Data.spec.
func replySpec(w http.ResponseWriter, payload []byte) {
	var p struct {
		Data map[string]json.RawMessage
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	raw := p.Data["spec"]
	if req, ok := p.Data["req"]; ok {
		var r struct{ Body string }
		_ = json.Unmarshal(req, &r)
		raw = json.RawMessage(r.Body)
	}
	var spec struct {
		Status      int
		ContentType string
		Body        string
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		http.Error(w, "bad spec: "+err.Error(), 400)
		return
	}
	if spec.ContentType != "" {
		w.Header().Set("Content-Type", spec.ContentType)
	}
	if spec.Status == 0 {
		spec.Status = 200
	}
	w.WriteHeader(spec.Status)
	_, _ = io.WriteString(w, spec.Body)
}

func forwarded(w http.ResponseWriter, r *http.Request, body []byte) {
	status, _ := strconv.Atoi(r.Header.Get("X-Test-Status"))
	if status == 0 {
		status = 200
	}
	if loc := r.Header.Get("X-Test-Redirect"); loc != "" {
		w.Header().Set("Location", loc)
	}
	v := map[string]any{
		"method":   r.Method,
		"path":     r.URL.Path,
		"rawQuery": r.URL.RawQuery,
		"host":     r.Host,
		"headers":  r.Header,
		"body":     string(body),
		"length":   r.ContentLength,
	}
	b, _ := json.Marshal(v)
	if r.Header.Get("X-Test-Hop") != "" {
		// Headers for the next hop only: the host must drop them.
		w.Header().Set("Connection", "X-Private, keep-alive")
		w.Header().Set("X-Private", "secret")
		w.Header().Set("Keep-Alive", "timeout=5")
	}
	w.Header().Set("X-Echo", "yes")
	w.Header().Add("Set-Cookie", "a=1")
	w.Header().Add("Set-Cookie", "b=2")
	writeJSON(w, status, strings.TrimSpace(string(b)))
}
