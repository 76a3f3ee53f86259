package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/hosttest"
)

// storageHost runs an app with no functions whose AzureWebJobsStorage is
// the host's embedded store; bodyLimit is FUNCTIONS_REQUEST_BODY_SIZE_LIMIT.
func storageHost(t *testing.T, bodyLimit string) *hosttest.Server {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"host.json": `{"version": "2.0"}`,
		"local.settings.json": `{"IsEncrypted": false, "Values": {"AzureWebJobsStorage": "UseDevelopmentStorage=true",
			"FUNCD_DEVELOPMENT_STORAGE": "embedded", "Other": "UseDevelopmentStorage=true",
			"FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "` + bodyLimit + `"}}`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return hosttest.Start(t, dir, hosttest.Options{})
}

// call sends a request with the master key (unless key is "-") and
// returns the status and body.
func call(t *testing.T, s *hosttest.Server, method, path, key string, body []byte, header ...string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "-" {
		req.Header.Set("x-functions-key", key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

type message struct {
	ID             string     `json:"id"`
	DequeueCount   int64      `json:"dequeueCount"`
	InsertionTime  time.Time  `json:"insertionTime"`
	ExpirationTime *time.Time `json:"expirationTime"`
	MessageText    string     `json:"messageText"`
	Text           *string    `json:"text"`
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}

func wantError(t *testing.T, what string, status int, body []byte, wantStatus int, wantMsg string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("%s = %d %s, want %d", what, status, body, wantStatus)
		return
	}
	if e := decode[map[string]string](t, body); !strings.Contains(e["error"], wantMsg) {
		t.Errorf("%s error = %q, want it to say %q", what, e["error"], wantMsg)
	}
}

func TestAdminQueues(t *testing.T) {
	s := storageHost(t, "104857600")
	key := s.MasterKey(t)

	// The host's listeners watch its store: a message put here signals them.
	watch, stop := s.Host.Store().WatchQueue("orders")
	defer stop()

	status, body, _ := call(t, s, "POST", "/admin/funcd/queues/Orders/messages", key, []byte(`{"id": 42}`))
	if status != http.StatusCreated {
		t.Fatalf("POST messages = %d %s", status, body)
	}
	put := decode[message](t, body)
	if put.ID == "" || put.ExpirationTime == nil || put.ExpirationTime.Sub(put.InsertionTime) != 7*24*time.Hour {
		t.Errorf("POST answered %s", body)
	}
	select {
	case <-watch:
	default:
		t.Error("the put did not signal the queue's watchers")
	}
	call(t, s, "POST", "/admin/funcd/queues/orders/messages?encoding=none&ttl=-1", key, []byte("plain"))
	call(t, s, "POST", "/admin/funcd/queues/orders/messages?visibilityDelay=3600", key, []byte("later"))

	status, body, _ = call(t, s, "GET", "/admin/funcd/queues/orders/messages", key, nil)
	msgs := decode[[]message](t, body)
	if status != http.StatusOK || len(msgs) != 2 {
		t.Fatalf("GET messages = %d %s", status, body)
	}
	if msgs[0].ID != put.ID || *msgs[0].Text != `{"id": 42}` || msgs[0].MessageText != base64.StdEncoding.EncodeToString([]byte(`{"id": 42}`)) {
		t.Errorf("first message %s", body)
	}
	if msgs[1].Text != nil || msgs[1].MessageText != "plain" || msgs[1].ExpirationTime != nil {
		t.Errorf("second message (stored as given, never expires) %s", body)
	}
	status, body, _ = call(t, s, "GET", "/admin/funcd/queues/orders/messages?n=1&encoding=none", key, nil)
	if msgs := decode[[]message](t, body); status != 200 || len(msgs) != 1 || *msgs[0].Text != msgs[0].MessageText {
		t.Errorf("GET ?n=1&encoding=none = %d %s", status, body)
	}

	status, body, _ = call(t, s, "GET", "/admin/funcd/queues", key, nil)
	if status != 200 || string(body) != `[{"name":"orders","count":3}]` {
		t.Errorf("GET queues = %d %s", status, body)
	}
	status, body, _ = call(t, s, "DELETE", "/admin/funcd/queues/orders/messages", key, nil)
	if status != http.StatusNoContent {
		t.Errorf("DELETE messages = %d %s", status, body)
	}
	if _, body, _ = call(t, s, "GET", "/admin/funcd/queues", key, nil); string(body) != `[{"name":"orders","count":0}]` {
		t.Errorf("after clear: %s", body)
	}

	// Another connection setting that resolves to the same store.
	if status, body, _ = call(t, s, "GET", "/admin/funcd/queues?connection=Other", key, nil); status != 200 || !strings.Contains(string(body), "orders") {
		t.Errorf("GET queues?connection=Other = %d %s", status, body)
	}
}

func TestAdminQueueErrors(t *testing.T) {
	s := storageHost(t, "104857600")
	key := s.MasterKey(t)
	for _, path := range []string{"/admin/funcd/queues", "/admin/funcd/queues/orders/messages", "/admin/funcd/blobs/samples", "/admin/funcd/blobs/samples/a.txt"} {
		if status, _, h := call(t, s, "GET", path, "-", nil); status != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s without a key = %d", path, status)
		}
		if status, _, _ := call(t, s, "GET", path, "wrong", nil); status != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong key = %d", path, status)
		}
	}
	if status, _, _ := call(t, s, "POST", "/admin/funcd/queues/orders/messages", "-", []byte("x")); status != http.StatusUnauthorized {
		t.Errorf("POST without a key = %d", status)
	}

	status, body, _ := call(t, s, "POST", "/admin/funcd/queues/orders/messages?encoding=none", key, bytes.Repeat([]byte("x"), 64*1024+1))
	wantError(t, "a message over 64 KiB", status, body, http.StatusRequestEntityTooLarge, "larger than 65536 bytes")
	status, body, _ = call(t, s, "POST", "/admin/funcd/queues/orders/messages", key, bytes.Repeat([]byte("x"), 60*1024))
	wantError(t, "a message over 64 KiB once base64-encoded", status, body, http.StatusRequestEntityTooLarge, "larger than 65536 bytes as stored")
	status, body, _ = call(t, s, "POST", "/admin/funcd/queues/a_b/messages", key, []byte("x"))
	wantError(t, "a bad queue name", status, body, http.StatusBadRequest, "invalid queue name: A queue name can contain only letters, numbers, and dash(-) characters")
	status, body, _ = call(t, s, "POST", "/admin/funcd/queues/orders/messages?encoding=hex", key, []byte("x"))
	wantError(t, "a bad encoding", status, body, http.StatusBadRequest, `encoding "hex": expected base64 or none`)
	status, body, _ = call(t, s, "POST", "/admin/funcd/queues/orders/messages?ttl=soon", key, []byte("x"))
	wantError(t, "a bad ttl", status, body, http.StatusBadRequest, `ttl "soon": expected a whole number of seconds`)
	status, body, _ = call(t, s, "GET", "/admin/funcd/queues/orders/messages?n=40", key, nil)
	wantError(t, "n=40", status, body, http.StatusBadRequest, "expected 1 to 32")
	status, body, _ = call(t, s, "GET", "/admin/funcd/queues/nothere/messages", key, nil)
	wantError(t, "peek a missing queue", status, body, http.StatusNotFound, "queue nothere does not exist")
	status, body, _ = call(t, s, "DELETE", "/admin/funcd/queues/nothere/messages", key, nil)
	wantError(t, "clear a missing queue", status, body, http.StatusNotFound, "queue nothere does not exist")
	status, body, _ = call(t, s, "GET", "/admin/funcd/queues?connection=Missing", key, nil)
	wantError(t, "a missing connection", status, body, http.StatusBadRequest, "Cannot find value named 'Missing'")
}

