// Command handler is the custom handler of funcd's end-to-end tests. Each
// function name selects a behaviour: echoing the payload, shaping the
// response, replying garbage, failing, sleeping or crashing. In forwarding
// mode it answers the original request paths under /api/.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

type invocation struct {
	Data     map[string]json.RawMessage
	Metadata map[string]json.RawMessage
}

// crash notes the crash in the file "crashes" of the working directory
// (the app root), so that tests can count how many processes a request
// killed, and exits.
func crash() {
	if f, err := os.OpenFile("crashes", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
		_, _ = fmt.Fprintln(f, os.Getpid())
		_ = f.Close()
	}
	fmt.Fprintln(os.Stderr, "crashing on purpose")
	os.Exit(3)
}

// hangups counts forwarded requests the handler hung up on without an
// answer.
var hangups atomic.Int32

// endless counts forwarded requests for a never-ending body, and
// endlessEnded those whose connection the host then closed.
var endless, endlessEnded atomic.Int32

// running and peak count concurrent invocations of the peak function.
var running, peak atomic.Int32

// hangs counts invocations of the hang function that arrived, and hangsCancelled
// those whose request the host then cancelled.
var hangs, hangsCancelled atomic.Int32

type request struct {
	Query map[string]string
	Body  string
}

func main() {
	if d := os.Getenv("E2E_START_DELAY"); d != "" {
		ms, _ := strconv.Atoi(d)
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	fmt.Println("e2e handler starting on port", port)
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			return // readiness probe
		}
		if len(r.URL.Path) > 5 && r.URL.Path[:5] == "/api/" {
			forwarded(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/mcp_") {
			mcpInvoke(w, r)
			return
		}
		invoke(w, r)
	})
	if err := http.ListenAndServe("127.0.0.1:"+port, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// mcpInvoke serves the MCP tool and resource functions of the app "mcp".
func mcpInvoke(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var inv invocation
	_ = json.Unmarshal(raw, &inv)
	switch r.URL.Path {
	case "/mcp_echo":
		// What the function saw, as its text result.
		reply(w, map[string]any{"ReturnValue": map[string]any{"msg": inv.Data["msg"], "context": inv.Data["context"], "metadata": inv.Metadata}})
	case "/mcp_noop":
		reply(w, map[string]any{"ReturnValue": "ok"})
	case "/mcp_envelope":
		block, _ := json.Marshal(map[string]any{"type": "text", "text": "sunny, 21 C"})
		sc, _ := json.Marshal(map[string]any{"city": "Lisbon", "temperature": 21})
		env, _ := json.Marshal(map[string]any{"type": "text", "content": string(block), "structuredContent": string(sc)})
		reply(w, map[string]any{"ReturnValue": string(env)})
	case "/mcp_multi":
		blocks, _ := json.Marshal([]any{
			map[string]any{"type": "text", "text": "first"},
			map[string]any{"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"},
		})
		env, _ := json.Marshal(map[string]any{"type": "multi_content_result", "content": string(blocks)})
		reply(w, map[string]any{"ReturnValue": string(env)})
	case "/mcp_crash":
		crash()
	case "/mcp_fail":
		http.Error(w, "the tool failed on purpose", http.StatusInternalServerError)
	case "/mcp_widget":
		reply(w, map[string]any{"ReturnValue": "<!doctype html><html><body><h1>Weather</h1></body></html>"})
	case "/mcp_doc":
		// Trigger metadata strings arrive JSON-encoded, as the real host
		// sends them to custom handlers.
		var name string
		_ = json.Unmarshal(inv.Metadata["name"], &name)
		_ = json.Unmarshal([]byte(name), &name)
		reply(w, map[string]any{"ReturnValue": "document " + name})
	case "/mcp_enveloperes":
		c, _ := json.Marshal(map[string]any{"text": "with meta", "_meta": map[string]any{"ui": map[string]any{"csp": map[string]any{"connectDomains": []string{"https://api.example.com"}}}}})
		env, _ := json.Marshal(map[string]any{"content": string(c)})
		reply(w, map[string]any{"ReturnValue": string(env)})
	case "/mcp_prompt":
		var args map[string]string
		_ = json.Unmarshal(inv.Metadata["mcppromptargs"], &args)
		var style string
		_ = json.Unmarshal(inv.Data["style"], &style)
		_ = json.Unmarshal([]byte(style), &style) // a string input comes JSON-encoded
		reply(w, map[string]any{"ReturnValue": "Summarize " + args["topic"] + " in a " + style + " style."})
	case "/mcp_promptmsgs":
		msgs, _ := json.Marshal([]any{
			map[string]any{"role": "user", "content": map[string]any{"type": "text", "text": "Hello"}},
			map[string]any{"role": "assistant", "content": map[string]any{"type": "text", "text": "Hi, how can I help?"}},
		})
		env, _ := json.Marshal(map[string]any{"type": "prompt_messages", "content": string(msgs)})
		reply(w, map[string]any{"ReturnValue": string(env)})
	default:
		http.Error(w, "no such MCP function "+r.URL.Path, http.StatusNotFound)
	}
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func invoke(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var inv invocation
	_ = json.Unmarshal(raw, &inv)
	var req request
	_ = json.Unmarshal(inv.Data["req"], &req)
	q := req.Query

	switch r.URL.Path {
	case "/echo", "/keyed", "/secured", "/disabledfn", "/any", "/keyedoff":
		fmt.Fprintln(os.Stderr, "echo on stderr")
		reply(w, map[string]any{
			"Outputs": map[string]any{"res": map[string]any{
				"statusCode": 200,
				"headers":    map[string]string{"Content-Type": "application/json", "X-Invocation-Id": r.Header.Get("X-Azure-Functions-InvocationId")},
				"body":       string(raw),
			}},
			"Logs": []string{"echo log line"},
		})
	case "/status":
		code, _ := strconv.Atoi(q["code"])
		res := map[string]any{"statusCode": strconv.Itoa(code), "headers": map[string]string{"X-Custom": "yes"}}
		if b, ok := q["body"]; ok {
			res["body"] = b
		}
		reply(w, map[string]any{"Outputs": map[string]any{"res": res}})
	case "/garbage":
		_, _ = w.Write([]byte("this is not json"))
	case "/fail":
		http.Error(w, "handler failed on purpose", http.StatusInternalServerError)
	case "/echofail":
		// Fail with the whole payload, request headers and query included.
		http.Error(w, string(raw), http.StatusInternalServerError)
	case "/slow":
		ms, _ := strconv.Atoi(q["ms"])
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		reply(w, map[string]any{"Outputs": map[string]any{"res": map[string]any{"body": "slept"}}})
	case "/crash":
		crash()
	case "/noresponse":
		reply(w, map[string]any{"Logs": []string{}})
	case "/emptyoutputs":
		reply(w, map[string]any{"Outputs": map[string]any{}})
	case "/retval":
		reply(w, map[string]any{"ReturnValue": map[string]any{"statusCode": 201, "body": "from return value"}})
	case "/peak":
		// Report the most invocations of peak ever running at once.
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(300 * time.Millisecond)
		running.Add(-1)
		reply(w, map[string]any{"Outputs": map[string]any{"res": map[string]any{"body": strconv.Itoa(int(peak.Load()))}}})
	case "/hang":
		// Block until the host cancels the request.
		hangs.Add(1)
		<-r.Context().Done()
		hangsCancelled.Add(1)
		return
	case "/hangstats":
		reply(w, map[string]any{"Outputs": map[string]any{"res": map[string]any{
			"body": fmt.Sprintf("%d %d", hangs.Load(), hangsCancelled.Load()),
		}}})
	case "/huge":
		// A body of q["bytes"] bytes: "0123456789" repeated.
		n, _ := strconv.Atoi(q["bytes"])
		reply(w, map[string]any{"Outputs": map[string]any{"res": map[string]any{
			"body": strings.Repeat("0123456789", n/10+1)[:n],
		}}})
	case "/nested":
		// A small reply whose body, an array nested q["depth"] deep, grows
		// far larger once the host indents it.
		d, _ := strconv.Atoi(q["depth"])
		body := json.RawMessage(strings.Repeat("[", d) + strings.Repeat("]", d))
		reply(w, map[string]any{"Outputs": map[string]any{"res": map[string]any{"statusCode": 200, "body": body}}})
	case "/pid":
		reply(w, map[string]any{"Outputs": map[string]any{"res": map[string]any{"body": strconv.Itoa(os.Getpid())}}})
	default:
		http.Error(w, "no such function "+r.URL.Path, http.StatusNotFound)
	}
}

// forwarded answers requests forwarded as they came (enableForwardingHttpRequest).
func forwarded(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	switch r.URL.Path {
	case "/api/hangup":
		// Close the connection without a response.
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
	case "/api/fwd/hangup":
		// Close the connection without answering.
		hangups.Add(1)
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = c.Close()
		}
		return
	case "/api/fwd/hangups":
		_, _ = fmt.Fprint(w, hangups.Load())
		return
	case "/api/fwd/crash":
		crash()
	case "/api/fwd/headers":
		// The request's headers, and headers meant for the next hop only.
		w.Header().Set("Connection", "X-Private")
		w.Header().Set("X-Private", "secret")
		w.Header().Set("Keep-Alive", "timeout=5")
		reply(w, r.Header)
		return
	case "/api/fwd/stream":
		// q["bytes"] bytes of "0123456789" in pieces, flushed as they go,
		// with no Content-Length.
		n, _ := strconv.Atoi(r.URL.Query().Get("bytes"))
		chunk := []byte(strings.Repeat("0123456789", 6554)[:65536])
		for n > 0 {
			k := min(n, len(chunk))
			if _, err := w.Write(chunk[:k]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			n -= k
		}
		return
	case "/api/fwd/endless":
		// Write until the host goes away.
		endless.Add(1)
		chunk := []byte(strings.Repeat("x", 65536))
		for {
			if _, err := w.Write(chunk); err != nil {
				endlessEnded.Add(1)
				return
			}
		}
	case "/api/fwd/endlessstats":
		_, _ = fmt.Fprintf(w, "%d %d", endless.Load(), endlessEnded.Load())
		return
	case "/api/fwd/length":
		_, _ = fmt.Fprint(w, len(body))
		return
	case "/api/teapot":
		w.Header().Set("X-Teapot", "short and stout")
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("I'm a teapot"))
	default:
		reply(w, map[string]any{
			"method":       r.Method,
			"path":         r.URL.Path,
			"query":        r.URL.RawQuery,
			"body":         string(body),
			"header":       r.Header.Get("X-Test"),
			"invocationId": r.Header.Get("X-Azure-Functions-InvocationId"),
		})
	}
}
