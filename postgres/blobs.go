package postgres

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/funcd/funcd/storage"
)

// readChunk is how much of a blob one query reads. A blob no larger comes
// back in the query that opens it; a larger one is read a chunk at a time
// inside a read-only snapshot transaction.
const readChunk = 1 << 20

// defaultListMax is the page size of ListBlobs when max is not positive,
// Azure's default.
const defaultListMax = 5000

// blobColumns are the columns scanBlob reads, in order.
const blobColumns = `container, name, seq, etag, size, content_type, content_md5, metadata, created_ns, modified_ns`

// The ETag of a put is made from its seq, which no other put shares.
const etagExpr = `format('"0x8DC%s"', lpad(upper(to_hex(s.seq)), 12, '0'))`

// PutBlob writes a whole blob in one statement, which also creates the
// container, checks the conditions against the current row, and notifies
// watchers of the container.
func (s *Store) PutBlob(ctx context.Context, container, name string, body io.Reader, opts storage.PutBlobOptions) (storage.BlobProps, error) {
	if err := checkContainerName(container); err != nil {
		return storage.BlobProps{}, err
	}
	if err := checkBlobName(name); err != nil {
		return storage.BlobProps{}, err
	}
	data, err := io.ReadAll(io.LimitReader(body, int64(s.maxBlob)+1))
	if err != nil {
		return storage.BlobProps{}, fmt.Errorf("postgres: put blob %s/%s: read the body: %w", container, name, err)
	}
	if len(data) > s.maxBlob {
		return storage.BlobProps{}, fmt.Errorf("postgres: put blob %s/%s: %w: the limit is %d bytes", container, name, storage.ErrTooLarge, s.maxBlob)
	}
	sum := md5.Sum(data)
	now := s.now()
	props := storage.BlobProps{
		Container:   container,
		Name:        name,
		Size:        int64(len(data)),
		ContentType: opts.ContentType,
		ContentMD5:  sum[:],
		Metadata:    opts.Metadata,
	}
	if props.ContentType == "" {
		props.ContentType = storage.DefaultContentType
	}
	meta := opts.Metadata
	if meta == nil {
		meta = map[string]string{}
	}

	var write string
	switch {
	case opts.IfMatch != "":
		write = `
UPDATE funcd_blobs AS b SET
	seq = s.seq, etag = ` + etagExpr + `, size = $4, content_type = $5, content_md5 = $6,
	metadata = $7, modified_ns = $3, body = $8
FROM s
WHERE b.container = $1 AND b.name = $2 AND ($9 = '*' OR b.etag = $9) AND ($10 = '' OR b.etag <> $10)`
	default:
		write = `
INSERT INTO funcd_blobs AS b (container, name, seq, etag, size, content_type, content_md5, metadata, created_ns, modified_ns, body)
SELECT $1, $2, s.seq, ` + etagExpr + `, $4, $5, $6, $7, $3, $3, $8 FROM s
ON CONFLICT (container, name) DO UPDATE SET
	seq = excluded.seq, etag = excluded.etag, size = excluded.size, content_type = excluded.content_type,
	content_md5 = excluded.content_md5, metadata = excluded.metadata, modified_ns = excluded.modified_ns,
	body = excluded.body
WHERE $9 = '' AND $10 <> '*' AND ($10 = '' OR b.etag <> $10)`
	}
	var (
		created int64
		discard *string
	)
	err = s.pool.QueryRow(ctx, `
WITH c AS (INSERT INTO funcd_containers (name, created_ns) VALUES ($1, $3) ON CONFLICT DO NOTHING),
     s AS (SELECT nextval('funcd_blob_seq') AS seq),
     w AS (`+write+`
           RETURNING b.seq, b.etag, b.created_ns)
SELECT w.seq, w.etag, w.created_ns, pg_notify($11, $12)::text FROM w`,
		container, name, now, props.Size, props.ContentType, props.ContentMD5, meta, data,
		opts.IfMatch, opts.IfNoneMatch, s.watch.channel, containerKey(container),
	).Scan(&props.Seq, &props.ETag, &created, &discard)
	if isNoRows(err) {
		return storage.BlobProps{}, fmt.Errorf("postgres: put blob %s/%s (If-Match %q, If-None-Match %q): %w",
			container, name, opts.IfMatch, opts.IfNoneMatch, storage.ErrConditionNotMet)
	}
	if err != nil {
		return storage.BlobProps{}, fmt.Errorf("postgres: put blob %s/%s: %w", container, name, err)
	}
	s.watch.signal(containerKey(container))
	props.Created = fromNanos(created)
	props.LastModified = fromNanos(now)
	return props, nil
}

