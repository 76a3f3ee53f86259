// Package durableapi is the Durable Functions management HTTP API: the
// routes the real Durable Functions extension serves under
// /runtime/webhooks/durabletask (orchestrators, instances, entities), with
// its status codes and JSON shapes.
//
// A Handler checks no keys: package httpapi mounts it behind the
// durabletask_extension system key (or the master key), and the local RPC
// endpoint the Durable SDKs call (rpcBaseUrl, see ListenRPC) serves it on
// the loopback interface without keys, as the real host does.
package durableapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/durable"
)

// WebhookPath is where the public API is served, and the path of the URLs
// the API hands out.
const WebhookPath = "/runtime/webhooks/durabletask"

// DefaultConnection is the connection name the URLs carry when the request
// names none, as the real host's default storage connection.
const DefaultConnection = "Storage"

// defaultMaxBody caps a request body (an orchestration's input, an
// event's data, an operation's input) when Options.MaxBody does not: the
// host's default FUNCTIONS_REQUEST_BODY_SIZE_LIMIT (Kestrel's 100 MB).
const defaultMaxBody = 104857600

// Options configure a Handler.
type Options struct {
	// Engine returns the engine that runs the app's durable functions, nil
	// when the app has none. It is called per request: a new generation of
	// the app may bring another engine.
	Engine func() *durable.Engine
	// Key returns the durabletask_extension system key, which the URLs in
	// check-status responses carry as code=; nil or "" for none.
	Key func(ctx context.Context) (string, error)
	// MaxBody returns the largest request body the host takes
	// (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT); nil or 0 for the default.
	MaxBody func() int64
	// Logger defaults to discarding.
	Logger *slog.Logger
}

// Handler serves the management API. Its request paths are relative to
// the API's root: "orchestrators/Hello", "instances/abc/terminate".
type Handler struct {
	o   Options
	log *slog.Logger
}

// New returns a Handler.
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{o: o, log: o.Logger}
}

var _ http.Handler = (*Handler)(nil)

// request is one API call being served.
type request struct {
	w       http.ResponseWriter
	r       *http.Request
	q       url.Values
	client  *durable.Client
	hub     string
	conn    string
	reuse   durable.ReusePolicy
	maxBody int64
}

// ServeHTTP routes a request as the real extension's HttpApiHandler:
// operation names match case-insensitively, and a route that takes no such
// method is 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	seg := segments(r)
	if len(seg) == 0 {
		writeError(w, http.StatusNotFound, "no such Durable Functions API route: expected orchestrators/, instances/ or entities/")
		return
	}
	var e *durable.Engine
	if h.o.Engine != nil {
		e = h.o.Engine()
	}
	if e == nil {
		writeError(w, http.StatusNotFound, "the app has no Durable Functions: no function has an orchestration, activity, entity or durableClient binding")
		return
	}
	q := r.URL.Query()
	hub := firstNonBlank(q, "taskHub")
	if hub == "" {
		hub = e.Hub()
	}
	conn := firstNonBlank(q, "connection")
	if conn == "" {
		conn = DefaultConnection
	}
	c := &request{w: w, r: r, q: q, client: e.Client(hub), hub: hub, conn: conn, reuse: e.Reuse(), maxBody: defaultMaxBody}
	if h.o.MaxBody != nil {
		if n := h.o.MaxBody(); n > 0 {
			c.maxBody = n
		}
	}
	switch strings.ToLower(seg[0]) {
	case "orchestrators":
		if (len(seg) == 2 || len(seg) == 3) && seg[1] != "" && r.Method == http.MethodPost {
			id := ""
			if len(seg) == 3 {
				id = seg[2]
			}
			h.start(c, seg[1], id)
			return
		}
	case "entities":
		if len(seg) <= 3 {
			name, key := "", ""
			if len(seg) > 1 {
				name = seg[1]
			}
			if len(seg) > 2 {
				key = seg[2]
			}
			switch r.Method {
			case http.MethodGet:
				if len(seg) == 3 {
					h.readEntity(c, name, key)
				} else {
					h.listEntities(c, name)
				}
				return
			case http.MethodPost, http.MethodDelete:
				h.signalEntity(c, name, key)
				return
			}
		}
	case "instances":
		if h.instances(c, seg[1:]) {
			return
		}
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("no such Durable Functions API route: %s %s", r.Method, strings.Join(seg, "/")))
}

