package scaffold

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestGeneratedHandler builds the Go handler of a new app with three
// functions (two with names the Go tool would otherwise read as a test file
// and a build constraint), starts it as the host does and invokes it.
func TestGeneratedHandler(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	dir := t.TempDir()
	if _, err := Init(dir, "custom"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hello", "probe_test", "probe_windows"} {
		if _, err := New(dir, "HTTP trigger", name); err != nil {
			t.Fatal(err)
		}
	}

	build := exec.Command(gobin, "build", "-C", "handler", "-o", "../"+HandlerExecutable, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", BuildCommand, err, out)
	}

	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	handler := exec.CommandContext(ctx, filepath.Join(dir, HandlerExecutable))
	handler.Dir = dir
	handler.Env = append(os.Environ(), "FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port))
	if err := handler.Start(); err != nil {
		t.Fatal(err)
	}
	defer handler.Wait()
	defer cancel()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitReady(t, base)

	for _, fn := range []string{"hello", "probe_test", "probe_windows"} {
		out := invoke(t, base+"/"+fn, `{"Data":{"req":{"Url":"http://localhost:7071/api/x?name=Ada","Method":"GET",`+
			`"Query":{"name":"Ada"},"Headers":{},"Params":{}}},"Metadata":{}}`)
		if out.Outputs.Res.StatusCode != 200 || out.Outputs.Res.Body != "Hello, Ada!" || len(out.Logs) != 1 {
			t.Errorf("%s answered %+v", fn, out)
		}
	}
	out := invoke(t, base+"/hello", `{"Data":{"req":{"Method":"POST","Query":{},"Body":"{\"name\":\"Grace\"}"}},"Metadata":{}}`)
	if out.Outputs.Res.Body != "Hello, Grace!" {
		t.Errorf("hello with a JSON body answered %+v", out)
	}
}

type invokeOut struct {
	Outputs struct {
		Res struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		} `json:"res"`
	}
	Logs []string
}

func invoke(t *testing.T, url, body string) invokeOut {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out invokeOut
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return out
}

// freePort returns a TCP port that was free a moment ago, as the host picks
// the handler's port.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitReady polls the handler as the host does: any HTTP answer means ready.
func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the handler did not answer within 30s: %v", err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
