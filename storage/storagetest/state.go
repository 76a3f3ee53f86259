package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/funcd/funcd/storage"
)

// FeedStore is what the BlobFeed cases need: blobs to write and their feed.
type FeedStore interface {
	storage.Blobs
	storage.BlobFeed
}

// ScheduleStore is what the Schedules cases need: leases to fence with.
type ScheduleStore interface {
	storage.Leases
	storage.Schedules
}

// RunBlobFeed runs the cases of storage.BlobFeed.
func RunBlobFeed(t *testing.T, open Opener[FeedStore], opts ...Option) {
	runCases(t, open, opts, feedCases)
}

// RunLeases runs the cases of storage.Leases.
func RunLeases(t *testing.T, open Opener[storage.Leases], opts ...Option) {
	runCases(t, open, opts, leaseCases)
}

// RunSchedules runs the cases of storage.Schedules.
func RunSchedules(t *testing.T, open Opener[ScheduleStore], opts ...Option) {
	runCases(t, open, opts, scheduleCases)
}

// RunReceipts runs the cases of storage.Receipts.
func RunReceipts(t *testing.T, open Opener[storage.Receipts], opts ...Option) {
	runCases(t, open, opts, receiptCases)
}

// RunCheckpoints runs the cases of storage.Checkpoints.
func RunCheckpoints(t *testing.T, open Opener[storage.Checkpoints], opts ...Option) {
	runCases(t, open, opts, checkpointCases)
}

var feedCases = []testCase[FeedStore]{
	{"Changes", feedChanges},
	{"Watch", feedWatch},
}

func seqNames(ps []storage.BlobProps) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

func feedChanges(e *env, s FeedStore) {
	t := e.t
	a := put(e, s, "feed", "a", "1", storage.PutBlobOptions{})
	b := put(e, s, "feed", "b", "1", storage.PutBlobOptions{})
	put(e, s, "feed-other", "x", "1", storage.PutBlobOptions{})
	c := put(e, s, "feed", "c", "1", storage.PutBlobOptions{})
	if !(0 < a.Seq && a.Seq < b.Seq && b.Seq < c.Seq) {
		t.Fatalf("Seq a %d, b %d, c %d: want growing and positive", a.Seq, b.Seq, c.Seq)
	}
	changes := func(after int64, max int) []storage.BlobProps {
		t.Helper()
		ps, err := s.BlobChanges(e.ctx, "feed", after, max)
		must(t, err, "BlobChanges")
		for i := 1; i < len(ps); i++ {
			if ps[i].Seq <= ps[i-1].Seq {
				t.Errorf("BlobChanges out of Seq order: %d after %d", ps[i].Seq, ps[i-1].Seq)
			}
		}
		return ps
	}
	if got := seqNames(changes(0, 100)); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("BlobChanges(0) = %q, want [a b c]", got)
	}
	if got := seqNames(changes(0, 2)); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("BlobChanges(0, max 2) = %q, want [a b]", got)
	}
	if got := seqNames(changes(a.Seq, 100)); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("BlobChanges(after a) = %q, want [b c]", got)
	}

	a2 := put(e, s, "feed", "a", "2", storage.PutBlobOptions{})
	if a2.Seq <= c.Seq {
		t.Errorf("overwrite Seq %d not above %d", a2.Seq, c.Seq)
	}
	all := changes(0, 100)
	if got := seqNames(all); !slices.Equal(got, []string{"b", "c", "a"}) {
		t.Errorf("BlobChanges after overwriting a = %q, want [b c a]: a once, at its newest Seq", got)
	} else if all[2].Seq != a2.Seq || all[2].ETag != a2.ETag || all[2].Size != 1 {
		t.Errorf("overwritten a in the feed: %+v, want Seq %d ETag %s", all[2], a2.Seq, a2.ETag)
	}
	if got := seqNames(changes(c.Seq, 100)); !slices.Equal(got, []string{"a"}) {
		t.Errorf("BlobChanges(after c) = %q, want [a]", got)
	}
	must(t, s.DeleteBlob(e.ctx, "feed", "b", ""), "DeleteBlob")
	if got := seqNames(changes(0, 100)); !slices.Equal(got, []string{"c", "a"}) {
		t.Errorf("BlobChanges after deleting b = %q, want [c a]", got)
	}
	if got := changes(a2.Seq, 100); len(got) != 0 {
		t.Errorf("BlobChanges(after the last) = %q, want none", seqNames(got))
	}
	// A Seq is never given twice, even after the newest blob is deleted.
	must(t, s.DeleteBlob(e.ctx, "feed", "a", ""), "DeleteBlob")
	d := put(e, s, "feed", "d", "1", storage.PutBlobOptions{})
	if d.Seq <= a2.Seq {
		t.Errorf("Seq %d after deleting the blob with Seq %d: Seqs must keep growing", d.Seq, a2.Seq)
	}
	ps, err := s.BlobChanges(e.ctx, "feed-missing", 0, 10)
	if err == nil && len(ps) != 0 {
		t.Errorf("BlobChanges of a missing container = %v", ps)
	}
}

