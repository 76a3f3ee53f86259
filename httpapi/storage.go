package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/binding/queue"
	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/storage"
)

// funcd's own admin routes, under /admin/funcd (the real host has none):
// queue messages and blobs of the app's storage, resolved through the
// running host's connections, so that a message put here is in the store
// the host's listeners watch, and wakes them at once. Every route takes
// ?connection= (default AzureWebJobsStorage). Errors are JSON:
// {"error": "..."}.

// storageRoute returns the handler of a /admin/funcd route, or nil. seg
// starts after "funcd".
func (s *Server) storageRoute(r *http.Request, seg []string) http.HandlerFunc {
	m := r.Method
	get := m == http.MethodGet
	switch {
	case matchSegments(seg, "queues") && get:
		return s.storageHandler(listQueues)
	case matchSegments(seg, "queues", "", "messages") && get:
		return s.storageHandler(func(w http.ResponseWriter, r *http.Request, p *storageRequest) { peekMessages(w, r, p, seg[1]) })
	case matchSegments(seg, "queues", "", "messages") && m == http.MethodPost:
		return s.storageHandler(func(w http.ResponseWriter, r *http.Request, p *storageRequest) { putMessage(w, r, p, seg[1]) })
	case matchSegments(seg, "queues", "", "messages") && m == http.MethodDelete:
		return s.storageHandler(func(w http.ResponseWriter, r *http.Request, p *storageRequest) { clearQueue(w, r, p, seg[1]) })
	case matchSegments(seg, "blobs") && get:
		return s.storageHandler(listContainers)
	case matchSegments(seg, "blobs", "") && get:
		return s.storageHandler(func(w http.ResponseWriter, r *http.Request, p *storageRequest) { listBlobs(w, r, p, seg[1]) })
	case len(seg) >= 3 && strings.EqualFold(seg[0], "blobs") && seg[1] != "":
		name := strings.Join(seg[2:], "/")
		switch m {
		case http.MethodGet, http.MethodHead:
			return s.storageHandler(func(w http.ResponseWriter, r *http.Request, p *storageRequest) { getBlob(w, r, p, seg[1], name) })
		case http.MethodPut:
			return s.storageHandler(func(w http.ResponseWriter, r *http.Request, p *storageRequest) { putBlob(w, r, p, seg[1], name) })
		case http.MethodDelete:
			return s.storageHandler(func(w http.ResponseWriter, r *http.Request, p *storageRequest) { deleteBlob(w, r, p, seg[1], name) })
		}
	}
	return nil
}

// storageRequest is what a storage route works with: the provider of the
// request's connection, on the generation the request holds.
type storageRequest struct {
	*binding.Provider
	gen *host.Generation
}

// storageHandler resolves ?connection= on the current generation (held
// for the request) and runs serve with its provider.
func (s *Server) storageHandler(serve func(http.ResponseWriter, *http.Request, *storageRequest)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		gen, err := s.cfg.Host.Acquire()
		if err != nil {
			writeStorageError(w, http.StatusServiceUnavailable, "the host is not running")
			return
		}
		defer gen.Release()
		env := gen.Env()
		if env == nil || env.Connect == nil {
			writeStorageError(w, http.StatusServiceUnavailable, "the host has no storage connections")
			return
		}
		connection := r.URL.Query().Get("connection")
		if connection == "" {
			connection = host.DefaultConnection
		}
		p, err := env.Connect(connection)
		if err != nil {
			if ce, ok := errors.AsType[*funcd.ConfigError](err); ok {
				msg := ce.Error()
				if ce.Hint != "" {
					msg += " " + ce.Hint
				}
				writeStorageError(w, http.StatusBadRequest, msg)
				return
			}
			s.log.Error("cannot open storage for the admin API", "connection", connection, "error", funcd.RedactError(err))
			writeStorageError(w, http.StatusInternalServerError, "cannot open the storage of "+connection)
			return
		}
		if p.Queues == nil || p.Blobs == nil {
			writeStorageError(w, http.StatusBadRequest, "the connection "+connection+" has no queues or blobs in this build of funcd")
			return
		}
		serve(w, r, &storageRequest{Provider: p, gen: gen})
	}
}

