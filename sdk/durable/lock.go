package durable

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// CriticalSection is a lock an orchestration holds on entities (Lock):
// while it is held, the entities run only this orchestration's
// operations, so a read-modify-write across them sees no other writer.
type CriticalSection struct {
	c        *OrchestrationContext
	entities []EntityID
	released bool
}

// ErrLockingRules is the error of an orchestration that breaks the rules
// of critical sections: nesting them, calling an entity it did not lock
// from inside one, or signalling one it locked.
var ErrLockingRules = errors.New("durable: locking rules violated")

// schemaV4 is the replay schema that adds critical sections.
const schemaV4 = 3

// Lock locks the entities for this orchestration, waiting until every one
// is locked, and returns the critical section; Release ends it, and so
// does the end of the execution. Entities are locked in the order of
// their instance ids, so two orchestrations that lock overlapping sets
// cannot deadlock. Inside the section the orchestration may call the
// entities it locked (one call at a time per entity) and no others.
func (c *OrchestrationContext) Lock(ids ...EntityID) (*CriticalSection, error) {
	if c.schema < schemaV4 {
		return nil, fmt.Errorf("durable: Lock needs a host that offers replay schema V4 (this one offers %d); funcd does", c.schema)
	}
	if len(ids) == 0 {
		return nil, errors.New("durable: Lock needs at least one entity")
	}
	if c.lock != nil {
		return nil, fmt.Errorf("%w: critical sections do not nest", ErrLockingRules)
	}
	set := slices.Clone(ids)
	for i := range set {
		if set[i].Name == "" {
			return nil, fmt.Errorf("durable: Lock: entity %d has no name", i)
		}
		set[i].Name = strings.ToLower(set[i].Name)
	}
	slices.SortFunc(set, func(a, b EntityID) int { return strings.Compare(a.String(), b.String()) })
	set = slices.Compact(set)
	a := &action{typ: actLockEntities, lockID: c.NewGUID(), lockSet: set}
	t := &task{c: c, kind: kindLock, name: "lock", act: a}
	c.addAction(a)
	c.track(t, c.nextID())
	cs := &CriticalSection{c: c, entities: set}
	c.lock = cs
	if err := t.Await(nil); err != nil {
		return nil, err
	}
	return cs, nil
}

// Entities returns the locked entities, sorted.
func (cs *CriticalSection) Entities() []EntityID { return slices.Clone(cs.entities) }

// Release ends the critical section: the entities go back to running
// everyone's operations. Releasing twice does nothing.
func (cs *CriticalSection) Release() {
	if cs.released {
		return
	}
	cs.released = true
	c := cs.c
	c.addAction(&action{typ: actReleaseEntities})
	for range cs.entities {
		c.nextID()
	}
	if c.lock == cs {
		c.lock = nil
	}
}

// Locked returns the critical section the orchestration holds, nil when
// it holds none.
func (c *OrchestrationContext) Locked() *CriticalSection { return c.lock }

// lockRule checks an entity operation against the critical section held:
// a call must go to a locked entity, a signal to an unlocked one.
func (c *OrchestrationContext) lockRule(id EntityID, call bool) error {
	if c.lock == nil {
		return nil
	}
	held := slices.ContainsFunc(c.lock.entities, func(e EntityID) bool { return e.String() == id.String() })
	switch {
	case call && !held:
		return fmt.Errorf("%w: entity %s is called inside a critical section that does not lock it", ErrLockingRules, id)
	case !call && held:
		return fmt.Errorf("%w: entity %s is signalled inside a critical section that locks it", ErrLockingRules, id)
	}
	return nil
}
