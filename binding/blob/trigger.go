package blob

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/binding/queue"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
)

// Trigger returns the blobTrigger Kind. Its listeners share one processor
// per blob trigger queue, so a host uses one Trigger Kind for all its
// functions.
func Trigger() binding.Kind {
	h := &hub{shared: map[sharedKey]*sharedQueue{}}
	return binding.Kind{
		Type: TriggerType,
		Validate: func(fn *funcd.Function, b *funcd.Binding, env *binding.Env) error {
			if _, err := parseConfig(b, true); err != nil {
				return err
			}
			if _, err := readOptions(env); err != nil {
				return err
			}
			_, err := env.Connect(binding.StringProperty(b, "connection"))
			return err
		},
		Listen: func(fn *funcd.Function, b *funcd.Binding, env *binding.Env, inv binding.Invoker) (binding.Listener, error) {
			return h.newListener(fn, b, env, inv)
		},
	}
}

// message is the real host's BlobTriggerMessage.
type message struct {
	Type          string `json:"Type"`
	FunctionID    string `json:"FunctionId"`
	BlobType      string `json:"BlobType"`
	ContainerName string `json:"ContainerName"`
	BlobName      string `json:"BlobName"`
	ETag          string `json:"ETag"`
}

// hub keeps one queue processor per (queues, queue name) for the
// listeners of one Trigger Kind.
type hub struct {
	mu     sync.Mutex
	shared map[sharedKey]*sharedQueue
}

type sharedKey struct {
	q    storage.Queues
	name string
}

// sharedQueue is a blob trigger queue's processor and the functions it
// serves.
type sharedQueue struct {
	proc *queue.Processor
	fns  map[string]*listener // by FunctionID
}

// listener is one blob-triggered function: its scanner, and its part of
// the shared processor's work.
type listener struct {
	hub  *hub
	fn   *funcd.Function
	cfg  *config
	env  *binding.Env
	inv  binding.Invoker
	prov *binding.Provider
	opts options
	id   string
	key  sharedKey
	clk  clock.Clock
	log  *slog.Logger
	// receipts are the blob receipts: the blob store's own when it keeps
	// them (ReceiptKeeper), else funcd's store.
	receipts storage.Receipts

	mu       sync.Mutex
	stopScan context.CancelFunc
	scanDone chan struct{}
	running  sync.WaitGroup // invocations in flight

	flight    sync.Mutex
	inProcess map[storage.ReceiptKey]bool // versions being processed here
}

func (h *hub) newListener(fn *funcd.Function, b *funcd.Binding, env *binding.Env, inv binding.Invoker) (*listener, error) {
	cfg, err := parseConfig(b, true)
	if err != nil {
		return nil, err
	}
	opts, err := readOptions(env)
	if err != nil {
		return nil, err
	}
	prov, err := env.Connect(cfg.connection)
	if err != nil {
		return nil, err
	}
	l := &listener{
		hub: h, fn: fn, cfg: cfg, env: env, inv: inv, prov: prov, opts: opts,
		id:  FunctionID(fn),
		key: sharedKey{q: prov.Queues, name: QueuePrefix + env.HostID},
		clk: env.Clock,
		log: env.Logger,

		receipts: receiptsOf(prov, env),
	}
	if l.clk == nil {
		l.clk = clock.Real{}
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.log = l.log.With("function", fn.Name, "trigger", TriggerType)
	if cfg.source == SourceEventGrid {
		l.log.Warn("funcd does not receive Event Grid events; the blob trigger follows the container instead",
			"path", cfg.path, "source", cfg.source)
	}
	return l, nil
}

// Start registers the function with the shared processor (starting it for
// the first function) and starts the scanner.
func (l *listener) Start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopScan != nil {
		return errors.New("blob trigger listener already started")
	}
	if err := l.hub.register(ctx, l); err != nil {
		return err
	}
	scanCtx, cancel := context.WithCancel(context.Background())
	l.stopScan, l.scanDone = cancel, make(chan struct{})
	go l.scanLoop(scanCtx)
	return nil
}

// Stop stops the scanner, leaves the shared processor (stopping it after
// the last function) and waits for the function's invocations in flight
// or ctx.
func (l *listener) Stop(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopScan == nil {
		return nil
	}
	l.stopScan()
	<-l.scanDone
	err := l.hub.unregister(ctx, l)
	done := make(chan struct{})
	go func() { l.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	}
	return err
}

