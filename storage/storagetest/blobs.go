package storagetest

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/storage"
)

// RunBlobs runs the cases of storage.Blobs.
func RunBlobs(t *testing.T, open Opener[storage.Blobs], opts ...Option) {
	runCases(t, open, opts, blobCases)
}

var blobCases = []testCase[storage.Blobs]{
	{"PutOpenStatDelete", blobPutOpenStatDelete},
	{"Overwrite", blobOverwrite},
	{"Conditions", blobConditions},
	{"ReaderKeepsItsVersion", blobReaderKeepsVersion},
	{"List", blobList},
	{"OddNames", blobOddNames},
	{"InvalidNames", blobInvalidNames},
	{"Containers", blobContainers},
}

func put(e *env, s storage.Blobs, container, name, body string, opts storage.PutBlobOptions) storage.BlobProps {
	e.t.Helper()
	p, err := s.PutBlob(e.ctx, container, name, strings.NewReader(body), opts)
	must(e.t, err, fmt.Sprintf("PutBlob(%s, %q)", container, name))
	return p
}

func read(e *env, s storage.Blobs, container, name string) (string, storage.BlobProps) {
	e.t.Helper()
	r, p, err := s.OpenBlob(e.ctx, container, name)
	must(e.t, err, fmt.Sprintf("OpenBlob(%s, %q)", container, name))
	defer r.Close()
	b, err := io.ReadAll(r)
	must(e.t, err, "reading the blob")
	return string(b), p
}

func isQuoted(etag string) bool {
	return len(etag) > 2 && etag[0] == '"' && etag[len(etag)-1] == '"'
}

func blobPutOpenStatDelete(e *env, s storage.Blobs) {
	t := e.t
	body := "hello, blob \x00\xff"
	meta := map[string]string{"author": "someone", "kind": "greeting"}
	p := put(e, s, "docs", "greeting.txt", body, storage.PutBlobOptions{ContentType: "text/plain; charset=utf-8", Metadata: meta})
	sum := md5.Sum([]byte(body))
	if p.Container != "docs" || p.Name != "greeting.txt" {
		t.Errorf("PutBlob props name %s/%s", p.Container, p.Name)
	}
	if !isQuoted(p.ETag) {
		t.Errorf("ETag %q is not quoted", p.ETag)
	}
	if p.Size != int64(len(body)) {
		t.Errorf("Size = %d, want %d", p.Size, len(body))
	}
	if !bytes.Equal(p.ContentMD5, sum[:]) {
		t.Errorf("ContentMD5 = %x, want %x", p.ContentMD5, sum)
	}
	if p.ContentType != "text/plain; charset=utf-8" {
		t.Errorf("ContentType = %q", p.ContentType)
	}
	if !maps.Equal(p.Metadata, meta) {
		t.Errorf("Metadata = %v, want %v", p.Metadata, meta)
	}
	e.sameTime("Created", p.Created, e.now())
	e.sameTime("LastModified", p.LastModified, e.now())

	got, rp := read(e, s, "docs", "greeting.txt")
	if got != body {
		t.Errorf("OpenBlob read %q, want %q", got, body)
	}
	sp, err := s.StatBlob(e.ctx, "docs", "greeting.txt")
	must(t, err, "StatBlob")
	for what, q := range map[string]storage.BlobProps{"OpenBlob": rp, "StatBlob": sp} {
		if q.ETag != p.ETag || q.Size != p.Size || q.ContentType != p.ContentType ||
			!bytes.Equal(q.ContentMD5, p.ContentMD5) || !maps.Equal(q.Metadata, meta) ||
			q.Container != "docs" || q.Name != "greeting.txt" || q.Seq != p.Seq {
			t.Errorf("%s props = %+v, want %+v", what, q, p)
		}
		e.sameTime(what+" Created", q.Created, p.Created)
		e.sameTime(what+" LastModified", q.LastModified, p.LastModified)
	}

	// An empty blob with no properties.
	empty := put(e, s, "docs", "empty", "", storage.PutBlobOptions{})
	if empty.Size != 0 || len(empty.Metadata) != 0 {
		t.Errorf("empty blob props %+v", empty)
	}
	if got, _ := read(e, s, "docs", "empty"); got != "" {
		t.Errorf("empty blob read %q", got)
	}

	must(t, s.DeleteBlob(e.ctx, "docs", "greeting.txt", ""), "DeleteBlob")
	wantErr(t, s.DeleteBlob(e.ctx, "docs", "greeting.txt", ""), storage.ErrNotFound, "DeleteBlob of a deleted blob")
	_, _, err = s.OpenBlob(e.ctx, "docs", "greeting.txt")
	wantErr(t, err, storage.ErrNotFound, "OpenBlob of a deleted blob")
	_, err = s.StatBlob(e.ctx, "docs", "greeting.txt")
	wantErr(t, err, storage.ErrNotFound, "StatBlob of a deleted blob")
	_, _, err = s.OpenBlob(e.ctx, "no-container", "x")
	wantErr(t, err, storage.ErrNotFound, "OpenBlob in a missing container")
	_, err = s.StatBlob(e.ctx, "no-container", "x")
	wantErr(t, err, storage.ErrNotFound, "StatBlob in a missing container")
}

