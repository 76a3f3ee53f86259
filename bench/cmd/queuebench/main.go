// Command queuebench measures funcd's queue trigger end to end on three
// storage providers: the embedded SQLite store, PostgreSQL and Azurite.
//
// A no-op Go custom handler (bench/queuehandler) serves one queueTrigger
// function with batchSize 16 (host.json extensions.queues). For each
// provider, in every round (the providers' order rotates from round to
// round):
//
//   - throughput: the benchmark pre-fills the function's queue with -n
//     messages directly through the provider's Go package (sqlite.Open on
//     funcd's state folder, postgres.Open on a fresh schema, azstorage on
//     Azurite), then starts `funcd start` and times from the handler's
//     first invocation until funcd's admin API reports the queue empty:
//     every message enqueued, run and deleted. funcd's CPU time over the
//     same span, from /proc/<pid>/stat, divided by the messages, is its
//     CPU per message;
//   - latency: with the queue drained, it enqueues -latency-n messages
//     through POST /admin/funcd/queues/{queue}/messages, one every
//     1/-rate seconds, each carrying its enqueue time; the handler records
//     when it received each, and the differences give the enqueue-to-start
//     latency's p50 and p99.
//
// Figures are medians over the rounds. funcd runs as `funcd start --no-auth`
// in a process of its own, built from ./cmd/funcd; Azurite from
// tools/azurite/node_modules on its default ports (10000, 10001), which must
// be free; PostgreSQL must answer at -pg.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/funcd/funcd/azstorage"
	"github.com/funcd/funcd/bench/internal/benchproc"
	"github.com/funcd/funcd/postgres"
	"github.com/funcd/funcd/sqlite"
	"github.com/funcd/funcd/storage"
	"github.com/jackc/pgx/v5"
)

// config is the command line.
type config struct {
	n, azuriteN   int
	latencyN      int
	rate          float64
	rounds        int
	providers     []string
	pg            string
	keep          bool
	fillerWorkers int
}

