// Package azstorage keeps queues and blobs in Azure Storage, or in Azurite,
// its emulator: the provider behind queue and blob triggers whose connection
// names a real storage account. Provider implements storage.Queues and
// storage.Blobs over the Azure SDK for Go, and keeps the blob trigger's
// receipts (BlobReceipts) in the account as the real host does.
//
// Azure Storage keeps its own time: visibility timeouts and message expiry
// run on the service's clock, not on a clock.Clock.
//
// Two of storage.Queues' operations need a message's body, which Azure has
// no call to read back for an invisible message: UpdateVisibility (Azure's
// Update Message rewrites the text) and Move (the body goes to the target
// queue). The Provider keeps the bodies of the messages it received, within
// Options.HeldBytes, until they are deleted, moved or cleared; those two
// operations work on messages this Provider received and answer
// storage.ErrNotFound for others.
package azstorage

import (
	"container/list"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/funcd/funcd/storage"
)

// Options tune a Provider. The zero value is ready to use.
type Options struct {
	// HTTPClient sends the requests; nil uses the SDK's default transport.
	HTTPClient *http.Client
	// MaxRetries is how many times a failed request is retried; 0 is the
	// SDK's default (3), negative means never.
	MaxRetries int
	// HeldBytes bounds the bodies of received messages the Provider keeps
	// for UpdateVisibility and Move (see the package doc); 0 means
	// DefaultHeldBytes. The oldest are forgotten first.
	HeldBytes int64
}

// DefaultHeldBytes is Options.HeldBytes' default: room for a thousand
// messages of the largest size.
const DefaultHeldBytes = 1000 * storage.MaxMessageSize

// Provider is a storage account's queues and blobs. It is safe for
// concurrent use.
type Provider struct {
	acct   Account
	queues *azqueue.ServiceClient // nil when the account has no queue endpoint
	blobs  *service.Client        // nil when the account has no blob endpoint
	held   *heldMessages
}

var (
	_ storage.Queues = (*Provider)(nil)
	_ storage.Blobs  = (*Provider)(nil)
)

// Open returns a Provider for the account. It makes no request: a wrong
// key or an unreachable endpoint shows on the first call.
func Open(acct Account, opts Options) (*Provider, error) {
	if acct.BlobEndpoint == "" && acct.QueueEndpoint == "" {
		return nil, fmt.Errorf("azstorage: %v has neither a blob nor a queue endpoint", acct)
	}
	client := policy.ClientOptions{Retry: policy.RetryOptions{MaxRetries: int32(opts.MaxRetries)}}
	if opts.HTTPClient != nil {
		client.Transport = opts.HTTPClient
	}
	p := &Provider{acct: acct, held: newHeldMessages(opts.HeldBytes)}
	var err error
	if acct.QueueEndpoint != "" {
		if p.queues, err = openQueues(acct, client); err != nil {
			return nil, fmt.Errorf("azstorage: queue service of %v: %w", acct, err)
		}
	}
	if acct.BlobEndpoint != "" {
		if p.blobs, err = openBlobs(acct, client); err != nil {
			return nil, fmt.Errorf("azstorage: blob service of %v: %w", acct, err)
		}
	}
	return p, nil
}

func openQueues(acct Account, client policy.ClientOptions) (*azqueue.ServiceClient, error) {
	opts := &azqueue.ClientOptions{ClientOptions: client}
	if acct.Key != "" {
		cred, err := azqueue.NewSharedKeyCredential(acct.Name, acct.Key)
		if err != nil {
			return nil, err
		}
		return azqueue.NewServiceClientWithSharedKeyCredential(acct.QueueEndpoint, cred, opts)
	}
	return azqueue.NewServiceClientWithNoCredential(withSAS(acct.QueueEndpoint, acct.SAS), opts)
}

func openBlobs(acct Account, client policy.ClientOptions) (*service.Client, error) {
	opts := &service.ClientOptions{ClientOptions: client}
	if acct.Key != "" {
		cred, err := azblob.NewSharedKeyCredential(acct.Name, acct.Key)
		if err != nil {
			return nil, err
		}
		return service.NewClientWithSharedKeyCredential(acct.BlobEndpoint, cred, opts)
	}
	return service.NewClientWithNoCredential(withSAS(acct.BlobEndpoint, acct.SAS), opts)
}

// withSAS appends a shared access signature to an endpoint's query.
func withSAS(endpoint, sas string) string {
	switch {
	case sas == "":
		return endpoint
	case strings.Contains(endpoint, "?"):
		return endpoint + "&" + sas
	default:
		return endpoint + "?" + sas
	}
}

// Account returns the account the Provider was opened on.
func (p *Provider) Account() Account { return p.acct }

