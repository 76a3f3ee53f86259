package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/httpapi"
	"github.com/funcd/funcd/storage"
)

// storageApp is an app whose AzureWebJobsStorage is funcd's embedded store,
// with its state in a folder of the test's own.
func storageApp(t *testing.T) (root []string) {
	t.Helper()
	dir := newApp(t)
	settings := `{"IsEncrypted": false, "Values": {"FUNCTIONS_WORKER_RUNTIME": "custom",
		"AzureWebJobsStorage": "UseDevelopmentStorage=true", "FUNCD_DEVELOPMENT_STORAGE": "embedded"}}`
	if err := os.WriteFile(filepath.Join(dir, "local.settings.json"), []byte(settings), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"--script-root", dir, "--state-dir", filepath.Join(t.TempDir(), "state")}
}

func args(root []string, a ...string) []string { return append(a, root...) }

// runInput runs the CLI with stdin.
func runInput(t *testing.T, stdin []byte, a ...string) (stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := runWithInput(context.Background(), a, bytes.NewReader(stdin), &out, &errOut); code != 0 {
		t.Fatalf("funcd %s: exit %d\n%s%s", strings.Join(a, " "), code, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

func peekJSON(t *testing.T, root []string, a ...string) []httpapi.MessageJSON {
	t.Helper()
	var msgs []httpapi.MessageJSON
	out := mustRun(t, args(root, append([]string{"queue", "peek", "--json"}, a...)...)...)
	if err := json.Unmarshal([]byte(out), &msgs); err != nil {
		t.Fatalf("peek --json printed %q: %v", out, err)
	}
	return msgs
}

func TestQueuePutPeek(t *testing.T) {
	root := storageApp(t)
	code, out, errOut := runCLI(t, args(root, "queue", "put", "Orders", `{"id": 42}`)...)
	if code != 0 {
		t.Fatalf("queue put: exit %d\n%s", code, errOut)
	}
	wantContains(t, out, "Put message ", " on queue orders (", "base64 encoding")
	wantContains(t, errOut, "using the embedded store at ")

	msgs := peekJSON(t, root, "orders")
	if len(msgs) != 1 {
		t.Fatalf("peek: %v", msgs)
	}
	m := msgs[0]
	if m.Text == nil || *m.Text != `{"id": 42}` || m.MessageText != base64.StdEncoding.EncodeToString([]byte(`{"id": 42}`)) {
		t.Errorf("peeked %+v; want the text base64-encoded as stored", m)
	}
	if m.DequeueCount != 0 || m.ExpirationTime == nil || m.ExpirationTime.Sub(m.InsertionTime) != 7*24*time.Hour || !strings.Contains(out, m.ID) {
		t.Errorf("peeked %+v after %q", m, out)
	}

	// --encoding none, stdin, a file, a delay and a TTL.
	mustRun(t, args(root, "queue", "put", "orders", "plain text", "--encoding", "none", "--ttl", "-1")...)
	runInput(t, []byte("from stdin\n"), args(root, "queue", "put", "orders", "-")...)
	file := filepath.Join(t.TempDir(), "m.txt")
	if err := os.WriteFile(file, []byte("from a file"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, args(root, "queue", "put", "orders", "--file", file, "--ttl", "1h")...)
	mustRun(t, args(root, "queue", "put", "orders", "later", "--visibility-delay", "1h")...)

	msgs = peekJSON(t, root, "orders", "-n", "10")
	var texts []string
	for _, m := range msgs {
		if m.Text == nil {
			texts = append(texts, "(raw) "+m.MessageText)
		} else {
			texts = append(texts, *m.Text)
		}
	}
	want := []string{`{"id": 42}`, "(raw) plain text", "from stdin\n", "from a file"}
	if strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Errorf("peek texts %q, want %q (the delayed message hidden)", texts, want)
	}
	if msgs[1].ExpirationTime != nil || msgs[3].ExpirationTime.Sub(msgs[3].InsertionTime) != time.Hour {
		t.Errorf("expirations: %v, %v", msgs[1].ExpirationTime, msgs[3].ExpirationTime)
	}
	if none := peekJSON(t, root, "orders", "--encoding", "none", "-n", "2"); len(none) != 2 || *none[1].Text != "plain text" {
		t.Errorf("peek --encoding none: %+v", none)
	}

	text := mustRun(t, args(root, "queue", "peek", "orders", "-n", "2")...)
	wantContains(t, text, "Message "+msgs[0].ID, "dequeue count: 0", "inserted:", "expires:       never", `    {"id": 42}`,
		"stored (not base64 text):\n    plain text")

	list := mustRun(t, args(root, "queue", "list")...)
	if f := strings.Fields(list); len(f) != 4 || f[2] != "orders" || f[3] != "5" {
		t.Errorf("queue list = %q, want orders with 5 messages", list)
	}
	wantContains(t, mustRun(t, args(root, "queue", "clear", "orders")...), "Cleared queue orders.")
	if msgs := peekJSON(t, root, "orders"); len(msgs) != 0 {
		t.Errorf("after clear: %v", msgs)
	}
	wantContains(t, mustRun(t, args(root, "queue", "peek", "orders")...), "Queue orders has no visible messages.")
}

func TestQueueErrors(t *testing.T) {
	root := storageApp(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"queue", "put", "ab", "x"}, `invalid queue name: A queue name must be from 3 to 63 characters long - "ab"`},
		{[]string{"queue", "put", "my_queue", "x"}, "A queue name can contain only letters, numbers, and dash(-) characters"},
		{[]string{"queue", "put", "orders"}, "no message"},
		{[]string{"queue", "put", "orders", "x", "--encoding", "hex"}, `--encoding "hex": expected base64 or none`},
		{[]string{"queue", "put", "orders", "x", "--ttl", "soon"}, `--ttl "soon": expected a duration`},
		{[]string{"queue", "put", "orders", strings.Repeat("x", 50000)}, "too large"},
		{[]string{"queue", "peek", "nothere"}, "queue nothere does not exist"},
		{[]string{"queue", "peek", "orders", "-n", "33"}, "-n 33: expected 1 to 32"},
		{[]string{"queue", "clear", "nothere"}, "queue nothere does not exist"},
	} {
		wantContains(t, mustFail(t, args(root, tt.args...)...), tt.want)
	}
}

// TestStorageWithoutAzureWebJobsStorage: an app made by funcd init has an
// empty AzureWebJobsStorage; the commands say what the host says.
func TestStorageWithoutAzureWebJobsStorage(t *testing.T) {
	dir := newApp(t)
	state := filepath.Join(t.TempDir(), "state")
	for _, a := range [][]string{{"queue", "list"}, {"blob", "list"}} {
		out := mustFail(t, append(a, "--script-root", dir, "--state-dir", state)...)
		wantContains(t, out, "local.settings.json: Values.AzureWebJobsStorage: Missing value for AzureWebJobsStorage in local.settings.json.",
			`Set it to "UseDevelopmentStorage=true"`)
	}
	out := mustFail(t, "queue", "list", "--script-root", dir, "--state-dir", state, "--connection", "Jobs")
	wantContains(t, out, "Cannot find value named 'Jobs' in local.settings.json")
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("a failed command made the state folder (%v)", err)
	}
	wantContains(t, mustFail(t, "queue", "list", "--script-root", t.TempDir()), "Unable to find project root")
}

