package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/hosttest"
	"github.com/funcd/funcd/postgres"
)

// scaleoutPostgres is the database the scale-out test creates its schema in;
// FUNCD_TEST_POSTGRES overrides it.
func scaleoutPostgres() string {
	if s := os.Getenv("FUNCD_TEST_POSTGRES"); s != "" {
		return s
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// TestScaleOutOnPostgres runs three `funcd start` processes on copies of
// one app sharing a PostgreSQL schema: every queue message is handled by
// exactly one of them, the work is spread, and the every-2-seconds timer
// fires in one process at a time.
func TestScaleOutOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three funcd processes for ~15 s")
	}
	ctx := context.Background()
	schema, conn := newScaleoutSchema(t)

	dir := t.TempDir()
	funcdBin := filepath.Join(dir, "funcd")
	handler := filepath.Join(dir, "scaleouthandler")
	for bin, pkg := range map[string]string{funcdBin: "../cmd/funcd", handler: "./testdata/scaleouthandler"} {
		out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	logFile := filepath.Join(dir, "handled.log")

	// The queue exists before the hosts start, so each listens at once.
	st, err := postgres.Open(ctx, conn, postgres.Options{})
	if err != nil {
		t.Fatalf("open the store through the search_path of %s: %v", conn, err)
	}
	defer st.Close()
	if st.Schema() != schema {
		t.Fatalf("the store is in schema %q, want %q from the connection string's search_path", st.Schema(), schema)
	}
	if err := st.CreateQueue(ctx, "work"); err != nil {
		t.Fatal(err)
	}

	var procs []*scaleoutProc
	for i := range 3 {
		procs = append(procs, startScaleoutHost(t, i, funcdBin, handler, conn, strings.ReplaceAll(schema, "_", "-"), logFile))
	}
	for _, p := range procs {
		p.waitListening(t)
	}

	const n = 300
	for i := range n {
		body := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "m%03d", i))
		if _, err := st.Enqueue(ctx, "work", []byte(body), 0, 0); err != nil {
			t.Fatalf("enqueue %d: %v", i, err)
		}
	}

	var messages map[string][]int
	deadline := time.Now().Add(90 * time.Second)
	for {
		messages, _ = readScaleoutLog(t, logFile)
		if len(messages) == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(messages) != n {
		for _, p := range procs {
			p.dump(t)
		}
		t.Fatalf("%d of %d messages handled after 90 s", len(messages), n)
	}
	pids := map[int]int{}
	for i := range n {
		m := fmt.Sprintf("m%03d", i)
		by := messages[m]
		if len(by) != 1 {
			t.Errorf("message %s handled %d times (by %v), want exactly once", m, len(by), by)
		}
		for _, pid := range by {
			pids[pid]++
		}
	}
	t.Logf("messages per handler process: %v", pids)
	if len(pids) < 2 {
		t.Errorf("only %d process handled messages; want the work spread over several", len(pids))
	}

	// Watch the timer for 10 s from now on.
	time.Sleep(10 * time.Second)
	windowEnd := time.Now()
	windowStart := windowEnd.Add(-10 * time.Second)
	_, ticks := readScaleoutLog(t, logFile)
	slots := map[int64][]scaleoutTick{}
	tickPids := map[int]int{}
	var inWindow []scaleoutTick
	for _, tk := range ticks {
		at := time.UnixMilli(tk.ms)
		if at.Before(windowStart) || at.After(windowEnd) {
			continue
		}
		inWindow = append(inWindow, tk)
		slots[tk.ms/2000] = append(slots[tk.ms/2000], tk)
		tickPids[tk.pid]++
	}
	t.Logf("ticks in the last 10 s: %d, per process %v", len(inWindow), tickPids)
	for slot, in := range slots {
		if len(in) > 1 {
			t.Errorf("%d ticks in the 2-second slot starting %v: %v", len(in), time.UnixMilli(slot*2000).UTC(), in)
		}
	}
	if len(inWindow) < 3 {
		t.Errorf("%d ticks in 10 s, want about 5", len(inWindow))
	}
	sort.Slice(inWindow, func(i, j int) bool { return inWindow[i].ms < inWindow[j].ms })
	for i := 1; i < len(inWindow); i++ {
		if inWindow[i].pid != inWindow[i-1].pid {
			// No host fails, so the lease never moves.
			t.Errorf("the timer moved from process %d to %d with every host up", inWindow[i-1].pid, inWindow[i].pid)
		}
	}
	if t.Failed() {
		b, _ := os.ReadFile(logFile)
		t.Logf("the shared log begins:\n%.2000s", b)
		for _, p := range procs {
			p.dump(t)
		}
	}
}