// writeStorageError answers a storage route's failure as JSON.
func writeStorageError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// storageFailure answers a store's error: 404 for what does not exist, 400
// for a bad name, 413 for a message too large, 412 for a failed
// condition, 500 otherwise.
func storageFailure(w http.ResponseWriter, what string, err error) {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		writeStorageError(w, http.StatusNotFound, what+" does not exist")
	case errors.Is(err, storage.ErrInvalidName):
		writeStorageError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, storage.ErrTooLarge):
		writeStorageError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s: the message is larger than %d bytes as stored", what, storage.MaxMessageSize))
	case errors.Is(err, storage.ErrConditionNotMet):
		writeStorageError(w, http.StatusPreconditionFailed, what+": the condition was not met")
	case errors.Is(err, context.Canceled):
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		writeStorageError(w, http.StatusInternalServerError, what+": "+funcd.RedactError(err).Error())
	}
}

// queueName checks a queue name as the queue trigger does (lower-cased
// first), answering 400 when it is invalid.
func queueName(w http.ResponseWriter, name string) (string, bool) {
	n, err := queue.NormalizeQueueName(name)
	if err != nil {
		writeStorageError(w, http.StatusBadRequest, "invalid queue name: "+err.Error())
		return "", false
	}
	return n, true
}

// messageEncoding reads ?encoding=, answering 400 for anything but base64
// (the default) and none.
func messageEncoding(w http.ResponseWriter, r *http.Request) (string, bool) {
	switch e := strings.ToLower(r.URL.Query().Get("encoding")); e {
	case "", "base64":
		return "base64", true
	case "none":
		return e, true
	default:
		writeStorageError(w, http.StatusBadRequest, fmt.Sprintf("encoding %q: expected base64 or none", e))
		return "", false
	}
}

type queueJSON struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

func listQueues(w http.ResponseWriter, r *http.Request, p *storageRequest) {
	list, err := p.Queues.ListQueues(r.Context(), "")
	if err != nil {
		storageFailure(w, "queues", err)
		return
	}
	out := make([]queueJSON, len(list))
	for i, q := range list {
		out[i] = queueJSON{Name: q.Name, Count: q.Messages}
	}
	writeJSON(w, http.StatusOK, out)
}

// queueExists reports whether the queue exists, answering 404 when it does
// not.
func queueExists(w http.ResponseWriter, r *http.Request, p *storageRequest, name string) bool {
	list, err := p.Queues.ListQueues(r.Context(), name)
	if err != nil {
		storageFailure(w, "queue "+name, err)
		return false
	}
	for _, q := range list {
		if q.Name == name {
			return true
		}
	}
	writeStorageError(w, http.StatusNotFound, "queue "+name+" does not exist")
	return false
}

// MessageJSON is a queue message as the storage routes return it and
// funcd queue peek --json prints it.
type MessageJSON struct {
	ID              string     `json:"id"`
	DequeueCount    int64      `json:"dequeueCount"`
	InsertionTime   time.Time  `json:"insertionTime"`
	ExpirationTime  *time.Time `json:"expirationTime"` // null: never expires
	NextVisibleTime time.Time  `json:"nextVisibleTime"`
	// MessageText is the body as stored.
	MessageText string `json:"messageText"`
	// Text is the body decoded with the encoding asked for; null when it
	// is not in that encoding or not UTF-8 text.
	Text *string `json:"text"`
}

// MessageOf returns m as JSON, its text decoded with encoding ("base64" or
// "none").
func MessageOf(m storage.Message, encoding string) MessageJSON {
	v := MessageJSON{ID: m.ID, DequeueCount: m.DequeueCount, InsertionTime: m.InsertionTime.UTC(),
		NextVisibleTime: m.NextVisibleTime.UTC(), MessageText: string(m.Body)}
	if !m.ExpirationTime.IsZero() {
		t := m.ExpirationTime.UTC()
		v.ExpirationTime = &t
	}
	text := m.Body
	if strings.EqualFold(encoding, "base64") {
		dec, err := base64.StdEncoding.DecodeString(string(m.Body))
		if err != nil {
			return v
		}
		text = dec
	}
	if utf8.Valid(text) {
		s := string(text)
		v.Text = &s
	}
	return v
}

