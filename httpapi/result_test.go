package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/funcd/funcd"
)

// A JSON-mode reply's own length and hop-by-hop headers do not reach the
// client: the length is the body's, so the response stays readable.
func TestWriteResultFraming(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler)}
	for _, tt := range []struct {
		name string
		body string
		head map[string][]string
	}{
		{"length without a body", "", map[string][]string{"Content-Length": {"5"}}},
		{"length shorter than the body", "hello, world", map[string][]string{"Content-Length": {"3"}}},
		{"chunked and connection options", "hello", map[string][]string{"Transfer-Encoding": {"chunked"}, "Connection": {"close"}, "Keep-Alive": {"timeout=1"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s.writeResult(w, r, &funcd.Result{HTTP: &funcd.HTTPResponse{Status: 200, Header: tt.head, Body: []byte(tt.body)}})
			}))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || string(b) != tt.body {
				t.Fatalf("body %q, %v; want %q", b, err, tt.body)
			}
			if resp.ContentLength != int64(len(tt.body)) || resp.Close || resp.Header.Get("Keep-Alive") != "" {
				t.Errorf("Content-Length %d, Close %v, Keep-Alive %q: want the body's length on a kept-alive connection",
					resp.ContentLength, resp.Close, resp.Header.Get("Keep-Alive"))
			}
		})
	}
}
