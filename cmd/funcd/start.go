package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/funcd/funcd/internal/gcfloor"

	"github.com/spf13/cobra"

	"github.com/funcd/funcd/appconfig"
	"github.com/funcd/funcd/frontdoor"
	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/httpapi"
	"github.com/funcd/funcd/httpapi/durableapi"
)

func hostVersion() string { return host.Version }

// startOptions are `funcd start`'s flags, named as Core Tools' `func start`.
type startOptions struct {
	port            int
	address         string
	cors            string
	corsCredentials bool
	functions       []string
	noAuth          bool
	enableAuth      bool
	stateDir        string
	timeout         int
	shutdownTimeout time.Duration
	useHTTPS        bool
	cert            string
	key             string
	password        string
	h2c             bool
	exitOnFailure   bool
	workersDirs     []string
}

func startCommand(g *globals) *cobra.Command {
	var o startOptions
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Run the function app in the current folder (or --script-root) on http://localhost:7071",
		Long: `Run the function app: load host.json, the function folders and local.settings.json,
start the custom handler, and serve HTTP triggers and the admin API.

A custom handler that crashes is restarted with backoff (1s doubling up to a
minute), forever; requests get 503 while it is down. /admin/host/status and
/admin/health/ready report it. --exit-on-worker-failure makes funcd exit
instead, after the Azure Functions host's limit.

Keys are enforced by default: callers of functions whose authLevel is not
anonymous need a key (x-functions-key header or ?code=). --no-auth treats every
request as admin, as Core Tools does, for local development.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("functions") {
				o.functions = append(o.functions, args...) // Core Tools takes "--functions a b"
			} else if len(args) > 0 {
				return fmt.Errorf("unexpected arguments %q (did you mean --functions %s?)", args, strings.Join(args, " "))
			}
			return start(cmd.Context(), g, cmd, o)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.port, "port", "p", 0, "local port to listen on (default: Host.LocalHttpPort in local.settings.json, or 7071)")
	f.StringVar(&o.address, "address", "", "local address to listen on (default: Host.LocalHttpAddress in local.settings.json, or 127.0.0.1; 0.0.0.0 in containers)")
	f.StringVar(&o.cors, "cors", "", "comma-separated list of CORS origins (default: Host.CORS in local.settings.json)")
	f.BoolVar(&o.corsCredentials, "cors-credentials", false, "allow cross-origin authenticated requests (cookies and the Authentication header)")
	f.StringSliceVar(&o.functions, "functions", nil, "only load these functions (space- or comma-separated)")
	f.BoolVar(&o.noAuth, "no-auth", false, "do not check keys: every request is treated as admin (local development only)")
	f.BoolVar(&o.enableAuth, "enableAuth", false, "accepted for Core Tools compatibility; keys are enforced unless --no-auth")
	f.StringVar(&o.stateDir, "state-dir", "", stateDirUsage)
	f.IntVarP(&o.timeout, "timeout", "t", 20, "accepted for Core Tools compatibility")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long a shutdown waits for requests in flight")
	f.BoolVar(&o.useHTTPS, "useHttps", false, "serve https://localhost:{port} (HTTP/2 and HTTP/1.1) instead of http://; without --cert, with a development certificate made once per user")
	f.StringVar(&o.cert, "cert", "", "for use with --useHttps: a .pfx file holding the certificate and its private key, or a PEM certificate file")
	f.StringVar(&o.key, "key", "", "for use with a PEM --cert: the PEM private key file (default: the key in the --cert file)")
	f.StringVar(&o.password, "password", "", "for use with a .pfx --cert: the password, or a file that contains it")
	f.BoolVar(&o.h2c, "h2c", false, "also accept HTTP/2 without TLS (prior knowledge), for a TLS-terminating proxy in front")
	f.BoolVar(&o.exitOnFailure, "exit-on-worker-failure", false, "exit when the custom handler fails 3 times, each within 30 minutes of the one before, as the Azure Functions host does, so a process supervisor can act (also the app setting "+host.ExitOnWorkerFailureSetting+"=true); by default the handler is restarted forever, with backoff")
	f.StringSliceVar(&o.workersDirs, "workers-dir", nil, "a folder of language worker folders, each with its worker.config.json (such as the Azure Functions host's workers folder), searched after FUNCD_WORKERS_DIR and before funcd's own workers; repeatable")
	return cmd
}

func start(ctx context.Context, g *globals, cmd *cobra.Command, o startOptions) error {
	rootDir, err := g.appRoot()
	if err != nil {
		return err
	}
	clk, err := processClock(g)
	if err != nil {
		return err
	}
	// The certificate is checked before anything starts: a bad one is a
	// usage error.
	tlsConfig, tlsInfo, err := loadTLS(o)
	if err != nil {
		return err
	}
	if err := checkAppRoot(rootDir); err != nil {
		return err
	}
	// The host logs every invocation: batch the writes off the request path.
	logOut := newLogWriter(g.stderr)
	defer logOut.Close()
	log := g.loggerTo(logOut)
	h, err := host.New(host.Config{
		ScriptRoot: rootDir,
		StateDir:   o.stateDir,
		Environ:    os.Environ(),
		AllowList:  o.functions,
		Logger:     log,
		Clock:      clk,

		ExitOnWorkerFailure: o.exitOnFailure,
		WorkerFolders:       absPaths(o.workersDirs),
	})
	if err != nil {
		return err
	}
	// The local endpoint the Durable SDKs call (rpcBaseUrl) opens before the
	// host starts, so that the first durableClient binding carries it.
	durableAPI := httpapi.DurableHandler(h, log)
	rpc, err := durableapi.ListenRPC(durableAPI, net.JoinHostPort("127.0.0.1", strconv.Itoa(durableapi.RPCPort)))
	if err != nil {
		_ = h.Shutdown(context.Background())
		return err
	}
	defer func() { _ = rpc.Close(context.Background()) }()
	h.SetDurableRPC(rpc.URL())
	if err := h.Start(ctx); err != nil {
		_ = h.Shutdown(context.Background())
		return fmt.Errorf("cannot start the host for %s: %w", rootDir, err)
	}
	limitMemory(h.Buffers().Limit())
	defer gcfloor.Raise(gcfloor.Default)()
	gen := h.Current()
	if g.verbose {
		printEffectiveConfig(g, gen)
	}

	port := o.port
	if port == 0 {
		port = gen.Local.Host.LocalHTTPPort
	}
	if port == 0 {
		port = 7071
	}
	address := o.address
	if address == "" {
		address = gen.Local.Host.LocalHTTPAddress
	}
	if address == "" {
		address = "127.0.0.1"
	}
	corsList := o.cors
	if !cmd.Flags().Changed("cors") {
		corsList = gen.Local.Host.CORS
	}
	credentials := o.corsCredentials || gen.Local.Host.CORSCredentials

	ln, err := net.Listen("tcp", net.JoinHostPort(address, strconv.Itoa(port)))
	if err != nil {
		_ = h.Shutdown(context.Background())
		return fmt.Errorf("cannot listen on port %d: %w (use --port to pick another)", port, err)
	}
	mcpAPI := httpapi.MCPHandler(h, log)
	api := httpapi.New(httpapi.Config{Host: h, NoAuth: o.noAuth, CORS: splitList(corsList), CORSCredentials: credentials, Logger: log,
		Webhooks: map[string]http.Handler{httpapi.DurableWebhook: durableAPI, httpapi.MCPWebhook: mcpAPI}})
	srv := frontdoor.New(frontdoor.Config{Handler: api, TLS: tlsConfig, H2C: o.h2c, Logger: log})
	srv.RegisterOnShutdown(mcpAPI.Close)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	h.SetBaseURL(fmt.Sprintf("%s://localhost:%d", srv.Scheme(), port))

	if tlsInfo != nil {
		printTLS(g, tlsInfo, log)
	}
	printBanner(g, h, o, fmt.Sprintf("%s://localhost:%d", srv.Scheme(), port))

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("Application is shutting down...")
	case <-h.Fatal():
		runErr = h.FatalErr()
	case err := <-served:
		runErr = err
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("requests were still running at the end of the shutdown timeout", "error", err)
	}
	if err := h.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("host shutdown", "error", err)
	}
	if runErr != nil && !errors.Is(runErr, frontdoor.ErrServerClosed) {
		return runErr
	}
	return nil
}

// checkAppRoot refuses to start without host.json, with Core Tools'
// messages: `func start` looks for host.json or local.settings.json from the
// current folder up, and fails when there is neither; with only
// local.settings.json the real host would make up a default host.json,
// which has no customHandler section for funcd to run.
func checkAppRoot(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if info, err := os.Stat(abs); err != nil || !info.IsDir() {
		return errors.New(strconv.Quote(abs) + " doesn't exist.") // Core Tools' words
	}
	if isRegularFile(filepath.Join(abs, "host.json")) {
		return nil
	}
	msg := "Unable to find project root. Expecting to find one of host.json, local.settings.json in project root."
	if isRegularFile(filepath.Join(abs, "local.settings.json")) {
		msg = "Host.json file is missing. Please make sure host.json file is present at " + abs
	}
	hint := "run funcd start in the app folder (or pass --script-root), or create an app with funcd init --worker-runtime custom"
	for parent := filepath.Dir(abs); parent != filepath.Dir(parent); parent = filepath.Dir(parent) {
		if isRegularFile(filepath.Join(parent, "host.json")) {
			hint = fmt.Sprintf("%s has a host.json: run funcd start there, or pass --script-root %s", parent, parent)
			break
		}
	}
	return fmt.Errorf("%s\n(%s)", msg, hint)
}

func isRegularFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

// stateDirUsage is the help of --state-dir.
const stateDirUsage = "folder for funcd's state, such as keys (default: a folder of the app's own outside it, " +
	"under $XDG_STATE_HOME/funcd/apps or ~/.local/state/funcd/apps)"

// memoryHeadroom is what funcd may hold besides buffered bodies before the
// garbage collector works harder: connections, routes, logs, the runtime.
const memoryHeadroom = 48 << 20

// limitMemory sets the Go runtime's soft memory limit a little above the
// host's buffer budget, unless GOMEMLIMIT sets one: as the budget fills,
// the garbage collector then returns what is dead instead of letting the
// heap grow to twice what is live, so the process's size follows the
// budget.
func limitMemory(budget int64) {
	if budget <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(budget + memoryHeadroom)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// printEffectiveConfig prints every setting funcd uses and where it came
// from.
func printEffectiveConfig(g *globals, gen *host.Generation) {
	fmt.Fprintf(g.stdout, "\nEffective configuration of %s:\n\n", gen.App.Root)
	for _, s := range appconfig.Describe(gen.App, gen.Local) {
		fmt.Fprintf(g.stdout, "  %-45s %-30s (%s)\n", s.Key, s.Value, s.Source)
	}
}

// absPaths makes each path absolute (from the current folder).
func absPaths(paths []string) []string {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		out = append(out, p)
	}
	return out
}
