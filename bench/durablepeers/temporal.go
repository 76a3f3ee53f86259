package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

const temporalQueue = "durablebench"

// temporalPeer is the Temporal Go SDK, client and worker in this process,
// against a development server this process started.
type temporalPeer struct {
	server *exec.Cmd
	c      client.Client
	w      worker.Worker
}

func newTemporal(ctx context.Context, dir, cli string) (*temporalPeer, error) {
	if cli == "" {
		return nil, errors.New("-temporal: the Temporal CLI is needed to run the development server")
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	ui, err := freePort()
	if err != nil {
		return nil, err
	}
	// In memory (no --db-filename), no UI, quiet.
	srv := exec.Command(cli, "server", "start-dev", "--headless", "--ip", "127.0.0.1",
		"--port", strconv.Itoa(port), "--ui-port", strconv.Itoa(ui), "--log-level", "error")
	srv.Stdout, srv.Stderr = os.Stderr, os.Stderr
	srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start the Temporal development server: %w", err)
	}
	t := &temporalPeer{server: srv}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		t.c, err = client.DialContext(ctx, client.Options{HostPort: addr, Namespace: "default", Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))})
		if err == nil {
			if _, err = t.c.CheckHealth(ctx, &client.CheckHealthRequest{}); err == nil {
				break
			}
			t.c.Close()
		}
		if time.Now().After(deadline) {
			t.close()
			return nil, fmt.Errorf("the Temporal development server on %s: %w", addr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.w = worker.New(t.c, temporalQueue, worker.Options{
		MaxConcurrentWorkflowTaskExecutionSize: parallelism,
		MaxConcurrentActivityExecutionSize:     parallelism,
	})
	t.w.RegisterWorkflowWithOptions(tChain5, workflow.RegisterOptions{Name: "Chain5"})
	t.w.RegisterWorkflowWithOptions(tFanOut, workflow.RegisterOptions{Name: "FanOut"})
	t.w.RegisterActivityWithOptions(func(_ context.Context, n int) (int, error) { return n + 1, nil }, activityOptions("Inc"))
	t.w.RegisterActivityWithOptions(func(_ context.Context, n int) (int, error) { return 2 * n, nil }, activityOptions("Double"))
	if err := t.w.Start(); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

func activityOptions(name string) activity.RegisterOptions {
	return activity.RegisterOptions{Name: name}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func activityCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
}

func tChain5(ctx workflow.Context, n int) (int, error) {
	ctx = activityCtx(ctx)
	for range chainLength {
		if err := workflow.ExecuteActivity(ctx, "Inc", n).Get(ctx, &n); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func tFanOut(ctx workflow.Context, n int) (int, error) {
	ctx = activityCtx(ctx)
	futures := make([]workflow.Future, n)
	for i := range n {
		futures[i] = workflow.ExecuteActivity(ctx, "Double", i+1)
	}
	sum := 0
	for _, f := range futures {
		var r int
		if err := f.Get(ctx, &r); err != nil {
			return 0, err
		}
		sum += r
	}
	return sum, nil
}

func (t *temporalPeer) start(ctx context.Context, wf, id string, input int) error {
	_, err := t.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: temporalQueue}, wf, input)
	return err
}

func (t *temporalPeer) result(ctx context.Context, id string) (int, bool, error) {
	d, err := t.c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return 0, false, nil
		}
		return 0, false, err
	}
	switch d.WorkflowExecutionInfo.Status {
	case enums.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return 0, false, nil
	case enums.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		var n int
		err := t.c.GetWorkflow(ctx, id, "").Get(ctx, &n)
		return n, true, err
	default:
		return 0, true, fmt.Errorf("ended %v", d.WorkflowExecutionInfo.Status)
	}
}

// wait long-polls the server for the workflow's result.
func (t *temporalPeer) wait(ctx context.Context, id string) (int, error) {
	var n int
	err := t.c.GetWorkflow(ctx, id, "").Get(ctx, &n)
	return n, err
}

func (t *temporalPeer) close() {
	if t.w != nil {
		t.w.Stop()
	}
	if t.c != nil {
		t.c.Close()
	}
	if t.server != nil && t.server.Process != nil {
		_ = t.server.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = t.server.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = t.server.Process.Kill()
		}
	}
}
