package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/storage"
)

// files lists the names under dir, folders with a trailing slash.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			rel += "/"
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBlobNamesNeverBecomePaths(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "store")
	s := open(t, dir, clocktest.New(time.Unix(1e9, 0)))
	names := []string{"../x", "a/../../b", "../../../../../../tmp/escaped", "%2e%2e/", `..\..\win`, "/abs", "blobs", "store.db", "\u00e9t\u00e9"}
	for _, n := range names {
		if _, err := s.PutBlob(t.Context(), "c-1", n, strings.NewReader(n), storage.PutBlobOptions{}); err != nil {
			t.Fatalf("PutBlob(%q): %v", n, err)
		}
	}
	if entries, err := os.ReadDir(parent); err != nil || len(entries) != 1 || entries[0].Name() != "store" {
		t.Errorf("the store's parent holds %v (%v), want only the store's folder", entries, err)
	}
	for _, f := range files(t, dir) {
		switch {
		case f == "./", f == "blobs/", strings.HasPrefix(f, DBFile):
		case strings.HasPrefix(f, "blobs/") && len(f) == len("blobs/")+32 && !strings.ContainsAny(f[6:], "./\\"):
		default:
			t.Errorf("unexpected file %q in the store's folder", f)
		}
	}
	if _, err := os.Stat("/tmp/escaped"); err == nil {
		t.Error("a blob name wrote /tmp/escaped")
	}
}

func TestOverwriteAndDeleteRemoveOldFiles(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, clock.Real{})
	ctx := t.Context()
	for i := range 5 {
		if _, err := s.PutBlob(ctx, "c-1", "b", strings.NewReader(strings.Repeat("x", i)), storage.PutBlobOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(blobFiles(t, dir)); n != 1 {
		t.Errorf("%d files after five writes of one blob, want 1", n)
	}
	// A failed condition leaves no file behind.
	_, err := s.PutBlob(ctx, "c-1", "b", strings.NewReader("y"), storage.PutBlobOptions{IfNoneMatch: "*"})
	if err == nil {
		t.Fatal("IfNoneMatch * over an existing blob succeeded")
	}
	if n := len(blobFiles(t, dir)); n != 1 {
		t.Errorf("%d files after a refused write, want 1", n)
	}
	if err := s.DeleteBlob(ctx, "c-1", "b", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBlob(ctx, "c-2", "b", strings.NewReader("z"), storage.PutBlobOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteContainer(ctx, "c-2"); err != nil {
		t.Fatal(err)
	}
	if f := blobFiles(t, dir); len(f) != 0 {
		t.Errorf("files %q left after deleting every blob", f)
	}
}

func blobFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, blobDir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestOpenRemovesOrphanFiles(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, clock.Real{})
	ctx := t.Context()
	p, err := s.PutBlob(ctx, "c-1", "kept", strings.NewReader("kept"), storage.PutBlobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kept := blobFiles(t, dir)
	// What a crash leaves: a file whose row never committed, a half-written
	// temporary file, and a young file that may be another Store's write.
	old := time.Now().Add(-time.Hour)
	for _, name := range []string{"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210.tmp"} {
		path := filepath.Join(dir, blobDir, name)
		if err := os.WriteFile(path, []byte("orphan"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
	}
	young := "00000000000000000000000000000000"
	if err := os.WriteFile(filepath.Join(dir, blobDir, young), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir, clock.Real{})
	got := blobFiles(t, dir)
	want := append(slices.Clone(kept), young)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("after Open the blob folder holds %q, want %q", got, want)
	}
	r, q, err := s2.OpenBlob(ctx, "c-1", "kept")
	if err != nil || q.ETag != p.ETag {
		t.Fatalf("OpenBlob after the cleanup: %v", err)
	}
	r.Close()
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`UPDATE schema_version SET version = 99`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "schema version 99") {
		t.Fatalf("Open of a database from a newer funcd: %v, want an error naming schema version 99", err)
	}
	// Opening again at the current version changes nothing.
	dir2 := t.TempDir()
	for range 2 {
		s, err := Open(dir2, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var v int
		if err := s.r.QueryRow(`SELECT version FROM schema_version`).Scan(&v); err != nil || v != len(migrations) {
			t.Errorf("schema version %d (%v), want %d", v, err, len(migrations))
		}
		s.Close()
	}
}

func TestMessageIDsAndReceiptsRoundTrip(t *testing.T) {
	for _, c := range [][2]int64{{1, 0}, {1, -1}, {1 << 40, 12345}, {-5, 7}} {
		id := messageID(c[0], c[1])
		seq, nonce, ok := parseMessageID(id)
		if !ok || seq != c[0] || nonce != c[1] {
			t.Errorf("parseMessageID(messageID(%d, %d) = %s) = %d, %d, %v", c[0], c[1], id, seq, nonce, ok)
		}
	}
	for _, bad := range []string{"", "x", "00000000-0000-0000-0000-00000000000g", "0000000000000000000000000000000000 0",
		"00000000-0000-0000-0000-000000000001 ", "00000000000000000000000000000000----", "00000000-0000-0000-0000-00000000000A"} {
		if _, _, ok := parseMessageID(bad); ok {
			t.Errorf("parseMessageID(%q) accepted", bad)
		}
	}
	for _, pop := range []int64{1, -1, 1 << 62} {
		if got := parsePopReceipt(popReceipt(pop)); got != pop {
			t.Errorf("parsePopReceipt(popReceipt(%d)) = %d", pop, got)
		}
	}
	if popReceipt(0) != "" || parsePopReceipt("") != 0 || parsePopReceipt("!!") != 0 {
		t.Error("no receipt does not map to 0")
	}
}

// failingReader gives some bytes and then an error, as a client that goes
// away mid-upload.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("connection reset")
	}
	n := min(len(p), r.n)
	r.n -= n
	return n, nil
}

func TestFailedUploadLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, clock.Real{})
	ctx := t.Context()
	old, err := s.PutBlob(ctx, "c-1", "b", strings.NewReader("old"), storage.PutBlobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBlob(ctx, "c-1", "b", &failingReader{n: 100_000}, storage.PutBlobOptions{}); err == nil {
		t.Fatal("PutBlob of a failing body succeeded")
	}
	if _, err := s.PutBlob(ctx, "c-1", "new", &failingReader{n: 10}, storage.PutBlobOptions{}); err == nil {
		t.Fatal("PutBlob of a failing body succeeded")
	}
	p, err := s.StatBlob(ctx, "c-1", "b")
	if err != nil || p.ETag != old.ETag {
		t.Errorf("after a failed overwrite: %+v, %v; want the old version", p, err)
	}
	if _, err := s.StatBlob(ctx, "c-1", "new"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a failed first upload left a blob: %v", err)
	}
	if n := len(blobFiles(t, dir)); n != 1 {
		t.Errorf("%d files after failed uploads, want the old version's only", n)
	}
}

func TestCancelledWritesDoNothing(t *testing.T) {
	s := open(t, t.TempDir(), clock.Real{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Enqueue(ctx, "q-1", []byte("x"), 0, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue with a cancelled context: %v", err)
	}
	if _, err := s.Receive(t.Context(), "q-1", 1, time.Minute); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a cancelled Enqueue made the queue: %v", err)
	}
}
