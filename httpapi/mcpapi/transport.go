package mcpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/funcd/funcd/host"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	sjson "github.com/segmentio/encoding/json"
)

// serveStreamable answers the streamable HTTP transport: POST only, an
// Accept that takes both JSON and SSE (406), a body that is a JSON-RPC
// message (400), and a valid Mcp-Session-Id when one is sent (400). An
// initialize request gets a new session token in Mcp-Session-Id. Replies
// are SSE frames.
func (h *Handler) serveStreamable(w http.ResponseWriter, r *http.Request, cat *catalog) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if !acceptsBoth(r.Header.Values("Accept")) {
		rpcError(w, http.StatusNotAcceptable, "Not Acceptable: Client must accept both application/json and text/event-stream")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			rpcError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request Entity Too Large: the JSON-RPC message is over %d bytes.", maxBody))
			return
		}
		rpcError(w, http.StatusBadRequest, "Bad Request: the request body could not be read.")
		return
	}
	method, ok := rpcMethod(body)
	if !ok {
		rpcError(w, http.StatusBadRequest, "Bad Request: The POST body did not contain a valid JSON-RPC message.")
		return
	}
	if token := r.Header.Get("Mcp-Session-Id"); token != "" {
		if _, ok := cat.state.open(token); !ok {
			rpcError(w, http.StatusBadRequest, "Invalid client state.")
			return
		}
	}
	if method == "initialize" {
		w.Header().Set("Mcp-Session-Id", cat.state.seal(newID(), cat.instance))
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	cat.handler.ServeHTTP(w, r)
}

// rpcMethod reads a POSTed JSON-RPC message's method ("" for a response
// or a batch); ok is false when the body is no JSON-RPC message.
//
// It accepts what the SDK's jsonrpc.DecodeMessage accepts, with the same
// JSON decoder and rules (case-sensitive names, the first value of the
// body, nesting at most maxDepth, version "2.0", an id that is null, a
// number or a string, a string method, or else a response with an id), but
// without DecodeMessage's buffered decoder, which allocates 32 KiB for each
// of its two passes: the SDK decodes the body again when it serves it.
func rpcMethod(body []byte) (method string, ok bool) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var batch []json.RawMessage
		return "", json.Unmarshal(body, &batch) == nil && len(batch) > 0
	}
	if !depthWithin(body, maxDepth) {
		return "", false
	}
	var msg wireMessage
	if _, err := sjson.Parse(body, &msg, sjson.DontMatchCaseInsensitiveStructFields); err != nil || msg.Version != "2.0" {
		return "", false
	}
	id, err := jsonrpc.MakeID(msg.ID)
	if err != nil {
		return "", false
	}
	if len(msg.Method) > 0 {
		if _, err := sjson.Parse(msg.Method, &method, sjson.DontMatchCaseInsensitiveStructFields); err != nil {
			return "", false
		}
		return method, true
	}
	return "", id.IsValid()
}

