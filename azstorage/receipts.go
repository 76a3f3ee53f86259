package azstorage

import (
	"bytes"
	"context"
	"crypto/sha1"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/storage"
)

// Where and how the real host keeps blob receipts in a storage account
// (Microsoft.Azure.WebJobs.Extensions.Storage.Blobs, BlobReceiptManager and
// BlobReceipt).
const (
	// HostsContainer is the container of the host's own state.
	HostsContainer = "azure-webjobs-hosts"
	// ReceiptsDir is the folder of blob receipts in HostsContainer.
	ReceiptsDir = "blobreceipts"
	// ReceiptIncomplete is the metadata name (and value) of a receipt that
	// was claimed and not yet completed; a receipt without it is complete.
	ReceiptIncomplete = "Incomplete"
)

// The lease durations Azure Storage accepts, other than infinite.
const (
	minLease = 15 * time.Second
	maxLease = 60 * time.Second
)

// ReceiptName is the blob, in HostsContainer, that holds the receipt of a
// blob version for a host's function:
// blobreceipts/{hostId}/{functionId}/{etag}/{container}/{blob}. The ETag
// is as the blob's properties give it, in quotes, and comes before the
// blob's name because a name may hold slashes.
func ReceiptName(hostID string, key storage.ReceiptKey) string {
	return ReceiptsDir + "/" + hostID + "/" + key.Function + "/" + key.ETag + "/" + key.Container + "/" + key.Name
}

// Receipts are the blob receipts of one host id, kept as the real host
// keeps them, so that hosts (funcd's or the real one) sharing the account
// and the host id process each blob version once. A receipt is a blob
// (ReceiptName) created empty with metadata Incomplete=Incomplete; a claim
// is a blob lease on it whose id is derived from the owner; completing
// removes the metadata under that lease.
type Receipts struct {
	p      *Provider
	hostID string
}

var _ storage.Receipts = (*Receipts)(nil)

// BlobReceipts returns the receipts of hostID in the account. The blob
// trigger uses it to keep the receipts of blobs in the account beside them.
func (p *Provider) BlobReceipts(hostID string) storage.Receipts {
	return &Receipts{p: p, hostID: hostID}
}

// leaseID turns an owner into the lease id its claims use: a GUID (Azure
// accepts no other) derived from the owner, so that a claim renews an
// owner's own lease and no other.
func leaseID(owner string) string {
	h := sha1.Sum([]byte("funcd blob receipt owner\x00" + owner))
	h[6] = h[6]&0x0f | 0x50 // version 5: name-based, SHA-1
	h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
	return funcd.FormatGUID([16]byte(h[:16]))
}

// leaseSeconds clamps a claim's duration to what Azure accepts.
func leaseSeconds(ttl time.Duration) int32 {
	return seconds(min(max(ttl, minLease), maxLease))
}

func (r *Receipts) client(key storage.ReceiptKey) (*blockblob.Client, string, error) {
	c, err := r.p.containerClient(HostsContainer)
	if err != nil {
		return nil, "", err
	}
	name := ReceiptName(r.hostID, key)
	return c.NewBlockBlobClient(name), name, nil
}

func (r *Receipts) leaseClient(b *blockblob.Client, owner string) (*lease.BlobClient, error) {
	return lease.NewBlobClient(b, &lease.BlobClientOptions{LeaseID: to.Ptr(leaseID(owner))})
}

// incomplete reports whether a receipt's metadata marks it claimed but not
// completed. Names compare without regard to case, as Azure's do.
func incomplete(meta map[string]*string) bool {
	for k := range meta {
		if strings.EqualFold(k, ReceiptIncomplete) {
			return true
		}
	}
	return false
}

// gone reports whether a request failed because the blob or its container
// does not exist.
func gone(err error) bool {
	code, _, _ := azureCode(err)
	return code == "BlobNotFound" || code == "ContainerNotFound"
}

// ClaimReceipt takes the receipt's lease for owner, as the real host does
// before it acts on a blob version: it reads the receipt (complete: done),
// creates it incomplete if it is missing, acquires its lease (or renews
// owner's) for ttl, clamped to Azure's 15 to 60 seconds, and reads it
// again under the lease.
func (r *Receipts) ClaimReceipt(ctx context.Context, key storage.ReceiptKey, owner string, ttl time.Duration) (claimed, completed bool, err error) {
	b, name, err := r.client(key)
	if err != nil {
		return false, false, err
	}
	props, err := b.GetProperties(ctx, nil)
	switch {
	case err == nil:
		if !incomplete(props.Metadata) {
			return false, true, nil
		}
	case gone(err):
		if err := r.create(ctx, b, name); err != nil {
			return false, false, err
		}
	default:
		return false, false, wrap(err, "read blob receipt %s", name)
	}
	lc, err := r.leaseClient(b, owner)
	if err != nil {
		return false, false, fmt.Errorf("azstorage: blob receipt %s: %w", name, err)
	}
	if _, err := lc.AcquireLease(ctx, leaseSeconds(ttl), nil); err != nil {
		if code, _, _ := azureCode(err); code == "LeaseAlreadyPresent" || gone(err) {
			// Another owner holds it, or someone deleted the receipt.
			return false, false, nil
		}
		return false, false, wrap(err, "lease blob receipt %s", name)
	}
	props, err = b.GetProperties(ctx, nil)
	if err != nil {
		if gone(err) {
			return false, false, nil
		}
		return false, false, wrap(err, "read blob receipt %s", name)
	}
	if !incomplete(props.Metadata) {
		r.release(ctx, lc)
		return false, true, nil
	}
	return true, false, nil
}

