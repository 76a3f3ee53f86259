package grpcworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/worker"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// Defaults of Config.
const (
	// DefaultMaxMessageBytes is the Functions host's gRPC message limit
	// (128 MiB), passed to the worker as --functions-grpc-max-message-length.
	DefaultMaxMessageBytes = 128 << 20
	// DefaultStartTimeout bounds a worker's start: its connection, its
	// initialisation and the loading of its functions.
	DefaultStartTimeout = 60 * time.Second
	// DefaultTerminateGrace is the grace period WorkerTerminate gives a
	// worker before it is killed.
	DefaultTerminateGrace = 5 * time.Second
)

// Config configures a Worker. Path is required.
type Config struct {
	// Path is the program to start ("node", or a Go app's binary); Args go
	// before the protocol's flags (a Node worker's script, say).
	Path string
	Args []string
	// Dir is the working directory; Env the whole environment (nil: the
	// parent's). See worker.Spec.
	Dir string
	Env []string

	// HostVersion, Capabilities, WorkerDirectory and AppDirectory fill the
	// WorkerInitRequest; AppDirectory also the FunctionsMetadataRequest.
	HostVersion     string
	Capabilities    map[string]string
	WorkerDirectory string
	AppDirectory    string

	// Functions are loaded when the worker does not index the app itself
	// (it answers use_default_metadata_indexing): the host's own index.
	Functions []*FunctionMetadata

	// MaxMessageBytes bounds every message either way; default
	// DefaultMaxMessageBytes.
	MaxMessageBytes int
	// StartTimeout bounds connecting, initialising and loading; default
	// DefaultStartTimeout. TerminateGrace is the WorkerTerminate grace
	// period at Shutdown; default DefaultTerminateGrace.
	StartTimeout   time.Duration
	TerminateGrace time.Duration

	// OnLog receives the worker's RpcLog records; nil logs them to Logger.
	OnLog func(Log)
	// Output receives the process's output lines; nil logs them to Logger.
	Output worker.OutputFunc
	// Logger receives the Worker's own records; default slog.Default().
	Logger *slog.Logger
	// Clock times the timeouts and the Supervisor; default the real clock.
	Clock clock.Clock

	// Restart policy of the Supervisor; the zero values are its defaults
	// (see worker.Config).
	MaxErrors  int
	Backoff    time.Duration
	MaxBackoff time.Duration
	OnFatal    func(error)
}

// Log is one RpcLog record of a worker.
type Log struct {
	InvocationID string // "" outside an invocation
	Category     string // "<function>.Invocation" for a function's logs
	Level        slog.Level
	Message      string
	Exception    string    // the exception's message and stack trace, if any
	System       bool      // a record of the worker, not of user code
	Raw          *RpcLog   // the whole record
	Pid          int       // the worker process's id (0 if it wrote before the host knew it)
	Time         time.Time // when the host received it
}

// Function is a function the worker indexed, with Err set when its indexing
// or its FunctionLoadRequest failed: it cannot be invoked.
type Function struct {
	Metadata *FunctionMetadata
	Err      error
}

// Worker runs one language worker process at a time and speaks FunctionRpc
// with it. Its methods are safe for concurrent use.
type Worker struct {
	cfg    Config
	path   string
	logger *slog.Logger
	clock  clock.Clock

	sup      *worker.Supervisor
	srv      *grpc.Server
	lis      net.Listener
	addr     string
	serveErr chan error

	mu       sync.Mutex
	sessions map[string]*session // launched, not yet connected, by worker id

	shutdown atomic.Bool
	stopOnce sync.Once
	stopErr  error
}

// session is one launched process: its ids and its stream once connected.
type session struct {
	workerID  string
	requestID string
	connCh    chan *conn // the server hands the stream over here
	proc      atomic.Pointer[worker.Process]
	cur       atomic.Pointer[conn]
}