func TestAdminBlobs(t *testing.T) {
	s := storageHost(t, "1000")
	key := s.MasterKey(t)
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(i * 13)
	}
	status, body, _ := call(t, s, "PUT", "/admin/funcd/blobs/samples/in/data.bin", key, data)
	if status != http.StatusCreated || !strings.Contains(string(body), `"name":"in/data.bin","size":1000,"contentType":"application/octet-stream"`) {
		t.Fatalf("PUT blob = %d %s", status, body)
	}
	status, got, h := call(t, s, "GET", "/admin/funcd/blobs/samples/in/data.bin", key, nil)
	if status != 200 || !bytes.Equal(got, data) || h.Get("Content-Type") != "application/octet-stream" || h.Get("ETag") == "" {
		t.Errorf("GET blob = %d, %d bytes, %v", status, len(got), h)
	}
	call(t, s, "PUT", "/admin/funcd/blobs/samples/order.json", key, []byte(`{"a":1}`))
	call(t, s, "PUT", "/admin/funcd/blobs/samples/page", key, []byte(`<p>`), "Content-Type", "text/html")
	if _, _, h = call(t, s, "GET", "/admin/funcd/blobs/samples/order.json", key, nil); h.Get("Content-Type") != "application/json" {
		t.Errorf("order.json served as %q", h.Get("Content-Type"))
	}

	status, body, _ = call(t, s, "GET", "/admin/funcd/blobs/samples", key, nil)
	type blob struct{ Name, ContentType string }
	list := decode[[]blob](t, body)
	if status != 200 || len(list) != 3 || list[0].Name != "in/data.bin" || list[1].Name != "order.json" || list[2].ContentType != "text/html" {
		t.Errorf("GET container = %d %s", status, body)
	}
	if _, body, _ = call(t, s, "GET", "/admin/funcd/blobs/samples?prefix=in/", key, nil); len(decode[[]blob](t, body)) != 1 {
		t.Errorf("GET container?prefix=in/ = %s", body)
	}
	if _, body, _ = call(t, s, "GET", "/admin/funcd/blobs", key, nil); string(body) != `[{"name":"samples"}]` {
		t.Errorf("GET containers = %s", body)
	}

	if status, body, _ = call(t, s, "DELETE", "/admin/funcd/blobs/samples/order.json", key, nil); status != http.StatusNoContent {
		t.Errorf("DELETE blob = %d %s", status, body)
	}
	status, body, _ = call(t, s, "GET", "/admin/funcd/blobs/samples/order.json", key, nil)
	wantError(t, "GET a deleted blob", status, body, http.StatusNotFound, "blob samples/order.json does not exist")
	status, body, _ = call(t, s, "DELETE", "/admin/funcd/blobs/samples/order.json", key, nil)
	wantError(t, "DELETE a deleted blob", status, body, http.StatusNotFound, "blob samples/order.json does not exist")
	status, body, _ = call(t, s, "GET", "/admin/funcd/blobs/nothere", key, nil)
	wantError(t, "list a missing container", status, body, http.StatusNotFound, "container nothere does not exist")
	status, body, _ = call(t, s, "PUT", "/admin/funcd/blobs/Samples/x", key, []byte("x"))
	wantError(t, "a bad container name", status, body, http.StatusBadRequest, `invalid container: container name "Samples" may hold only lowercase letters`)

	status, body, _ = call(t, s, "PUT", "/admin/funcd/blobs/samples/big", key, make([]byte, 1001))
	wantError(t, "a blob over maxRequestBodySize", status, body, http.StatusRequestEntityTooLarge, "larger than the request body limit of 1000 bytes")
	// Without a length, the limit stops the body as it streams.
	req, _ := http.NewRequest("PUT", s.URL+"/admin/funcd/blobs/samples/big", io.MultiReader(bytes.NewReader(make([]byte, 1001))))
	req.Header.Set("x-functions-key", key)
	req.ContentLength = -1
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	wantError(t, "a chunked blob over maxRequestBodySize", resp.StatusCode, body, http.StatusRequestEntityTooLarge, "larger than the request body limit")
	if status, _, _ = call(t, s, "GET", "/admin/funcd/blobs/samples/big", key, nil); status != http.StatusNotFound {
		t.Errorf("a refused blob was stored: GET = %d", status)
	}
}
