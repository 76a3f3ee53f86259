package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/microsoft/durabletask-go/api"
	"github.com/microsoft/durabletask-go/backend"
	"github.com/microsoft/durabletask-go/backend/sqlite"
	"github.com/microsoft/durabletask-go/task"
)

// parallelism is the work items each worker runs at once: funcd's default
// on 2 CPUs (10 × the CPUs).
const parallelism = 20

// durableTask is durabletask-go on its SQLite backend, in-process.
type durableTask struct {
	worker backend.TaskHubWorker
	client backend.TaskHubClient
}

func newDurableTask(ctx context.Context, dir string) (*durableTask, error) {
	r := task.NewTaskRegistry()
	if err := r.AddOrchestratorN("Chain5", dtChain5); err != nil {
		return nil, err
	}
	if err := r.AddOrchestratorN("FanOut", dtFanOut); err != nil {
		return nil, err
	}
	if err := r.AddActivityN("Inc", func(ctx task.ActivityContext) (any, error) {
		var n int
		err := ctx.GetInput(&n)
		return n + 1, err
	}); err != nil {
		return nil, err
	}
	if err := r.AddActivityN("Double", func(ctx task.ActivityContext) (any, error) {
		var n int
		err := ctx.GetInput(&n)
		return 2 * n, err
	}); err != nil {
		return nil, err
	}
	log := quietLogger{}
	exec := task.NewTaskExecutor(r)
	be := sqlite.NewSqliteBackend(sqlite.NewSqliteOptions(filepath.Join(dir, "durabletask.db")), log)
	ow := backend.NewOrchestrationWorker(be, exec, log, backend.WithMaxParallelism(parallelism))
	aw := backend.NewActivityTaskWorker(be, exec, log, backend.WithMaxParallelism(parallelism))
	w := backend.NewTaskHubWorker(be, ow, aw, log)
	if err := w.Start(ctx); err != nil {
		return nil, err
	}
	return &durableTask{worker: w, client: backend.NewTaskHubClient(be)}, nil
}

func dtChain5(ctx *task.OrchestrationContext) (any, error) {
	var n int
	if err := ctx.GetInput(&n); err != nil {
		return nil, err
	}
	for range chainLength {
		if err := ctx.CallActivity("Inc", task.WithActivityInput(n)).Await(&n); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func dtFanOut(ctx *task.OrchestrationContext) (any, error) {
	var n int
	if err := ctx.GetInput(&n); err != nil {
		return nil, err
	}
	tasks := make([]task.Task, n)
	for i := range n {
		tasks[i] = ctx.CallActivity("Double", task.WithActivityInput(i+1))
	}
	sum := 0
	for _, t := range tasks {
		var r int
		if err := t.Await(&r); err != nil {
			return nil, err
		}
		sum += r
	}
	return sum, nil
}

func (d *durableTask) start(ctx context.Context, workflow, id string, input int) error {
	_, err := d.client.ScheduleNewOrchestration(ctx, workflow, api.WithInstanceID(api.InstanceID(id)), api.WithInput(input))
	return err
}

func (d *durableTask) result(ctx context.Context, id string) (int, bool, error) {
	md, err := d.client.FetchOrchestrationMetadata(ctx, api.InstanceID(id))
	if err != nil {
		return 0, false, err
	}
	if !md.IsComplete() {
		return 0, false, nil
	}
	if md.FailureDetails != nil {
		return 0, true, fmt.Errorf("failed: %s", md.FailureDetails.GetErrorMessage())
	}
	n, err := strconv.Atoi(md.SerializedOutput)
	return n, true, err
}

func (d *durableTask) close() { _ = d.worker.Shutdown(context.Background()) }

type quietLogger struct{}

func (quietLogger) Debug(...any)          {}
func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Info(...any)           {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Warn(...any)           {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Error(...any)          {}
func (quietLogger) Errorf(string, ...any) {}
