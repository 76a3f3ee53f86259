package postgres

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/durable"
)

// BenchmarkDurableChain5 runs b.N orchestrations of 5 chained activities
// at once on a PostgreSQL task hub, with the functions in-process (as
// durable's BenchmarkEngineChain5 does on the embedded store): the engine's
// and the backend's cost without a worker, with one engine and with two
// engines on two pools, as two processes share a hub. It reports
// orchestrations per second.
func BenchmarkDurableChain5(b *testing.B) {
	for _, engines := range []int{1, 2} {
		b.Run("engines="+strconv.Itoa(engines), func(b *testing.B) {
			schema := newSchema(b)
			tl := newTally()
			var c *durable.Client
			for i := range engines {
				s := openIn(b, schema, clock.Real{})
				waitListening(b, s)
				e := startChainEngine(b, s, "p"+strconv.Itoa(i), tl)
				if c == nil {
					c = e.Client("")
				}
			}
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				if _, err := c.StartNew(ctx, "Chain", durable.StartOptions{InstanceID: "b" + strconv.Itoa(i), Input: "1"}); err != nil {
					b.Fatal(err)
				}
			}
			for {
				time.Sleep(20 * time.Millisecond)
				page, _, err := c.List(ctx, durable.InstanceQuery{Statuses: []durable.Status{durable.Completed}, PageSize: 100000})
				if err != nil {
					b.Fatal(err)
				}
				if len(page) == b.N {
					break
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "orch/s")
		})
	}
}

// BenchmarkDurableBackendChain5 drives the backend alone, without the
// engine: workers lock orchestration work items and activity tasks as the
// engine's dispatchers do, and each of b.N instances schedules 5 tasks one
// after the other before it completes (6 episodes, 5 activities, each a
// claim and a commit). It reports orchestrations per second.
func BenchmarkDurableBackendChain5(b *testing.B) {
	for _, workers := range []int{4, 16} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			s := openIn(b, newSchema(b), clock.Real{})
			ctx := context.Background()
			const hub, steps = "bench", 5
			for i := range b.N {
				id := "b" + strconv.Itoa(i)
				inst := durable.Instance{ID: id, ExecutionID: "e" + id, Name: "Chain", Status: durable.Pending, Input: "1"}
				start := durable.Message{InstanceID: id, Event: durable.Event{EventType: durable.ExecutionStarted, EventID: -1, Name: "Chain"}}
				if err := s.CreateInstance(ctx, hub, inst, start, durable.OverwriteAny); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			began := time.Now()
			var done atomic.Int64
			var wg sync.WaitGroup
			for w := range workers {
				owner := "w" + strconv.Itoa(w)
				wg.Go(func() {
					for done.Load() < int64(b.N) {
						idle := true
						wi, err := s.LockNextOrchestration(ctx, hub, owner, time.Minute)
						if err != nil {
							b.Error(err)
							return
						}
						if wi != nil {
							idle = false
							if err := s.CompleteOrchestration(ctx, hub, wi, benchEpisode(wi, steps)); err != nil {
								b.Error(err)
								return
							}
							if wi.Instance.Status == durable.Completed {
								done.Add(1)
							}
						}
						at, err := s.LockNextActivity(ctx, hub, owner, time.Minute)
						if err != nil {
							b.Error(err)
							return
						}
						if at != nil {
							idle = false
							res := durable.Message{InstanceID: at.InstanceID, ExecutionID: at.ExecutionID, Event: durable.Event{
								EventType: durable.TaskCompleted, EventID: -1, TaskScheduledID: at.TaskID, Result: &at.Input}}
							if err := s.CompleteActivity(ctx, hub, at, res); err != nil {
								b.Error(err)
								return
							}
						}
						if idle {
							time.Sleep(time.Millisecond)
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "orch/s")
		})
	}
}

// benchEpisode is the update of a work item of a chain of steps tasks: the
// next task, or the completion after the last result. It marks the work
// item's Instance Completed when it completes the instance.
func benchEpisode(wi *durable.OrchestrationWorkItem, steps int) durable.OrchestrationUpdate {
	inst := *wi.Instance
	results := 0
	for _, ev := range wi.History {
		if ev.EventType == durable.TaskCompleted {
			results++
		}
	}
	u := durable.OrchestrationUpdate{Instance: &inst}
	now := time.Now()
	for _, m := range wi.Messages {
		u.Consumed = append(u.Consumed, m.ID)
		ev := m.Event
		ev.IsPlayed = true
		u.NewEvents = append(u.NewEvents, ev)
		if ev.EventType == durable.TaskCompleted {
			results++
		}
	}
	if results < steps {
		inst.Status = durable.Running
		u.NewEvents = append(u.NewEvents, durable.Event{EventType: durable.TaskScheduled, EventID: results, Timestamp: now, Name: "Inc"})
		u.Tasks = []durable.ActivityTask{{InstanceID: inst.ID, ExecutionID: inst.ExecutionID, Name: "Inc", TaskID: results, Input: "1"}}
	} else {
		inst.Status, inst.Output = durable.Completed, "6"
		u.NewEvents = append(u.NewEvents, durable.Event{EventType: durable.ExecutionCompleted, EventID: -1, Timestamp: now, OrchestrationStatus: durable.Completed})
	}
	wi.Instance.Status = inst.Status
	return u
}