// instances routes instances/..., reporting false for no route.
func (h *Handler) instances(c *request, seg []string) bool {
	m := c.r.Method
	switch {
	case len(seg) == 0 && m == http.MethodGet:
		h.list(c)
	case len(seg) == 0 && m == http.MethodDelete:
		h.purgeBy(c)
	case len(seg) == 1 && m == http.MethodGet:
		h.status(c, seg[0])
	case len(seg) == 1 && m == http.MethodDelete:
		h.purge(c, seg[0])
	case len(seg) == 2 && m == http.MethodPost && strings.EqualFold(seg[1], "raiseEvent"):
		writeError(c.w, http.StatusBadRequest, "the event name is missing: POST instances/{instanceId}/raiseEvent/{eventName}")
	case len(seg) == 2 && m == http.MethodPost:
		switch strings.ToLower(seg[1]) {
		case "terminate", "suspend", "resume":
			h.control(c, seg[0], strings.ToLower(seg[1]))
		case "rewind":
			h.rewind(c, seg[0])
		case "restart":
			h.restart(c, seg[0])
		default:
			return false
		}
	case len(seg) == 3 && m == http.MethodPost && strings.EqualFold(seg[1], "raiseEvent"):
		h.raiseEvent(c, seg[0], seg[2])
	default:
		return false
	}
	return true
}

// segments splits the request's path into unescaped segments, without the
// empty ones at either end.
func segments(r *http.Request) []string {
	p := strings.Trim(r.URL.EscapedPath(), "/")
	if p == "" {
		return nil
	}
	seg := strings.Split(p, "/")
	for i, s := range seg {
		if u, err := url.PathUnescape(s); err == nil {
			seg[i] = u
		}
	}
	return seg
}

// firstNonBlank returns the first value of a query parameter, matched
// case-insensitively, that is not blank.
func firstNonBlank(q url.Values, name string) string {
	for k, vs := range q {
		if strings.EqualFold(k, name) {
			for _, v := range vs {
				if strings.TrimSpace(v) != "" {
					return v
				}
			}
		}
	}
	return ""
}

// start is POST orchestrators/{functionName}[/{instanceId}]: the body
// (when there is one) is the input, and the answer the check-status
// response, or with timeout and pollingInterval the result once the
// instance finishes within timeout.
func (h *Handler) start(c *request, name, id string) {
	body, ok := readBody(c)
	if !ok {
		return
	}
	opts := durable.StartOptions{InstanceID: id, Version: c.q.Get("version")}
	if strings.TrimSpace(string(body)) != "" {
		if !json.Valid(body) {
			writeError(c.w, http.StatusBadRequest, "Invalid JSON content: the request body, the orchestration's input, is not valid JSON")
			return
		}
		opts.Input = string(body)
	}
	timeout, pollInterval, ok := waitParams(c)
	if !ok {
		return
	}
	newID, err := c.client.StartNew(c.r.Context(), name, opts)
	if err != nil {
		if errors.Is(err, durable.ErrInstanceExists) {
			writeError(c.w, http.StatusConflict, fmt.Sprintf("An Orchestration instance with the ID '%s' already exists and is not in a terminal state: %v", id, err))
			return
		}
		h.fail(c, err)
		return
	}
	h.respondStarted(c, newID, timeout, pollInterval)
}

// respondStarted answers a start or a restart.
func (h *Handler) respondStarted(c *request, id string, timeout, pollInterval time.Duration) {
	links, err := h.links(c, id)
	if err != nil {
		h.fail(c, err)
		return
	}
	// As the real host, both parameters ask for a wait, a pollingInterval
	// of 0 too (which the real host polls without pause, funcd every
	// 10ms).
	if timeout > 0 && c.q.Get("pollingInterval") != "" {
		h.waitAndRespond(c, id, links, timeout, max(pollInterval, 10*time.Millisecond))
		return
	}
	checkStatus(c.w, links)
}