func peekMessages(w http.ResponseWriter, r *http.Request, p *storageRequest, queueArg string) {
	name, ok := queueName(w, queueArg)
	if !ok {
		return
	}
	encoding, ok := messageEncoding(w, r)
	if !ok {
		return
	}
	n := 32
	if v := r.URL.Query().Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 32 {
			writeStorageError(w, http.StatusBadRequest, fmt.Sprintf("n %q: expected 1 to 32 (Azure Storage's limit for a peek)", v))
			return
		}
	}
	if !queueExists(w, r, p, name) {
		return
	}
	msgs, err := p.Queues.Peek(r.Context(), name, n)
	if err != nil {
		storageFailure(w, "queue "+name, err)
		return
	}
	out := make([]MessageJSON, len(msgs))
	for i, m := range msgs {
		out[i] = MessageOf(m, encoding)
	}
	writeJSON(w, http.StatusOK, out)
}

// putMessage enqueues the request body. Through the host's own store the
// enqueue signals the store's watchers, so the queue's listener in this
// process wakes at once.
func putMessage(w http.ResponseWriter, r *http.Request, p *storageRequest, queueArg string) {
	name, ok := queueName(w, queueArg)
	if !ok {
		return
	}
	encoding, ok := messageEncoding(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	delay, ok := secondsParam(w, q.Get("visibilityDelay"), "visibilityDelay", false)
	if !ok {
		return
	}
	ttl, ok := secondsParam(w, q.Get("ttl"), "ttl", true)
	if !ok {
		return
	}
	text, err := readBody(w, r, storage.MaxMessageSize)
	if err != nil {
		switch {
		case funcd.ErrorCode(err) == funcd.ETOOLARGE:
			writeStorageError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the message is larger than %d bytes", storage.MaxMessageSize))
		default:
			writeBodyError(w, err)
		}
		return
	}
	body := text
	if strings.EqualFold(encoding, "base64") {
		body = []byte(base64.StdEncoding.EncodeToString(text))
	}
	m, err := p.Queues.Enqueue(r.Context(), name, body, delay, ttl)
	if err != nil {
		storageFailure(w, "queue "+name, err)
		return
	}
	v := MessageOf(m, encoding)
	writeJSON(w, http.StatusCreated, struct {
		ID              string     `json:"id"`
		InsertionTime   time.Time  `json:"insertionTime"`
		ExpirationTime  *time.Time `json:"expirationTime"`
		NextVisibleTime time.Time  `json:"nextVisibleTime"`
	}{v.ID, v.InsertionTime, v.ExpirationTime, v.NextVisibleTime})
}

// secondsParam reads a whole number of seconds (Azure's visibilitytimeout
// and messagettl); -1 is never when allowNever; "" is 0 (the defaults).
func secondsParam(w http.ResponseWriter, v, name string, allowNever bool) (time.Duration, bool) {
	if v == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(v, 10, 32)
	switch {
	case err == nil && n == -1 && allowNever:
		return storage.NeverExpires, true
	case err == nil && n >= 0:
		return time.Duration(n) * time.Second, true
	}
	want := "a whole number of seconds"
	if allowNever {
		want += ", or -1 (never)"
	}
	writeStorageError(w, http.StatusBadRequest, fmt.Sprintf("%s %q: expected %s", name, v, want))
	return 0, false
}

func clearQueue(w http.ResponseWriter, r *http.Request, p *storageRequest, queueArg string) {
	name, ok := queueName(w, queueArg)
	if !ok {
		return
	}
	if err := p.Queues.Clear(r.Context(), name); err != nil {
		storageFailure(w, "queue "+name, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func listContainers(w http.ResponseWriter, r *http.Request, p *storageRequest) {
	list, err := p.Blobs.ListContainers(r.Context())
	if err != nil {
		storageFailure(w, "containers", err)
		return
	}
	out := make([]map[string]string, len(list))
	for i, c := range list {
		out[i] = map[string]string{"name": c}
	}
	writeJSON(w, http.StatusOK, out)
}

// blobJSON describes a blob in listings and after a put.
type blobJSON struct {
	Container    string    `json:"container"`
	Name         string    `json:"name"`
	Size         int64     `json:"size"`
	ContentType  string    `json:"contentType"`
	ETag         string    `json:"etag"`
	LastModified time.Time `json:"lastModified"`
}

func blobOf(b storage.BlobProps) blobJSON {
	return blobJSON{Container: b.Container, Name: b.Name, Size: b.Size, ContentType: b.ContentType, ETag: b.ETag, LastModified: b.LastModified.UTC()}
}

// checkContainer answers 400 for a container name Azure Storage refuses.
func checkContainer(w http.ResponseWriter, container string) bool {
	if err := storage.CheckContainerName(container); err != nil {
		writeStorageError(w, http.StatusBadRequest, "invalid container: "+err.Error())
		return false
	}
	return true
}

// checkBlob answers 400 for a container or blob name Azure Storage refuses.
func checkBlob(w http.ResponseWriter, container, name string) bool {
	if !checkContainer(w, container) {
		return false
	}
	if err := storage.CheckBlobName(name); err != nil {
		writeStorageError(w, http.StatusBadRequest, "invalid blob name: "+err.Error())
		return false
	}
	return true
}

func listBlobs(w http.ResponseWriter, r *http.Request, p *storageRequest, container string) {
	if !checkContainer(w, container) {
		return
	}
	ctx := r.Context()
	containers, err := p.Blobs.ListContainers(ctx)
	if err != nil {
		storageFailure(w, "containers", err)
		return
	}
	found := false
	for _, c := range containers {
		found = found || c == container
	}
	if !found {
		writeStorageError(w, http.StatusNotFound, "container "+container+" does not exist")
		return
	}
	out := []blobJSON{}
	prefix, marker := r.URL.Query().Get("prefix"), ""
	for {
		page, next, err := p.Blobs.ListBlobs(ctx, container, prefix, marker, 1000)
		if err != nil {
			storageFailure(w, "container "+container, err)
			return
		}
		for _, b := range page {
			out = append(out, blobOf(b))
		}
		if next == "" {
			break
		}
		marker = next
	}
	writeJSON(w, http.StatusOK, out)
}

func getBlob(w http.ResponseWriter, r *http.Request, p *storageRequest, container, name string) {
	if !checkBlob(w, container, name) {
		return
	}
	body, props, err := p.Blobs.OpenBlob(r.Context(), container, name)
	if err != nil {
		storageFailure(w, "blob "+container+"/"+name, err)
		return
	}
	defer body.Close()
	h := w.Header()
	ct := props.ContentType
	if ct == "" {
		ct = storage.DefaultContentType
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.FormatInt(props.Size, 10))
	h.Set("ETag", props.ETag)
	h.Set("Last-Modified", props.LastModified.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.Copy(w, body)
}

// putBlob streams the request body into the blob, bounded by the host's
// maxRequestBodySize. The content type is the request's, else guessed
// from the name's extension.
func putBlob(w http.ResponseWriter, r *http.Request, p *storageRequest, container, name string) {
	if !checkBlob(w, container, name) {
		return
	}
	limit := p.gen.App.Host.HTTP.MaxRequestBodySize
	if limit > 0 && r.ContentLength > limit {
		writeStorageError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the blob of %d bytes is larger than the request body limit of %d bytes", r.ContentLength, limit))
		return
	}
	var body io.Reader = http.NoBody
	var rw *rateWatch
	if r.Body != nil {
		var src io.Reader = r.Body
		if limit > 0 {
			src = http.MaxBytesReader(w, r.Body, limit)
		}
		rw = watchRate(w, src)
		body = rw
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = mime.TypeByExtension(path.Ext(name))
	}
	props, err := p.Blobs.PutBlob(r.Context(), container, name, body, storage.PutBlobOptions{ContentType: ct})
	if rw != nil && rw.stop() {
		writeBodyError(w, errBodyTooSlow)
		return
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		writeStorageError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the blob is larger than the request body limit of %d bytes", limit))
		return
	}
	if err != nil {
		storageFailure(w, "blob "+container+"/"+name, err)
		return
	}
	writeJSON(w, http.StatusCreated, blobOf(props))
}

func deleteBlob(w http.ResponseWriter, r *http.Request, p *storageRequest, container, name string) {
	if !checkBlob(w, container, name) {
		return
	}
	if err := p.Blobs.DeleteBlob(r.Context(), container, name, ""); err != nil {
		storageFailure(w, "blob "+container+"/"+name, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