// create makes an incomplete receipt unless one exists, creating the hosts
// container if it is missing. Another process's receipt made meanwhile is
// not an error: the lease decides who claims it.
func (r *Receipts) create(ctx context.Context, b *blockblob.Client, name string) error {
	opts := &blockblob.UploadBufferOptions{
		Metadata: map[string]*string{ReceiptIncomplete: to.Ptr(ReceiptIncomplete)},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{
			IfNoneMatch: to.Ptr(azcore.ETagAny),
		}},
	}
	_, err := b.UploadBuffer(ctx, nil, opts)
	if code, _, _ := azureCode(err); code == "ContainerNotFound" {
		c, cerr := r.p.containerClient(HostsContainer)
		if cerr != nil {
			return cerr
		}
		if cerr := r.p.createContainer(ctx, c, HostsContainer); cerr != nil {
			return cerr
		}
		_, err = b.UploadBuffer(ctx, nil, opts)
	}
	switch code, _, _ := azureCode(err); {
	case err == nil, code == "BlobAlreadyExists", code == "LeaseIdMissing", code == "ConditionNotMet":
		return nil
	default:
		return wrap(err, "create blob receipt %s", name)
	}
}

// CompleteReceipt marks the receipt complete (removes its Incomplete
// metadata) under owner's lease and releases the lease. A receipt that
// nobody holds any more (owner's lease expired) is completed all the same;
// one another owner took over is left to that owner, and one that was
// deleted is left deleted.
func (r *Receipts) CompleteReceipt(ctx context.Context, key storage.ReceiptKey, owner string) error {
	b, name, err := r.client(key)
	if err != nil {
		return err
	}
	props, err := b.GetProperties(ctx, nil)
	if err != nil {
		if gone(err) {
			return nil
		}
		return wrap(err, "read blob receipt %s", name)
	}
	meta := map[string]*string{}
	for k, v := range props.Metadata {
		if !strings.EqualFold(k, ReceiptIncomplete) {
			meta[k] = v
		}
	}
	lc, err := r.leaseClient(b, owner)
	if err != nil {
		return fmt.Errorf("azstorage: blob receipt %s: %w", name, err)
	}
	_, err = b.SetMetadata(ctx, meta, &blob.SetMetadataOptions{AccessConditions: &blob.AccessConditions{
		LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: lc.LeaseID()},
	}})
	if code, _, _ := azureCode(err); code == "LeaseNotPresentWithBlobOperation" || code == "LeaseLost" {
		_, err = b.SetMetadata(ctx, meta, nil)
	}
	switch code, _, _ := azureCode(err); {
	case err == nil:
		r.release(ctx, lc)
		return nil
	case gone(err), code == "LeaseIdMismatchWithBlobOperation", code == "LeaseIdMissing":
		return nil
	default:
		return wrap(err, "complete blob receipt %s", name)
	}
}

// ReleaseReceipt releases owner's lease on the receipt, leaving it
// incomplete; it does nothing when owner does not hold it.
func (r *Receipts) ReleaseReceipt(ctx context.Context, key storage.ReceiptKey, owner string) error {
	b, name, err := r.client(key)
	if err != nil {
		return err
	}
	lc, err := r.leaseClient(b, owner)
	if err != nil {
		return fmt.Errorf("azstorage: blob receipt %s: %w", name, err)
	}
	_, err = lc.ReleaseLease(ctx, nil)
	if err == nil || releaseMiss(err) {
		return nil
	}
	return wrap(err, "release blob receipt %s", name)
}

// release releases a lease, ignoring failures: an unreleased lease
// expires by itself.
func (r *Receipts) release(ctx context.Context, lc *lease.BlobClient) {
	_, _ = lc.ReleaseLease(ctx, nil)
}

// releaseMiss reports a release of a lease that is not there to release:
// held by another owner, expired, or its blob deleted.
func releaseMiss(err error) bool {
	code, _, _ := azureCode(err)
	return gone(err) || code == "LeaseIdMismatchWithLeaseOperation" || code == "LeaseNotPresentWithLeaseOperation"
}

// BlobURL is a blob's URL: the account's blob endpoint (without a shared
// access signature), the container and the name, each path segment
// escaped as .NET's Uri.EscapeDataString escapes it (everything but
// letters, digits and -._~). The blob trigger gives it as "Uri".
func (p *Provider) BlobURL(container, name string) string {
	endpoint := p.acct.BlobEndpoint
	if i := strings.IndexByte(endpoint, '?'); i >= 0 {
		endpoint = endpoint[:i]
	}
	var b strings.Builder
	b.WriteString(strings.TrimRight(endpoint, "/"))
	b.WriteByte('/')
	b.WriteString(escapeSegment(container))
	for seg := range strings.SplitSeq(name, "/") {
		b.WriteByte('/')
		b.WriteString(escapeSegment(seg))
	}
	return b.String()
}

// escapeSegment percent-encodes every byte of s but RFC 3986's unreserved
// characters, in upper-case hex.
func escapeSegment(s string) string {
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