// OpenBlob reads a blob. One no larger than readChunk comes back whole from
// one query; a larger one is read in chunks inside a repeatable-read
// transaction, so the reader sees one version throughout, and holds a pool
// connection until it is closed.
func (s *Store) OpenBlob(ctx context.Context, container, name string) (io.ReadCloser, storage.BlobProps, error) {
	const query = `SELECT ` + blobColumns + `, CASE WHEN size <= $3 THEN body END
FROM funcd_blobs WHERE container = $1 AND name = $2`
	var body []byte
	p, err := scanBlob(s.pool.QueryRow(ctx, query, container, name, readChunk), &body)
	if err != nil {
		return nil, storage.BlobProps{}, s.blobError("open", container, name, err)
	}
	if p.Size <= readChunk {
		return io.NopCloser(bytes.NewReader(body)), p, nil
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, storage.BlobProps{}, s.blobError("open", container, name, err)
	}
	p, err = scanBlob(tx.QueryRow(ctx, query, container, name, readChunk), &body)
	if err != nil {
		_ = tx.Rollback(context.Background())
		return nil, storage.BlobProps{}, s.blobError("open", container, name, err)
	}
	if p.Size <= readChunk { // overwritten meanwhile with a small blob
		_ = tx.Rollback(context.Background())
		return io.NopCloser(bytes.NewReader(body)), p, nil
	}
	return &blobReader{ctx: ctx, tx: tx, container: container, name: name, size: p.Size}, p, nil
}

// blobReader reads a large blob a chunk at a time in its snapshot.
type blobReader struct {
	ctx             context.Context
	tx              pgx.Tx
	container, name string
	size, off       int64 // off: how much has been fetched
	buf             []byte
	err             error
}

func (r *blobReader) Read(p []byte) (int, error) {
	if len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.off >= r.size {
			return 0, io.EOF
		}
		err := r.tx.QueryRow(r.ctx,
			`SELECT substring(body FROM $3 FOR $4) FROM funcd_blobs WHERE container = $1 AND name = $2`,
			r.container, r.name, r.off+1, readChunk).Scan(&r.buf)
		if err == nil && len(r.buf) == 0 {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			r.err = fmt.Errorf("postgres: read blob %s/%s at %d: %w", r.container, r.name, r.off, err)
			return 0, r.err
		}
		r.off += int64(len(r.buf))
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Close ends the snapshot and returns the connection to the pool.
func (r *blobReader) Close() error {
	if r.tx == nil {
		return nil
	}
	err := r.tx.Rollback(context.Background())
	r.tx, r.buf, r.err = nil, nil, errors.New("postgres: read from a closed blob")
	if err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return fmt.Errorf("postgres: close blob %s/%s: %w", r.container, r.name, err)
	}
	return nil
}

// StatBlob returns a blob's properties.
func (s *Store) StatBlob(ctx context.Context, container, name string) (storage.BlobProps, error) {
	p, err := scanBlob(s.pool.QueryRow(ctx,
		`SELECT `+blobColumns+` FROM funcd_blobs WHERE container = $1 AND name = $2`, container, name))
	if err != nil {
		return storage.BlobProps{}, s.blobError("stat", container, name, err)
	}
	return p, nil
}

// DeleteBlob removes a blob; ifMatch, when set, requires its ETag.
func (s *Store) DeleteBlob(ctx context.Context, container, name, ifMatch string) error {
	var (
		deleted int64
		exists  bool
	)
	err := s.pool.QueryRow(ctx, `
WITH d AS (
	DELETE FROM funcd_blobs
	WHERE container = $1 AND name = $2 AND ($3 = '' OR $3 = '*' OR etag = $3)
	RETURNING 1)
SELECT (SELECT count(*) FROM d), EXISTS (SELECT 1 FROM funcd_blobs WHERE container = $1 AND name = $2)`,
		container, name, ifMatch).Scan(&deleted, &exists)
	switch {
	case err != nil:
		return fmt.Errorf("postgres: delete blob %s/%s: %w", container, name, err)
	case deleted > 0:
		return nil
	case exists:
		return fmt.Errorf("postgres: delete blob %s/%s (If-Match %q): %w", container, name, ifMatch, storage.ErrConditionNotMet)
	default:
		return fmt.Errorf("postgres: delete blob %s/%s: %w", container, name, storage.ErrNotFound)
	}
}

