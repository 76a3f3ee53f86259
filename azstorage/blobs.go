package azstorage

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/funcd/funcd/storage"
)

// spoolInMemory is the largest body PutBlob holds in memory before sending;
// larger ones go to a temporary file first.
const spoolInMemory = 4 << 20

// containerDeleteWait bounds how long PutBlob waits for a container Azure
// is still deleting (ContainerBeingDeleted) before it can make it again.
const containerDeleteWait = 60 * time.Second

func checkBlob(container, name string) error {
	if err := storage.CheckContainerName(container); err != nil {
		return err
	}
	return storage.CheckBlobName(name)
}

func (p *Provider) containerClient(name string) (*container.Client, error) {
	svc, err := p.blobService()
	if err != nil {
		return nil, err
	}
	return svc.NewContainerClient(name), nil
}

// spool is a body read ahead of the upload: the upload needs its length
// and MD5 (Azure keeps the MD5 the writer sends; it computes one itself
// only for single-request uploads).
type spool struct {
	buf  []byte
	file *os.File
	size int64
	md5  []byte
}

func newSpool(body io.Reader) (*spool, error) {
	h := md5.New()
	var buf bytes.Buffer
	n, err := io.Copy(io.MultiWriter(&buf, h), io.LimitReader(body, spoolInMemory+1))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	if n <= spoolInMemory {
		return &spool{buf: buf.Bytes(), size: n, md5: h.Sum(nil)}, nil
	}
	f, err := os.CreateTemp("", "azstorage-put-*")
	if err != nil {
		return nil, err
	}
	s := &spool{file: f}
	if _, err := f.Write(buf.Bytes()); err != nil {
		s.close()
		return nil, fmt.Errorf("spooling the body: %w", err)
	}
	rest, err := io.Copy(io.MultiWriter(f, h), body)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	s.size = n + rest
	s.md5 = h.Sum(nil)
	return s, nil
}

func (s *spool) close() {
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
	}
}

func (s *spool) upload(ctx context.Context, b *blockblob.Client, opts storage.PutBlobOptions) (etag azcore.ETag, lastModified time.Time, err error) {
	headers := &blob.HTTPHeaders{BlobContentMD5: s.md5}
	if opts.ContentType != "" {
		headers.BlobContentType = to.Ptr(opts.ContentType)
	}
	var meta map[string]*string
	if len(opts.Metadata) > 0 {
		meta = make(map[string]*string, len(opts.Metadata))
		for k, v := range opts.Metadata {
			meta[k] = to.Ptr(v)
		}
	}
	cond := &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{}}
	if opts.IfMatch != "" {
		cond.ModifiedAccessConditions.IfMatch = to.Ptr(azcore.ETag(opts.IfMatch))
	}
	if opts.IfNoneMatch != "" {
		cond.ModifiedAccessConditions.IfNoneMatch = to.Ptr(azcore.ETag(opts.IfNoneMatch))
	}
	if s.file == nil {
		resp, err := b.UploadBuffer(ctx, s.buf, &blockblob.UploadBufferOptions{HTTPHeaders: headers, Metadata: meta, AccessConditions: cond})
		return deref(resp.ETag), when(resp.LastModified), err
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return "", time.Time{}, err
	}
	resp, err := b.UploadFile(ctx, s.file, &blockblob.UploadFileOptions{HTTPHeaders: headers, Metadata: meta, AccessConditions: cond})
	return deref(resp.ETag), when(resp.LastModified), err
}

