package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/hosttest"
	"github.com/funcd/funcd/postgres"
	"github.com/funcd/funcd/postgres/pgtest"
	"github.com/funcd/funcd/storage"
)

// TestScaleOutOnPostgres runs three `funcd start` processes on copies of
// one app sharing a PostgreSQL schema: every queue message and every blob
// is handled by exactly one of them, the work is spread, and the
// every-2-seconds timer fires in one process at a time. Then the process
// running the timer is killed: another takes the timer over once the lease
// (host.json singleton.listenerLockPeriod, 15 s) has run out, no tick is
// doubled, work put after the kill is still handled exactly once, and the
// messages the killed process had received stay in the queue, invisible
// until their visibility timeout.
func TestScaleOutOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three funcd processes for ~35 s")
	}
	ctx := context.Background()
	began := time.Now()
	schema, conn := pgtest.Schema(t, "funcd_scaleout")

	dir := t.TempDir()
	funcdBin := filepath.Join(dir, "funcd")
	handler := filepath.Join(dir, "scaleouthandler")
	var builds sync.WaitGroup
	buildErrs := make(chan string, 2)
	for bin, pkg := range map[string]string{funcdBin: "../cmd/funcd", handler: "./testdata/scaleouthandler"} {
		builds.Go(func() {
			if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
				buildErrs <- fmt.Sprintf("go build %s: %v\n%s", pkg, err, out)
			}
		})
	}
	builds.Wait()
	close(buildErrs)
	for e := range buildErrs {
		t.Fatal(e)
	}
	t.Logf("funcd and the handler built in %v", time.Since(began).Round(time.Millisecond))
	began = time.Now()
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
	dumpOnFailure := func() {
		if t.Failed() {
			b, _ := os.ReadFile(logFile)
			t.Logf("the shared log begins:\n%.3000s", b)
			for _, p := range procs {
				p.dump(t)
			}
		}
	}
	defer dumpOnFailure()
	for _, p := range procs {
		p.waitListening(t)
	}
	// The timer is watched for 10 s from its first tick on, while the
	// hosts share the queue and the blobs.
	waitScaleout(t, logFile, 30*time.Second, "the timer's first tick", func(l *scaleoutLog) bool { return len(l.ticks) > 0 })
	windowStart := time.Now()
	t.Logf("hosts up and the timer ticking after %v", time.Since(began).Round(time.Millisecond))

	const n, nBlobs = 300, 60
	for i := range n {
		enqueueScaleout(t, st, fmt.Sprintf("m%03d", i))
	}
	etags := map[string]string{}
	for i := range nBlobs {
		name := fmt.Sprintf("b%02d", i)
		etags[name] = putScaleoutBlob(t, st, name)
	}
	waitScaleout(t, logFile, 90*time.Second, "every message and blob handled", func(l *scaleoutLog) bool {
		return len(l.work) >= n && len(l.blobs) == nBlobs
	})
	t.Logf("%d messages and %d blobs handled after %v", n, nBlobs, time.Since(began).Round(time.Millisecond))
	lg := readScaleoutLog(t, logFile)
	hosts := map[string]int{}
	for i := range n {
		m := fmt.Sprintf("m%03d", i)
		by := lg.work[m]
		if len(by) != 1 {
			t.Errorf("message %s handled %d times (by %v), want exactly once", m, len(by), by)
		}
		for _, h := range by {
			hosts[h]++
		}
	}
	t.Logf("messages per host: %v", hosts)
	if len(hosts) < 2 {
		t.Errorf("only %d host handled messages; want the work spread over several", len(hosts))
	}
	blobHosts := map[string]int{}
	for name, by := range lg.blobs {
		if len(by) != 1 {
			t.Errorf("blob %s handled %d times (by %v), want exactly once", name, len(by), by)
		}
		for _, h := range by {
			blobHosts[h]++
		}
	}
	t.Logf("blobs per host: %v", blobHosts)

	// Watch the timer for 10 s.
	time.Sleep(time.Until(windowStart.Add(10 * time.Second)))
	windowEnd := time.Now()
	lg = readScaleoutLog(t, logFile)
	tickHosts := map[string]int{}
	var inWindow []scaleoutTick
	for _, tk := range lg.ticks {
		at := time.UnixMilli(tk.ms)
		if at.Before(windowStart) || at.After(windowEnd) {
			continue
		}
		inWindow = append(inWindow, tk)
		tickHosts[tk.host]++
	}
	t.Logf("ticks in the 10 s watched: %d, per host %v", len(inWindow), tickHosts)
	if len(inWindow) < 3 {
		t.Fatalf("%d ticks in 10 s, want about 5", len(inWindow))
	}
	for i := 1; i < len(inWindow); i++ {
		if inWindow[i].host != inWindow[i-1].host {
			// No host fails, so the lease never moves.
			t.Errorf("the timer moved from host %s to %s with every host up", inWindow[i-1].host, inWindow[i].host)
		}
	}

	// The host running the timer gets messages it holds without finishing
	// them, so that it has work in flight when it is killed.
	holder := inWindow[len(inWindow)-1].host
	var victim *scaleoutProc
	for _, p := range procs {
		if p.name == holder {
			victim = p
		}
	}
	var holds []string
	for round := 0; len(readScaleoutLog(t, logFile).held) == 0; round++ {
		if round == 5 {
			t.Fatalf("host %s took none of %d messages in 5 rounds", holder, len(holds))
		}
		var batch []string
		for i := range 24 {
			batch = append(batch, fmt.Sprintf("hold %s r%d-%02d", holder, round, i))
		}
		for _, m := range batch {
			enqueueScaleout(t, st, m)
		}
		holds = append(holds, batch...)
		// Each message is handled by another host or held by the
		// holder; one the holder received but did not start yet is in
		// neither, so the wait is bounded.
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			l := readScaleoutLog(t, logFile)
			left := 0
			for _, m := range batch {
				if len(l.work[m]) == 0 && len(l.held[m]) == 0 {
					left++
				}
			}
			if left == 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// Kill the host running the timer; its handler, left hanging on the
	// held messages, exits when it sees its parent gone.
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	killedAt := time.Now()
	held := readScaleoutLog(t, logFile).held
	t.Logf("host %s killed after %v, holding %d messages", holder, time.Since(began).Round(time.Millisecond), len(held))

	// Work put after the kill is handled by the others, and one of them
	// takes the timer over.
	const nAfter, nBlobsAfter = 60, 30
	for i := range nAfter {
		enqueueScaleout(t, st, fmt.Sprintf("p%03d", i))
	}
	for i := range nBlobsAfter {
		name := fmt.Sprintf("p%02d", i)
		etags[name] = putScaleoutBlob(t, st, name)
	}
	afterKill := func(l *scaleoutLog) []scaleoutTick {
		var out []scaleoutTick
		for _, tk := range l.ticks {
			if tk.host != holder && tk.ms > killedAt.UnixMilli() {
				out = append(out, tk)
			}
		}
		return out
	}
	waitScaleout(t, logFile, 40*time.Second, "the work put after the kill handled and two ticks elsewhere", func(l *scaleoutLog) bool {
		for i := range nAfter {
			if len(l.work[fmt.Sprintf("p%03d", i)]) == 0 {
				return false
			}
		}
		return len(l.blobs) == nBlobs+nBlobsAfter && len(afterKill(l)) >= 2
	})
	lg = readScaleoutLog(t, logFile)
	taken := afterKill(lg)
	takeover := time.UnixMilli(taken[0].ms).Sub(killedAt)
	t.Logf("host %s took the timer over, first tick %v after the kill; test ran %v",
		taken[0].host, takeover.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	// The lease lasts 15 s and is renewed every 3.75 s: it runs out 11.25
	// to 15 s after the kill; the others try every 3.75 s, and the timer
	// fires every 2 s.
	if takeover < 8*time.Second {
		t.Errorf("the timer moved %v after the kill, before the killed host's lease could run out", takeover)
	}
	if takeover > 23*time.Second {
		t.Errorf("the timer moved %v after the kill; want within about the 15 s lease period", takeover)
	}
	for _, tk := range taken[1:] {
		if tk.host != taken[0].host {
			t.Errorf("after the takeover the timer ticked on %s and %s", taken[0].host, tk.host)
		}
	}
	// No 2-second slot fires twice, before, during or after the takeover.
	slots := map[int64][]scaleoutTick{}
	for _, tk := range lg.ticks {
		slots[tk.ms/2000] = append(slots[tk.ms/2000], tk)
	}
	for slot, in := range slots {
		if len(in) > 1 {
			t.Errorf("%d ticks in the 2-second slot starting %v: %v", len(in), time.UnixMilli(slot*2000).UTC(), in)
		}
	}

	for i := range nAfter {
		m := fmt.Sprintf("p%03d", i)
		if by := lg.work[m]; len(by) != 1 || by[0] == holder {
			t.Errorf("message %s put after the kill handled by %v, want exactly once by a host still up", m, by)
		}
	}
	for name, etag := range etags {
		if by := lg.blobs[name]; len(by) != 1 {
			t.Errorf("blob %s handled by %v, want exactly once", name, by)
		}
		// The blob's receipt is completed: a claim finds it done.
		key := storage.ReceiptKey{Function: "Host.Functions.inbox", Container: "scaleout-in", Name: name, ETag: etag}
		claimed, completed, err := st.ClaimReceipt(ctx, key, "scaleout-test", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !completed || claimed {
			t.Errorf("the receipt of blob %s is not completed (claimed %t)", name, claimed)
		}
	}

	// The messages the killed host held are still in the queue, invisible
	// now and visible once their 10-minute visibility timeout has run out;
	// every other one was handled once by a host still up.
	if vis, err := st.Peek(ctx, "work", 32); err != nil || len(vis) != 0 {
		t.Errorf("visible messages left in the queue: %v, %v", vis, err)
	}
	future, err := postgres.Open(ctx, conn, postgres.Options{Clock: clocktest.New(time.Now().Add(11 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	defer future.Close()
	left, err := future.Peek(ctx, "work", 32)
	if err != nil {
		t.Fatal(err)
	}
	inQueue := map[string]bool{}
	for _, m := range left {
		b, err := base64.StdEncoding.DecodeString(string(m.Body))
		if err != nil {
			t.Fatalf("message %s: %v", m.ID, err)
		}
		inQueue[string(b)] = true
		if m.DequeueCount != 1 {
			t.Errorf("message %q in the queue was received %d times, want once (by the killed host)", b, m.DequeueCount)
		}
	}
	for m := range held {
		if !inQueue[m] {
			t.Errorf("message %q, held by the killed host, is not in the queue", m)
		}
	}
	for _, m := range holds {
		by := lg.work[m]
		switch {
		case inQueue[m] && len(by) > 0:
			t.Errorf("message %q handled by %v and still in the queue", m, by)
		case !inQueue[m] && len(by) != 1:
			t.Errorf("message %q handled by %v, want exactly once", m, by)
		}
	}
	t.Logf("%d of %d messages sent to the killed host were still in the queue", len(inQueue), len(holds))
	if len(inQueue) > len(holds) {
		t.Errorf("%d messages in the queue, more than the %d sent last", len(inQueue), len(holds))
	}
}

// enqueueScaleout puts a message, base64-encoded as the queue trigger
// expects by default.
func enqueueScaleout(t *testing.T, st *postgres.Store, text string) {
	t.Helper()
	body := base64.StdEncoding.EncodeToString([]byte(text))
	if _, err := st.Enqueue(context.Background(), "work", []byte(body), 0, 0); err != nil {
		t.Fatalf("enqueue %s: %v", text, err)
	}
}

// putScaleoutBlob writes scaleout-in/name and returns its ETag.
func putScaleoutBlob(t *testing.T, st *postgres.Store, name string) string {
	t.Helper()
	props, err := st.PutBlob(context.Background(), "scaleout-in", name, strings.NewReader("blob "+name), storage.PutBlobOptions{})
	if err != nil {
		t.Fatalf("put blob %s: %v", name, err)
	}
	return props.ETag
}

// waitScaleout waits until cond holds for the shared log.
func waitScaleout(t *testing.T, path string, timeout time.Duration, what string, cond func(*scaleoutLog) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond(readScaleoutLog(t, path)) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scaleoutProc is one running `funcd start`.
type scaleoutProc struct {
	name   string // SCALEOUT_HOST, which the handler logs
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
	name := fmt.Sprintf("h%d", i)
	cmd.Env = append(os.Environ(), "FUNCD_STORE="+conn, "SCALEOUT_LOG="+logFile, "SCALEOUT_HOST="+name,
		"AzureFunctionsWebHost__hostid="+hostID,
		// UseDevelopmentStorage=true means funcd's own store even when
		// an Azurite answers on this machine.
		host.SettingDevelopmentStorage+"=embedded")
	out, err := os.Create(filepath.Join(t.TempDir(), "funcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	p := &scaleoutProc{name: name, cmd: cmd, port: port, output: out.Name(), done: make(chan struct{})}
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
	t.Logf("funcd %s on port %d:\n%s", p.name, p.port, b)
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
	host string
	ms   int64
	last string
}

func (tk scaleoutTick) String() string {
	return fmt.Sprintf("%s@%s", tk.host, time.UnixMilli(tk.ms).UTC().Format("15:04:05.000"))
}

// scaleoutLog is the shared log read so far.
type scaleoutLog struct {
	// work, held and blobs are the hosts that handled, held or handled
	// each message or blob.
	work, held, blobs map[string][]string
	ticks             []scaleoutTick
}

// readScaleoutLog parses the shared log (see testdata/scaleouthandler).
func readScaleoutLog(t *testing.T, path string) *scaleoutLog {
	t.Helper()
	l := &scaleoutLog{
		work: map[string][]string{}, held: map[string][]string{}, blobs: map[string][]string{},
	}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return l
	}
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if !strings.HasSuffix(line, "\n") {
			break // a write in progress
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			t.Fatalf("bad line %q in the shared log", line)
		}
		host := f[0]
		if _, err := strconv.Atoi(f[1]); err != nil {
			t.Fatalf("bad line %q in the shared log", line)
		}
		rest := strings.Join(f[3:], " ")
		switch f[2] {
		case "tick":
			if len(f) != 5 {
				t.Fatalf("bad tick line %q in the shared log", line)
			}
			ms, err := strconv.ParseInt(f[3], 10, 64)
			if err != nil {
				t.Fatalf("bad tick line %q in the shared log", line)
			}
			l.ticks = append(l.ticks, scaleoutTick{host: host, ms: ms, last: f[4]})
		case "work":
			l.work[rest] = append(l.work[rest], host)
		case "held":
			l.held[rest] = append(l.held[rest], host)
		case "blob":
			l.blobs[rest] = append(l.blobs[rest], host)
		default:
			t.Fatalf("bad line %q in the shared log", line)
		}
	}
	return l
}