// waitParams reads timeout and pollingInterval (seconds); both are needed
// to wait.
func waitParams(c *request) (timeout, pollInterval time.Duration, ok bool) {
	t, ok1 := seconds(c, "timeout")
	p, ok2 := seconds(c, "pollingInterval")
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	if t > 0 && p > t {
		writeError(c.w, http.StatusBadRequest, fmt.Sprintf("Total timeout %g should be bigger than retry timeout %g", t.Seconds(), p.Seconds()))
		return 0, 0, false
	}
	return t, p, true
}

func seconds(c *request, name string) (time.Duration, bool) {
	v := c.q.Get(name)
	if v == "" {
		return 0, true
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 24*3600 {
		writeError(c.w, http.StatusBadRequest, fmt.Sprintf("query parameter %s=%q is not a number of seconds between 0 and 86400", name, v))
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// waitAndRespond polls the instance until it finishes or timeout passes:
// Completed is 200 with the output, Failed, Terminated and Canceled the
// status response, and otherwise the check-status response.
func (h *Handler) waitAndRespond(c *request, id string, links *managementLinks, timeout, pollInterval time.Duration) {
	ctx := c.r.Context()
	deadline := time.Now().Add(timeout)
	for {
		inst, err := c.client.Status(ctx, id)
		if err != nil && !errors.Is(err, durable.ErrNotFound) {
			h.fail(c, err)
			return
		}
		if err == nil && inst.Status.Terminal() {
			if inst.Status == durable.Completed {
				writeJSON(c.w, http.StatusOK, rawJSON(inst.Output))
				return
			}
			h.status(c, id)
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			checkStatus(c.w, links)
			return
		}
		t := time.NewTimer(min(left, pollInterval))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// managementLinks is the check-status payload, in the real host's field
// order (it has no rewindPostUri).
type managementLinks struct {
	ID                    string `json:"id"`
	StatusQueryGetURI     string `json:"statusQueryGetUri"`
	SendEventPostURI      string `json:"sendEventPostUri"`
	TerminatePostURI      string `json:"terminatePostUri"`
	PurgeHistoryDeleteURI string `json:"purgeHistoryDeleteUri"`
	RestartPostURI        string `json:"restartPostUri"`
	SuspendPostURI        string `json:"suspendPostUri"`
	ResumePostURI         string `json:"resumePostUri"`
}

// links builds the management URLs of an instance as the real host does:
// the request's scheme and authority, the webhook's path, and taskHub,
// connection and the system key as the query.
func (h *Handler) links(c *request, id string) (*managementLinks, error) {
	key := ""
	if h.o.Key != nil {
		k, err := h.o.Key(c.r.Context())
		if err != nil {
			return nil, fmt.Errorf("cannot read the durabletask_extension key: %w", err)
		}
		key = k
	}
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	inst := scheme + "://" + c.r.Host + WebhookPath + "/instances/" + url.QueryEscape(id)
	suffix := "taskHub=" + url.QueryEscape(c.hub) + "&connection=" + url.QueryEscape(c.conn)
	if key != "" {
		// As the real host, which appends its webhook URL's query: the key
		// as it is (its base64 padding unescaped).
		suffix += "&code=" + key
	}
	return &managementLinks{
		ID:                    id,
		StatusQueryGetURI:     inst + "?" + suffix,
		SendEventPostURI:      inst + "/raiseEvent/{eventName}?" + suffix,
		TerminatePostURI:      inst + "/terminate?reason={text}&" + suffix,
		PurgeHistoryDeleteURI: inst + "?" + suffix,
		RestartPostURI:        inst + "/restart?" + suffix,
		SuspendPostURI:        inst + "/suspend?reason={text}&" + suffix,
		ResumePostURI:         inst + "/resume?reason={text}&" + suffix,
	}, nil
}

// checkStatus writes the 202 of the asynchronous HTTP pattern.
func checkStatus(w http.ResponseWriter, l *managementLinks) {
	w.Header().Set("Location", l.StatusQueryGetURI)
	w.Header().Set("Retry-After", "10")
	writeJSON(w, http.StatusAccepted, l)
}

// status is GET instances/{instanceId}: 200 for a finished instance (500
// for a Failed one with returnInternalServerErrorOnFailure=true), 202 with
// Location and Retry-After for one still running, 404 for none.
func (h *Handler) status(c *request, id string) {
	showHistory, ok := boolParam(c, "showHistory", false)
	if !ok {
		return
	}
	showHistoryOutput, ok := boolParam(c, "showHistoryOutput", false)
	if !ok {
		return
	}
	showInput, ok := boolParam(c, "showInput", true)
	if !ok {
		return
	}
	failAs500, ok := boolParam(c, "returnInternalServerErrorOnFailure", false)
	if !ok {
		return
	}
	ctx := c.r.Context()
	inst, err := c.client.Status(ctx, id)
	if err != nil {
		h.fail(c, err)
		return
	}
	p := StatusOf(inst, showInput)
	// As the real host: no history for a Pending instance.
	if showHistory && inst.Status != durable.Pending {
		evs, err := c.client.History(ctx, id)
		if err != nil {
			h.fail(c, err)
			return
		}
		hist := HistoryEvents(evs, showHistoryOutput)
		p.HistoryEvents = &hist
	}
	code := http.StatusOK
	switch inst.Status {
	case durable.Running, durable.Pending, durable.ContinuedAsNew, durable.Suspended:
		code = http.StatusAccepted
		c.w.Header().Set("Location", requestURL(c.r))
		c.w.Header().Set("Retry-After", "5")
	case durable.Failed:
		if failAs500 {
			code = http.StatusInternalServerError
		}
	}
	writeJSON(c.w, code, p)
}

// requestURL is the request's absolute URL.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.RequestURI
}

// list is GET instances: a page of orchestration instances, the next
// page's token in the x-ms-continuation-token header.
func (h *Handler) list(c *request) {
	q, ok := instanceQuery(c, false)
	if !ok {
		return
	}
	showInput, ok := boolParam(c, "showInput", true)
	if !ok {
		return
	}
	if p := c.q.Get("instanceIdPrefix"); p != "" {
		q.IDPrefix = p
	}
	if q.PageSize, ok = pageSize(c); !ok {
		return
	}
	q.Continuation = c.r.Header.Get("x-ms-continuation-token")
	page, next, err := c.client.List(c.r.Context(), q)
	if err != nil {
		h.fail(c, err)
		return
	}
	out := make([]*Status, 0, len(page))
	for _, inst := range page {
		out = append(out, StatusOf(inst, showInput))
	}
	c.w.Header().Set("x-ms-continuation-token", next)
	writeJSON(c.w, http.StatusOK, out)
}

// instanceQuery reads createdTimeFrom, createdTimeTo and runtimeStatus;
// needFrom makes createdTimeFrom required (a purge).
func instanceQuery(c *request, needFrom bool) (durable.InstanceQuery, bool) {
	var q durable.InstanceQuery
	var ok bool
	if q.CreatedFrom, ok = timeParam(c, "createdTimeFrom"); !ok {
		return q, false
	}
	if needFrom && q.CreatedFrom.IsZero() {
		writeJSON(c.w, http.StatusBadRequest, "Please provide value for 'createdTimeFrom' parameter.")
		return q, false
	}
	if q.CreatedTo, ok = timeParam(c, "createdTimeTo"); !ok {
		return q, false
	}
	for _, v := range c.q["runtimeStatus"] {
		for name := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(name) == "" {
				continue
			}
			st, err := durable.ParseStatus(name)
			if err != nil {
				writeError(c.w, http.StatusBadRequest, "query parameter runtimeStatus: "+err.Error())
				return q, false
			}
			q.Statuses = append(q.Statuses, st)
		}
	}
	return q, true
}

// timeLayouts are the times the API reads: ISO 8601 with or without a
// zone, fractions or seconds, as .NET's DateTime.Parse takes them.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// timeParam reads a time query parameter (zero when absent); a time
// without a zone is UTC.
func timeParam(c *request, name string) (time.Time, bool) {
	v := strings.TrimSpace(c.q.Get(name))
	if v == "" {
		return time.Time{}, true
	}
	// Python's strftime can drop a year's leading zeros.
	if i := strings.IndexByte(v, '-'); i > 0 && i < 4 {
		v = strings.Repeat("0", 4-i) + v
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), true
		}
	}
	writeError(c.w, http.StatusBadRequest, fmt.Sprintf("query parameter %s=%q is not a time: expected ISO 8601, such as 2025-01-31T08:00:00Z", name, c.q.Get(name)))
	return time.Time{}, false
}

func boolParam(c *request, name string, def bool) (bool, bool) {
	v := strings.TrimSpace(c.q.Get(name))
	if v == "" {
		return def, true
	}
	switch strings.ToLower(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	writeError(c.w, http.StatusBadRequest, fmt.Sprintf("query parameter %s=%q is not a boolean: expected true or false", name, v))
	return false, false
}

// pageSize reads top (0 when absent: the store's default page).
func pageSize(c *request) (int, bool) {
	v := strings.TrimSpace(c.q.Get("top"))
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		writeError(c.w, http.StatusBadRequest, fmt.Sprintf("query parameter top=%q is not a page size: expected a whole number from 1 to 10000", v))
		return 0, false
	}
	return n, true
}

// purgeBy is DELETE instances: createdTimeFrom is required, createdTimeTo
// defaults to now; 404 when nothing matched.
func (h *Handler) purgeBy(c *request) {
	q, ok := instanceQuery(c, true)
	if !ok {
		return
	}
	if q.CreatedTo.IsZero() {
		q.CreatedTo = time.Now().UTC()
	}
	n, err := c.client.PurgeBy(c.r.Context(), q)
	if err != nil {
		h.fail(c, err)
		return
	}
	if n == 0 {
		writeError(c.w, http.StatusNotFound, "no instance matched the purge's filter")
		return
	}
	writeJSON(c.w, http.StatusOK, purgeResult{n})
}

type purgeResult struct {
	InstancesDeleted int `json:"instancesDeleted"`
}

// purge is DELETE instances/{instanceId}: 404 for none, 412 for an
// orchestration that has not finished.
func (h *Handler) purge(c *request, id string) {
	ctx := c.r.Context()
	if !strings.HasPrefix(id, "@") {
		inst, err := c.client.Status(ctx, id)
		if err != nil {
			h.fail(c, err)
			return
		}
		if !inst.Status.Terminal() {
			writeJSON(c.w, http.StatusPreconditionFailed, fmt.Sprintf("Only orchestrations in a terminal state can be purged, but the orchestration with instance ID %s has status %s", id, inst.Status))
			return
		}
	}
	if err := c.client.Purge(ctx, id); err != nil {
		h.fail(c, err)
		return
	}
	writeJSON(c.w, http.StatusOK, purgeResult{1})
}

// control is POST instances/{instanceId}/terminate|suspend|resume with
// ?reason=: 404, 410 for a finished instance, 202.
func (h *Handler) control(c *request, id, op string) {
	ctx, reason := c.r.Context(), c.q.Get("reason")
	var err error
	switch op {
	case "terminate":
		err = c.client.Terminate(ctx, id, reason)
	case "suspend":
		err = c.client.Suspend(ctx, id, reason)
	default:
		err = c.client.Resume(ctx, id, reason)
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.w.WriteHeader(http.StatusAccepted)
}

// rewind is POST instances/{instanceId}/rewind: 404, 412 when the instance
// has not failed, 202.
func (h *Handler) rewind(c *request, id string) {
	// The real host answers these two with a JSON string, which the
	// JavaScript client's rewind turns into its error's message.
	err := c.client.Rewind(c.r.Context(), id, c.q.Get("reason"))
	switch {
	case errors.Is(err, durable.ErrNotFound):
		writeJSON(c.w, http.StatusNotFound, fmt.Sprintf("No orchestration with instance ID %q found.", id))
		return
	case errors.Is(err, durable.ErrNotFailed):
		inst, _ := c.client.Status(c.r.Context(), id)
		st := "not Failed"
		if inst != nil {
			st = inst.Status.String()
		}
		writeJSON(c.w, http.StatusPreconditionFailed, fmt.Sprintf("This orchestration has status %s, but only orchestrations in the \"Failed\" state can be rewound.", st))
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	c.w.WriteHeader(http.StatusAccepted)
}

// restart is POST instances/{instanceId}/restart: the orchestrator again
// with the original input, under a new id (restartWithNewInstanceId,
// true by default) or the same one.
func (h *Handler) restart(c *request, id string) {
	newID, ok := boolParam(c, "restartWithNewInstanceId", true)
	if !ok {
		return
	}
	timeout, pollInterval, ok := waitParams(c)
	if !ok {
		return
	}
	ctx := c.r.Context()
	inst, err := c.client.Status(ctx, id)
	if errors.Is(err, durable.ErrNotFound) || err == nil && strings.HasPrefix(id, "@") {
		writeError(c.w, http.StatusBadRequest, fmt.Sprintf("InstanceId does not match a valid orchestration instance: no orchestration has the id '%s'", id))
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	// Under the same id, the reuse policy decides, as for a start (the real
	// host's RestartAsync starts the instance anew).
	if !newID && !inst.Status.Terminal() && c.reuse == durable.OverwriteNonRunning {
		writeError(c.w, http.StatusConflict, fmt.Sprintf("A non-terminal instance with this instance ID already exists: '%s' is %s", id, inst.Status))
		return
	}
	started, err := c.client.Restart(ctx, id, newID)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.respondStarted(c, started, timeout, pollInterval)
}

// raiseEvent is POST instances/{instanceId}/raiseEvent/{eventName}: the
// body (application/json) is the event's data; 404, 410, 400, 202.
func (h *Handler) raiseEvent(c *request, id, name string) {
	ctx := c.r.Context()
	inst, err := c.client.Status(ctx, id)
	if err != nil {
		h.fail(c, err)
		return
	}
	if inst.Status.Terminal() {
		writeError(c.w, http.StatusGone, fmt.Sprintf("instance '%s' is %s and takes no more events", id, inst.Status))
		return
	}
	if !isJSON(c.r) {
		writeError(c.w, http.StatusBadRequest, fmt.Sprintf("Only application/json request content is supported: the Content-Type is %q", c.r.Header.Get("Content-Type")))
		return
	}
	body, ok := readBody(c)
	if !ok {
		return
	}
	data := strings.TrimSpace(string(body))
	if data != "" && !json.Valid(body) {
		writeError(c.w, http.StatusBadRequest, "Invalid JSON content: the request body, the event's data, is not valid JSON")
		return
	}
	if err := c.client.RaiseEvent(ctx, id, name, data); err != nil {
		h.fail(c, err)
		return
	}
	c.w.WriteHeader(http.StatusAccepted)
}

// isJSON reports whether the request's media type is application/json.
func isJSON(r *http.Request) bool {
	mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

// readEntity is GET entities/{name}/{key}: 200 with the state, 404 when
// the entity has none. The key "$" is the empty key.
func (h *Handler) readEntity(c *request, name, key string) {
	if key == "$" {
		key = ""
	}
	if name == "" {
		writeError(c.w, http.StatusBadRequest, "the entity name is missing: GET entities/{entityName}/{entityKey}")
		return
	}
	st, err := c.client.ReadEntity(c.r.Context(), durable.EntityID{Name: name, Key: key})
	if err != nil {
		h.fail(c, err)
		return
	}
	if !st.Exists {
		writeError(c.w, http.StatusNotFound, fmt.Sprintf("entity @%s@%s has no state", strings.ToLower(name), key))
		return
	}
	writeJSON(c.w, http.StatusOK, rawJSON(st.State))
}

// entityStatus is one entity in a listing.
type entityStatus struct {
	EntityID          durable.EntityID `json:"entityId"`
	LastOperationTime string           `json:"lastOperationTime"`
	State             json.RawMessage  `json:"state"`
}

// listEntities is GET entities[/{name}]: a page of the entities (of that
// function), filtered by lastOperationTimeFrom/To, with fetchState.
func (h *Handler) listEntities(c *request, name string) {
	var q durable.InstanceQuery
	var ok bool
	if q.LastUpdatedFrom, ok = timeParam(c, "lastOperationTimeFrom"); !ok {
		return
	}
	if q.LastUpdatedTo, ok = timeParam(c, "lastOperationTimeTo"); !ok {
		return
	}
	if q.PageSize, ok = pageSize(c); !ok {
		return
	}
	fetchState, ok := boolParam(c, "fetchState", false)
	if !ok {
		return
	}
	q.Continuation = c.r.Header.Get("x-ms-continuation-token")
	page, next, err := c.client.ListEntities(c.r.Context(), name, q)
	if err != nil {
		h.fail(c, err)
		return
	}
	out := make([]entityStatus, 0, len(page))
	for _, st := range page {
		es := entityStatus{EntityID: st.ID, LastOperationTime: st.LastOperation.UTC().Format(time.RFC3339Nano), State: json.RawMessage("null")}
		if fetchState {
			es.State = rawJSON(st.State)
		}
		out = append(out, es)
	}
	c.w.Header().Set("x-ms-continuation-token", next)
	writeJSON(c.w, http.StatusOK, out)
}

// signalEntity is POST entities/{name}/{key}?op= (DELETE: the operation
// "delete"): a JSON body is the operation's input, any other body a
// string; 202.
func (h *Handler) signalEntity(c *request, name, key string) {
	if name == "" {
		writeError(c.w, http.StatusBadRequest, "the entity name is missing: POST entities/{entityName}/{entityKey}?op={operation}")
		return
	}
	op := c.q.Get("op")
	if c.r.Method == http.MethodDelete {
		op = "delete"
	}
	body, ok := readBody(c)
	if !ok {
		return
	}
	input := ""
	if len(body) > 0 {
		if isJSON(c.r) {
			if !json.Valid(body) {
				writeError(c.w, http.StatusBadRequest, "Could not parse JSON content: the request body, the operation's input, is not valid JSON")
				return
			}
			input = string(body)
		} else {
			b, _ := json.Marshal(string(body))
			input = string(b)
		}
	}
	if err := c.client.SignalEntity(c.r.Context(), durable.EntityID{Name: name, Key: key}, op, input, time.Time{}); err != nil {
		h.fail(c, err)
		return
	}
	c.w.WriteHeader(http.StatusAccepted)
}

// readBody reads the request body, up to the host's limit.
func readBody(c *request) ([]byte, bool) {
	if c.r.ContentLength > c.maxBody {
		writeError(c.w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT)", c.maxBody))
		return nil, false
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, c.maxBody))
	if err != nil {
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			writeError(c.w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT)", c.maxBody))
		} else {
			writeError(c.w, http.StatusBadRequest, "cannot read the request body: "+err.Error())
		}
		return nil, false
	}
	return b, true
}

// fail answers an operation's error with the real host's status: 404 for
// a missing instance, 409 for an id in use, 410 for a finished instance,
// 412 for a rewind of one that has not failed, 400 for bad arguments, and
// 500 for the rest (logged).
func (h *Handler) fail(c *request, err error) {
	switch {
	case errors.Is(err, durable.ErrNotFound):
		writeError(c.w, http.StatusNotFound, err.Error())
	case errors.Is(err, durable.ErrInstanceExists):
		writeError(c.w, http.StatusConflict, err.Error())
	case errors.Is(err, durable.ErrGone):
		writeError(c.w, http.StatusGone, err.Error())
	case errors.Is(err, durable.ErrNotFailed):
		writeError(c.w, http.StatusPreconditionFailed, err.Error())
	case funcd.ErrorCode(err) == funcd.EINVALID:
		writeError(c.w, http.StatusBadRequest, err.Error())
	case errors.Is(err, context.Canceled) && c.r.Context().Err() != nil:
		// The client went away.
	default:
		h.log.Error("Durable Functions API request failed", "method", c.r.Method, "path", c.r.URL.Path, "error", err)
		writeError(c.w, http.StatusInternalServerError, "Something went wrong while processing your request: "+err.Error())
	}
}

// apiError is the body of an error response, as ASP.NET's HttpError.
type apiError struct {
	Message string `json:"Message"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiError{msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"Message":"cannot encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