func blobOverwrite(e *env, s storage.Blobs) {
	t := e.t
	first := put(e, s, "over", "b", "one", storage.PutBlobOptions{ContentType: "text/plain", Metadata: map[string]string{"v": "1"}})
	e.advance(2 * time.Second)
	second := put(e, s, "over", "b", "second", storage.PutBlobOptions{})
	if second.ETag == first.ETag {
		t.Errorf("overwrite kept ETag %s", first.ETag)
	}
	if first.Seq != 0 && second.Seq <= first.Seq {
		t.Errorf("overwrite Seq %d not above %d", second.Seq, first.Seq)
	}
	if second.Size != 6 || second.ContentType != storage.DefaultContentType || len(second.Metadata) != 0 {
		t.Errorf("overwrite kept old properties or gave no default content type: %+v", second)
	}
	if p, err := s.StatBlob(e.ctx, "over", "b"); err != nil || p.ContentType != storage.DefaultContentType {
		t.Errorf("StatBlob of a blob written without a content type = %+v, %v; want ContentType %q", p, err, storage.DefaultContentType)
	}
	e.sameTime("Created after overwrite", second.Created, first.Created)
	if !second.LastModified.After(first.LastModified) {
		t.Errorf("LastModified %v not after %v", second.LastModified, first.LastModified)
	}
	if got, p := read(e, s, "over", "b"); got != "second" || p.ETag != second.ETag {
		t.Errorf("read %q with ETag %s, want \"second\" with %s", got, p.ETag, second.ETag)
	}
	// Same content, new write: still a new ETag.
	third := put(e, s, "over", "b", "second", storage.PutBlobOptions{})
	if third.ETag == second.ETag {
		t.Error("rewriting the same bytes kept the ETag")
	}
}

func blobConditions(e *env, s storage.Blobs) {
	t := e.t
	star := storage.PutBlobOptions{IfNoneMatch: "*"}
	p := put(e, s, "cond", "b", "v1", star)
	_, err := s.PutBlob(e.ctx, "cond", "b", strings.NewReader("v2"), star)
	wantErr(t, err, storage.ErrConditionNotMet, "PutBlob IfNoneMatch * over an existing blob")
	_, err = s.PutBlob(e.ctx, "cond", "missing", strings.NewReader("v1"), storage.PutBlobOptions{IfMatch: p.ETag})
	wantErr(t, err, storage.ErrConditionNotMet, "PutBlob IfMatch on a missing blob")

	p2 := put(e, s, "cond", "b", "v2", storage.PutBlobOptions{IfMatch: p.ETag})
	_, err = s.PutBlob(e.ctx, "cond", "b", strings.NewReader("v3"), storage.PutBlobOptions{IfMatch: p.ETag})
	wantErr(t, err, storage.ErrConditionNotMet, "PutBlob IfMatch with a stale ETag")
	if got, _ := read(e, s, "cond", "b"); got != "v2" {
		t.Errorf("after failed conditions the blob holds %q, want v2", got)
	}
	wantErr(t, s.DeleteBlob(e.ctx, "cond", "b", p.ETag), storage.ErrConditionNotMet, "DeleteBlob with a stale ETag")
	must(t, s.DeleteBlob(e.ctx, "cond", "b", p2.ETag), "DeleteBlob with the current ETag")
	put(e, s, "cond", "b", "v3", star)
}

