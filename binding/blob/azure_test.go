package blob

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/azstorage"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/sqlite"
	"github.com/funcd/funcd/storage"
)

// azureEnv is an Env whose connection is an Azure Storage account (here
// Azurite) and whose own store, holding the scan checkpoints, is store.
func (h *harness) azureEnv(p *azstorage.Provider, owner string, store storage.Store) *binding.Env {
	prov := &binding.Provider{Name: "azurite", Queues: p, Blobs: p}
	return &binding.Env{
		HostID: "testhost", Owner: owner, Store: store, Clock: h.clk,
		Connect: func(string) (*binding.Provider, error) { return prov, nil },
	}
}

// TestAzureReceiptsBesideTheBlobs: a trigger on an Azure Storage account
// keeps its receipts in the account, where the real host keeps them, so
// that a second host sharing the account (with a store of its own, and no
// checkpoint) does not process a version again; its Uri is the blob's URL
// in the account.
func TestAzureReceiptsBesideTheBlobs(t *testing.T) {
	acct := azurite.Get(t).Account(t)
	p, err := azstorage.Open(acct, azstorage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h := newHarness(t, false)
	rec := &recorder{}
	fn := triggerFn("Resize", "samples/{name}")
	props, err := p.PutBlob(ctx, "samples", "dir/a b.txt", strings.NewReader("hello"), storage.PutBlobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := h.listen(Trigger(), fn, h.azureEnv(p, "host-a", h.store), rec)
	h.until("the invocation", func() bool { return rec.count() == 1 })

	wantURI, _ := json.Marshal(acct.BlobEndpoint + "/samples/dir/a%20b.txt")
	if got := rec.events[0].Data["Uri"]; string(got) != string(wantURI) {
		t.Errorf("Uri = %s, want %s", got, wantURI)
	}
	key := storage.ReceiptKey{Function: "Host.Functions.Resize", Container: "samples", Name: "dir/a b.txt", ETag: props.ETag}
	name := "blobreceipts/testhost/Host.Functions.Resize/" + props.ETag + "/samples/dir/a b.txt"
	// The receipt is completed after the invocation returns.
	h.until("the receipt to be completed", func() bool {
		rp, err := p.StatBlob(ctx, azstorage.HostsContainer, name)
		return err == nil && rp.Metadata["incomplete"] == ""
	})
	if claimed, _, err := h.store.ClaimReceipt(ctx, key, "probe", time.Minute); err != nil || !claimed {
		t.Errorf("the embedded store holds a receipt of the Azure blob (claim: %v, %v)", claimed, err)
	}
	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// A second host on the account, its own store empty: it scans the
	// whole container again and finds the receipt.
	other, err := sqlite.Open(filepath.Join(t.TempDir(), "store"), sqlite.Options{Clock: h.clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	h.listen(Trigger(), fn, h.azureEnv(p, "host-b", other), rec)
	h.until("the second host's scan and its message handled", func() bool {
		cp, _ := other.Checkpoint(ctx, "blobscan/testhost/Host.Functions.Resize")
		qs, _ := p.ListQueues(ctx, QueuePrefix)
		return cp != "" && len(qs) == 1 && qs[0].Messages == 0
	})
	if n := rec.count(); n != 1 {
		t.Fatalf("%d invocations after the second host scanned, want 1", n)
	}

	// An overwrite is a new version, with a receipt of its own.
	v2, err := p.PutBlob(ctx, "samples", "dir/a b.txt", strings.NewReader("again"), storage.PutBlobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h.until("the overwrite's invocation", func() bool { return rec.count() == 2 })
	if got := string(rec.events[1].Value.Data); got != "again" {
		t.Errorf("second invocation saw %q", got)
	}
	h.until("the second receipt", func() bool {
		rp, err := p.StatBlob(ctx, azstorage.HostsContainer, azstorage.ReceiptName("testhost", storage.ReceiptKey{
			Function: key.Function, Container: key.Container, Name: key.Name, ETag: v2.ETag}))
		return err == nil && rp.Metadata["incomplete"] == ""
	})
}