func feedWatch(e *env, s FeedStore) {
	t := e.t
	ch, stop := s.WatchBlobs("watched")
	defer stop()
	if ch == nil {
		t.Skip("skipped: the backend cannot notify (WatchBlobs returned a nil channel)")
	}
	put(e, s, "watched", "a", "1", storage.PutBlobOptions{})
	wantSignal(t, ch, "PutBlob")
	put(e, s, "watched", "a", "2", storage.PutBlobOptions{})
	wantSignal(t, ch, "an overwrite")
	for range 5 {
		put(e, s, "watched", "b", "x", storage.PutBlobOptions{}) // never blocks
	}
	stop()
	stop()
}

var leaseCases = []testCase[storage.Leases]{
	{"AcquireRenewRelease", leaseAcquireRenewRelease},
	{"ExpiryAndTakeover", leaseExpiry},
}

func leaseAcquireRenewRelease(e *env, s storage.Leases) {
	t := e.t
	l, err := s.AcquireLease(e.ctx, "timer/fn", "host-a", 30*time.Second)
	must(t, err, "AcquireLease")
	if l.Name != "timer/fn" || l.Owner != "host-a" || l.Token <= 0 {
		t.Errorf("AcquireLease = %+v, want host-a with a positive token", l)
	}
	e.sameTime("Expires", l.Expires, e.now().Add(30*time.Second))
	_, err = s.AcquireLease(e.ctx, "timer/fn", "host-b", 30*time.Second)
	wantErr(t, err, storage.ErrLeaseHeld, "AcquireLease by another owner")
	other, err := s.AcquireLease(e.ctx, "timer/other", "host-b", 30*time.Second)
	must(t, err, "AcquireLease of another name")

	e.advance(10 * time.Second)
	again, err := s.AcquireLease(e.ctx, "timer/fn", "host-a", 30*time.Second)
	must(t, err, "AcquireLease by the holder")
	if again.Token != l.Token {
		t.Errorf("re-acquiring changed the token %d to %d", l.Token, again.Token)
	}
	e.sameTime("re-acquired Expires", again.Expires, e.now().Add(30*time.Second))
	renewed, err := s.RenewLease(e.ctx, again, time.Minute)
	must(t, err, "RenewLease")
	if renewed.Token != l.Token || renewed.Owner != "host-a" {
		t.Errorf("RenewLease = %+v", renewed)
	}
	e.sameTime("renewed Expires", renewed.Expires, e.now().Add(time.Minute))
	// The first Lease value, with the same owner and token, still renews.
	_, err = s.RenewLease(e.ctx, l, time.Minute)
	must(t, err, "RenewLease with an earlier value of the holding")

	stale := l
	stale.Token++
	_, err = s.RenewLease(e.ctx, stale, time.Minute)
	wantErr(t, err, storage.ErrLeaseLost, "RenewLease with a wrong token")
	wrongOwner := l
	wrongOwner.Owner = "host-b"
	must(t, s.ReleaseLease(e.ctx, wrongOwner), "ReleaseLease by another owner")
	_, err = s.AcquireLease(e.ctx, "timer/fn", "host-b", 30*time.Second)
	wantErr(t, err, storage.ErrLeaseHeld, "AcquireLease after another owner's release did nothing")

	must(t, s.ReleaseLease(e.ctx, renewed), "ReleaseLease")
	_, err = s.RenewLease(e.ctx, renewed, time.Minute)
	wantErr(t, err, storage.ErrLeaseLost, "RenewLease after release")
	taken, err := s.AcquireLease(e.ctx, "timer/fn", "host-b", 30*time.Second)
	must(t, err, "AcquireLease after release")
	if taken.Token <= l.Token {
		t.Errorf("token %d after changing hands, want above %d", taken.Token, l.Token)
	}
	must(t, s.ReleaseLease(e.ctx, renewed), "ReleaseLease of a lost lease")
	if _, err := s.RenewLease(e.ctx, taken, time.Minute); err != nil {
		t.Errorf("the old holder's release freed the new holder's lease: %v", err)
	}
	if _, err := s.RenewLease(e.ctx, other, time.Minute); err != nil {
		t.Errorf("another lease was disturbed: %v", err)
	}
	_, err = s.RenewLease(e.ctx, storage.Lease{Name: "never", Owner: "host-a", Token: 1}, time.Minute)
	wantErr(t, err, storage.ErrLeaseLost, "RenewLease of a lease never taken")
}

