package grpcworker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// conn is one worker's EventStream, from its StartStream to its end.
type conn struct {
	stream rpcpb.FunctionRpc_EventStreamServer
	w      *Worker
	sess   *session

	sendMu sync.Mutex
	closed bool // no more sends; guarded by sendMu

	mu          sync.Mutex
	replies     map[string]chan *rpcpb.StreamingMessage // by replyKey
	invocations map[string]*pending                     // by invocation id

	done chan struct{}
	err  error // why the stream ended; set before done is closed

	// info is filled by the handshake, read-only afterwards.
	info Session
}

func newConn(w *Worker, sess *session, stream rpcpb.FunctionRpc_EventStreamServer) *conn {
	return &conn{
		stream:      stream,
		w:           w,
		sess:        sess,
		replies:     make(map[string]chan *rpcpb.StreamingMessage),
		invocations: make(map[string]*pending),
		done:        make(chan struct{}),
	}
}

// replyKey names what a reply answers. Workers differ in whether they copy
// a request's request_id, so replies are matched by kind and, for loads,
// by function id, as the Functions host does.
func replyKey(m *rpcpb.StreamingMessage) string {
	switch c := m.Content.(type) {
	case *rpcpb.StreamingMessage_WorkerInitResponse:
		return "init"
	case *rpcpb.StreamingMessage_FunctionMetadataResponse:
		return "metadata"
	case *rpcpb.StreamingMessage_FunctionLoadResponse:
		return "load/" + c.FunctionLoadResponse.GetFunctionId()
	case *rpcpb.StreamingMessage_WorkerStatusResponse:
		return "status"
	}
	return ""
}

// run reads the stream until it ends, then fails every request waiting.
func (c *conn) run() error {
	for {
		m, err := c.stream.Recv()
		if err != nil {
			c.close(c.recvError(err))
			return err
		}
		c.dispatch(m)
	}
}

// recvError says why Recv ended the stream: the worker closed its side
// (the process may still run: it is killed), or a message over the limit,
// which gRPC refuses by ending the stream.
func (c *conn) recvError(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("the worker ended it: %w", err)
	}
	if status.Code(err) == codes.ResourceExhausted {
		return fmt.Errorf("a message from the worker is over the gRPC message limit of %d bytes (Config.MaxMessageBytes): %w",
			c.w.cfg.MaxMessageBytes, err)
	}
	return err
}

func (c *conn) dispatch(m *rpcpb.StreamingMessage) {
	log := c.w.logger
	switch x := m.Content.(type) {
	case nil:
		log.Warn("Language worker sent a StreamingMessage with no content; ignored",
			"request_id", m.GetRequestId(), "pid", c.pid())
		return
	case *rpcpb.StreamingMessage_StartStream:
		log.Warn("Language worker sent a second StartStream on its stream; ignored",
			"message", messageName(m), "worker_id", x.StartStream.GetWorkerId(), "pid", c.pid())
		return
	case *rpcpb.StreamingMessage_RpcLog:
		c.w.deliverLog(c, x.RpcLog)
		return
	case *rpcpb.StreamingMessage_InvocationResponse:
		id := x.InvocationResponse.GetInvocationId()
		p := c.take(id, nil)
		if p == nil {
			log.Warn("Language worker replied to an unknown invocation; ignored", "invocation_id", id, "pid", c.pid())
			return
		}
		p.finish(x.InvocationResponse, nil)
		return
	}
	if key := replyKey(m); key != "" {
		c.mu.Lock()
		ch := c.replies[key]
		delete(c.replies, key)
		c.mu.Unlock()
		if ch != nil {
			ch <- m
			return
		}
		attrs := []any{"message", messageName(m), "pid", c.pid()}
		if l := m.GetFunctionLoadResponse(); l != nil {
			attrs = append(attrs, "function_id", l.GetFunctionId())
		}
		log.Warn("Language worker sent a reply to no request the host is waiting for; ignored", attrs...)
		return
	}
	log.Debug("Language worker sent a message the host does not wait for; ignored",
		"message", messageName(m), "pid", c.pid())
}

// close ends the conn: no more sends, every waiter fails with err.
func (c *conn) close(err error) {
	c.sendMu.Lock()
	c.closed = true
	c.sendMu.Unlock()
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return
	default:
	}
	c.err = &StreamClosedError{Path: c.w.path, Pid: c.pid(), Err: err}
	invocations := c.invocations
	c.replies, c.invocations = nil, nil
	close(c.done)
	c.mu.Unlock()
	for id, p := range invocations {
		p.finish(nil, fmt.Errorf("invocation %s: %w", id, c.err))
	}
}

func (c *conn) pid() int {
	if p := c.sess.proc.Load(); p != nil {
		return p.Pid()
	}
	return 0
}