func (h *hub) register(ctx context.Context, l *listener) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	sq := h.shared[l.key]
	if sq == nil {
		size, threshold := batch(l.opts.MaxDegreeOfParallelism)
		maxPoll := queue.DefaultMaxPollingInterval
		if l.env.Development {
			maxPoll = 2 * time.Second
		}
		sq = &sharedQueue{fns: map[string]*listener{}}
		sq.proc = queue.NewProcessor(l.key.q, l.key.name, queue.ProcessorOptions{
			BatchSize:          size,
			NewBatchThreshold:  threshold,
			MaxDequeueCount:    l.opts.PoisonBlobThreshold,
			MaxPollingInterval: maxPoll,
			PoisonQueue:        PoisonQueue,
			Clock:              l.clk,
			Logger:             l.env.Logger,
		}, func(ctx context.Context, m storage.Message) error { return h.handle(ctx, l.key, m) })
		if err := sq.proc.Start(ctx); err != nil {
			return fmt.Errorf("start the blob trigger queue %s: %w", l.key.name, err)
		}
		h.shared[l.key] = sq
	}
	sq.fns[l.id] = l
	return nil
}

func (h *hub) unregister(ctx context.Context, l *listener) error {
	h.mu.Lock()
	sq := h.shared[l.key]
	if sq == nil || sq.fns[l.id] != l {
		h.mu.Unlock()
		return nil
	}
	delete(sq.fns, l.id)
	last := len(sq.fns) == 0
	if last {
		delete(h.shared, l.key)
	}
	h.mu.Unlock()
	if last {
		return sq.proc.Stop(ctx)
	}
	return nil
}

// errNotHere is a message for a function this host does not run now: it
// is left for a host that does (or for this one once the function is
// back), and goes to the poison queue if none ever takes it.
var errNotHere = errors.New("no blob trigger function of this name is running here")

// handle processes one blob trigger message.
func (h *hub) handle(ctx context.Context, key sharedKey, m storage.Message) error {
	msg, err := decodeMessage(m.Body)
	if err != nil {
		return fmt.Errorf("%w: %w", queue.ErrPoison, err)
	}
	h.mu.Lock()
	var l *listener
	if sq := h.shared[key]; sq != nil {
		l = sq.fns[msg.FunctionID]
	}
	if l != nil {
		l.running.Add(1)
	}
	h.mu.Unlock()
	if l == nil {
		return fmt.Errorf("%s: %w", msg.FunctionID, errNotHere)
	}
	defer l.running.Done()
	return l.process(ctx, msg)
}

// decodeMessage reads a message's JSON, plain or base64-encoded (as a
// queue written with the real host's default encoding holds it).
func decodeMessage(body []byte) (message, error) {
	var msg message
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] != '{' {
		if dec, err := base64.StdEncoding.DecodeString(string(body)); err == nil {
			body = dec
		}
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return msg, fmt.Errorf("blob trigger message: %w", err)
	}
	if msg.FunctionID == "" {
		return msg, errors.New("blob trigger message: invalid function id")
	}
	return msg, nil
}

// process runs the function for one blob version unless it is gone,
// changed, done or being done elsewhere.
func (l *listener) process(ctx context.Context, msg message) error {
	log := l.log.With("container", msg.ContainerName, "blob", msg.BlobName, "etag", msg.ETag)
	props, err := l.prov.Blobs.StatBlob(ctx, msg.ContainerName, msg.BlobName)
	if errors.Is(err, storage.ErrNotFound) {
		log.Debug("blob trigger: the blob is gone")
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat blob %s/%s: %w", msg.ContainerName, msg.BlobName, err)
	}
	if props.ETag != msg.ETag {
		log.Debug("blob trigger: the blob changed since; its new version has its own message")
		return nil
	}
	rk := storage.ReceiptKey{Function: l.id, Container: msg.ContainerName, Name: msg.BlobName, ETag: msg.ETag}
	// A claim is this process's: a second message for a version that
	// runs here now (each host's scanner enqueues one) must not renew it.
	if !l.begin(rk) {
		log.Debug("blob trigger: this version is being processed here")
		return nil
	}
	defer l.end(rk)
	claimed, completed, err := l.receipts.ClaimReceipt(ctx, rk, l.env.Owner, ReceiptTTL)
	if err != nil {
		return fmt.Errorf("claim the receipt of %s/%s: %w", msg.ContainerName, msg.BlobName, err)
	}
	if completed {
		log.Debug("blob trigger: this version was processed already")
		return nil
	}
	if !claimed {
		// Another host runs it; its own message stays until it is done.
		log.Debug("blob trigger: another host is processing this version")
		return nil
	}
	renewCtx, stopRenew := context.WithCancel(ctx)
	renewDone := make(chan struct{})
	go l.renew(renewCtx, rk, renewDone)
	err = l.invoke(ctx, msg)
	stopRenew()
	<-renewDone
	// The receipt's outcome is recorded even when ctx ended meanwhile.
	bg := context.WithoutCancel(ctx)
	if err != nil {
		if rerr := l.receipts.ReleaseReceipt(bg, rk, l.env.Owner); rerr != nil {
			log.Warn("blob trigger: release the receipt", "err", rerr)
		}
		return err
	}
	if err := l.receipts.CompleteReceipt(bg, rk, l.env.Owner); err != nil {
		return fmt.Errorf("complete the receipt of %s/%s: %w", msg.ContainerName, msg.BlobName, err)
	}
	return nil
}

