package durabletest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/funcd/funcd/durable"
)

// concurrentLocks runs workers that lock orchestrations and activities at
// the same time, and checks that no instance or task is ever held by two
// of them at once and that every piece of work is done exactly once.
func concurrentLocks(e *env) {
	const instances, tasksEach, workers = 40, 3, 8
	for i := range instances {
		e.create(e.instance(fmt.Sprintf("c%02d", i)))
	}
	var (
		mu        sync.Mutex
		heldInst  = map[string]string{} // instance -> owner
		results   = map[string]int{}    // instance -> TaskCompleted consumed
		ran       = map[int64]int{}     // task id -> completions
		remaining atomic.Int64
		wg        sync.WaitGroup
	)
	remaining.Store(instances * tasksEach)
	fail := func(format string, args ...any) {
		e.t.Errorf(format, args...)
		remaining.Store(-1 << 40)
	}
	hold := func(m map[string]string, key, owner string) bool {
		mu.Lock()
		defer mu.Unlock()
		if other, ok := m[key]; ok {
			fail("%s locked %s while %s holds it", owner, key, other)
			return false
		}
		m[key] = owner
		return true
	}
	deadline := time.Now().Add(2 * time.Minute)
	for w := range workers {
		owner := fmt.Sprintf("worker-%d", w)
		wg.Go(func() {
			for remaining.Load() > 0 {
				if time.Now().After(deadline) {
					fail("%s: work left after 2 minutes: %d", owner, remaining.Load())
					return
				}
				idle := true
				wi, err := e.b.LockNextOrchestration(e.ctx, e.hub, owner, time.Hour)
				if err != nil {
					fail("LockNextOrchestration: %v", err)
					return
				}
				if wi != nil {
					idle = false
					if !hold(heldInst, wi.InstanceID, owner) {
						return
					}
					u := durable.OrchestrationUpdate{Consumed: ids(wi.Messages)}
					for _, m := range wi.Messages {
						switch m.Event.EventType {
						case durable.ExecutionStarted:
							inst := e.instance(wi.InstanceID)
							for i := range tasksEach {
								u.Tasks = append(u.Tasks, task(inst, "t", i))
							}
						case durable.TaskCompleted:
							mu.Lock()
							results[wi.InstanceID]++
							mu.Unlock()
							remaining.Add(-1)
						}
					}
					mu.Lock()
					delete(heldInst, wi.InstanceID)
					mu.Unlock()
					if err := e.b.CompleteOrchestration(e.ctx, e.hub, wi, u); err != nil {
						fail("CompleteOrchestration(%s): %v", wi.InstanceID, err)
						return
					}
				}
				at, err := e.b.LockNextActivity(e.ctx, e.hub, owner, time.Hour)
				if err != nil {
					fail("LockNextActivity: %v", err)
					return
				}
				if at != nil {
					idle = false
					// A task locked twice runs twice: ran counts them.
					mu.Lock()
					ran[at.ID]++
					mu.Unlock()
					if err := e.b.CompleteActivity(e.ctx, e.hub, at, e.taskCompleted(at, "1")); err != nil {
						fail("CompleteActivity(%d): %v", at.ID, err)
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
	if e.t.Failed() {
		return
	}
	for i := range instances {
		id := fmt.Sprintf("c%02d", i)
		if results[id] != tasksEach {
			e.t.Errorf("%s got %d results, want %d", id, results[id], tasksEach)
		}
	}
	if len(ran) != instances*tasksEach {
		e.t.Errorf("%d tasks ran, want %d", len(ran), instances*tasksEach)
	}
	for id, n := range ran {
		if n != 1 {
			e.t.Errorf("task %d ran %d times", id, n)
		}
	}
	e.noWork("after every instance finished")
	e.noActivity("after every instance finished")
}