// New returns a Worker that has started nothing yet.
func New(cfg Config) (*Worker, error) {
	if cfg.Path == "" {
		return nil, errors.New("grpcworker: Config.Path is empty")
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.TerminateGrace <= 0 {
		cfg.TerminateGrace = DefaultTerminateGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	w := &Worker{cfg: cfg, path: cfg.Path, logger: cfg.Logger, clock: cfg.Clock,
		sessions: make(map[string]*session), serveErr: make(chan error, 1)}
	if w.cfg.Output == nil {
		w.cfg.Output = func(p *worker.Process, s worker.Stream, line string) {
			w.logger.Info(line, "pid", p.Pid(), "stream", s.String())
		}
	}
	w.sup = worker.NewSupervisor(worker.Config{
		Prepare:    w.prepare,
		Ready:      w.ready,
		Terminate:  w.terminate,
		Output:     w.cfg.Output,
		Clock:      cfg.Clock,
		Logger:     cfg.Logger,
		OnFatal:    cfg.OnFatal,
		MaxErrors:  cfg.MaxErrors,
		Backoff:    cfg.Backoff,
		MaxBackoff: cfg.MaxBackoff,
		StopGrace:  cfg.TerminateGrace,
	})
	return w, nil
}

// Start opens the gRPC server on 127.0.0.1 and a free port, launches the
// worker and waits until it has connected, initialised and loaded its
// functions. If that first start fails, Start returns why; the Supervisor
// keeps trying, and Shutdown stops it.
func (w *Worker) Start(ctx context.Context) error {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("cannot open the language worker's gRPC port: %w", err)
	}
	w.lis = lis
	w.addr = lis.Addr().String()
	w.srv = grpc.NewServer(
		grpc.MaxRecvMsgSize(w.cfg.MaxMessageBytes),
		grpc.MaxSendMsgSize(w.cfg.MaxMessageBytes),
	)
	rpcpb.RegisterFunctionRpcServer(w.srv, &server{w: w})
	go func() { w.serveErr <- w.srv.Serve(lis) }()

	if err := w.sup.Start(ctx); err != nil {
		return fmt.Errorf("cannot start the language worker %s: %w", w.path, err)
	}
	if _, err := w.sup.Wait(ctx); err != nil {
		return fmt.Errorf("language worker %s did not start: %w", w.path, err)
	}
	return nil
}

// Addr is the gRPC server's address, host:port, once started.
func (w *Worker) Addr() string { return w.addr }

// Health reports the worker process's state.
func (w *Worker) Health() worker.Health { return w.sup.Health() }

// current waits for the ready worker's stream (see worker.Supervisor.Wait).
func (w *Worker) current(ctx context.Context) (*conn, error) {
	return w.currentWithin(ctx, 0)
}

// WaitReady waits for a ready worker as every call does, and also while
// the Supervisor waits out a backoff that ends within `within`: a caller
// that must not fail while a crashed worker is replaced (a queue message,
// whose failed attempts count towards its poison limit) waits for the
// replacement, as the Functions host holds invocations while it restarts a
// language worker. A worker that keeps failing, with a longer backoff,
// fails it at once with the *worker.DownError.
func (w *Worker) WaitReady(ctx context.Context, within time.Duration) error {
	_, err := w.currentWithin(ctx, within)
	return err
}

// currentWithin waits for the ready worker's stream, through a restart
// that comes within `within`. A worker whose stream has just ended is being
// killed (see ready): it waits for it to be gone and for its replacement
// rather than return a stream that fails every send.
func (w *Worker) currentWithin(ctx context.Context, within time.Duration) (*conn, error) {
	for {
		if w.shutdown.Load() {
			return nil, ErrShutdown
		}
		p, err := w.sup.WaitRestart(ctx, within)
		if errors.Is(err, worker.ErrStopped) {
			return nil, ErrShutdown
		}
		if err != nil {
			return nil, err
		}
		c := p.Spec().Data.(*session).cur.Load()
		if c == nil {
			return nil, ErrShutdown // cannot happen: a ready process has its stream
		}
		select {
		case <-c.done:
		default:
			return c, nil
		}
		select {
		case <-p.Done():
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Functions returns the functions of the ready worker, waiting for one
// while a worker starts.
func (w *Worker) Functions(ctx context.Context) ([]Function, error) {
	c, err := w.current(ctx)
	if err != nil {
		return nil, err
	}
	return c.info.Functions, nil
}

// Capabilities returns the ready worker's capabilities (WorkerInitResponse)
// and its metadata (nil if it sent none).
func (w *Worker) Capabilities(ctx context.Context) (map[string]string, *WorkerMetadata, error) {
	c, err := w.current(ctx)
	if err != nil {
		return nil, nil, err
	}
	return c.info.Capabilities, c.info.Metadata, nil
}

// Session is what one worker process told the host while it started. It
// stays the same for the life of the process; a restarted worker has a new
// one (its functions' ids and its HttpUri may differ).
type Session struct {
	// WorkerID is the id the host gave the process (--workerId).
	WorkerID string
	// Pid is the process's id.
	Pid int
	// Capabilities and Metadata are the WorkerInitResponse's.
	Capabilities map[string]string
	Metadata     *WorkerMetadata
	// Functions are the functions it loaded, each with its error if
	// indexing or loading failed.
	Functions []Function
	// WorkerIndexed is set when the worker indexed the app itself, and
	// clear when it answered use_default_metadata_indexing and loaded
	// Config.Functions.
	WorkerIndexed bool
}

// Session returns the ready worker process's Session, waiting for one while
// a worker starts. The result must not be modified.
func (w *Worker) Session(ctx context.Context) (*Session, error) {
	c, err := w.current(ctx)
	if err != nil {
		return nil, err
	}
	return &c.info, nil
}

// Invoke sends req to the ready worker and returns its response, matched by
// invocation_id. A response whose result failed is returned as it is, not
// as an error: errors are the host's (no worker, the stream ended with a
// *StreamClosedError, a *MessageTooLargeError, ctx). When ctx ends first,
// the worker gets an InvocationCancel and Invoke returns ctx's error.
func (w *Worker) Invoke(ctx context.Context, req *InvocationRequest) (*InvocationResponse, error) {
	c, err := w.current(ctx)
	if err != nil {
		return nil, err
	}
	return c.invoke(ctx, req)
}

// InvokeAsync sends req to the ready worker and returns; done gets its
// response, or the error Invoke would return, once. done runs on a
// goroutine of the Worker's (the one that reads the worker's stream, for a
// response), so it must not block. When InvokeAsync returns an error, done
// is not called.
func (w *Worker) InvokeAsync(ctx context.Context, req *InvocationRequest, done func(*InvocationResponse, error)) error {
	c, err := w.current(ctx)
	if err != nil {
		return err
	}
	return c.invokeAsync(ctx, req, done)
}

// Expect registers an invocation that reaches the ready worker some other
// way than an InvocationRequest on the stream (funcd's Go SDK takes one
// inside the HTTP request forwarded to its HttpUri): done gets its
// InvocationResponse if one comes on the stream, the stream's end, or
// ctx's end (the worker then gets an InvocationCancel), as for
// InvokeAsync. release takes the invocation back when its response came
// the other way; it reports false when done was or is being called.
func (w *Worker) Expect(ctx context.Context, invocationID string, done func(*InvocationResponse, error)) (release func() bool, err error) {
	c, err := w.current(ctx)
	if err != nil {
		return nil, err
	}
	p, err := c.expectInvocation(ctx, invocationID, done)
	if err != nil {
		return nil, err
	}
	return func() bool {
		if c.take(invocationID, p) == nil {
			return false
		}
		p.stop()
		return true
	}, nil
}

// Restart replaces the ready worker process with a new one at once,
// without counting a failure: what the Functions host does after a
// function timeout. Invocations in flight on it fail.
func (w *Worker) Restart(reason string) { w.sup.Restart(reason) }

// Ping sends a WorkerStatusRequest and returns how long the reply took.
func (w *Worker) Ping(ctx context.Context) (time.Duration, error) {
	c, err := w.current(ctx)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	_, err = c.request(ctx, "status", &rpcpb.StreamingMessage{RequestId: newID(),
		Content: &rpcpb.StreamingMessage_WorkerStatusRequest{WorkerStatusRequest: &rpcpb.WorkerStatusRequest{}}})
	return time.Since(start), err
}

// Shutdown sends the worker WorkerTerminate with Config.TerminateGrace,
// kills it if it is still running after that (or when ctx ends first), and
// closes the gRPC server. Invocations in flight fail. Shutdown is
// idempotent; later calls return the first result.
func (w *Worker) Shutdown(ctx context.Context) error {
	w.stopOnce.Do(func() {
		w.shutdown.Store(true)
		w.stopErr = w.sup.Stop(ctx)
		if w.srv != nil {
			w.srv.Stop()
			if err := <-w.serveErr; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				w.logger.Debug("gRPC server ended", "err", err)
			}
		}
	})
	return w.stopErr
}

// prepare describes the next process, with new ids, and registers its
// session for the server.
func (w *Worker) prepare() (worker.Spec, error) {
	s := &session{workerID: newID(), requestID: newID(), connCh: make(chan *conn, 1)}
	w.mu.Lock()
	w.sessions[s.workerID] = s
	w.mu.Unlock()
	host, port, _ := net.SplitHostPort(w.addr)
	max := strconv.Itoa(w.cfg.MaxMessageBytes)
	args := append([]string(nil), w.cfg.Args...)
	args = append(args,
		"--host", host, "--port", port, "--workerId", s.workerID, "--requestId", s.requestID,
		"--grpcMaxMessageLength", max,
		"--functions-uri", "http://"+w.addr+"/", "--functions-worker-id", s.workerID,
		"--functions-request-id", s.requestID, "--functions-grpc-max-message-length", max,
	)
	return worker.Spec{Path: w.cfg.Path, Args: args, Dir: w.cfg.Dir, Env: w.cfg.Env, Data: s}, nil
}

// ready waits for the process's stream, then initialises the worker and
// loads its functions, all within StartTimeout.
func (w *Worker) ready(ctx context.Context, p *worker.Process) error {
	s := p.Spec().Data.(*session)
	s.proc.Store(p)
	defer func() {
		w.mu.Lock()
		delete(w.sessions, s.workerID)
		w.mu.Unlock()
	}()
	timer := w.clock.NewTimer(w.cfg.StartTimeout)
	defer timer.Stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-timer.C():
			cancel()
		case <-ctx.Done():
		}
	}()

	var c *conn
	select {
	case c = <-s.connCh:
	case <-ctx.Done():
		if timerFired(timer) {
			return &ConnectError{Path: w.path, Pid: p.Pid(), WorkerID: s.workerID, Timeout: w.cfg.StartTimeout}
		}
		return ctx.Err()
	}
	go func() {
		// A stream that ends while its process runs leaves a useless
		// worker: kill it, so that the Supervisor starts a new one.
		select {
		case <-c.done:
			if !w.shutdown.Load() {
				w.logger.Error("Language worker closed its stream; restarting it", "pid", p.Pid(), "err", c.err)
				_ = p.Kill()
			}
		case <-p.Done():
		}
	}()
	if err := w.handshake(ctx, c); err != nil {
		if ctx.Err() != nil && timerFired(timer) {
			return fmt.Errorf("language worker %s (pid %d) did not initialise within %v: %w", w.path, p.Pid(), w.cfg.StartTimeout, err)
		}
		return fmt.Errorf("language worker %s (pid %d): %w", w.path, p.Pid(), err)
	}
	s.cur.Store(c)
	return nil
}

// timerFired says whether t has fired (its Stop finds it already expired).
func timerFired(t clock.Timer) bool { return !t.Stop() }

func (w *Worker) handshake(ctx context.Context, c *conn) error {
	r, err := c.request(ctx, "init", &rpcpb.StreamingMessage{RequestId: newID(),
		Content: &rpcpb.StreamingMessage_WorkerInitRequest{WorkerInitRequest: &rpcpb.WorkerInitRequest{
			HostVersion:          w.cfg.HostVersion,
			Capabilities:         w.cfg.Capabilities,
			WorkerDirectory:      w.cfg.WorkerDirectory,
			FunctionAppDirectory: w.cfg.AppDirectory,
		}}})
	if err != nil {
		return fmt.Errorf("WorkerInitRequest: %w", err)
	}
	init := r.GetWorkerInitResponse()
	if err := statusError("WorkerInitRequest", init.GetResult()); err != nil {
		return err
	}
	c.info.Capabilities, c.info.Metadata = init.GetCapabilities(), init.GetWorkerMetadata()

	r, err = c.request(ctx, "metadata", &rpcpb.StreamingMessage{RequestId: newID(),
		Content: &rpcpb.StreamingMessage_FunctionsMetadataRequest{FunctionsMetadataRequest: &rpcpb.FunctionsMetadataRequest{
			FunctionAppDirectory: w.cfg.AppDirectory,
		}}})
	if err != nil {
		return fmt.Errorf("FunctionsMetadataRequest: %w", err)
	}
	md := r.GetFunctionMetadataResponse()
	if err := statusError("FunctionsMetadataRequest", md.GetResult()); err != nil {
		return err
	}
	metas := md.GetFunctionMetadataResults()
	c.info.WorkerIndexed = !md.GetUseDefaultMetadataIndexing()
	if !c.info.WorkerIndexed {
		metas = w.cfg.Functions
	}

	// Send every load, then collect the replies.
	fns := make([]Function, len(metas))
	waits := make([]chan *rpcpb.StreamingMessage, len(metas))
	for i, m := range metas {
		fns[i].Metadata = m
		if m.GetStatus() != nil {
			if err := statusError("indexing "+m.GetName(), m.GetStatus()); err != nil {
				fns[i].Err = err
				continue
			}
		}
		if m.FunctionId == "" {
			m.FunctionId = newID()
		}
		key := "load/" + m.FunctionId
		ch, err := c.expect(key)
		if err != nil {
			fns[i].Err = err
			continue
		}
		err = c.send(&rpcpb.StreamingMessage{RequestId: newID(),
			Content: &rpcpb.StreamingMessage_FunctionLoadRequest{FunctionLoadRequest: &rpcpb.FunctionLoadRequest{
				FunctionId: m.FunctionId, Metadata: m,
			}}})
		if err != nil {
			c.forget(key, ch)
			return fmt.Errorf("FunctionLoadRequest for %s: %w", m.GetName(), err)
		}
		waits[i] = ch
	}
	for i, ch := range waits {
		if ch == nil {
			continue
		}
		name := fns[i].Metadata.GetName()
		r, err := c.await(ctx, "load/"+fns[i].Metadata.FunctionId, ch)
		if err != nil {
			return fmt.Errorf("FunctionLoadRequest for %s: %w", name, err)
		}
		if err := statusError("FunctionLoadRequest for "+name, r.GetFunctionLoadResponse().GetResult()); err != nil {
			fns[i].Err = err
			w.logger.Error("Language worker failed to load a function", "function", name, "err", err)
		}
	}
	c.info.Functions = fns
	c.info.WorkerID, c.info.Pid = c.sess.workerID, c.sess.proc.Load().Pid()
	return nil
}

// terminate sends WorkerTerminate to the process's stream; the Supervisor
// kills the process after the grace period.
func (w *Worker) terminate(p *worker.Process) error {
	c := p.Spec().Data.(*session).cur.Load()
	if c == nil {
		return errors.New("no stream")
	}
	return c.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_WorkerTerminate{
		WorkerTerminate: &rpcpb.WorkerTerminate{GracePeriod: durationpb.New(w.cfg.TerminateGrace)}}})
}