func TestBlobCommands(t *testing.T) {
	root := storageApp(t)
	data := make([]byte, 300_000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	file := filepath.Join(t.TempDir(), "data.bin")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	wantContains(t, mustRun(t, args(root, "blob", "put", "samples/in/data.bin", file)...),
		"Put blob samples/in/data.bin (300000 bytes, application/octet-stream, ETag ")
	if got := mustRun(t, args(root, "blob", "get", "samples/in/data.bin")...); got != string(data) {
		t.Errorf("blob get to stdout: %d bytes differ from the %d put", len(got), len(data))
	}
	dest := filepath.Join(t.TempDir(), "out.bin")
	mustRun(t, args(root, "blob", "get", "samples/in/data.bin", "-o", dest)...)
	if got, err := os.ReadFile(dest); err != nil || !bytes.Equal(got, data) {
		t.Errorf("blob get -o: %d bytes, %v", len(got), err)
	}

	out, _ := runInput(t, []byte(`{"a": 1}`), args(root, "blob", "put", "samples/order.json", "-")...)
	wantContains(t, out, "(8 bytes, application/json, ")
	wantContains(t, mustRun(t, args(root, "blob", "put", "samples/page", file, "--content-type", "text/html")...), "text/html")
	mustRun(t, args(root, "blob", "put", "other/x.txt", file)...)

	wantContains(t, mustRun(t, args(root, "blob", "list")...), "CONTAINER\nother\nsamples\n")
	list := mustRun(t, args(root, "blob", "list", "samples")...)
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(list), "\n")[1:] {
		names = append(names, strings.Fields(l)[0])
	}
	if strings.Join(names, " ") != "in/data.bin order.json page" {
		t.Errorf("blob list samples = %q", list)
	}
	if l := mustRun(t, args(root, "blob", "list", "samples/in/")...); !strings.Contains(l, "in/data.bin  300000  application/octet-stream") || strings.Contains(l, "order") {
		t.Errorf("blob list samples/in/ = %q", l)
	}

	wantContains(t, mustRun(t, args(root, "blob", "delete", "samples/order.json")...), "Deleted blob samples/order.json.")
	wantContains(t, mustFail(t, args(root, "blob", "get", "samples/order.json")...), "blob samples/order.json does not exist")
	wantContains(t, mustFail(t, args(root, "blob", "delete", "samples/order.json")...), "blob samples/order.json does not exist")
	wantContains(t, mustFail(t, args(root, "blob", "get", "Samples/x")...), `invalid container in "Samples/x": container name "Samples" may hold only lowercase letters`)
	wantContains(t, mustFail(t, args(root, "blob", "get", "samples")...), `"samples" names no blob: expected <container>/<blob name>`)
	wantContains(t, mustFail(t, args(root, "blob", "list", "a")...), `container name "a" must be 3 to 63 characters long`)
	wantContains(t, mustFail(t, args(root, "blob", "put", "samples/x", filepath.Join(t.TempDir(), "missing"))...), "no such file")
}

// FuzzParseSeconds: any flag value is a duration that is not negative
// (unless never) or an error naming the flag.
func FuzzParseSeconds(f *testing.F) {
	for _, s := range []string{"0", "30", "-1", "never", "1h30m", "90s", "-5s", "1e9", " 7 ", "9999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := parseSeconds("ttl", v, true)
		if err != nil {
			if !strings.Contains(err.Error(), "--ttl") {
				t.Errorf("%q: error %v does not name the flag", v, err)
			}
			return
		}
		if d < 0 && d != -1 {
			t.Errorf("%q: negative duration %v", v, d)
		}
	})
}

// FuzzSplitBlobPath: a path that splits gives a valid container and a
// non-empty blob name that join back to it.
func FuzzSplitBlobPath(f *testing.F) {
	for _, s := range []string{"samples/a.txt", "samples/in/deep/x", "samples", "Samples/x", "ab/x", "samples/", "/x", "sam--ples/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		c, n, err := splitBlobPath(arg)
		if err != nil {
			return
		}
		if c+"/"+n != arg || n == "" || storage.CheckContainerName(c) != nil {
			t.Errorf("%q split into %q and %q", arg, c, n)
		}
	})
}