func (p *Provider) queueService() (*azqueue.ServiceClient, error) {
	if p.queues == nil {
		return nil, fmt.Errorf("azstorage: %v has no queue endpoint (give QueueEndpoint in the connection string)", p.acct)
	}
	return p.queues, nil
}

func (p *Provider) blobService() (*service.Client, error) {
	if p.blobs == nil {
		return nil, fmt.Errorf("azstorage: %v has no blob endpoint (give BlobEndpoint in the connection string)", p.acct)
	}
	return p.blobs, nil
}

// azureCode returns the Azure error code and HTTP status of a failed
// request; ok is false for errors that are not the service's answer.
func azureCode(err error) (code string, status int, ok bool) {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return "", 0, false
	}
	return re.ErrorCode, re.StatusCode, true
}

// codeErrors maps Azure Storage error codes to package storage's errors.
var codeErrors = map[string]error{
	"QueueNotFound":         storage.ErrNotFound,
	"MessageNotFound":       storage.ErrNotFound,
	"ContainerNotFound":     storage.ErrNotFound,
	"BlobNotFound":          storage.ErrNotFound,
	"ResourceNotFound":      storage.ErrNotFound,
	"PopReceiptMismatch":    storage.ErrPopReceiptMismatch,
	"ConditionNotMet":       storage.ErrConditionNotMet,
	"TargetConditionNotMet": storage.ErrConditionNotMet,
	"InvalidResourceName":   storage.ErrInvalidName,
	"OutOfRangeInput":       storage.ErrInvalidName,
	"MessageTooLarge":       storage.ErrTooLarge,
	"RequestBodyTooLarge":   storage.ErrTooLarge,
	"BlobTooLarge":          storage.ErrTooLarge,
}

// wrap turns a failed request into an error naming what was attempted and
// Azure's error code, wrapping the matching storage error when there is
// one.
func wrap(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	code, status, ok := azureCode(err)
	if !ok {
		return fmt.Errorf("azstorage: %s: %w", what, err)
	}
	sentinel := codeErrors[code]
	if sentinel == nil && status == http.StatusNotFound {
		sentinel = storage.ErrNotFound
	}
	if code == "" {
		code = "with no error code"
	}
	if sentinel == nil {
		return fmt.Errorf("azstorage: %s: Azure Storage answered %s (HTTP %d): %w", what, code, status, err)
	}
	return fmt.Errorf("azstorage: %s: Azure Storage answered %s (HTTP %d): %w", what, code, status, sentinel)
}

// heldMessages keeps the bodies of received messages, by queue and ID,
// within a byte budget, forgetting the least recently received first.
type heldMessages struct {
	mu     sync.Mutex
	max    int64
	size   int64
	byKey  map[heldKey]*list.Element
	recent *list.List // of *heldMessage, most recent at the front
}

type heldKey struct{ queue, id string }

type heldMessage struct {
	key heldKey
	msg storage.Message // as last received or updated
}

func newHeldMessages(max int64) *heldMessages {
	if max <= 0 {
		max = DefaultHeldBytes
	}
	return &heldMessages{max: max, byKey: map[heldKey]*list.Element{}, recent: list.New()}
}

func (h *heldMessages) put(queue string, m storage.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := heldKey{queue, m.ID}
	h.removeLocked(k)
	h.byKey[k] = h.recent.PushFront(&heldMessage{key: k, msg: m})
	h.size += int64(len(m.Body))
	for h.size > h.max && h.recent.Len() > 1 {
		h.removeLocked(h.recent.Back().Value.(*heldMessage).key)
	}
}

func (h *heldMessages) get(queue, id string) (storage.Message, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.byKey[heldKey{queue, id}]
	if !ok {
		return storage.Message{}, false
	}
	return e.Value.(*heldMessage).msg, true
}

func (h *heldMessages) remove(queue, id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(heldKey{queue, id})
}

func (h *heldMessages) removeLocked(k heldKey) {
	e, ok := h.byKey[k]
	if !ok {
		return
	}
	h.size -= int64(len(e.Value.(*heldMessage).msg.Body))
	h.recent.Remove(e)
	delete(h.byKey, k)
}

// removeQueue forgets every message of a queue.
func (h *heldMessages) removeQueue(queue string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range h.byKey {
		if k.queue == queue {
			h.removeLocked(k)
		}
	}
}

// seconds converts a duration to whole seconds for the REST API, rounding
// up so that a positive duration never becomes zero.
func seconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	s := (d + time.Second - 1) / time.Second
	if s > 1<<31-1 {
		s = 1<<31 - 1
	}
	return int32(s)
}
