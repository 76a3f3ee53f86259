package sqlite

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/funcd/funcd/storage"
)

const blobColumns = `container, name, etag, seq, size, content_type, md5, created, modified, metadata`

func scanBlob(r rowScanner, extra ...any) (storage.BlobProps, error) {
	var p storage.BlobProps
	var created, modified int64
	var meta string
	dest := append([]any{&p.Container, &p.Name, &p.ETag, &p.Seq, &p.Size, &p.ContentType, &p.ContentMD5, &created, &modified, &meta}, extra...)
	if err := r.Scan(dest...); err != nil {
		return storage.BlobProps{}, err
	}
	p.Created, p.LastModified = fromNanos(created), fromNanos(modified)
	if meta != "" && meta != "null" {
		if err := json.Unmarshal([]byte(meta), &p.Metadata); err != nil {
			return storage.BlobProps{}, fmt.Errorf("metadata of blob %s/%s: %w", p.Container, p.Name, err)
		}
	}
	return p, nil
}

func checkBlob(container, name string) error {
	if err := storage.CheckContainerName(container); err != nil {
		return err
	}
	return storage.CheckBlobName(name)
}

func blobNotFound(container, name string) error {
	return fmt.Errorf("blob %s/%q: %w", container, name, storage.ErrNotFound)
}

// newFileName is a fresh internal name for a blob file.
func newFileName() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// writeFile writes body to a new file under blobs/, synced and renamed into
// place (so a crash leaves either no file or the whole one), and returns its
// name, size and MD5.
func (s *Store) writeFile(body io.Reader) (name string, size int64, sum []byte, err error) {
	name = newFileName()
	tmp := filepath.Join(s.blobs, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", 0, nil, fmt.Errorf("sqlite: create a blob file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := md5.New()
	if body != nil {
		if size, err = io.Copy(io.MultiWriter(f, h), body); err != nil {
			return "", 0, nil, fmt.Errorf("sqlite: write a blob file: %w", err)
		}
	}
	if err = f.Sync(); err != nil {
		return "", 0, nil, fmt.Errorf("sqlite: sync a blob file: %w", err)
	}
	if err = f.Close(); err != nil {
		return "", 0, nil, fmt.Errorf("sqlite: write a blob file: %w", err)
	}
	if err = os.Rename(tmp, filepath.Join(s.blobs, name)); err != nil {
		return "", 0, nil, fmt.Errorf("sqlite: rename a blob file: %w", err)
	}
	if err = syncDir(s.blobs); err != nil {
		os.Remove(filepath.Join(s.blobs, name))
		return "", 0, nil, fmt.Errorf("sqlite: sync the blob folder: %w", err)
	}
	return name, size, h.Sum(nil), nil
}

// removeFile removes a blob file no row names any longer. A reader that has
// it open keeps reading it (on Windows, where it cannot be removed while
// open, it is left for the next Open to remove).
func (s *Store) removeFile(name string) {
	if err := os.Remove(filepath.Join(s.blobs, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("cannot remove an old blob file; the next open will", "file", name, "err", err)
	}
}

// PutBlob writes a whole blob, creating the container if missing.
func (s *Store) PutBlob(ctx context.Context, container, name string, body io.Reader, opts storage.PutBlobOptions) (storage.BlobProps, error) {
	if err := checkBlob(container, name); err != nil {
		return storage.BlobProps{}, err
	}
	if opts.IfNoneMatch != "" && opts.IfNoneMatch != "*" {
		return storage.BlobProps{}, fmt.Errorf("sqlite: IfNoneMatch %q: only \"*\" is supported", opts.IfNoneMatch)
	}
	file, size, sum, err := s.writeFile(body)
	if err != nil {
		return storage.BlobProps{}, err
	}
	p, old, err := s.commitBlob(ctx, container, name, file, size, sum, opts)
	if err != nil {
		s.removeFile(file)
		return storage.BlobProps{}, err
	}
	if old != "" {
		s.removeFile(old)
	}
	s.blobW.notify(container)
	return p, nil
}

// commitBlob records a written file as the blob's new version and returns
// the file of the version it replaced.
func (s *Store) commitBlob(ctx context.Context, container, name, file string, size int64, sum []byte, opts storage.PutBlobOptions) (storage.BlobProps, string, error) {
	meta, err := json.Marshal(opts.Metadata)
	if err != nil {
		return storage.BlobProps{}, "", fmt.Errorf("sqlite: metadata of blob %s/%q: %w", container, name, err)
	}
	if len(opts.Metadata) == 0 {
		meta = []byte("{}")
	}
	now := s.clock.Now()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return storage.BlobProps{}, "", sqlErr("put a blob", err)
	}
	defer tx.Rollback()
	var oldFile, oldETag string
	var created int64
	err = tx.QueryRowContext(ctx, `SELECT file, etag, created FROM blobs WHERE container = ? AND name = ?`, container, name).
		Scan(&oldFile, &oldETag, &created)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return storage.BlobProps{}, "", sqlErr("put a blob", err)
	}
	switch {
	case opts.IfNoneMatch == "*" && exists:
		return storage.BlobProps{}, "", fmt.Errorf("blob %s/%q exists: %w", container, name, storage.ErrConditionNotMet)
	case opts.IfMatch != "" && (!exists || (opts.IfMatch != "*" && opts.IfMatch != oldETag)):
		return storage.BlobProps{}, "", fmt.Errorf("blob %s/%q does not have ETag %s: %w", container, name, opts.IfMatch, storage.ErrConditionNotMet)
	}
	if !exists {
		created = now.UnixNano()
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO containers (name, created) VALUES (?, ?)`, container, now.UnixNano()); err != nil {
		return storage.BlobProps{}, "", sqlErr("put a blob", err)
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `UPDATE counters SET value = value + 1 WHERE name = 'blob_seq' RETURNING value`).Scan(&seq); err != nil {
		return storage.BlobProps{}, "", sqlErr("put a blob", err)
	}
	p := storage.BlobProps{
		Container:    container,
		Name:         name,
		ETag:         fmt.Sprintf(`"0x8D%014X"`, seq),
		Size:         size,
		ContentType:  opts.ContentType,
		ContentMD5:   sum,
		Created:      fromNanos(created),
		LastModified: now.UTC(),
		Metadata:     opts.Metadata,
		Seq:          seq,
	}
	if p.ContentType == "" {
		p.ContentType = storage.DefaultContentType
	}
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO blobs (file, `+blobColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		file, container, name, p.ETag, seq, size, p.ContentType, sum, created, now.UnixNano(), string(meta))
	if err != nil {
		return storage.BlobProps{}, "", sqlErr("put a blob", err)
	}
	if err := tx.Commit(); err != nil {
		return storage.BlobProps{}, "", sqlErr("put a blob", err)
	}
	return p, oldFile, nil
}

