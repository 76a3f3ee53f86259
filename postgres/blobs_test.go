package postgres

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/funcd/funcd/storage"
)

// A blob larger than one read chunk streams in chunks from one snapshot: the
// reader keeps returning the version it opened while the blob is
// overwritten and then deleted.
func TestLargeBlobReaderSeesItsVersion(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	first := bytes.Repeat([]byte("0123456789abcdef"), (3*readChunk+100)/16)
	p, err := s.PutBlob(ctx, "big", "file", bytes.NewReader(first), storage.PutBlobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, props, err := s.OpenBlob(ctx, "big", "file")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if props.ETag != p.ETag || props.Size != int64(len(first)) {
		t.Fatalf("OpenBlob props = %+v, want %+v", props, p)
	}
	head := make([]byte, 1000)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBlob(ctx, "big", "file", bytes.NewReader([]byte("small now")), storage.PutBlobOptions{}); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := append(head, rest...); !bytes.Equal(got, first) {
		t.Fatalf("read %d bytes, not the version opened (%d bytes)", len(got), len(first))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBlob(ctx, "big", "file", ""); err != nil {
		t.Fatal(err)
	}
}

func TestBlobLimit(t *testing.T) {
	s, _ := openTest(t)
	s.maxBlob = 1000
	ctx := context.Background()
	if _, err := s.PutBlob(ctx, "limits", "ok", bytes.NewReader(make([]byte, 1000)), storage.PutBlobOptions{}); err != nil {
		t.Fatalf("a blob at the limit: %v", err)
	}
	if _, err := s.PutBlob(ctx, "limits", "big", bytes.NewReader(make([]byte, 1001)), storage.PutBlobOptions{}); !errors.Is(err, storage.ErrTooLarge) {
		t.Fatalf("a blob over the limit: %v; want ErrTooLarge", err)
	}
	if _, err := s.StatBlob(ctx, "limits", "big"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("StatBlob of the refused blob: %v; want ErrNotFound", err)
	}
	if _, err := s.PutBlob(ctx, "limits", "nul\x00name", bytes.NewReader(nil), storage.PutBlobOptions{}); !errors.Is(err, storage.ErrInvalidName) {
		t.Fatalf("a blob name with NUL: %v; want ErrInvalidName", err)
	}
}

// Open is safe when several processes start on a new schema at once, and
// leaves one schema version row.
func TestOpenConcurrentlyOnANewSchema(t *testing.T) {
	schema := newSchema(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := Open(context.Background(), testConnString(), Options{Schema: schema})
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("Open: %v", err)
		}
	}
	s := openIn(t, schema, nil)
	var rows, version int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*), max(version) FROM funcd_schema_version`).Scan(&rows, &version); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || version != len(migrations) {
		t.Fatalf("funcd_schema_version has %d rows, version %d; want 1 row, version %d", rows, version, len(migrations))
	}
}