// ListBlobs lists a page of blobs by name.
func (s *Store) ListBlobs(ctx context.Context, container, prefix, marker string, max int) ([]storage.BlobProps, string, error) {
	if max < 1 {
		max = defaultListMax
	}
	rows, err := s.pool.Query(ctx, `
WITH page AS (
	SELECT `+blobColumns+` FROM funcd_blobs
	WHERE container = $1 AND name >= $2 AND starts_with(name, $2) AND name > $3
	ORDER BY name
	LIMIT $4)
SELECT EXISTS (SELECT 1 FROM funcd_containers WHERE name = $1),
       page.container, page.name, page.seq, page.etag, page.size, page.content_type,
       page.content_md5, page.metadata, page.created_ns, page.modified_ns
FROM (VALUES (1)) AS one LEFT JOIN page ON true
ORDER BY page.name`, container, prefix, marker, max+1)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: list blobs in %s: %w", container, err)
	}
	var (
		page   []storage.BlobProps
		exists bool
	)
	for rows.Next() {
		var (
			c, n, etag, ctype       *string
			seq, size, created, mod *int64
			md                      []byte
			meta                    map[string]string
		)
		if err := rows.Scan(&exists, &c, &n, &seq, &etag, &size, &ctype, &md, &meta, &created, &mod); err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("postgres: list blobs in %s: %w", container, err)
		}
		if n == nil {
			continue
		}
		page = append(page, storage.BlobProps{
			Container: *c, Name: *n, Seq: *seq, ETag: *etag, Size: *size, ContentType: *ctype,
			ContentMD5: md, Metadata: nilIfEmpty(meta), Created: fromNanos(*created), LastModified: fromNanos(*mod),
		})
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("postgres: list blobs in %s: %w", container, err)
	}
	if !exists {
		return nil, "", fmt.Errorf("postgres: list blobs in %s: %w", container, storage.ErrNotFound)
	}
	next := ""
	if len(page) > max {
		page = page[:max]
		next = page[max-1].Name
	}
	return page, next, nil
}

// ListContainers lists the containers by name.
func (s *Store) ListContainers(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT name FROM funcd_containers ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list containers: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: list containers: %w", err)
	}
	return names, nil
}

// DeleteContainer removes a container and its blobs.
func (s *Store) DeleteContainer(ctx context.Context, container string) error {
	var n int64
	err := s.pool.QueryRow(ctx, `
WITH c AS (DELETE FROM funcd_containers WHERE name = $1 RETURNING 1),
     b AS (DELETE FROM funcd_blobs WHERE container = $1)
SELECT count(*) FROM c`, container).Scan(&n)
	if err != nil {
		return fmt.Errorf("postgres: delete container %s: %w", container, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: delete container %s: %w", container, storage.ErrNotFound)
	}
	return nil
}

// BlobChanges returns the container's current blobs with Seq > after, in
// Seq order.
func (s *Store) BlobChanges(ctx context.Context, container string, after int64, max int) ([]storage.BlobProps, error) {
	if max < 1 {
		max = defaultListMax
	}
	rows, err := s.pool.Query(ctx, `
SELECT `+blobColumns+` FROM funcd_blobs WHERE container = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
		container, after, max)
	if err != nil {
		return nil, fmt.Errorf("postgres: blob changes in %s: %w", container, err)
	}
	changes, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.BlobProps, error) {
		return scanBlob(row)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: blob changes in %s: %w", container, err)
	}
	return changes, nil
}

// WatchBlobs signals soon after a put to the container by any process
// sharing the database.
func (s *Store) WatchBlobs(container string) (<-chan struct{}, func()) {
	return s.watch.add(containerKey(container))
}

// scanBlob reads blobColumns, then any extra destinations.
func scanBlob(row pgx.Row, extra ...any) (storage.BlobProps, error) {
	var (
		p            storage.BlobProps
		created, mod int64
		meta         map[string]string
	)
	dest := append([]any{&p.Container, &p.Name, &p.Seq, &p.ETag, &p.Size, &p.ContentType,
		&p.ContentMD5, &meta, &created, &mod}, extra...)
	if err := row.Scan(dest...); err != nil {
		return storage.BlobProps{}, err
	}
	p.Metadata = nilIfEmpty(meta)
	p.Created, p.LastModified = fromNanos(created), fromNanos(mod)
	return p, nil
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// blobError wraps err from reading one blob, turning "no rows" into
// storage.ErrNotFound.
func (s *Store) blobError(op, container, name string, err error) error {
	if isNoRows(err) {
		err = storage.ErrNotFound
	}
	return fmt.Errorf("postgres: %s blob %s/%s: %w", op, container, name, err)
}