// PutBlob writes a whole blob, creating the container if it is missing.
// Metadata names come back in lowercase (Azure matches them without regard
// to case).
func (p *Provider) PutBlob(ctx context.Context, containerName, name string, body io.Reader, opts storage.PutBlobOptions) (storage.BlobProps, error) {
	c, err := p.containerClient(containerName)
	if err != nil {
		return storage.BlobProps{}, err
	}
	if err := checkBlob(containerName, name); err != nil {
		return storage.BlobProps{}, err
	}
	sp, err := newSpool(body)
	if err != nil {
		return storage.BlobProps{}, fmt.Errorf("azstorage: put blob %s/%s: %w", containerName, name, err)
	}
	defer sp.close()

	b := c.NewBlockBlobClient(name)
	etag, lastModified, err := sp.upload(ctx, b, opts)
	if code, _, _ := azureCode(err); code == "ContainerNotFound" && opts.IfMatch == "" {
		if err := p.createContainer(ctx, c, containerName); err != nil {
			return storage.BlobProps{}, err
		}
		etag, lastModified, err = sp.upload(ctx, b, opts)
	}
	if err != nil {
		code, _, _ := azureCode(err)
		err = wrap(err, "put blob %s/%s", containerName, name)
		// An If-Match on a blob (or container) that is not there, and an
		// If-None-Match * on one that is, are failed conditions.
		if (opts.IfMatch != "" && errors.Is(err, storage.ErrNotFound)) || (opts.IfNoneMatch != "" && code == "BlobAlreadyExists") {
			err = fmt.Errorf("azstorage: put blob %s/%s: Azure Storage answered %s: %w", containerName, name, code, storage.ErrConditionNotMet)
		}
		return storage.BlobProps{}, err
	}

	// Read the new version's properties back, for its creation time; if
	// it was overwritten already, say what was written.
	props, err := b.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &etag}}})
	if err == nil {
		return blobProps(containerName, name, propsResponse(props)), nil
	}
	out := storage.BlobProps{
		Container: containerName, Name: name, ETag: string(etag), Size: sp.size, ContentType: opts.ContentType,
		ContentMD5: sp.md5, Created: lastModified, LastModified: lastModified, Metadata: lowerKeys(opts.Metadata),
	}
	if out.ContentType == "" {
		out.ContentType = storage.DefaultContentType
	}
	return out, nil
}

func (p *Provider) createContainer(ctx context.Context, c *container.Client, name string) error {
	deadline := time.Now().Add(containerDeleteWait)
	for {
		_, err := c.Create(ctx, nil)
		code, _, _ := azureCode(err)
		switch {
		case err == nil || code == "ContainerAlreadyExists":
			return nil
		case code == "ContainerBeingDeleted" && time.Now().Before(deadline):
			select {
			case <-ctx.Done():
				return fmt.Errorf("azstorage: create container %s: waiting for Azure to finish deleting it: %w", name, ctx.Err())
			case <-time.After(time.Second):
			}
		default:
			return wrap(err, "create container %s", name)
		}
	}
}

// props is what PutBlob's read-back, StatBlob and OpenBlob have in common.
type props struct {
	etag         *azcore.ETag
	size         *int64
	contentType  *string
	contentMD5   []byte
	created      *time.Time
	lastModified *time.Time
	metadata     map[string]*string
}

func propsResponse(r blob.GetPropertiesResponse) props {
	return props{r.ETag, r.ContentLength, r.ContentType, r.ContentMD5, r.CreationTime, r.LastModified, r.Metadata}
}

func blobProps(containerName, name string, p props) storage.BlobProps {
	out := storage.BlobProps{
		Container:    containerName,
		Name:         name,
		ETag:         quoted(string(deref(p.etag))),
		Size:         deref(p.size),
		ContentType:  deref(p.contentType),
		ContentMD5:   p.contentMD5,
		Created:      when(p.created),
		LastModified: when(p.lastModified),
	}
	if len(p.metadata) > 0 {
		out.Metadata = make(map[string]string, len(p.metadata))
		for k, v := range p.metadata {
			out.Metadata[strings.ToLower(k)] = deref(v)
		}
	}
	return out
}

// quoted returns an ETag in quotes, as Azure sends it in headers; a
// listing sends it bare.
func quoted(etag string) string {
	if etag == "" || strings.HasPrefix(etag, "\"") {
		return etag
	}
	return "\"" + etag + "\""
}