func leaseExpiry(e *env, s storage.Leases) {
	t := e.t
	l, err := s.AcquireLease(e.ctx, "singleton", "host-a", 3*time.Second)
	must(t, err, "AcquireLease")
	e.advance(3 * time.Second)
	_, err = s.RenewLease(e.ctx, l, 3*time.Second)
	wantErr(t, err, storage.ErrLeaseLost, "RenewLease after expiry")
	taken, err := s.AcquireLease(e.ctx, "singleton", "host-b", time.Minute)
	must(t, err, "AcquireLease of an expired lease")
	if taken.Owner != "host-b" || taken.Token <= l.Token {
		t.Errorf("takeover = %+v, want host-b with a token above %d", taken, l.Token)
	}
	_, err = s.RenewLease(e.ctx, l, time.Minute)
	wantErr(t, err, storage.ErrLeaseLost, "RenewLease after takeover")
	_, err = s.AcquireLease(e.ctx, "singleton", "host-a", time.Minute)
	wantErr(t, err, storage.ErrLeaseHeld, "AcquireLease by the old holder after takeover")
	must(t, s.ReleaseLease(e.ctx, l), "ReleaseLease of a lost lease")
	if _, err := s.RenewLease(e.ctx, taken, time.Minute); err != nil {
		t.Errorf("the new holder lost the lease to the old holder's release: %v", err)
	}
	// Taken back after the new holder's expiry, the token grows again.
	e.advance(time.Minute)
	back, err := s.AcquireLease(e.ctx, "singleton", "host-a", time.Minute)
	must(t, err, "AcquireLease after the second expiry")
	if back.Token <= taken.Token {
		t.Errorf("token %d after changing hands again, want above %d", back.Token, taken.Token)
	}
}

var scheduleCases = []testCase[ScheduleStore]{
	{"Fencing", scheduleFencing},
}