func (w *Worker) deliverLog(c *conn, l *rpcpb.RpcLog) {
	rec := Log{
		InvocationID: l.GetInvocationId(),
		Category:     l.GetCategory(),
		Level:        slogLevel(l.GetLevel()),
		Message:      l.GetMessage(),
		System:       l.GetLogCategory() == rpcpb.RpcLog_System,
		Raw:          l,
		Pid:          c.pid(),
		Time:         w.clock.Now(),
	}
	if e := l.GetException(); e != nil {
		rec.Exception = e.GetMessage()
		if e.GetStackTrace() != "" {
			rec.Exception += "\n" + e.GetStackTrace()
		}
	}
	if w.cfg.OnLog != nil {
		w.cfg.OnLog(rec)
		return
	}
	attrs := []any{"category", rec.Category, "pid", rec.Pid}
	if rec.InvocationID != "" {
		attrs = append(attrs, "invocation_id", rec.InvocationID)
	}
	if rec.Exception != "" {
		attrs = append(attrs, "exception", rec.Exception)
	}
	w.logger.Log(context.Background(), rec.Level, rec.Message, attrs...)
}

// slogLevel maps the protocol's ILogger levels to slog's.
func slogLevel(l rpcpb.RpcLog_Level) slog.Level {
	switch l {
	case rpcpb.RpcLog_Trace, rpcpb.RpcLog_Debug:
		return slog.LevelDebug
	case rpcpb.RpcLog_Warning:
		return slog.LevelWarn
	case rpcpb.RpcLog_Error, rpcpb.RpcLog_Critical:
		return slog.LevelError
	}
	return slog.LevelInfo
}

// server serves FunctionRpc: each stream is handed to the session whose
// worker id its StartStream names.
type server struct {
	rpcpb.UnimplementedFunctionRpcServer
	w *Worker
}

func (s *server) EventStream(stream rpcpb.FunctionRpc_EventStreamServer) error {
	w := s.w
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStartStream()
	if start == nil {
		w.logger.Warn("A language worker's stream did not begin with StartStream; closed", "message", messageName(first))
		return status.Error(codes.InvalidArgument, "the first message must be StartStream")
	}
	w.mu.Lock()
	sess := w.sessions[start.GetWorkerId()]
	w.mu.Unlock()
	if sess == nil {
		w.logger.Warn("A stream named a worker id the host did not launch, or one already connected; closed",
			"worker_id", start.GetWorkerId())
		return status.Errorf(codes.NotFound, "unknown worker id %q", start.GetWorkerId())
	}
	c := newConn(w, sess, stream)
	select {
	case sess.connCh <- c:
	default:
		return status.Errorf(codes.AlreadyExists, "worker id %q already has a stream", start.GetWorkerId())
	}
	return c.run()
}

// newID returns a random UUID (version 4), the form the Functions host
// gives worker, request and function ids.
func newID() string { return funcd.NewGUID() }
