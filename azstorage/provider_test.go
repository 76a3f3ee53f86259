package azstorage_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/azstorage"
	"github.com/funcd/funcd/storage"
)

func mustT(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestEnqueueReceiveDelete is the conformance case with a text body.
func TestEnqueueReceiveDelete(t *testing.T) {
	p, ctx := azurite.Open(t), t.Context()
	body := []byte("héllo \t wörld \r\n 日本 😀 <xml> & \"quotes\"")
	sent, err := p.Enqueue(ctx, "work", body, 0, time.Hour)
	mustT(t, err, "Enqueue")
	if sent.ID == "" || sent.PopReceipt == "" || string(sent.Body) != string(body) {
		t.Errorf("Enqueue returned %+v", sent)
	}
	if d := sent.ExpirationTime.Sub(sent.InsertionTime); d != time.Hour {
		t.Errorf("ExpirationTime - InsertionTime = %v, want 1h", d)
	}
	msgs, err := p.Receive(ctx, "work", 40, 30*time.Second)
	mustT(t, err, "Receive")
	if len(msgs) != 1 || msgs[0].ID != sent.ID || string(msgs[0].Body) != string(body) || msgs[0].DequeueCount != 1 {
		t.Fatalf("Receive = %+v, want the message, body intact, DequeueCount 1", msgs)
	}
	mustT(t, p.Delete(ctx, "work", msgs[0].ID, msgs[0].PopReceipt), "Delete")
	if err := p.Delete(ctx, "work", msgs[0].ID, msgs[0].PopReceipt); !errors.Is(err, storage.ErrNotFound) || !strings.Contains(err.Error(), "MessageNotFound") {
		t.Errorf("second Delete: %v, want ErrNotFound naming MessageNotFound", err)
	}
}

// TestBinaryBody: Azure queue messages are XML text, so bytes that are not
// are refused with an error saying so, rather than altered on the way.
func TestBinaryBody(t *testing.T) {
	p, ctx := azurite.Open(t), t.Context()
	for _, body := range []string{"hello \x00 world", "bad \xff utf8", "\x1b[0m"} {
		_, err := p.Enqueue(ctx, "bin", []byte(body), 0, 0)
		if err == nil || !strings.Contains(err.Error(), "base64") || errors.Is(err, storage.ErrTooLarge) {
			t.Errorf("Enqueue(%q) = %v, want an error advising base64", body, err)
		}
	}
}

// TestReceiveMoreThan32 receives in several calls, each message once.
func TestReceiveMoreThan32(t *testing.T) {
	p, ctx := azurite.Open(t), t.Context()
	var want []string
	for i := range 45 {
		m, err := p.Enqueue(ctx, "many", []byte{byte('a' + i%26)}, 0, 0)
		mustT(t, err, "Enqueue")
		want = append(want, m.ID)
	}
	msgs, err := p.Receive(ctx, "many", 100, time.Minute)
	mustT(t, err, "Receive")
	var got []string
	for _, m := range msgs {
		got = append(got, m.ID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Receive(100) returned %d messages, want the 45 enqueued once each", len(got))
	}
	peeked, err := p.Peek(ctx, "many", 100)
	mustT(t, err, "Peek")
	if len(peeked) != 0 {
		t.Errorf("Peek while all are invisible returned %d", len(peeked))
	}
}

// TestTimeToLive is the conformance case without the count of an expired
// message, which Azure's approximate count keeps until collection.
func TestTimeToLive(t *testing.T) {
	p, ctx := azurite.Open(t), t.Context()
	_, err := p.Enqueue(ctx, "ttl", []byte("short"), 0, 2*time.Second)
	mustT(t, err, "Enqueue")
	never, err := p.Enqueue(ctx, "ttl", []byte("long"), 0, storage.NeverExpires)
	mustT(t, err, "Enqueue")
	if !never.ExpirationTime.IsZero() {
		t.Errorf("NeverExpires message expires at %v", never.ExpirationTime)
	}
	time.Sleep(3 * time.Second)
	msgs, err := p.Receive(ctx, "ttl", 32, time.Minute)
	mustT(t, err, "Receive")
	if len(msgs) != 1 || string(msgs[0].Body) != "long" || !msgs[0].ExpirationTime.IsZero() {
		t.Errorf("after the short TTL received %+v, want only the long one", msgs)
	}
}

// TestUpdateAndMoveNeedReceivedMessage: a Provider updates and moves only
// messages it received itself, since Azure cannot give back their bodies.
func TestUpdateAndMoveNeedReceivedMessage(t *testing.T) {
	acct := azurite.Account(t)
	a, err := azstorage.Open(acct, azstorage.Options{})
	mustT(t, err, "Open")
	b, err := azstorage.Open(acct, azstorage.Options{})
	mustT(t, err, "Open")
	ctx := t.Context()
	_, err = a.Enqueue(ctx, "src", []byte("payload"), 0, 0)
	mustT(t, err, "Enqueue")
	msgs, err := a.Receive(ctx, "src", 1, time.Minute)
	mustT(t, err, "Receive")
	m := msgs[0]
	if _, err := b.UpdateVisibility(ctx, "src", m.ID, m.PopReceipt, 0); !errors.Is(err, storage.ErrNotFound) || !strings.Contains(err.Error(), "not a message this provider received") {
		t.Errorf("UpdateVisibility by another provider: %v", err)
	}
	if _, err := b.Move(ctx, "src", m.ID, m.PopReceipt, "dst"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Move by another provider: %v", err)
	}
	// A failed move leaves no copy behind.
	if _, err := a.Move(ctx, "src", m.ID, m.PopReceipt+"x", "dst"); !errors.Is(err, storage.ErrPopReceiptMismatch) {
		t.Errorf("Move with a wrong receipt: %v", err)
	}
	infos, err := a.ListQueues(ctx, "dst")
	mustT(t, err, "ListQueues")
	if len(infos) != 1 || infos[0].Messages != 0 {
		t.Errorf("after a failed move the target holds %v, want an empty queue", infos)
	}
	upd, err := a.UpdateVisibility(ctx, "src", m.ID, m.PopReceipt, time.Minute)
	mustT(t, err, "UpdateVisibility")
	moved, err := a.Move(ctx, "src", upd.ID, upd.PopReceipt, "dst")
	mustT(t, err, "Move")
	got, err := b.Receive(ctx, "dst", 1, time.Minute)
	mustT(t, err, "Receive")
	if len(got) != 1 || got[0].ID != moved.ID || string(got[0].Body) != "payload" || got[0].DequeueCount != 1 {
		t.Errorf("target gave %+v, want the moved message at once, body kept", got)
	}
}

// TestOddBlobNames is the conformance case's names without backslashes,
// which Azure turns into slashes: the name reads back with slashes.
func TestOddBlobNames(t *testing.T) {
	p, ctx := azurite.Open(t), t.Context()
	names := []string{"../x", "x", "a/../../b", "b", "%2e%2e/", "%2e%2e%2fsecret", "a//b", "/leading",
		"unicode/üñîçødé/日本語/😀", "with spaces/and  more", "quote\"s'and<angle>&amp", "question?hash#percent%",
		"é", "e\u0301", "-dash", "~tilde", "CON", "nul.txt", "a:b", "*", strings.Repeat("é", storage.MaxBlobNameLength)}
	for i, n := range names {
		_, err := p.PutBlob(ctx, "odd", n, strings.NewReader(string(rune('A'+i))), storage.PutBlobOptions{})
		mustT(t, err, "PutBlob "+n)
	}
	for i, n := range names {
		r, props, err := p.OpenBlob(ctx, "odd", n)
		mustT(t, err, "OpenBlob "+n)
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != string(rune('A'+i)) || props.Name != n {
			t.Errorf("OpenBlob(%q) read %q, want %q", n, b, string(rune('A'+i)))
		}
	}
	page, next, err := p.ListBlobs(ctx, "odd", "", "", 100)
	mustT(t, err, "ListBlobs")
	var got []string
	for _, b := range page {
		got = append(got, b.Name)
	}
	want := slices.Clone(names)
	slices.Sort(want)
	if next != "" || !slices.Equal(got, want) {
		t.Errorf("ListBlobs = %q (next %q), want %q", got, next, want)
	}

	_, err = p.PutBlob(ctx, "odd", `back\slash`, strings.NewReader("bs"), storage.PutBlobOptions{})
	mustT(t, err, "PutBlob with a backslash")
	if _, err := p.StatBlob(ctx, "odd", "back/slash"); err != nil {
		t.Errorf(`back\slash is not stored as back/slash: %v`, err)
	}
}

func TestBlobMetadataAndMissing(t *testing.T) {
	p, ctx := azurite.Open(t), t.Context()
	props, err := p.PutBlob(ctx, "meta", "b", strings.NewReader("x"), storage.PutBlobOptions{Metadata: map[string]string{"Author": "someone"}})
	mustT(t, err, "PutBlob")
	if props.Metadata["author"] != "someone" {
		t.Errorf("Metadata = %v, want author in lowercase", props.Metadata)
	}
	if _, _, err := p.ListBlobs(ctx, "no-such-container", "", "", 10); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("ListBlobs of a missing container: %v", err)
	}
	if err := p.DeleteContainer(ctx, "no-such-container"); !errors.Is(err, storage.ErrNotFound) || !strings.Contains(err.Error(), "ContainerNotFound") {
		t.Errorf("DeleteContainer of a missing container: %v", err)
	}
}

func TestAzuriteRunning(t *testing.T) {
	ctx := t.Context()
	if !azstorage.AzuriteRunning(ctx, azurite.Account(t)) {
		t.Error("AzuriteRunning = false for the running Azurite")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	mustT(t, err, "Listen")
	closed := "http://" + l.Addr().String() + "/devstoreaccount1"
	l.Close()
	if azstorage.AzuriteRunning(ctx, azstorage.Account{BlobEndpoint: closed, QueueEndpoint: closed}) {
		t.Error("AzuriteRunning = true for a closed port")
	}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "some other service")
	}))
	defer other.Close()
	if azstorage.AzuriteRunning(ctx, azstorage.Account{BlobEndpoint: other.URL, QueueEndpoint: other.URL}) {
		t.Error("AzuriteRunning = true for a web server that is not storage")
	}
	half := azurite.Account(t)
	half.QueueEndpoint = closed
	if azstorage.AzuriteRunning(ctx, half) {
		t.Error("AzuriteRunning = true with only the blob service up")
	}
}

func TestOpenWithoutQueueEndpoint(t *testing.T) {
	acct := azurite.Account(t)
	acct.QueueEndpoint = ""
	p, err := azstorage.Open(acct, azstorage.Options{})
	mustT(t, err, "Open")
	if _, err := p.Enqueue(t.Context(), "q1x", []byte("x"), 0, 0); err == nil || !strings.Contains(err.Error(), "QueueEndpoint") {
		t.Errorf("Enqueue without a queue endpoint: %v", err)
	}
	if strings.Contains(p.Account().String(), acct.Key) {
		t.Error("Account().String() shows the key")
	}
}