func lowerKeys(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// OpenBlob reads a blob. The download names the version it started on by
// ETag, so a read resumed after a broken connection reads the same version
// or fails; it never mixes two.
func (p *Provider) OpenBlob(ctx context.Context, containerName, name string) (io.ReadCloser, storage.BlobProps, error) {
	c, err := p.containerClient(containerName)
	if err != nil {
		return nil, storage.BlobProps{}, err
	}
	if err := checkBlob(containerName, name); err != nil {
		return nil, storage.BlobProps{}, err
	}
	resp, err := c.NewBlobClient(name).DownloadStream(ctx, nil)
	if err != nil {
		return nil, storage.BlobProps{}, wrap(err, "open blob %s/%s", containerName, name)
	}
	d := resp.DownloadResponse
	md5 := d.BlobContentMD5
	if md5 == nil {
		md5 = d.ContentMD5 // a whole-blob read sends the stored MD5 here
	}
	bp := blobProps(containerName, name, props{d.ETag, d.ContentLength, d.ContentType, md5, d.CreationTime, d.LastModified, d.Metadata})
	return resp.NewRetryReader(ctx, &blob.RetryReaderOptions{}), bp, nil
}

// StatBlob returns a blob's properties.
func (p *Provider) StatBlob(ctx context.Context, containerName, name string) (storage.BlobProps, error) {
	c, err := p.containerClient(containerName)
	if err != nil {
		return storage.BlobProps{}, err
	}
	if err := checkBlob(containerName, name); err != nil {
		return storage.BlobProps{}, err
	}
	resp, err := c.NewBlobClient(name).GetProperties(ctx, nil)
	if err != nil {
		return storage.BlobProps{}, wrap(err, "stat blob %s/%s", containerName, name)
	}
	return blobProps(containerName, name, propsResponse(resp)), nil
}

// DeleteBlob removes a blob (and its snapshots); ifMatch, when set,
// requires its ETag.
func (p *Provider) DeleteBlob(ctx context.Context, containerName, name, ifMatch string) error {
	c, err := p.containerClient(containerName)
	if err != nil {
		return err
	}
	if err := checkBlob(containerName, name); err != nil {
		return err
	}
	opts := &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)}
	if ifMatch != "" {
		opts.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcore.ETag(ifMatch))}}
	}
	if _, err := c.NewBlobClient(name).Delete(ctx, opts); err != nil {
		return wrap(err, "delete blob %s/%s", containerName, name)
	}
	return nil
}

// ListBlobs lists up to max blobs whose names start with prefix, by name,
// from the marker a previous page returned. Azure may return fewer than max
// with a marker for more; the marker is Azure's, opaque.
func (p *Provider) ListBlobs(ctx context.Context, containerName, prefix, marker string, max int) ([]storage.BlobProps, string, error) {
	c, err := p.containerClient(containerName)
	if err != nil {
		return nil, "", err
	}
	if err := storage.CheckContainerName(containerName); err != nil {
		return nil, "", err
	}
	opts := &container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Metadata: true}}
	if prefix != "" {
		opts.Prefix = &prefix
	}
	if marker != "" {
		opts.Marker = &marker
	}
	if max > 0 {
		opts.MaxResults = to.Ptr(int32(min(max, 5000)))
	}
	page, err := c.NewListBlobsFlatPager(opts).NextPage(ctx)
	if err != nil {
		return nil, "", wrap(err, "list blobs of %s", containerName)
	}
	var out []storage.BlobProps
	if page.Segment != nil {
		for _, item := range page.Segment.BlobItems {
			if item == nil || item.Name == nil {
				continue
			}
			var bp props
			if pr := item.Properties; pr != nil {
				bp = props{pr.ETag, pr.ContentLength, pr.ContentType, pr.ContentMD5, pr.CreationTime, pr.LastModified, item.Metadata}
			}
			out = append(out, blobProps(containerName, *item.Name, bp))
		}
	}
	return out, deref(page.NextMarker), nil
}

// ListContainers lists the account's containers, by name.
func (p *Provider) ListContainers(ctx context.Context) ([]string, error) {
	svc, err := p.blobService()
	if err != nil {
		return nil, err
	}
	var out []string
	pager := svc.NewListContainersPager(&service.ListContainersOptions{})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, "list containers")
		}
		for _, item := range page.ContainerItems {
			if item != nil && item.Name != nil {
				out = append(out, *item.Name)
			}
		}
	}
	return out, nil
}

// DeleteContainer removes a container and its blobs. Azure Storage takes a
// while to finish: a PutBlob to the same name waits for it.
func (p *Provider) DeleteContainer(ctx context.Context, containerName string) error {
	c, err := p.containerClient(containerName)
	if err != nil {
		return err
	}
	if err := storage.CheckContainerName(containerName); err != nil {
		return err
	}
	if _, err := c.Delete(ctx, nil); err != nil {
		return wrap(err, "delete container %s", containerName)
	}
	return nil
}