func scheduleFencing(e *env, s ScheduleStore) {
	t := e.t
	_, ok, err := s.ScheduleStatus(e.ctx, "fn")
	must(t, err, "ScheduleStatus")
	if ok {
		t.Error("ScheduleStatus of a name never saved: ok")
	}
	st := storage.ScheduleStatus{Last: Epoch, Next: Epoch.Add(time.Minute), LastUpdated: Epoch.Add(time.Second)}
	must(t, s.SetScheduleStatus(e.ctx, "fn", st, storage.Lease{}), "SetScheduleStatus unfenced")
	checkStatus(e, s, "fn", st)

	l, err := s.AcquireLease(e.ctx, "fn-lock", "host-a", 3*time.Second)
	must(t, err, "AcquireLease")
	st2 := storage.ScheduleStatus{Last: Epoch.Add(time.Minute), Next: Epoch.Add(2 * time.Minute), LastUpdated: Epoch.Add(time.Minute)}
	must(t, s.SetScheduleStatus(e.ctx, "fn", st2, l), "SetScheduleStatus fenced by the holding")
	checkStatus(e, s, "fn", st2)

	forged := l
	forged.Token++
	wantErr(t, s.SetScheduleStatus(e.ctx, "fn", st, forged), storage.ErrLeaseLost, "SetScheduleStatus with a wrong token")
	wantErr(t, s.SetScheduleStatus(e.ctx, "fn", st, storage.Lease{Name: "no-lock", Owner: "host-a", Token: 1}),
		storage.ErrLeaseLost, "SetScheduleStatus fenced by a lease never taken")
	checkStatus(e, s, "fn", st2)

	e.advance(3 * time.Second)
	wantErr(t, s.SetScheduleStatus(e.ctx, "fn", st, l), storage.ErrLeaseLost, "SetScheduleStatus fenced by an expired lease")
	newer, err := s.AcquireLease(e.ctx, "fn-lock", "host-b", time.Minute)
	must(t, err, "AcquireLease takeover")
	wantErr(t, s.SetScheduleStatus(e.ctx, "fn", st, l), storage.ErrLeaseLost, "SetScheduleStatus with a stale fence")
	checkStatus(e, s, "fn", st2)
	st3 := storage.ScheduleStatus{Last: Epoch.Add(2 * time.Minute), Next: Epoch.Add(3 * time.Minute), LastUpdated: Epoch.Add(2 * time.Minute)}
	must(t, s.SetScheduleStatus(e.ctx, "fn", st3, newer), "SetScheduleStatus by the new holder")
	checkStatus(e, s, "fn", st3)
	must(t, s.SetScheduleStatus(e.ctx, "fn", st, storage.Lease{}), "SetScheduleStatus with the zero fence")
	checkStatus(e, s, "fn", st)
	must(t, s.ReleaseLease(e.ctx, newer), "ReleaseLease")
	wantErr(t, s.SetScheduleStatus(e.ctx, "fn", st3, newer), storage.ErrLeaseLost, "SetScheduleStatus fenced by a released lease")
}

func checkStatus(e *env, s storage.Schedules, name string, want storage.ScheduleStatus) {
	e.t.Helper()
	got, ok, err := s.ScheduleStatus(e.ctx, name)
	must(e.t, err, "ScheduleStatus")
	if !ok || !got.Last.Equal(want.Last) || !got.Next.Equal(want.Next) || !got.LastUpdated.Equal(want.LastUpdated) {
		e.t.Errorf("ScheduleStatus(%s) = %+v (ok %v), want %+v", name, got, ok, want)
	}
}

var receiptCases = []testCase[storage.Receipts]{
	{"ClaimCompleteRelease", receiptClaims},
	{"ExpiredClaim", receiptExpiry},
}

func claim(e *env, s storage.Receipts, k storage.ReceiptKey, owner string, ttl time.Duration) (claimed, completed bool) {
	e.t.Helper()
	claimed, completed, err := s.ClaimReceipt(e.ctx, k, owner, ttl)
	must(e.t, err, "ClaimReceipt")
	if claimed && completed {
		e.t.Errorf("ClaimReceipt(%v, %s) claimed a completed receipt", k, owner)
	}
	return claimed, completed
}

