package azstorage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"

	"github.com/funcd/funcd/azstorage"
	"github.com/funcd/funcd/storage"
)

// sdkContainer is the hosts container of acct through the SDK, as the real
// host (or a person with Storage Explorer) sees it.
func sdkContainer(t *testing.T, acct azstorage.Account) *container.Client {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(acct.Name, acct.Key)
	mustT(t, err, "NewSharedKeyCredential")
	c, err := container.NewClientWithSharedKeyCredential(acct.BlobEndpoint+"/"+azstorage.HostsContainer, cred, nil)
	mustT(t, err, "NewClient")
	return c
}

// receiptState is what a receipt blob shows: whether it exists, its
// Incomplete metadata, and its lease state.
type receiptState struct {
	exists     bool
	incomplete bool
	leased     bool
}

func readReceipt(t *testing.T, c *container.Client, name string) receiptState {
	t.Helper()
	props, err := c.NewBlobClient(name).GetProperties(context.Background(), nil)
	if err != nil {
		if strings.Contains(err.Error(), "BlobNotFound") || strings.Contains(err.Error(), "ContainerNotFound") {
			return receiptState{}
		}
		t.Fatal(err)
	}
	st := receiptState{exists: true, leased: props.LeaseState != nil && *props.LeaseState == lease.StateTypeLeased}
	for k, v := range props.Metadata {
		if strings.EqualFold(k, "Incomplete") {
			st.incomplete = true
			if v == nil || *v != "Incomplete" {
				t.Errorf("receipt %s: metadata %s = %v, want Incomplete", name, k, v)
			}
		}
	}
	if props.ContentLength == nil || *props.ContentLength != 0 {
		t.Errorf("receipt %s is not empty", name)
	}
	return st
}

// TestReceiptLayout: a receipt is the blob the real host reads, at
// azure-webjobs-hosts/blobreceipts/{hostId}/{functionId}/{etag}/{container}/{name},
// incomplete and leased while claimed, complete and free once completed.
func TestReceiptLayout(t *testing.T) {
	t.Parallel()
	acct := azurite.Account(t)
	p, err := azstorage.Open(acct, azstorage.Options{})
	mustT(t, err, "Open")
	ctx := t.Context()
	r := p.BlobReceipts("myhost")
	key := storage.ReceiptKey{Function: "Host.Functions.Resize", Container: "images", Name: "in/a b.png", ETag: `"0x8DC0FFEE1234567"`}
	want := `blobreceipts/myhost/Host.Functions.Resize/"0x8DC0FFEE1234567"/images/in/a b.png`
	if got := azstorage.ReceiptName("myhost", key); got != want {
		t.Fatalf("ReceiptName = %q, want %q", got, want)
	}
	c := sdkContainer(t, acct)

	claimed, completed, err := r.ClaimReceipt(ctx, key, "host-a", 30*time.Second)
	mustT(t, err, "ClaimReceipt")
	if !claimed || completed {
		t.Fatalf("ClaimReceipt = %v, %v; want claimed", claimed, completed)
	}
	if st := readReceipt(t, c, want); st != (receiptState{exists: true, incomplete: true, leased: true}) {
		t.Errorf("claimed receipt = %+v, want incomplete and leased", st)
	}
	page, _, err := p.ListBlobs(ctx, azstorage.HostsContainer, "", "", 10)
	mustT(t, err, "ListBlobs")
	if len(page) != 1 || page[0].Name != want {
		t.Errorf("%s holds %v, want only %s", azstorage.HostsContainer, page, want)
	}

	mustT(t, r.CompleteReceipt(ctx, key, "host-a"), "CompleteReceipt")
	if st := readReceipt(t, c, want); st != (receiptState{exists: true}) {
		t.Errorf("completed receipt = %+v, want complete and free", st)
	}
	// Another host id has receipts of its own.
	claimed, _, err = p.BlobReceipts("otherhost").ClaimReceipt(ctx, key, "host-b", 30*time.Second)
	mustT(t, err, "ClaimReceipt")
	if !claimed {
		t.Error("a receipt of another host id was not claimed")
	}
}

