// Package benchrun holds what funcd's HTTP benchmarks (bench/cmd/httpbench,
// bench/cmd/workerbench) share: one measured round of a server (warm-up, a
// loaded run, a single-connection run, with the CPU its processes used), the
// smoke test a server must pass before it is measured, building the module's
// binaries, the servers' environment, and the small helpers of their reports.
package benchrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/funcd/funcd/bench/internal/benchproc"
	"github.com/funcd/funcd/bench/internal/loadgen"
)

// Round is one round's measurements of one server.
type Round struct {
	Loaded, Single *loadgen.Result // at the configured concurrency, and at 1
	// HostCPU is the CPU that the process in front of the handler (funcd
	// or a proxy) used in the loaded run, 0 when there is none; HandlerCPU
	// the handler's (or language worker's).
	HostCPU, HandlerCPU time.Duration
}

// Plan is how a round is run.
type Plan struct {
	Warmup, Duration time.Duration // the loaded run's warm-up and length; the single run's length
	Concurrency      int           // connections of the loaded run
	Log              func(format string, args ...any)
}

// Target is the server a round measures.
type Target struct {
	Load loadgen.Config     // Addr, Path, WantBody and TLS; Conns and Duration are set by Measure
	Proc *benchproc.Process // the process served from; a round fails if it exits
	// CPU returns the CPU time used so far by the process in front of the
	// handler (0 when none) and by the handler.
	CPU func() (host, handler time.Duration)
}

// Measure runs one round: warm-up at plan.Concurrency, the loaded run (with
// the CPU of the target's processes over it), 200 ms of warm-up at one
// connection (less if plan.Warmup is shorter), then the single-connection run.
func Measure(ctx context.Context, plan Plan, t Target) (Round, error) {
	var rr Round
	cfg := t.Load
	cfg.Conns, cfg.Duration = plan.Concurrency, plan.Warmup
	if _, err := load(ctx, plan, t, cfg); err != nil {
		return rr, err
	}

	host0, handler0 := t.CPU()
	cfg.Duration = plan.Duration
	var err error
	if rr.Loaded, err = load(ctx, plan, t, cfg); err != nil {
		return rr, err
	}
	host1, handler1 := t.CPU()
	rr.HostCPU, rr.HandlerCPU = host1-host0, handler1-handler0

	cfg.Conns, cfg.Duration = 1, min(plan.Warmup, 200*time.Millisecond)
	if _, err := load(ctx, plan, t, cfg); err != nil {
		return rr, err
	}
	cfg.Duration = plan.Duration
	if rr.Single, err = load(ctx, plan, t, cfg); err != nil {
		return rr, err
	}
	plan.Log("  c=%d: %.0f req/s, p50 %s, p99 %s; c=1: p50 %s",
		plan.Concurrency, rr.Loaded.RPS(), MS(rr.Loaded.Latency.Quantile(0.5)), MS(rr.Loaded.Latency.Quantile(0.99)), MS(rr.Single.Latency.Quantile(0.5)))
	return rr, nil
}

// load runs the load generator and fails if the target died or no request
// succeeded.
func load(ctx context.Context, plan Plan, t Target, cfg loadgen.Config) (*loadgen.Result, error) {
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-t.Proc.Exited():
		return nil, fmt.Errorf("exited during the run (%v); its output:\n%s", t.Proc.Err(), t.Proc.LogTail())
	default:
	}
	if res.Requests == 0 {
		return nil, fmt.Errorf("no request succeeded at c=%d: %v", cfg.Conns, res.FirstErr)
	}
	if res.Errors > 0 {
		plan.Log("  warning: %d failed requests at c=%d, the first: %v", res.Errors, cfg.Conns, res.FirstErr)
	}
	return res, nil
}

// SmokeRequests is how many requests Smoke sends.
const SmokeRequests = 20