func blobReaderKeepsVersion(e *env, s storage.Blobs) {
	t := e.t
	old := bytes.Repeat([]byte("old version. "), 100_000) // 1.3 MB: more than one read
	_, err := s.PutBlob(e.ctx, "versions", "b", bytes.NewReader(old), storage.PutBlobOptions{})
	must(t, err, "PutBlob")
	r, p, err := s.OpenBlob(e.ctx, "versions", "b")
	must(t, err, "OpenBlob")
	defer r.Close()
	head := make([]byte, 10)
	_, err = io.ReadFull(r, head)
	must(t, err, "reading the head")
	put(e, s, "versions", "b", "new", storage.PutBlobOptions{})
	r2, p2, err := s.OpenBlob(e.ctx, "versions", "b")
	must(t, err, "OpenBlob of the new version")
	defer r2.Close()
	put(e, s, "versions", "b", "newer", storage.PutBlobOptions{})
	must(t, s.DeleteBlob(e.ctx, "versions", "b", ""), "DeleteBlob")

	rest, err := io.ReadAll(r)
	must(t, err, "reading the old version after it was overwritten")
	if got := append(head, rest...); !bytes.Equal(got, old) || p.Size != int64(len(old)) {
		t.Errorf("the first reader read %d bytes, want the %d of its version", len(got), len(old))
	}
	b2, err := io.ReadAll(r2)
	must(t, err, "reading the second version")
	if string(b2) != "new" || p2.Size != 3 {
		t.Errorf("the second reader read %q (size %d), want \"new\"", b2, p2.Size)
	}
}

func blobList(e *env, s storage.Blobs) {
	t := e.t
	names := []string{"b", "a/1", "a-1", "a.1", "A", "B", "a/2", "a/10", "ab", "a"}
	for i := range 25 {
		names = append(names, name("logs/2024/", i))
	}
	for _, n := range names {
		put(e, s, "listing", n, n, storage.PutBlobOptions{ContentType: "text/plain"})
	}
	put(e, s, "other", "a/1", "not here", storage.PutBlobOptions{})
	want := slices.Clone(names)
	slices.Sort(want) // byte order: "A" < "B" < "a" < "a-1" < "a.1" < "a/1"

	all := listAll(e, s, "listing", "", 1000)
	if !slices.Equal(all, want) {
		t.Errorf("ListBlobs = %q, want %q (in byte order)", all, want)
	}
	for _, max := range []int{1, 7, 10, 34, 35} {
		if got := listAll(e, s, "listing", "", max); !slices.Equal(got, want) {
			t.Errorf("ListBlobs by pages of %d = %q, want %q", max, got, want)
		}
	}
	if got, want := listAll(e, s, "listing", "a/", 2), []string{"a/1", "a/10", "a/2"}; !slices.Equal(got, want) {
		t.Errorf("ListBlobs(prefix a/) = %q, want %q", got, want)
	}
	logs := listAll(e, s, "listing", "logs/2024/", 10)
	if len(logs) != 25 || logs[0] != "logs/2024/000" || logs[24] != "logs/2024/024" {
		t.Errorf("ListBlobs(prefix logs/2024/) = %q", logs)
	}
	if got := listAll(e, s, "listing", "zzz", 10); len(got) != 0 {
		t.Errorf("ListBlobs(prefix zzz) = %q, want none", got)
	}

	// Pages carry the blobs' properties; the last page has no marker.
	page, next, err := s.ListBlobs(e.ctx, "listing", "a/", "", 10)
	must(t, err, "ListBlobs")
	if next != "" {
		t.Errorf("last page's marker = %q, want empty", next)
	}
	for _, p := range page {
		if p.Container != "listing" || p.Size != int64(len(p.Name)) || p.ContentType != "text/plain" || !isQuoted(p.ETag) {
			t.Errorf("listed props %+v", p)
		}
	}
}

// listAll lists a container's blobs page by page, checking each page's size.
func listAll(e *env, s storage.Blobs, container, prefix string, max int) []string {
	e.t.Helper()
	var names []string
	marker := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			e.t.Fatal("ListBlobs never returned a last page")
		}
		page, next, err := s.ListBlobs(e.ctx, container, prefix, marker, max)
		must(e.t, err, "ListBlobs")
		if len(page) > max {
			e.t.Fatalf("ListBlobs(max %d) returned %d", max, len(page))
		}
		for _, p := range page {
			names = append(names, p.Name)
		}
		if next == "" {
			return names
		}
		if len(page) == 0 {
			e.t.Fatalf("ListBlobs returned an empty page with marker %q", next)
		}
		marker = next
	}
}