// begin marks a blob version as in process here; false if it already is.
func (l *listener) begin(rk storage.ReceiptKey) bool {
	l.flight.Lock()
	defer l.flight.Unlock()
	if l.inProcess[rk] {
		return false
	}
	if l.inProcess == nil {
		l.inProcess = map[storage.ReceiptKey]bool{}
	}
	l.inProcess[rk] = true
	return true
}

func (l *listener) end(rk storage.ReceiptKey) {
	l.flight.Lock()
	defer l.flight.Unlock()
	delete(l.inProcess, rk)
}

// renew keeps the receipt's claim while the function runs.
func (l *listener) renew(ctx context.Context, rk storage.ReceiptKey, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.clk.After(ReceiptTTL / 3):
		}
		if _, _, err := l.receipts.ClaimReceipt(ctx, rk, l.env.Owner, ReceiptTTL); err != nil && ctx.Err() == nil {
			l.log.Warn("blob trigger: renew the receipt", "blob", rk.Name, "err", err)
		}
	}
}

// invoke reads the blob and runs the function.
func (l *listener) invoke(ctx context.Context, msg message) error {
	rc, props, err := l.prov.Blobs.OpenBlob(ctx, msg.ContainerName, msg.BlobName)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open blob %s/%s: %w", msg.ContainerName, msg.BlobName, err)
	}
	content, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return fmt.Errorf("read blob %s/%s: %w", msg.ContainerName, msg.BlobName, err)
	}
	caps, _ := l.cfg.matches(msg.ContainerName, msg.BlobName)
	ev := binding.Event{Function: l.fn, Data: bindingData(l.prov, props, caps)}
	ev.Reason = "New blob detected(LogsAndContainerScan): " + msg.ContainerName + "/" + msg.BlobName
	if l.cfg.binary {
		ev.Value = funcd.BytesValue(content)
	} else {
		ev.Value = funcd.StringValue(string(content))
	}
	return l.inv.Invoke(ctx, ev)
}

// ReceiptKeeper is implemented by blob stores that keep the receipts of
// their blobs themselves, by host id: an Azure Storage account keeps them
// in its azure-webjobs-hosts container, where the real host keeps them, so
// that every host sharing the account (funcd's or the real one) sees them.
type ReceiptKeeper interface {
	BlobReceipts(hostID string) storage.Receipts
}

// receiptsOf returns where a trigger on prov's blobs keeps its receipts:
// with the blobs when their store keeps receipts, else in funcd's store.
func receiptsOf(prov *binding.Provider, env *binding.Env) storage.Receipts {
	if k, ok := prov.Blobs.(ReceiptKeeper); ok {
		return k.BlobReceipts(env.HostID)
	}
	return env.Store
}

// BlobURLer is implemented by blob stores that know their blobs' URLs (an
// Azure Storage account). Others get an Azurite-style URL.
type BlobURLer interface {
	BlobURL(container, name string) string
}

// blobURL is the trigger's "Uri".
func blobURL(p *binding.Provider, container, name string) string {
	if u, ok := p.Blobs.(BlobURLer); ok {
		return u.BlobURL(container, name)
	}
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "http://127.0.0.1:10000/devstoreaccount1/" + url.PathEscape(container) + "/" + strings.Join(segs, "/")
}

// bindingData is the trigger's binding data: BlobTrigger, Uri, Properties
// (named as Azure.Storage.Blobs' BlobProperties), Metadata and the path's
// captures, which win over the others on a clash, as in the real host.
func bindingData(p *binding.Provider, props storage.BlobProps, caps map[string]string) binding.Data {
	meta := props.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	properties := map[string]any{
		"LastModified":  props.LastModified.UTC().Format(time.RFC3339Nano),
		"CreatedOn":     props.Created.UTC().Format(time.RFC3339Nano),
		"Metadata":      meta,
		"BlobType":      "Block",
		"ContentLength": props.Size,
		"ContentType":   props.ContentType,
		"ETag":          props.ETag,
		"ContentHash":   props.ContentMD5,
	}
	d := binding.Data{
		"BlobTrigger": mustJSON(props.Container + "/" + props.Name),
		"Uri":         mustJSON(blobURL(p, props.Container, props.Name)),
		"Properties":  mustJSON(properties),
		"Metadata":    mustJSON(meta),
	}
	for k, v := range caps {
		for dk := range d {
			if strings.EqualFold(dk, k) {
				delete(d, dk)
			}
		}
		d[k] = mustJSON(v)
	}
	return d
}