func receiptClaims(e *env, s storage.Receipts) {
	t := e.t
	k := storage.ReceiptKey{Function: "resize", Container: "images", Name: "a/b.png", ETag: `"0x1"`}
	if c, done := claim(e, s, k, "host-a", time.Minute); !c || done {
		t.Fatalf("first claim = %v, %v; want claimed", c, done)
	}
	if c, done := claim(e, s, k, "host-b", time.Minute); c || done {
		t.Errorf("claim of a held receipt = %v, %v; want neither", c, done)
	}
	if c, _ := claim(e, s, k, "host-a", time.Minute); !c {
		t.Error("the holder's claim again was refused")
	}
	// Every part of the key counts.
	for _, other := range []storage.ReceiptKey{
		{Function: "thumb", Container: k.Container, Name: k.Name, ETag: k.ETag},
		{Function: k.Function, Container: "images2", Name: k.Name, ETag: k.ETag},
		{Function: k.Function, Container: k.Container, Name: "a/b.PNG", ETag: k.ETag},
		{Function: k.Function, Container: k.Container, Name: k.Name, ETag: `"0x2"`},
	} {
		if c, _ := claim(e, s, other, "host-b", time.Minute); !c {
			t.Errorf("claim of %+v, which differs from a held key, was refused", other)
		}
	}
	must(t, s.ReleaseReceipt(e.ctx, k, "host-b"), "ReleaseReceipt by a non-holder")
	if c, _ := claim(e, s, k, "host-b", time.Minute); c {
		t.Error("a non-holder's release freed the claim")
	}
	must(t, s.ReleaseReceipt(e.ctx, k, "host-a"), "ReleaseReceipt")
	if c, done := claim(e, s, k, "host-b", time.Minute); !c || done {
		t.Errorf("claim after release = %v, %v; want claimed", c, done)
	}
	must(t, s.CompleteReceipt(e.ctx, k, "host-b"), "CompleteReceipt")
	for _, owner := range []string{"host-a", "host-b"} {
		if c, done := claim(e, s, k, owner, time.Minute); c || !done {
			t.Errorf("claim of a completed receipt by %s = %v, %v; want completed", owner, c, done)
		}
	}
	e.needFakeClock("an hour passing")
	e.advance(time.Hour)
	if c, done := claim(e, s, k, "host-a", time.Minute); c || !done {
		t.Errorf("a completed receipt an hour later = %v, %v; want completed", c, done)
	}
}

func receiptExpiry(e *env, s storage.Receipts) {
	t := e.t
	k := storage.ReceiptKey{Function: "fn", Container: "in", Name: "x", ETag: `"1"`}
	ttl := max(3*time.Second, e.minLease)
	claim(e, s, k, "host-a", ttl)
	e.advance(ttl)
	if c, done := claim(e, s, k, "host-b", time.Minute); !c || done {
		t.Fatalf("claim of an expired claim = %v, %v; want claimed", c, done)
	}
	if c, _ := claim(e, s, k, "host-a", time.Minute); c {
		t.Error("the first owner took the receipt back from the new holder")
	}
	must(t, s.CompleteReceipt(e.ctx, k, "host-b"), "CompleteReceipt")
	if c, done := claim(e, s, k, "host-a", time.Minute); c || !done {
		t.Errorf("after completion = %v, %v; want completed", c, done)
	}
}

var checkpointCases = []testCase[storage.Checkpoints]{
	{"SetGet", checkpointSetGet},
}

func checkpointSetGet(e *env, s storage.Checkpoints) {
	t := e.t
	v, err := s.Checkpoint(e.ctx, "feed/images")
	must(t, err, "Checkpoint")
	if v != "" {
		t.Errorf("Checkpoint never set = %q", v)
	}
	must(t, s.SetCheckpoint(e.ctx, "feed/images", "42"), "SetCheckpoint")
	must(t, s.SetCheckpoint(e.ctx, "feed/other", "7"), "SetCheckpoint")
	must(t, s.SetCheckpoint(e.ctx, "feed/images", "43 \u00e9"), "SetCheckpoint again")
	for name, want := range map[string]string{"feed/images": "43 \u00e9", "feed/other": "7"} {
		v, err := s.Checkpoint(e.ctx, name)
		must(t, err, "Checkpoint")
		if v != want {
			t.Errorf("Checkpoint(%s) = %q, want %q", name, v, want)
		}
	}
	must(t, s.SetCheckpoint(e.ctx, "feed/images", ""), "SetCheckpoint empty")
	if v, _ := s.Checkpoint(e.ctx, "feed/images"); v != "" {
		t.Errorf("Checkpoint after setting empty = %q", v)
	}
}