func main() {
	var c config
	var providers string
	flag.IntVar(&c.n, "n", 20000, "messages pre-filled for the throughput run (embedded and PostgreSQL)")
	flag.IntVar(&c.azuriteN, "azurite-n", 3000, "messages pre-filled for the throughput run on Azurite")
	flag.IntVar(&c.latencyN, "latency-n", 400, "messages of the paced latency run")
	flag.Float64Var(&c.rate, "rate", 200, "messages per second of the paced latency run")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds; every figure is the median over them")
	flag.StringVar(&providers, "providers", "embedded,postgres,azurite", "providers to measure, comma-separated")
	flag.StringVar(&c.pg, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL connection string (a fresh schema is made per run)")
	flag.BoolVar(&c.keep, "keep", false, "keep the work folder (funcd's logs, the handler's records)")
	flag.Parse()
	c.providers = strings.Split(providers, ",")
	c.fillerWorkers = 16

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ps := &benchproc.Set{}
	defer ps.StopAll()
	code, err := run(ctx, c, ps)
	ps.StopAll()
	if err != nil {
		fmt.Fprintln(os.Stderr, "queuebench:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// result is one provider's measurement in one round.
type result struct {
	provider   string
	round      int
	messages   int
	msgPerSec  float64
	cpuPerMsg  time.Duration // funcd's
	hcpuPerMsg time.Duration // the handler's
	p50, p99   time.Duration
}

func run(ctx context.Context, c config, ps *benchproc.Set) (int, error) {
	work, err := os.MkdirTemp("", "queuebench-")
	if err != nil {
		return 0, err
	}
	if c.keep {
		fmt.Fprintln(os.Stderr, "work folder:", work)
	} else {
		defer os.RemoveAll(work)
	}
	root, err := os.Getwd()
	if err != nil {
		return 0, err
	}
	funcdBin := filepath.Join(work, "funcd")
	handlerBin := filepath.Join(work, "queuehandler")
	for _, b := range [][2]string{{funcdBin, "./cmd/funcd"}, {handlerBin, "./bench/queuehandler"}} {
		out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("go build %s (run from the repository's root): %w\n%s", b[1], err, out)
		}
	}
	if slices.Contains(c.providers, "azurite") {
		if err := startAzurite(ctx, ps, root, work); err != nil {
			return 0, err
		}
	}
	var results []result
	for round := 1; round <= c.rounds; round++ {
		for i := range c.providers {
			p := c.providers[(i+round-1)%len(c.providers)]
			fmt.Fprintf(os.Stderr, "round %d: %s ...", round, p)
			r, err := measure(ctx, c, ps, work, handlerBin, funcdBin, p, round)
			if err != nil {
				return 0, fmt.Errorf("round %d, %s: %w", round, p, err)
			}
			fmt.Fprintf(os.Stderr, " %.0f msg/s, funcd %.1f µs/msg, p50 %.2f ms, p99 %.2f ms\n",
				r.msgPerSec, micros(r.cpuPerMsg), millis(r.p50), millis(r.p99))
			results = append(results, r)
		}
	}
	return report(os.Stdout, c, results), nil
}

// startAzurite runs Azurite in memory on its default ports, where
// UseDevelopmentStorage=true looks for it.
func startAzurite(ctx context.Context, ps *benchproc.Set, root, work string) error {
	script := filepath.Join(root, "tools", "azurite", "node_modules", "azurite", "dist", "src", "azurite.js")
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("azurite is not installed (%s is missing): run `make azurite`", script)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("azurite needs node: %w", err)
	}
	dir := filepath.Join(work, "azurite")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	p, err := ps.Start("azurite", dir, filepath.Join(work, "azurite.log"), os.Environ(), node, script,
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(azstorage.DevBlobPort),
		"--queueHost", "127.0.0.1", "--queuePort", strconv.Itoa(azstorage.DevQueuePort),
		"--tableHost", "127.0.0.1", "--tablePort", "0",
		"--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry")
	if err != nil {
		return err
	}
	return p.WaitReady(ctx, "http", fmt.Sprintf("127.0.0.1:%d", azstorage.DevQueuePort), nil, 30*time.Second)
}

// app writes the function app: host.json, the queueTrigger function
// "drain" on queue, and local.settings.json with values.
func app(dir, handlerBin, queue string, values map[string]string) error {
	hostJSON := `{
  "version": "2.0",
  "customHandler": {"description": {"defaultExecutablePath": "handler"}},
  "extensions": {"queues": {"batchSize": 16, "messageEncoding": "none"}}
}
`
	functionJSON := fmt.Sprintf(`{"bindings": [{"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": %q, "connection": "AzureWebJobsStorage"}]}
`, queue)
	local, err := json.MarshalIndent(map[string]any{"IsEncrypted": false, "Values": values}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "drain"), 0o755); err != nil {
		return err
	}
	for name, text := range map[string]string{"host.json": hostJSON, "drain/function.json": functionJSON, "local.settings.json": string(local)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	b, err := os.ReadFile(handlerBin)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "handler"), b, 0o755)
}