// OpenBlob reads a blob. The reader holds the version's file open, so it
// reads that version even if the blob is overwritten or deleted meanwhile.
func (s *Store) OpenBlob(ctx context.Context, container, name string) (io.ReadCloser, storage.BlobProps, error) {
	if err := checkBlob(container, name); err != nil {
		return nil, storage.BlobProps{}, err
	}
	// A writer may replace the version, and remove its file, between the
	// row being read and the file being opened: then read the row again.
	for range 100 {
		var file string
		p, err := scanBlob(s.r.QueryRowContext(ctx, `SELECT `+blobColumns+`, file FROM blobs WHERE container = ? AND name = ?`,
			container, name), &file)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, storage.BlobProps{}, blobNotFound(container, name)
		}
		if err != nil {
			return nil, storage.BlobProps{}, sqlErr("read a blob", err)
		}
		f, err := os.Open(filepath.Join(s.blobs, file))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, storage.BlobProps{}, fmt.Errorf("sqlite: open blob %s/%q: %w", container, name, err)
		}
		return f, p, nil
	}
	return nil, storage.BlobProps{}, fmt.Errorf("sqlite: open blob %s/%q: it changed under every read", container, name)
}

// StatBlob returns a blob's properties.
func (s *Store) StatBlob(ctx context.Context, container, name string) (storage.BlobProps, error) {
	if err := checkBlob(container, name); err != nil {
		return storage.BlobProps{}, err
	}
	p, err := scanBlob(s.r.QueryRowContext(ctx, `SELECT `+blobColumns+` FROM blobs WHERE container = ? AND name = ?`, container, name))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.BlobProps{}, blobNotFound(container, name)
	}
	if err != nil {
		return storage.BlobProps{}, sqlErr("read a blob", err)
	}
	return p, nil
}

