package host

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
)

// The primary host lock, as the Functions host's PrimaryHostCoordinator
// keeps it: the processes serving one app (one host id) compete for the
// lease locks/<host id>/host in the store they share, and the one holding
// it is the primary host. Its holder logs "Host lock lease acquired by
// instance ID '<id>'.", a line that tools read as "the host is up"
// (Microsoft's Node.js e2e harness waits for it).
const (
	// primaryLeaseTTL is the lease's length, the host's LeaseTimeout.
	primaryLeaseTTL = 15 * time.Second
	// primaryRenewInterval renews it three seconds before it expires.
	primaryRenewInterval = primaryLeaseTTL - 3*time.Second
	// primaryRetryInterval is how often a process without it tries again.
	primaryRetryInterval = 5 * time.Second
	// primaryReleaseTimeout bounds the release at shutdown.
	primaryReleaseTimeout = 5 * time.Second
)

// primaryLockName is the primary host lease of a host id, named as the real
// host names its lock blob.
func primaryLockName(hostID string) string { return "locks/" + hostID + "/host" }

// instanceID is the id the host logs for this instance: WEBSITE_INSTANCE_ID
// when set, else, as the real host does off Azure, a hash of the machine's
// name in 32 upper-case hex digits.
func instanceID(settings map[string]string) string {
	if id := strings.TrimSpace(settings["WEBSITE_INSTANCE_ID"]); id != "" {
		return id
	}
	name, _ := os.Hostname()
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return fmt.Sprintf("%032X", h.Sum32())
}

// primaryLock competes for the primary host lease until stopped.
type primaryLock struct {
	leases   storage.Leases
	name     string // the lease
	owner    string // this process among those sharing the store
	instance string // what the log says
	clock    clock.Clock
	log      *slog.Logger

	stop context.CancelFunc
	done chan struct{}
}

// startPrimaryLock starts competing for the lease of hostID in leases.
func startPrimaryLock(leases storage.Leases, hostID, owner, instance string, clk clock.Clock, log *slog.Logger) *primaryLock {
	ctx, cancel := context.WithCancel(context.Background())
	l := &primaryLock{leases: leases, name: primaryLockName(hostID), owner: owner, instance: instance,
		clock: clk, log: log, stop: cancel, done: make(chan struct{})}
	go l.run(ctx)
	return l
}

// run takes the lease when it is free, keeps it renewed, and tries again
// every primaryRetryInterval while another process holds it or after it
// was lost.
func (l *primaryLock) run(ctx context.Context) {
	defer close(l.done)
	var held *storage.Lease
	defer func() {
		if held != nil {
			l.release(*held)
		}
	}()
	wait := time.Duration(0)
	for {
		if !l.sleep(ctx, wait) {
			return
		}
		if held != nil {
			next, err := l.leases.RenewLease(ctx, *held, primaryLeaseTTL)
			switch {
			case err == nil:
				held, wait = &next, primaryRenewInterval
				continue
			case ctx.Err() != nil:
				return
			}
			l.log.Info(fmt.Sprintf("Failed to renew host lock lease: %v", err), "lock", l.name)
			if errors.Is(err, storage.ErrLeaseLost) {
				held = nil
			}
			wait = primaryRetryInterval
			continue
		}
		lease, err := l.leases.AcquireLease(ctx, l.name, l.owner, primaryLeaseTTL)
		switch {
		case err == nil:
			held, wait = &lease, primaryRenewInterval
			l.log.Info(fmt.Sprintf("Host lock lease acquired by instance ID '%s'.", l.instance), "lock", l.name)
			continue
		case ctx.Err() != nil:
			return
		case !errors.Is(err, storage.ErrLeaseHeld):
			l.log.Warn("cannot take the host lock lease", "lock", l.name, "err", err)
		}
		wait = primaryRetryInterval
	}
}

// sleep waits d on the clock; false when ctx ended first.
func (l *primaryLock) sleep(ctx context.Context, d time.Duration) bool {
	t := l.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

func (l *primaryLock) release(lease storage.Lease) {
	ctx, cancel := context.WithTimeout(context.Background(), primaryReleaseTimeout)
	defer cancel()
	if err := l.leases.ReleaseLease(ctx, lease); err != nil {
		l.log.Warn("cannot release the host lock lease", "lock", l.name, "err", err)
		return
	}
	l.log.Info(fmt.Sprintf("Host instance '%s' released lock lease.", l.instance), "lock", l.name)
}

// Stop stops competing and releases the lease if held.
func (l *primaryLock) Stop() {
	l.stop()
	<-l.done
}