// Smoke sends SmokeRequests GETs of cfg.Path to the target with net/http's
// client and checks that each gets 200 and cfg.WantBody: a smoke test, and
// the function invoked at least once before idle memory is read.
func Smoke(ctx context.Context, name string, t Target) error {
	scheme := "http"
	if t.Load.TLS != nil {
		scheme = "https"
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: t.Load.TLS}}
	defer client.CloseIdleConnections()
	url := scheme + "://" + t.Load.Addr + t.Load.Path
	for range SmokeRequests {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		res, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("%s: GET %s: %w; its output:\n%s", name, t.Load.Path, err, t.Proc.LogTail())
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return fmt.Errorf("%s: GET %s: %w", name, t.Load.Path, err)
		}
		if res.StatusCode != http.StatusOK || (t.Load.WantBody != "" && string(body) != t.Load.WantBody) {
			return fmt.Errorf("%s: GET %s: %s %q, want 200 %q; its output:\n%s", name, t.Load.Path, res.Status, body, t.Load.WantBody, t.Proc.LogTail())
		}
	}
	return nil
}

// ModuleRoot returns the folder of the main module's go.mod.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run the benchmark from inside the funcd module")
	}
	return filepath.Dir(gomod), nil
}

// GoBuild builds a package of the module at root into out.
func GoBuild(ctx context.Context, root, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
	}
	return nil
}

// ChildEnv is the environment of the servers: this process's, without the
// settings that would skew them (GOMAXPROCS applies to the load generator
// only) or that a host sets for its workers, followed by extra (KEY=value).
func ChildEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOMAXPROCS", "GODEBUG", "GOGC", "GOMEMLIMIT", "FUNCTIONS_CUSTOMHANDLER_PORT", "FUNCTIONS_WORKER_RUNTIME", "NODE_OPTIONS":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// CommandLine is how to run a benchmark again with the same flags:
// "go run <pkg>" followed by args, quoted for a shell where needed.
func CommandLine(pkg string, args []string) string {
	var b strings.Builder
	b.WriteString("go run " + pkg)
	for _, a := range args {
		b.WriteByte(' ')
		if a == "" || strings.ContainsAny(a, " \t\n'\"$\\*?;&|<>()") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		b.WriteString(a)
	}
	return b.String()
}

// Sleep waits for d or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PerRequest returns cpu divided by the successful requests of res, in µs.
func PerRequest(cpu time.Duration, res *loadgen.Result) float64 {
	if res.Requests == 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / float64(res.Requests)
}

// MS formats a duration in milliseconds with microsecond precision.
func MS(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/1e6) }

// Median returns the median of v (the mean of the middle two for an even
// count), or 0 for none.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Machine describes the machine: CPUs, CPU model, kernel and Go version.
func Machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d CPUs (nproc), %s%s, %s %s/%s", runtime.NumCPU(), model, kernel, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// Report is what a benchmark command prints: its markdown, and whether every
// goal was met.
type Report interface {
	Markdown() string
	AllPass() bool
}

// Main runs a benchmark command's body and returns its exit status: 0 when
// every goal is met, 2 when one is missed, 1 on an error. Signals cancel the
// context run gets; they stay caught until every process in procs is
// stopped, so a second Ctrl-C cannot cut the cleanup short. The report goes
// to stdout, and also to the file out unless it is "".
func Main(name, out string, stdout, stderr io.Writer, run func(ctx context.Context, procs *benchproc.Set) (Report, error)) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	procs := &benchproc.Set{}
	defer procs.StopAll()

	rep, err := run(ctx, procs)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, name+": interrupted; stopping every process started")
		} else {
			fmt.Fprintln(stderr, name+":", err)
		}
		return 1
	}
	md := rep.Markdown()
	fmt.Fprint(stdout, md)
	if out != "" {
		if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
			fmt.Fprintln(stderr, name+":", err)
			return 1
		}
	}
	if !rep.AllPass() {
		return 2
	}
	return 0
}