// oddNames are blob names that a backend keeping files could mistake for
// paths. Each must stay a name: stored, listed and read back as itself, and
// distinct from the names it would resolve to as a path.
var oddNames = []string{
	"../x", "x", "a/../../b", "b", "%2e%2e/", "%2e%2e%2fsecret", "a//b", "/leading",
	`back\slash`, `..\..\windows`, "unicode/\u00fc\u00f1\u00ee\u00e7\u00f8d\u00e9/\u65e5\u672c\u8a9e/\U0001F600",
	"with spaces/and  more", "quote\"s'and<angle>&amp", "question?hash#percent%", "\u00e9", "e\u0301", "-dash", "~tilde",
	"CON", "nul.txt", "a:b", "*", strings.Repeat("L", storage.MaxBlobNameLength), strings.Repeat("\u00e9", storage.MaxBlobNameLength),
}

func blobOddNames(e *env, s storage.Blobs) {
	t := e.t
	for i, n := range oddNames {
		put(e, s, "odd", n, fmt.Sprint(i), storage.PutBlobOptions{})
	}
	for i, n := range oddNames {
		got, p := read(e, s, "odd", n)
		if got != fmt.Sprint(i) || p.Name != n {
			t.Errorf("OpenBlob(%q) read %q named %q, want %q: names must not alias", n, got, p.Name, fmt.Sprint(i))
		}
	}
	want := slices.Clone(oddNames)
	slices.Sort(want)
	if got := listAll(e, s, "odd", "", 7); !slices.Equal(got, want) {
		t.Errorf("ListBlobs = %q, want %q", got, want)
	}
	// No odd name reached into another container.
	put(e, s, "odd2", "x", "mine", storage.PutBlobOptions{})
	if got, _ := read(e, s, "odd2", "x"); got != "mine" {
		t.Errorf("odd2/x read %q", got)
	}
	if got := listAll(e, s, "odd2", "", 100); !slices.Equal(got, []string{"x"}) {
		t.Errorf("odd2 lists %q, want [x]", got)
	}
	for _, n := range oddNames {
		must(t, s.DeleteBlob(e.ctx, "odd", n, ""), fmt.Sprintf("DeleteBlob(%q)", n))
	}
	if got := listAll(e, s, "odd", "", 100); len(got) != 0 {
		t.Errorf("after deleting every odd name the container lists %q", got)
	}
}

func blobInvalidNames(e *env, s storage.Blobs) {
	t := e.t
	for _, c := range badNames {
		_, err := s.PutBlob(e.ctx, c, "b", strings.NewReader("x"), storage.PutBlobOptions{})
		wantErr(t, err, storage.ErrInvalidName, fmt.Sprintf("PutBlob in container %q", c))
	}
	for _, n := range []string{"", strings.Repeat("x", storage.MaxBlobNameLength+1), "bad\xffutf8"} {
		_, err := s.PutBlob(e.ctx, "names", n, strings.NewReader("x"), storage.PutBlobOptions{})
		wantErr(t, err, storage.ErrInvalidName, fmt.Sprintf("PutBlob named %.20q (%d bytes)", n, len(n)))
	}
	for _, c := range goodNames {
		put(e, s, c, "b", "x", storage.PutBlobOptions{})
	}
}

func blobContainers(e *env, s storage.Blobs) {
	t := e.t
	for _, c := range []string{"zeta", "alpha", "mid-1"} {
		put(e, s, c, "b1", "x", storage.PutBlobOptions{})
		put(e, s, c, "b2", "y", storage.PutBlobOptions{})
	}
	got, err := s.ListContainers(e.ctx)
	must(t, err, "ListContainers")
	if want := []string{"alpha", "mid-1", "zeta"}; !slices.Equal(got, want) {
		t.Errorf("ListContainers = %q, want %q", got, want)
	}
	must(t, s.DeleteContainer(e.ctx, "mid-1"), "DeleteContainer")
	got, err = s.ListContainers(e.ctx)
	must(t, err, "ListContainers")
	if want := []string{"alpha", "zeta"}; !slices.Equal(got, want) {
		t.Errorf("ListContainers after delete = %q, want %q", got, want)
	}
	_, _, err = s.OpenBlob(e.ctx, "mid-1", "b1")
	wantErr(t, err, storage.ErrNotFound, "OpenBlob in a deleted container")
	// Made again, the container is empty.
	put(e, s, "mid-1", "b3", "z", storage.PutBlobOptions{})
	if got := listAll(e, s, "mid-1", "", 10); !slices.Equal(got, []string{"b3"}) {
		t.Errorf("container made again lists %q, want [b3]", got)
	}
	if got := listAll(e, s, "alpha", "", 10); !slices.Equal(got, []string{"b1", "b2"}) {
		t.Errorf("other container lists %q", got)
	}
}