// newScaleoutSchema creates a fresh schema, dropped when the test ends, and
// returns it with a connection string whose search_path selects it. The
// test fails, never skips, when PostgreSQL is unreachable.
func newScaleoutSchema(t *testing.T) (schema, conn string) {
	t.Helper()
	base := scaleoutPostgres()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s: %v\n"+
			"Start it, or point FUNCD_TEST_POSTGRES at a database the tests may create schemas in.", base, err)
	}
	defer c.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema = "funcd_scaleout_" + hex.EncodeToString(b[:])
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return schema, base + sep + "search_path=" + schema
}

// scaleoutProc is one running `funcd start`.
type scaleoutProc struct {
	cmd    *exec.Cmd
	port   int
	output string // the file stdout and stderr go to
	done   chan struct{}
}

// startScaleoutHost copies the scaleout app, puts the handler in it and
// starts funcd on it on a free port; the process is stopped with SIGTERM
// when the test ends.
func startScaleoutHost(t *testing.T, i int, funcdBin, handler, conn, hostID, logFile string) *scaleoutProc {
	t.Helper()
	app := hosttest.CopyApp(t, filepath.Join("testdata", "apps", "scaleout"))
	bin, err := os.ReadFile(handler)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "handler"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cmd := exec.Command(funcdBin, "start", "--port", strconv.Itoa(port),
		"--state-dir", filepath.Join(t.TempDir(), fmt.Sprintf("state%d", i)))
	cmd.Dir = app
	// The host ID names the timer's lease. By default it comes from the
	// machine name and the app's folder, which differ between the copies
	// (and between machines); instances of one app share it, as on Azure,
	// by setting it.
	cmd.Env = append(os.Environ(), "FUNCD_STORE="+conn, "SCALEOUT_LOG="+logFile,
		"AzureFunctionsWebHost__hostid="+hostID,
		// UseDevelopmentStorage=true means funcd's own store even when
		// an Azurite answers on this machine.
		host.SettingDevelopmentStorage+"=embedded")
	out, err := os.Create(filepath.Join(t.TempDir(), "funcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	p := &scaleoutProc{cmd: cmd, port: port, output: out.Name(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start funcd: %v", err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
			t.Errorf("funcd on port %d did not stop within 30 s of SIGTERM", port)
		}
	})
	return p
}

// waitListening waits until the host accepts connections.
func (p *scaleoutProc) waitListening(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-p.done:
			p.dump(t)
			t.Fatalf("funcd on port %d exited: %v", p.port, p.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			p.dump(t)
			t.Fatalf("funcd on port %d not listening after 60 s", p.port)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dump logs the process's output so far.
func (p *scaleoutProc) dump(t *testing.T) {
	t.Helper()
	b, _ := os.ReadFile(p.output)
	t.Logf("funcd on port %d:\n%s", p.port, b)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// scaleoutTick is one timer invocation from the shared log.
type scaleoutTick struct {
	pid  int
	ms   int64
	last string
}

func (tk scaleoutTick) String() string {
	return fmt.Sprintf("%d@%s", tk.pid, time.UnixMilli(tk.ms).UTC().Format("15:04:05.000"))
}

// readScaleoutLog parses the shared log: the processes that handled each
// message, and the timer's ticks.
func readScaleoutLog(t *testing.T, path string) (map[string][]int, []scaleoutTick) {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	messages := map[string][]int{}
	var ticks []scaleoutTick
	for line := range strings.Lines(string(b)) {
		if !strings.HasSuffix(line, "\n") {
			break // a write in progress
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			t.Fatalf("bad line %q in the shared log", line)
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil {
			t.Fatalf("bad line %q in the shared log", line)
		}
		if f[1] == "tick" {
			if len(f) != 4 {
				t.Fatalf("bad tick line %q in the shared log", line)
			}
			ms, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil {
				t.Fatalf("bad tick line %q in the shared log", line)
			}
			ticks = append(ticks, scaleoutTick{pid: pid, ms: ms, last: f[3]})
			continue
		}
		messages[f[1]] = append(messages[f[1]], pid)
	}
	return messages, ticks
}
