package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/funcd/funcd/hosttest"
)

// A large JSON body reaches the handler as the real host sends it, the
// payload being encoded as it is sent: the body as text in Data, and its
// string property in Metadata, JSON-encoded twice.
func TestLargePayload(t *testing.T) {
	s := hosttest.Start(t, newApp(t, "basic"), hosttest.Options{})
	long := strings.Repeat(`\"é\n`, 100000)
	body := `{"a":"` + long + `","n":1.5}`
	r := do(t, "POST", s.URL+"/api/echo", body, "Content-Type", "application/json")
	wantStatus(t, r, http.StatusOK)
	var inv struct {
		Data     struct{ Req struct{ Body string } }
		Metadata map[string]json.RawMessage
	}
	if err := json.Unmarshal([]byte(r.body), &inv); err != nil {
		t.Fatalf("the handler's payload is not JSON: %v", err)
	}
	if inv.Data.Req.Body != body {
		t.Errorf("Data.req.Body differs from the request body (%d bytes, want %d)", len(inv.Data.Req.Body), len(body))
	}
	var once, twice string
	if err := json.Unmarshal(inv.Metadata["a"], &once); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(once), &twice); err != nil {
		t.Fatal(err)
	}
	var want string
	_ = json.Unmarshal([]byte(`"`+long+`"`), &want)
	if twice != want {
		t.Errorf("Metadata.a does not decode, twice, to the property's value")
	}
	if string(inv.Metadata["n"]) != `"\"1.5\""` {
		t.Errorf("Metadata.n = %s", inv.Metadata["n"])
	}
}