// wireMessage is a JSON-RPC message as the SDK decodes it.
type wireMessage struct {
	Version string          `json:"jsonrpc"`
	ID      any             `json:"id,omitempty"`
	Method  json.RawMessage `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *jsonrpc.Error  `json:"error,omitempty"`
}

// maxDepth is the deepest nesting of objects and arrays the SDK decodes.
const maxDepth = 1000

// depthWithin reports whether the JSON text data nests objects and arrays
// at most max deep, counting as the SDK does.
func depthWithin(data []byte, max int) bool {
	depth := 0
	inString, escaped := false, false
	for _, b := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
			continue
		}
		switch b {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return false
			}
		case '}', ']':
			if depth > 0 {
				depth--
			}
		}
	}
	return true
}

// acceptsBoth reports whether an Accept header takes both application/json
// and text/event-stream (wildcards count).
func acceptsBoth(values []string) bool {
	var jsonOK, sseOK bool
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			switch mt {
			case "*/*":
				jsonOK, sseOK = true, true
			case "application/*", "application/json":
				jsonOK = true
			case "text/*", "text/event-stream":
				sseOK = true
			}
		}
	}
	return jsonOK && sseOK
}

// rpcError answers with a JSON-RPC error (code -32000) and status.
func rpcError(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": nil, "error": map[string]any{"code": -32000, "message": msg}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// serveSSE opens a legacy SSE session: the first event names the message
// endpoint (relative, or absolute with useAbsoluteUriForEndpoint) with the
// client's state and, when the request carried one, its key. The request
// no longer holds the app: a reload or shutdown does not wait for it.
func (h *Handler) serveSSE(w http.ResponseWriter, r *http.Request, cat *catalog) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	id := newID()
	endpoint := "message?azmcpcs=" + url.QueryEscape(cat.state.seal(id, cat.instance))
	if key := presentedKey(r); key != "" {
		endpoint += "&code=" + url.QueryEscape(key)
	}
	if cat.settings.AbsoluteEndpoint {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
			scheme = p
		}
		path, _, _ := strings.Cut(r.RequestURI, "?")
		path = strings.TrimRight(path, "/")
		if i := strings.LastIndexByte(path, '/'); i >= 0 {
			path = path[:i]
		}
		endpoint = scheme + "://" + r.Host + path + "/" + endpoint
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache,no-store")
	w.Header().Set("Content-Encoding", "identity")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	host.Detach(r.Context())
	ctx, end := context.WithCancel(r.Context())
	defer end()
	sess := &sseSession{id: id, header: r.Header.Clone(), end: end,
		transport: &mcp.SSEServerTransport{Endpoint: endpoint, Response: w, MaxRequestBodyBytes: maxBody}}
	h.sessions.Store(id, sess)
	defer h.sessions.Delete(id)
	ss, err := cat.sse.Connect(ctx, sess.transport, nil)
	if err != nil {
		h.log.Error("cannot open an MCP SSE session", "error", err)
		return
	}
	h.bySess.Store(ss, sess)
	defer h.bySess.Delete(ss)
	defer ss.Close()
	done := make(chan struct{})
	go func() {
		_ = ss.Wait()
		close(done)
	}()
	select {
	case <-ctx.Done():
	case <-done:
	}
}

// Close ends every SSE session's stream, so that a server shutting down
// does not wait for clients that keep their streams open. Calls in flight
// finish; clients reconnect to the next server.
func (h *Handler) Close() {
	h.sessions.Range(func(_, s any) bool {
		s.(*sseSession).end()
		return true
	})
}

// serveMessage takes a message of an SSE session: 202 "Accepted", the
// reply going out on the session's stream.
func (h *Handler) serveMessage(w http.ResponseWriter, r *http.Request, cat *catalog) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	state := r.URL.Query().Get("azmcpcs")
	if state == "" {
		plainError(w, http.StatusBadRequest, "Missing service context. Please connect to the /sse endpoint to initiate your session.")
		return
	}
	id, ok := cat.state.open(state)
	if !ok {
		plainError(w, http.StatusBadRequest, "Invalid client state. Please connect to the /sse endpoint to initiate a new session.")
		return
	}
	s, ok := h.sessions.Load(id)
	if !ok {
		plainError(w, http.StatusBadRequest, "No active session for this client. Please connect to the /sse endpoint to initiate a new session.")
		return
	}
	aw := &acceptedWriter{ResponseWriter: w}
	s.(*sseSession).transport.ServeHTTP(aw, r)
	if aw.status == http.StatusAccepted {
		_, _ = w.Write([]byte("Accepted"))
	}
}

// acceptedWriter adds the real extension's "Accepted" body to a 202.
type acceptedWriter struct {
	http.ResponseWriter
	status int
}

func (a *acceptedWriter) WriteHeader(code int) {
	a.status = code
	if code == http.StatusAccepted {
		a.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	a.ResponseWriter.WriteHeader(code)
}

func plainError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}

// presentedKey is the request's function key: the x-functions-key header,
// else the code query parameter.
func presentedKey(r *http.Request) string {
	if v := r.Header.Get("X-Functions-Key"); v != "" {
		return v
	}
	return r.URL.Query().Get("code")
}