// DeleteBlob removes a blob; ifMatch, when set, requires its ETag.
func (s *Store) DeleteBlob(ctx context.Context, container, name, ifMatch string) error {
	if err := checkBlob(container, name); err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return sqlErr("delete a blob", err)
	}
	defer tx.Rollback()
	var file, etag string
	err = tx.QueryRowContext(ctx, `SELECT file, etag FROM blobs WHERE container = ? AND name = ?`, container, name).Scan(&file, &etag)
	if errors.Is(err, sql.ErrNoRows) {
		return blobNotFound(container, name)
	}
	if err != nil {
		return sqlErr("delete a blob", err)
	}
	if ifMatch != "" && ifMatch != "*" && ifMatch != etag {
		return fmt.Errorf("blob %s/%q does not have ETag %s: %w", container, name, ifMatch, storage.ErrConditionNotMet)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM blobs WHERE container = ? AND name = ?`, container, name); err != nil {
		return sqlErr("delete a blob", err)
	}
	if err := tx.Commit(); err != nil {
		return sqlErr("delete a blob", err)
	}
	s.removeFile(file)
	return nil
}

// ListBlobs lists up to limit blobs whose names start with prefix, by name
// in byte order, after marker.
func (s *Store) ListBlobs(ctx context.Context, container, prefix, marker string, limit int) ([]storage.BlobProps, string, error) {
	if err := storage.CheckContainerName(container); err != nil {
		return nil, "", err
	}
	limit = min(max(limit, 1), 5000)
	rows, err := s.r.QueryContext(ctx, `SELECT `+blobColumns+` FROM blobs
		WHERE container = ? AND name > ? AND name >= ? ORDER BY name LIMIT ?`, container, marker, prefix, limit+1)
	if err != nil {
		return nil, "", sqlErr("list blobs", err)
	}
	defer rows.Close()
	var page []storage.BlobProps
	more := false
	for rows.Next() {
		p, err := scanBlob(rows)
		if err != nil {
			return nil, "", sqlErr("list blobs", err)
		}
		if !strings.HasPrefix(p.Name, prefix) {
			break
		}
		if len(page) == limit {
			more = true
			break
		}
		page = append(page, p)
	}
	if err := rows.Err(); err != nil {
		return nil, "", sqlErr("list blobs", err)
	}
	if len(page) == 0 && marker == "" {
		if err := s.containerMustExist(ctx, container); err != nil {
			return nil, "", err
		}
	}
	if more {
		return page, page[len(page)-1].Name, nil
	}
	return page, "", nil
}

func (s *Store) containerMustExist(ctx context.Context, container string) error {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM containers WHERE name = ?`, container).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("container %s: %w", container, storage.ErrNotFound)
	}
	if err != nil {
		return sqlErr("read container "+container, err)
	}
	return nil
}

// ListContainers lists the containers, by name.
func (s *Store) ListContainers(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name FROM containers ORDER BY name`)
	if err != nil {
		return nil, sqlErr("list containers", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, sqlErr("list containers", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlErr("list containers", err)
	}
	return out, nil
}

// DeleteContainer removes a container and its blobs.
func (s *Store) DeleteContainer(ctx context.Context, container string) error {
	if err := storage.CheckContainerName(container); err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return sqlErr("delete container "+container, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM containers WHERE name = ?`, container)
	if err != nil {
		return sqlErr("delete container "+container, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("container %s: %w", container, storage.ErrNotFound)
	}
	rows, err := tx.QueryContext(ctx, `DELETE FROM blobs WHERE container = ? RETURNING file`, container)
	if err != nil {
		return sqlErr("delete container "+container, err)
	}
	var files []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			rows.Close()
			return sqlErr("delete container "+container, err)
		}
		files = append(files, f)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return sqlErr("delete container "+container, err)
	}
	if err := tx.Commit(); err != nil {
		return sqlErr("delete container "+container, err)
	}
	for _, f := range files {
		s.removeFile(f)
	}
	return nil
}

// BlobChanges returns up to limit current blobs of the container with Seq
// after after, in Seq order.
func (s *Store) BlobChanges(ctx context.Context, container string, after int64, limit int) ([]storage.BlobProps, error) {
	if err := storage.CheckContainerName(container); err != nil {
		return nil, err
	}
	limit = min(max(limit, 1), 5000)
	rows, err := s.r.QueryContext(ctx, `SELECT `+blobColumns+` FROM blobs INDEXED BY blobs_feed
		WHERE container = ? AND seq > ? ORDER BY seq LIMIT ?`, container, after, limit)
	if err != nil {
		return nil, sqlErr("read the blob feed", err)
	}
	defer rows.Close()
	var out []storage.BlobProps
	for rows.Next() {
		p, err := scanBlob(rows)
		if err != nil {
			return nil, sqlErr("read the blob feed", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlErr("read the blob feed", err)
	}
	return out, nil
}

// WatchBlobs signals after a put to the container through this Store.
func (s *Store) WatchBlobs(container string) (<-chan struct{}, func()) {
	return s.blobW.watch(container)
}
