package postgres

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/durable"
	"github.com/funcd/funcd/durable/durabletest"
)

func TestDurableConformance(t *testing.T) {
	durabletest.Run(t, func(t *testing.T, clk clock.Clock) durable.Backend {
		return openIn(t, newSchema(t), clk)
	})
}

// The claims, the work item's reads and NextDue walk indexes, never the
// whole table, so that their cost does not grow with the work waiting in
// other hubs or for timers.
func TestDurableQueriesUseIndexes(t *testing.T) {
	s, clk := openTest(t)
	ctx := t.Context()
	// Many messages and tasks in another hub, and timers and delayed
	// tasks in this one: a sequential scan would read them all.
	for i := range 50 {
		hub := "other"
		if i%2 == 0 {
			hub = "hub"
		}
		var msgs []durable.Message
		var tasks []durable.ActivityTask
		for j := range 100 {
			id := fmt.Sprintf("i%d-%d", i, j)
			msgs = append(msgs, durable.Message{InstanceID: id, VisibleAt: clk.Now().Add(time.Hour),
				Event: durable.Event{EventType: durable.TimerFired, EventID: -1}})
			tasks = append(tasks, durable.ActivityTask{InstanceID: id, Name: "A", Input: "1", VisibleAt: clk.Now().Add(time.Hour)})
		}
		if err := s.SendMessages(ctx, hub, msgs...); err != nil {
			t.Fatal(err)
		}
		b := &pgx.Batch{}
		queueTasks(b, hub, s.now(), tasks)
		if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	now := s.now()
	for _, q := range []struct {
		name, sql string
		args      []any
		index     string
	}{
		{"claim an orchestration", claimInstanceSQL, []any{"hub", now, "o", int64(1), now + 1}, "funcd_durable_messages_due"},
		{"claim an activity task", claimTaskSQL, []any{now + 1, "o", int64(1), "hub", now}, "funcd_durable_tasks_due"},
		{"read a work item's inbox", `SELECT id FROM funcd_durable_messages WHERE hub = $1 AND instance = ` + lockedID + ` AND due_ns <= $3 ORDER BY id`,
			[]any{"hub", int64(1), now}, "funcd_durable_messages_"},
		{"the next due time", `SELECT min(due_ns) FROM funcd_durable_tasks WHERE hub = $1 AND due_ns > $2`, []any{"hub", now}, "funcd_durable_tasks_due"},
	} {
		rows, err := s.pool.Query(ctx, "EXPLAIN "+q.sql, q.args...)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		plan := strings.Join(lines, "\n")
		if strings.Contains(plan, "Seq Scan on funcd_durable_messages") || strings.Contains(plan, "Seq Scan on funcd_durable_tasks") ||
			!strings.Contains(plan, q.index) {
			t.Errorf("%s: the plan does not walk %s:\n%s", q.name, q.index, plan)
		}
	}
}