// measure runs one provider's throughput and latency runs.
func measure(ctx context.Context, c config, ps *benchproc.Set, work, handlerBin, funcdBin, provider string, round int) (result, error) {
	dir := filepath.Join(work, fmt.Sprintf("r%d-%s", round, provider))
	stateDir := filepath.Join(dir, "state")
	records := filepath.Join(dir, "records.txt")
	queue := fmt.Sprintf("bench-r%d-%d", round, os.Getpid())
	values := map[string]string{
		"FUNCTIONS_WORKER_RUNTIME": "custom",
		"AzureWebJobsStorage":      "UseDevelopmentStorage=true",
		"QUEUEBENCH_RECORDS":       records,
	}
	n := c.n
	var store storage.Queues
	var closeStore func() error
	switch provider {
	case "embedded":
		values["FUNCD_DEVELOPMENT_STORAGE"] = "embedded"
		s, err := sqlite.Open(filepath.Join(stateDir, "store"), sqlite.Options{})
		if err != nil {
			return result{}, err
		}
		store, closeStore = s, s.Close
	case "postgres":
		schema := fmt.Sprintf("queuebench_%d_%d", os.Getpid(), round)
		s, err := postgres.Open(ctx, c.pg, postgres.Options{Schema: schema})
		if err != nil {
			return result{}, fmt.Errorf("PostgreSQL at %s: %w", c.pg, err)
		}
		store, closeStore = s, s.Close
		// Deferred before funcd starts, so it runs after funcd has stopped.
		defer dropSchema(c.pg, schema)
		sep := "?"
		if strings.Contains(c.pg, "?") {
			sep = "&"
		}
		values["FUNCD_STORE"] = c.pg + sep + "search_path=" + schema
		// Without this, UseDevelopmentStorage=true would pick the Azurite
		// that answers on its default ports; "embedded" means funcd's own
		// store, which FUNCD_STORE makes PostgreSQL.
		values["FUNCD_DEVELOPMENT_STORAGE"] = "embedded"
	case "azurite":
		values["FUNCD_DEVELOPMENT_STORAGE"] = "azurite"
		p, err := azstorage.Open(azstorage.DevelopmentAccount(), azstorage.Options{})
		if err != nil {
			return result{}, err
		}
		store, closeStore = p, func() error { return nil }
		n = c.azuriteN
	default:
		return result{}, fmt.Errorf("unknown provider %q (embedded, postgres, azurite)", provider)
	}
	if err := app(dir, handlerBin, queue, values); err != nil {
		return result{}, err
	}
	err := fill(ctx, store, queue, n, c.fillerWorkers)
	if cerr := closeStore(); err == nil {
		err = cerr
	}
	if err != nil {
		return result{}, fmt.Errorf("pre-filling %d messages: %w", n, err)
	}

	addr, err := benchproc.FreeAddr()
	if err != nil {
		return result{}, err
	}
	_, port, _ := strings.Cut(addr, ":")
	env := os.Environ()
	for k, v := range values {
		env = append(env, k+"="+v)
	}
	f, err := ps.Start("funcd "+provider, dir, filepath.Join(dir, "funcd.log"), env, funcdBin,
		"start", "--no-auth", "--port", port, "--state-dir", stateDir)
	if err != nil {
		return result{}, err
	}
	defer f.Stop()
	r := result{provider: provider, round: round, messages: n}

	// Throughput: from the first invocation until the queue is empty.
	deadline := time.Now().Add(10 * time.Minute)
	var cpu0 time.Duration
	for {
		if st, err := os.Stat(records); err == nil && st.Size() > 0 {
			cpu0 = benchproc.CPUOf(f.PID())
			break
		}
		if err := alive(ctx, f, deadline); err != nil {
			return result{}, fmt.Errorf("waiting for the first invocation: %w", err)
		}
		time.Sleep(time.Millisecond)
	}
	hpid, hexe, err := benchproc.FindChild(f.PID(), filepath.Join(dir, "handler"), 10*time.Second)
	if err != nil {
		return result{}, err
	}
	f.Adopt(hpid, hexe)
	hcpu0 := benchproc.CPUOf(hpid)
	client := &http.Client{Timeout: time.Minute}
	defer client.CloseIdleConnections()
	base := "http://" + addr
	// Watch the handler's records until every message has run, then ask
	// funcd until the queue is empty (every message deleted). The admin
	// route is asked only at the end: on Azurite each question is two
	// requests to the emulator, which would slow down the run it measures.
	seen := &lineCounter{path: records}
	for {
		handled, err := seen.count()
		if err != nil {
			return result{}, err
		}
		if handled >= n {
			break
		}
		if err := alive(ctx, f, deadline); err != nil {
			return result{}, fmt.Errorf("draining (%d of %d handled): %w", handled, n, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	for {
		left, err := queueCount(ctx, client, base, queue)
		if err != nil {
			return result{}, err
		}
		if left == 0 {
			break
		}
		if err := alive(ctx, f, deadline); err != nil {
			return result{}, fmt.Errorf("draining (%d left): %w", left, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	end := time.Now()
	cpu1, hcpu1 := benchproc.CPUOf(f.PID()), benchproc.CPUOf(hpid)
	recs, err := readRecords(records)
	if err != nil {
		return result{}, err
	}
	if len(recs) < n {
		return result{}, fmt.Errorf("the queue is empty but the handler saw %d of %d messages; funcd's output:\n%s", len(recs), n, f.LogTail())
	}
	first := recs[0].received
	for _, rec := range recs {
		first = min(first, rec.received)
	}
	span := end.Sub(time.Unix(0, first))
	r.msgPerSec = float64(n) / span.Seconds()
	r.cpuPerMsg = (cpu1 - cpu0) / time.Duration(n)
	r.hcpuPerMsg = (hcpu1 - hcpu0) / time.Duration(n)

	// Latency: paced enqueues through the admin route.
	interval := time.Duration(float64(time.Second) / c.rate)
	next := time.Now()
	for i := 0; i < c.latencyN; i++ {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		next = next.Add(interval)
		if err := enqueueAdmin(ctx, client, base, queue, "l="+strconv.FormatInt(time.Now().UnixNano(), 10)); err != nil {
			return result{}, err
		}
	}
	var lat []time.Duration
	for {
		recs, err := readRecords(records)
		if err != nil {
			return result{}, err
		}
		lat = lat[:0]
		for _, rec := range recs {
			if rec.kind == 'l' {
				lat = append(lat, time.Duration(rec.received-rec.enqueued))
			}
		}
		if len(lat) >= c.latencyN {
			break
		}
		if err := alive(ctx, f, deadline); err != nil {
			return result{}, fmt.Errorf("waiting for the latency run (%d of %d): %w", len(lat), c.latencyN, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	slices.Sort(lat)
	r.p50, r.p99 = quantile(lat, 0.50), quantile(lat, 0.99)
	return r, nil
}

// alive reports an error when funcd exited, the context ended or the
// deadline passed.
func alive(ctx context.Context, f *benchproc.Process, deadline time.Time) error {
	select {
	case <-f.Exited():
		return fmt.Errorf("funcd exited (%v); its output:\n%s", f.Err(), f.LogTail())
	case <-ctx.Done():
		return ctx.Err()
	default:
	}
	if time.Now().After(deadline) {
		return fmt.Errorf("timed out; funcd's output:\n%s", f.LogTail())
	}
	return nil
}

// fill enqueues n messages "t=<now>" with workers goroutines.
func fill(ctx context.Context, q storage.Queues, queue string, n, workers int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				body := []byte("t=" + strconv.FormatInt(time.Now().UnixNano(), 10))
				if _, err := q.Enqueue(ctx, queue, body, 0, -1); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// queueCount asks funcd's admin API how many messages the queue holds,
// visible or not; a queue not listed counts as empty.
func queueCount(ctx context.Context, client *http.Client, base, queue string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/admin/funcd/queues", nil)
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /admin/funcd/queues: %s", res.Status)
	}
	var qs []struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	if err := json.NewDecoder(res.Body).Decode(&qs); err != nil {
		return 0, fmt.Errorf("GET /admin/funcd/queues: %w", err)
	}
	for _, q := range qs {
		if q.Name == queue {
			return q.Count, nil
		}
	}
	return 0, nil
}

// enqueueAdmin adds a message through funcd's admin API.
func enqueueAdmin(ctx context.Context, client *http.Client, base, queue, text string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/admin/funcd/queues/"+queue+"/messages?encoding=none", strings.NewReader(text))
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST /admin/funcd/queues/%s/messages: %s", queue, res.Status)
	}
	return nil
}

// record is one line of the handler's records.
type record struct {
	kind               byte
	enqueued, received int64
}

// readRecords reads the handler's records file; a last line still being
// written is left out.
func readRecords(path string) ([]record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []record
	for line := range strings.Lines(string(b)) {
		if !strings.HasSuffix(line, "\n") {
			break
		}
		f := strings.Fields(line)
		if len(f) != 3 || len(f[0]) != 1 {
			return nil, fmt.Errorf("%s: malformed line %q", path, line)
		}
		e, _ := strconv.ParseInt(f[1], 10, 64)
		r, _ := strconv.ParseInt(f[2], 10, 64)
		out = append(out, record{f[0][0], e, r})
	}
	return out, nil
}

// lineCounter counts the whole lines of a file that only grows, reading
// only what was added since the last count.
type lineCounter struct {
	path   string
	offset int64
	lines  int
}

func (c *lineCounter) count() (int, error) {
	f, err := os.Open(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, c.offset, 1<<40))
	if err != nil {
		return 0, err
	}
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 { // a partial last line waits
		c.lines += bytes.Count(b[:i+1], []byte{'\n'})
		c.offset += int64(i + 1)
	}
	return c.lines, nil
}

// quantile returns the q-quantile of sorted values (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// dropSchema removes a round's PostgreSQL schema; a failure is only
// reported, as the figures are taken by then.
func dropSchema(conn, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, conn)
	if err == nil {
		_, err = c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		_ = c.Close(ctx)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "queuebench: cannot drop schema %s: %v\n", schema, err)
	}
}