// send sends m, or fails without sending when m is over the message limit
// or the stream has ended.
func (c *conn) send(m *rpcpb.StreamingMessage) error {
	if n := proto.Size(m); n > c.w.cfg.MaxMessageBytes {
		return &MessageTooLargeError{What: messageName(m), Size: n, Limit: c.w.cfg.MaxMessageBytes}
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.closed {
		<-c.done
		return c.err
	}
	if err := c.stream.Send(m); err != nil {
		return &StreamClosedError{Path: c.w.path, Pid: c.pid(), Err: err}
	}
	return nil
}

// request sends m and waits for the reply with key.
func (c *conn) request(ctx context.Context, key string, m *rpcpb.StreamingMessage) (*rpcpb.StreamingMessage, error) {
	ch, err := c.expect(key)
	if err != nil {
		return nil, err
	}
	if err := c.send(m); err != nil {
		c.forget(key, ch)
		return nil, err
	}
	return c.await(ctx, key, ch)
}

func (c *conn) expect(key string) (chan *rpcpb.StreamingMessage, error) {
	ch := make(chan *rpcpb.StreamingMessage, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.replies == nil {
		return nil, c.err
	}
	if c.replies[key] != nil {
		return nil, fmt.Errorf("a %s request is already waiting for its reply", key)
	}
	c.replies[key] = ch
	return ch, nil
}

func (c *conn) await(ctx context.Context, key string, ch chan *rpcpb.StreamingMessage) (*rpcpb.StreamingMessage, error) {
	select {
	case r := <-ch:
		return r, nil
	case <-c.done:
		return nil, c.err
	case <-ctx.Done():
		c.forget(key, ch)
		return nil, ctx.Err()
	}
}

func (c *conn) forget(key string, ch chan *rpcpb.StreamingMessage) {
	c.mu.Lock()
	if c.replies != nil && c.replies[key] == ch {
		delete(c.replies, key)
	}
	c.mu.Unlock()
}

// pending is an invocation sent and not answered yet. Whoever takes it out
// of conn.invocations (the reply, the stream's end, the context's end, a
// failed send) owns it: done is called once.
type pending struct {
	done func(*rpcpb.InvocationResponse, error)
	stop func() bool // stops the context's AfterFunc
}

func (p *pending) finish(resp *rpcpb.InvocationResponse, err error) {
	p.stop()
	p.done(resp, err)
}

// take removes the invocation id from the running ones and returns it, or
// nil when it is not running (or is another than want, if set).
func (c *conn) take(id string, want *pending) *pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.invocations[id]
	if p == nil || want != nil && p != want {
		return nil
	}
	delete(c.invocations, id)
	return p
}

// invoke sends req and waits for its response; see Worker.Invoke.
func (c *conn) invoke(ctx context.Context, req *InvocationRequest) (*InvocationResponse, error) {
	type outcome struct {
		resp *InvocationResponse
		err  error
	}
	ch := make(chan outcome, 1)
	err := c.invokeAsync(ctx, req, func(resp *InvocationResponse, err error) { ch <- outcome{resp, err} })
	if err != nil {
		return nil, err
	}
	o := <-ch
	return o.resp, o.err
}

// invokeAsync sends req; see Worker.InvokeAsync.
func (c *conn) invokeAsync(ctx context.Context, req *InvocationRequest, done func(*InvocationResponse, error)) error {
	id := req.GetInvocationId()
	p, err := c.expectInvocation(ctx, id, done)
	if err != nil {
		return err
	}
	err = c.send(&rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_InvocationRequest{InvocationRequest: req}})
	if err != nil {
		if c.take(id, p) == nil {
			return nil // the stream's end or the context's took it: done is called
		}
		p.stop()
		return err
	}
	return nil
}

// expectInvocation registers invocation id, whose response is to come as p.
func (c *conn) expectInvocation(ctx context.Context, id string, done func(*InvocationResponse, error)) (*pending, error) {
	if id == "" {
		return nil, fmt.Errorf("the InvocationRequest has no invocation_id")
	}
	p := &pending{done: done}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.invocations == nil:
		return nil, c.err
	case c.invocations[id] != nil:
		return nil, fmt.Errorf("invocation %s is already running on the language worker", id)
	}
	c.invocations[id] = p
	// Under mu, so that whoever takes p finds stop set.
	p.stop = context.AfterFunc(ctx, func() { c.cancel(ctx, id, p) })
	return p, nil
}

// cancel ends invocation id, still running as p, for its context: the
// worker gets an InvocationCancel, and the invocation the context's error.
func (c *conn) cancel(ctx context.Context, id string, p *pending) {
	if c.take(id, p) == nil {
		return
	}
	cancel := &rpcpb.StreamingMessage{Content: &rpcpb.StreamingMessage_InvocationCancel{
		InvocationCancel: &rpcpb.InvocationCancel{InvocationId: id}}}
	if err := c.send(cancel); err != nil {
		c.w.logger.Debug("Cannot send InvocationCancel", "invocation_id", id, "err", err)
	}
	p.done(nil, ctx.Err())
}

// messageName names m's content, "InvocationRequest" say.
func messageName(m *rpcpb.StreamingMessage) string {
	r := m.ProtoReflect()
	od := r.Descriptor().Oneofs().ByName("content")
	if f := r.WhichOneof(od); f != nil {
		return string(f.Message().Name())
	}
	return "StreamingMessage"
}