func mustJSON(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps, strings and numbers reach here
	}
	return raw
}

// scanLoop finds new and changed blobs until ctx ends.
func (l *listener) scanLoop(ctx context.Context) {
	defer close(l.scanDone)
	var watch <-chan struct{}
	if l.prov.Feed != nil {
		ch, stop := l.prov.Feed.WatchBlobs(l.cfg.container)
		defer stop()
		watch = ch
	}
	for {
		var err error
		if l.prov.Feed != nil {
			err = l.followFeed(ctx)
		} else {
			err = l.scanContainer(ctx)
		}
		if err != nil && ctx.Err() == nil {
			l.log.Warn("blob trigger: scan failed; trying again", "container", l.cfg.container, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-watch:
		case <-l.clk.After(ScanInterval):
		}
	}
}

// checkpointName names the function's scan position in the store.
func (l *listener) checkpointName() string {
	return "blobscan/" + l.env.HostID + "/" + l.id
}

// feedPage is how many changes one read of the feed takes.
const feedPage = 1000

// followFeed enqueues the matching blobs the feed shows after the
// checkpoint, and moves the checkpoint past each page once its messages
// are durable.
func (l *listener) followFeed(ctx context.Context) error {
	name := l.checkpointName()
	cp, err := l.env.Store.Checkpoint(ctx, name)
	if err != nil {
		return fmt.Errorf("read checkpoint %s: %w", name, err)
	}
	var after int64
	if cp != "" {
		if after, err = strconv.ParseInt(cp, 10, 64); err != nil {
			return fmt.Errorf("checkpoint %s holds %q, not a feed position: %w", name, cp, err)
		}
	}
	for {
		page, err := l.prov.Feed.BlobChanges(ctx, l.cfg.container, after, feedPage)
		if err != nil {
			return fmt.Errorf("read the blob feed of %s: %w", l.cfg.container, err)
		}
		if len(page) == 0 {
			return nil
		}
		for _, b := range page {
			if err := l.enqueue(ctx, b); err != nil {
				return err
			}
			after = b.Seq
		}
		if err := l.env.Store.SetCheckpoint(ctx, name, strconv.FormatInt(after, 10)); err != nil {
			return fmt.Errorf("save checkpoint %s: %w", name, err)
		}
		if len(page) < feedPage {
			return nil
		}
	}
}

// scanContainer lists the container and enqueues the matching blobs
// modified at or after the high-water mark, then raises the mark to the
// newest modification seen.
func (l *listener) scanContainer(ctx context.Context) error {
	name := l.checkpointName()
	cp, err := l.env.Store.Checkpoint(ctx, name)
	if err != nil {
		return fmt.Errorf("read checkpoint %s: %w", name, err)
	}
	var mark time.Time
	if cp != "" {
		if mark, err = time.Parse(time.RFC3339Nano, cp); err != nil {
			return fmt.Errorf("checkpoint %s holds %q, not a time: %w", name, cp, err)
		}
	}
	newest := mark
	marker := ""
	for {
		page, next, err := l.prov.Blobs.ListBlobs(ctx, l.cfg.container, "", marker, 5000)
		if errors.Is(err, storage.ErrNotFound) {
			return nil // no container yet
		}
		if err != nil {
			return fmt.Errorf("list container %s: %w", l.cfg.container, err)
		}
		for _, b := range page {
			if b.LastModified.Before(mark) {
				continue
			}
			if err := l.enqueue(ctx, b); err != nil {
				return err
			}
			if b.LastModified.After(newest) {
				newest = b.LastModified
			}
		}
		if next == "" {
			break
		}
		marker = next
	}
	if newest.Equal(mark) {
		return nil
	}
	if err := l.env.Store.SetCheckpoint(ctx, name, newest.UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", name, err)
	}
	return nil
}

// enqueue puts a message for a blob version on the blob trigger queue if
// the blob matches the path.
func (l *listener) enqueue(ctx context.Context, b storage.BlobProps) error {
	if _, ok := l.cfg.matches(b.Container, b.Name); !ok {
		return nil
	}
	body := mustJSON(message{
		Type: "BlobTrigger", FunctionID: l.id, BlobType: "BlockBlob",
		ContainerName: b.Container, BlobName: b.Name, ETag: b.ETag,
	})
	if _, err := l.prov.Queues.Enqueue(ctx, l.key.name, body, 0, storage.NeverExpires); err != nil {
		return fmt.Errorf("enqueue blob %s/%s on %s: %w", b.Container, b.Name, l.key.name, err)
	}
	return nil
}