// TestReceiptsOfTheRealHost: receipts the real host wrote are read as it
// reads them: a receipt without the Incomplete metadata is done; one with
// it and no lease is free to claim; one whose lease another process holds
// is not.
func TestReceiptsOfTheRealHost(t *testing.T) {
	t.Parallel()
	acct := azurite.Account(t)
	p, err := azstorage.Open(acct, azstorage.Options{})
	mustT(t, err, "Open")
	ctx := t.Context()
	c := sdkContainer(t, acct)
	_, err = c.Create(ctx, nil)
	mustT(t, err, "Create")
	r := p.BlobReceipts("realhost")
	write := func(key storage.ReceiptKey, incomplete bool) *blockblob.Client {
		b := c.NewBlockBlobClient(azstorage.ReceiptName("realhost", key))
		opts := &blockblob.UploadBufferOptions{}
		if incomplete {
			opts.Metadata = map[string]*string{"Incomplete": to.Ptr("Incomplete")}
		}
		_, err := b.UploadBuffer(ctx, nil, opts)
		mustT(t, err, "UploadBuffer")
		return b
	}
	done := storage.ReceiptKey{Function: "Host.Functions.F", Container: "in", Name: "done.txt", ETag: `"0x1"`}
	write(done, false)
	if claimed, completed, err := r.ClaimReceipt(ctx, done, "funcd", 30*time.Second); err != nil || claimed || !completed {
		t.Errorf("ClaimReceipt of a complete receipt = %v, %v, %v; want completed", claimed, completed, err)
	}

	free := storage.ReceiptKey{Function: "Host.Functions.F", Container: "in", Name: "free.txt", ETag: `"0x2"`}
	write(free, true)
	if claimed, completed, err := r.ClaimReceipt(ctx, free, "funcd", 30*time.Second); err != nil || !claimed || completed {
		t.Errorf("ClaimReceipt of an unleased incomplete receipt = %v, %v, %v; want claimed", claimed, completed, err)
	}

	held := storage.ReceiptKey{Function: "Host.Functions.F", Container: "in", Name: "held.txt", ETag: `"0x3"`}
	lc, err := lease.NewBlobClient(write(held, true), nil)
	mustT(t, err, "lease.NewBlobClient")
	_, err = lc.AcquireLease(ctx, 30, nil)
	mustT(t, err, "AcquireLease")
	if claimed, completed, err := r.ClaimReceipt(ctx, held, "funcd", 30*time.Second); err != nil || claimed || completed {
		t.Errorf("ClaimReceipt of a receipt another process leased = %v, %v, %v; want neither", claimed, completed, err)
	}
	mustT(t, r.CompleteReceipt(ctx, held, "funcd"), "CompleteReceipt by a non-holder")
	if st := readReceipt(t, c, azstorage.ReceiptName("realhost", held)); !st.incomplete {
		t.Error("a non-holder completed a receipt another process holds")
	}
	_, err = lc.ReleaseLease(ctx, nil)
	mustT(t, err, "ReleaseLease")
	if claimed, _, err := r.ClaimReceipt(ctx, held, "funcd", 30*time.Second); err != nil || !claimed {
		t.Errorf("ClaimReceipt once the other process released = %v, %v; want claimed", claimed, err)
	}
}

// TestReceiptClaimIsRenewed: the holder's claim again renews its lease, so
// a claim renewed within its duration outlives it.
func TestReceiptClaimIsRenewed(t *testing.T) {
	t.Parallel()
	p, ctx := azurite.Open(t), t.Context()
	r := p.BlobReceipts("renew")
	key := storage.ReceiptKey{Function: "Host.Functions.Slow", Container: "in", Name: "x", ETag: `"0x9"`}
	start := time.Now()
	for range 3 {
		claimed, _, err := r.ClaimReceipt(ctx, key, "host-a", 15*time.Second)
		mustT(t, err, "ClaimReceipt")
		if !claimed {
			t.Fatalf("the holder's claim was refused after %v", time.Since(start))
		}
		time.Sleep(6 * time.Second)
	}
	// 18 s after the first claim, past its 15 s.
	if claimed, _, err := r.ClaimReceipt(ctx, key, "host-b", 15*time.Second); err != nil || claimed {
		t.Errorf("another owner's claim of a renewed receipt = %v, %v; want refused", claimed, err)
	}
}

// TestBlobURL: the URL is the account's blob endpoint, container and name,
// each segment escaped as .NET's Uri.EscapeDataString does, without a
// shared access signature.
func TestBlobURL(t *testing.T) {
	for _, tc := range []struct {
		acct            azstorage.Account
		container, name string
		want            string
	}{
		{azstorage.Account{Name: "a", Key: "eA==", BlobEndpoint: "https://a.blob.core.windows.net"}, "in", "dir/a b+c&d=é.txt",
			"https://a.blob.core.windows.net/in/dir/a%20b%2Bc%26d%3D%C3%A9.txt"},
		{azstorage.Account{Name: "a", SAS: "sv=1&sig=secret", BlobEndpoint: "https://a.blob.core.windows.net/"}, "in", "x~y_z-1.2",
			"https://a.blob.core.windows.net/in/x~y_z-1.2"},
		{azstorage.DevelopmentAccount(), "samples", "100%/#?",
			"http://127.0.0.1:10000/devstoreaccount1/samples/100%25/%23%3F"},
	} {
		p, err := azstorage.Open(tc.acct, azstorage.Options{})
		mustT(t, err, "Open")
		if got := p.BlobURL(tc.container, tc.name); got != tc.want {
			t.Errorf("BlobURL(%q, %q) = %q, want %q", tc.container, tc.name, got, tc.want)
		}
	}
}
