package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/funcd/funcd/durable"
	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/postgres"
	"github.com/funcd/funcd/postgres/pgtest"
)

// TestDurableOnPostgres runs two `funcd start` processes of the Go durable
// app on one fresh PostgreSQL schema (FUNCD_STORE): they share the task
// hub, so 600 Chain5 orchestrations started by a client run in both, and
// all complete with the right outputs, each activity's result recorded
// once. One process is killed (SIGKILL) while it holds work items: the
// other takes them over once their locks expire (the engine's one-minute
// lease) and finishes them.
func TestDurableOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two funcd processes for over a minute")
	}
	// Each Inc takes 100 ms, so that both processes hold work items for
	// seconds: without a delay a process holds a lock for a millisecond at
	// a time, and a look at the locks rarely finds one.
	const total = 600
	_, conn := pgtest.Schema(t, "funcd_scaleout")
	ctx := context.Background()
	store, err := postgres.Open(ctx, conn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })

	var logs [2]syncBuffer
	procs := make([]*procHandle, 2)
	defer func() {
		if t.Failed() {
			for i := range logs {
				t.Logf("funcd %d output:\n%s", i, logs[i].String())
			}
		}
	}()
	for i := range procs {
		app := goApp(t, filepath.Join("testdata", "durablego"))
		cmd := startFuncd(t, app, t.TempDir(), &logs[i], "FUNCD_STORE="+conn, host.SettingDevelopmentStorage+"=embedded", "INC_DELAY=100ms")
		procs[i] = &procHandle{pid: cmd.Process.Pid, kill: func() { _ = cmd.Process.Signal(syscall.SIGKILL); _ = cmd.Wait() }}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGINT)
			_ = cmd.Wait()
		})
	}
	for i := range procs {
		eventually(t, 3*time.Minute, fmt.Sprintf("funcd %d to start the app's worker", i), func() bool {
			l := logs[i].String()
			return strings.Contains(l, "Worker process started") || strings.Contains(l, "Host started")
		})
	}

	// A client on the same database: it starts instances without running
	// them.
	e := durable.New(store, durable.Options{})
	e.SetFunctions(durable.Functions{Orchestrators: []string{"Chain5"}}, nil)
	c := e.Client("")
	for i := range total {
		if _, err := c.StartNew(ctx, "Chain5", durable.StartOptions{InstanceID: "chain-" + strconv.Itoa(i), Input: strconv.Itoa(i * 10)}); err != nil {
			t.Fatal(err)
		}
	}
	completed := func() int {
		page, _, err := c.List(ctx, durable.InstanceQuery{Statuses: []durable.Status{durable.Completed}, PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(page)
	}
	ran := func(i int) int { return strings.Count(logs[i].String(), "Executed 'Functions.Chain5' (Succeeded") }
	eventually(t, 2*time.Minute, "both processes to run orchestrations", func() bool { return ran(0) > 0 && ran(1) > 0 })

	// Kill the first process while it holds work items, and list what it
	// held: its owner name carries its pid.
	var orphans map[string]time.Time // instance -> when its lock expires
	var orphanTasks int
	eventually(t, 2*time.Minute, "the first process to hold work items", func() bool {
		orphans, orphanTasks = held(t, store, procs[0].pid)
		return len(orphans) > 0 || orphanTasks > 0
	})
	procs[0].kill()
	killedAt := time.Now()
	// A transaction whose commit the process sent before it died still
	// commits (the server has read it), and may release locks: what the
	// process holds is read once such commits have landed.
	time.Sleep(time.Second)
	orphans, orphanTasks = held(t, store, procs[0].pid)
	atKill := completed()
	if atKill >= total {
		t.Fatalf("all %d orchestrations completed before the kill; nothing was tested", total)
	}
	ranBefore := ran(0)
	t.Logf("killed funcd 0 with %d of %d orchestrations complete, holding %d orchestration locks and %d activity tasks; "+
		"orchestrator episodes so far: funcd 0 %d, funcd 1 %d", atKill, total, len(orphans), orphanTasks, ranBefore, ran(1))
	if len(orphans) == 0 && orphanTasks == 0 {
		t.Fatal("the killed process held no work item; nothing to take over")
	}

	eventually(t, 3*time.Minute, "every orchestration to complete", func() bool { return completed() == total })
	t.Logf("all %d complete %v after the kill; episodes: funcd 0 %d, funcd 1 %d", total, time.Since(killedAt).Round(time.Second), ran(0), ran(1))
	for i := range total {
		id := "chain-" + strconv.Itoa(i)
		inst, err := c.Status(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := strconv.Itoa(i*10 + 5); inst.Status != durable.Completed || inst.Output != want {
			t.Errorf("%s: %s with output %s, want Completed with %s", id, inst.Status, inst.Output, want)
			continue
		}
		if until, ok := orphans[id]; ok && inst.LastUpdatedAt.Before(until) {
			t.Errorf("%s, locked by the killed process until %v, completed at %v, before its lock expired", id, until, inst.LastUpdatedAt)
		}
		h, err := c.History(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		results := map[int]int{}
		for _, ev := range h {
			if ev.EventType == durable.TaskCompleted {
				results[ev.TaskScheduledID]++
			}
		}
		if len(results) != 5 {
			t.Errorf("%s: results for %d tasks, want 5", id, len(results))
		}
		for task, n := range results {
			if n != 1 {
				t.Errorf("%s: task %d's result recorded %d times", id, task, n)
			}
		}
	}
	if ran(1) == 0 || ranBefore == 0 {
		t.Errorf("orchestrator episodes: funcd 0 %d, funcd 1 %d; want both to run some", ranBefore, ran(1))
	}
	if ran(0) != ranBefore {
		t.Errorf("the killed funcd logged %d episodes after the kill", ran(0)-ranBefore)
	}
}

type procHandle struct {
	pid  int
	kill func()
}

// held lists the orchestration locks (instance and expiry) and counts the
// activity tasks that the funcd process pid holds: a process's owner name
// is "<host>-<pid>-<random>".
func held(t *testing.T, store *postgres.Store, pid int) (map[string]time.Time, int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	schema := pgx.Identifier{store.Schema()}.Sanitize()
	pattern := "%-" + strconv.Itoa(pid) + "-%"
	now := time.Now().UnixNano()
	rows, err := conn.Query(ctx, `SELECT instance, until_ns FROM `+schema+`.funcd_durable_locks WHERE owner LIKE $1 AND until_ns > $2`, pattern, now)
	if err != nil {
		t.Fatal(err)
	}
	locks := map[string]time.Time{}
	for rows.Next() {
		var id string
		var until int64
		if err := rows.Scan(&id, &until); err != nil {
			t.Fatal(err)
		}
		locks[id] = time.Unix(0, until)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var tasks int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.funcd_durable_tasks WHERE owner LIKE $1 AND token <> 0 AND due_ns > $2`,
		pattern, now).Scan(&tasks)
	if err != nil {
		t.Fatal(err)
	}
	return locks, tasks
}
