package durable

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/funcd/funcd/sdk/internal/bridge"
)

// Client manages orchestration instances and entities through the host's
// Durable Functions HTTP API: a function with a durableClient input
// binding (Function.DurableClient) gets one with GetClient.
type Client struct {
	// TaskHubName is the task hub the binding names.
	TaskHubName string
	// HTTPClient makes the calls; nil is http.DefaultClient.
	HTTPClient *http.Client

	base  *url.URL   // where the routes are relative to
	query url.Values // added to every call (the system key, without rpcBaseUrl)
	urls  ManagementURLs
}

// ManagementURLs are an instance's management endpoints, the body of the
// check-status response.
type ManagementURLs struct {
	ID                    string `json:"id"`
	StatusQueryGetURI     string `json:"statusQueryGetUri"`
	SendEventPostURI      string `json:"sendEventPostUri"`
	TerminatePostURI      string `json:"terminatePostUri"`
	RewindPostURI         string `json:"rewindPostUri,omitempty"`
	PurgeHistoryDeleteURI string `json:"purgeHistoryDeleteUri"`
	RestartPostURI        string `json:"restartPostUri,omitempty"`
	SuspendPostURI        string `json:"suspendPostUri,omitempty"`
	ResumePostURI         string `json:"resumePostUri,omitempty"`
}

// clientBinding is the durableClient binding's value.
type clientBinding struct {
	TaskHubName    string          `json:"taskHubName"`
	CreationURLs   json.RawMessage `json:"creationUrls"`
	ManagementURLs *ManagementURLs `json:"managementUrls"`
	BaseURL        string          `json:"baseUrl"`
	RequiredQuery  string          `json:"requiredQueryStringParameters"`
	RPCBaseURL     string          `json:"rpcBaseUrl"`
}

// GetClient returns the client of ctx's invocation, from its
// durableClient input binding.
func GetClient(ctx context.Context) (*Client, error) {
	if bridge.DurableClientInput == nil {
		return nil, errNoClient
	}
	b, err := bridge.DurableClientInput(ctx)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errNoClient
	}
	return NewClient(b)
}

// NewClient returns the client a durableClient binding's value describes.
// Calls go to its rpcBaseUrl, else to its baseUrl with the required query
// parameters.
func NewClient(binding []byte) (*Client, error) {
	var b clientBinding
	if err := json.Unmarshal(binding, &b); err != nil {
		return nil, fmt.Errorf("durable: the durableClient binding: %w", err)
	}
	if b.TaskHubName == "" || b.CreationURLs == nil || b.ManagementURLs == nil {
		return nil, errors.New("durable: the durableClient binding lacks taskHubName, creationUrls or managementUrls")
	}
	c := &Client{TaskHubName: b.TaskHubName, urls: *b.ManagementURLs}
	base := b.RPCBaseURL
	if base == "" {
		base = strings.TrimSuffix(b.BaseURL, "/") + "/"
		q, err := url.ParseQuery(b.RequiredQuery)
		if err != nil {
			return nil, fmt.Errorf("durable: the durableClient binding's requiredQueryStringParameters: %w", err)
		}
		c.query = q
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("durable: the durableClient binding's base URL %q is not an absolute URL", base)
	}
	c.base = u
	return c, nil
}

// ErrInstanceNotFound is the error of a call about an instance (or
// entity) the host does not know.
var ErrInstanceNotFound = errors.New("durable: no such instance")

// StatusError is an answer of the host a call did not expect.
type StatusError struct {
	Method, URL string
	StatusCode  int
	Body        string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("durable: %s %s: the host answered %d: %s", e.Method, e.URL, e.StatusCode, strings.TrimSpace(e.Body))
}

// response is a read answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do calls the route rel (relative to the base, escaped by the caller)
// with query q; body, if not nil, is sent as JSON.
func (c *Client) do(ctx context.Context, method, rel string, q url.Values, body []byte, header http.Header) (*response, error) {
	u := c.base.ResolveReference(&url.URL{Path: unescape(rel), RawPath: rel})
	all := url.Values{}
	for k, v := range q {
		all[k] = v
	}
	for k, v := range c.query {
		all[k] = v
	}
	u.RawQuery = all.Encode()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, fmt.Errorf("durable: %s %s: %w", method, u, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("durable: %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("durable: %s %s: reading the answer: %w", method, u, err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func unescape(p string) string {
	s, err := url.PathUnescape(p)
	if err != nil {
		return p
	}
	return s
}

func (c *Client) unexpected(method, rel string, r *response) error {
	return &StatusError{Method: method, URL: c.base.String() + rel, StatusCode: r.status, Body: string(r.body)}
}

func esc(s string) string { return url.PathEscape(s) }

// StartNew starts an instance of the orchestrator name (options WithInput,
// WithInstanceID, WithVersion) and returns its instance id.
func (c *Client) StartNew(ctx context.Context, name string, opts ...Option) (string, error) {
	o := applyOptions("StartNew", opts, "WithInstanceID", "WithVersion")
	rel := "orchestrators/" + esc(name)
	if o.instanceID != "" {
		rel += "/" + esc(o.instanceID)
	}
	var q url.Values
	if o.version != "" {
		q = url.Values{"version": {o.version}}
	}
	var body []byte
	if o.hasInput {
		var err error
		if body, err = encodeValue(o.input); err != nil {
			return "", fmt.Errorf("durable: the input of a new %q: %w", name, err)
		}
	}
	r, err := c.do(ctx, http.MethodPost, rel, q, body, nil)
	if err != nil {
		return "", err
	}
	var cs struct {
		ID string `json:"id"`
	}
	if r.status > 202 || json.Unmarshal(r.body, &cs) != nil || cs.ID == "" {
		return "", c.unexpected(http.MethodPost, rel, r)
	}
	return cs.ID, nil
}

// RuntimeStatus is an instance's runtime status.
type RuntimeStatus string

// The runtime statuses.
const (
	StatusRunning        RuntimeStatus = "Running"
	StatusCompleted      RuntimeStatus = "Completed"
	StatusContinuedAsNew RuntimeStatus = "ContinuedAsNew"
	StatusFailed         RuntimeStatus = "Failed"
	StatusCanceled       RuntimeStatus = "Canceled"
	StatusTerminated     RuntimeStatus = "Terminated"
	StatusPending        RuntimeStatus = "Pending"
	StatusSuspended      RuntimeStatus = "Suspended"
)

// OrchestrationStatus is an instance's status.
type OrchestrationStatus struct {
	Name            string            `json:"name"`
	InstanceID      string            `json:"instanceId"`
	RuntimeStatus   RuntimeStatus     `json:"runtimeStatus"`
	Input           json.RawMessage   `json:"input"`
	CustomStatus    json.RawMessage   `json:"customStatus"`
	Output          json.RawMessage   `json:"output"`
	CreatedTime     time.Time         `json:"createdTime"`
	LastUpdatedTime time.Time         `json:"lastUpdatedTime"`
	HistoryEvents   []json.RawMessage `json:"historyEvents,omitempty"`
}

// StatusOptions choose what GetStatus includes. The zero value is the
// host's default: the input, no history.
type StatusOptions struct {
	ShowHistory       bool
	ShowHistoryOutput bool
	HideInput         bool
}

// GetStatus returns the status of instance id; ErrInstanceNotFound if the
// host does not know it. opts may be nil.
func (c *Client) GetStatus(ctx context.Context, id string, opts *StatusOptions) (*OrchestrationStatus, error) {
	if opts == nil {
		opts = &StatusOptions{}
	}
	rel := "instances/" + esc(id)
	q := url.Values{
		"showHistory":       {strconv.FormatBool(opts.ShowHistory)},
		"showHistoryOutput": {strconv.FormatBool(opts.ShowHistoryOutput)},
		"showInput":         {strconv.FormatBool(!opts.HideInput)},
	}
	r, err := c.do(ctx, http.MethodGet, rel, q, nil, nil)
	if err != nil {
		return nil, err
	}
	switch r.status {
	case http.StatusOK, http.StatusAccepted, http.StatusBadRequest, http.StatusInternalServerError:
		var s OrchestrationStatus
		if json.Unmarshal(r.body, &s) == nil && s.InstanceID != "" {
			return &s, nil
		}
	case http.StatusNotFound:
		return nil, fmt.Errorf("%w: %s", ErrInstanceNotFound, id)
	}
	return nil, c.unexpected(http.MethodGet, rel, r)
}

// StatusFilter selects instances. Zero fields do not filter.
type StatusFilter struct {
	CreatedTimeFrom, CreatedTimeTo time.Time
	RuntimeStatus                  []RuntimeStatus
	ShowInput                      bool
}

func (f *StatusFilter) query() url.Values {
	q := url.Values{}
	if !f.CreatedTimeFrom.IsZero() {
		q.Set("createdTimeFrom", formatTime(f.CreatedTimeFrom))
	}
	if !f.CreatedTimeTo.IsZero() {
		q.Set("createdTimeTo", formatTime(f.CreatedTimeTo))
	}
	if len(f.RuntimeStatus) > 0 {
		s := make([]string, len(f.RuntimeStatus))
		for i, st := range f.RuntimeStatus {
			s[i] = string(st)
		}
		q.Set("runtimeStatus", strings.Join(s, ","))
	}
	return q
}

// GetStatusAll returns the status of every instance.
func (c *Client) GetStatusAll(ctx context.Context) ([]*OrchestrationStatus, error) {
	return c.GetStatusBy(ctx, &StatusFilter{})
}

// GetStatusBy returns the status of the instances f selects, following
// the host's continuation tokens to the last page.
func (c *Client) GetStatusBy(ctx context.Context, f *StatusFilter) ([]*OrchestrationStatus, error) {
	q := f.query()
	q.Set("showInput", strconv.FormatBool(f.ShowInput))
	const tokenHeader = "X-Ms-Continuation-Token"
	var all []*OrchestrationStatus
	token := ""
	for {
		var h http.Header
		if token != "" {
			h = http.Header{tokenHeader: {token}}
		}
		r, err := c.do(ctx, http.MethodGet, "instances/", q, nil, h)
		if err != nil {
			return nil, err
		}
		if r.status != http.StatusOK {
			return nil, c.unexpected(http.MethodGet, "instances/", r)
		}
		var page []*OrchestrationStatus
		if err := json.Unmarshal(r.body, &page); err != nil {
			return nil, fmt.Errorf("durable: GET instances/: the answer: %w", err)
		}
		all = append(all, page...)
		next := r.header.Get(tokenHeader)
		if next == "" || next == "null" || next == token {
			return all, nil
		}
		token = next
	}
}

// instancePost posts to an instance's operation route and maps the
// status: ok are fine, 404 is ErrInstanceNotFound.
func (c *Client) instancePost(ctx context.Context, id, rel string, q url.Values, body []byte, ok ...int) (*response, error) {
	r, err := c.do(ctx, http.MethodPost, rel, q, body, nil)
	if err != nil {
		return nil, err
	}
	for _, s := range ok {
		if r.status == s {
			return r, nil
		}
	}
	if r.status == http.StatusNotFound {
		return nil, fmt.Errorf("%w: %s", ErrInstanceNotFound, id)
	}
	return nil, c.unexpected(http.MethodPost, rel, r)
}

// RaiseEvent sends the event name with data to instance id. Raising to a
// completed instance is not an error (the host answers 410 Gone).
func (c *Client) RaiseEvent(ctx context.Context, id, name string, data any) error {
	body, err := encodeValue(data)
	if err != nil {
		return fmt.Errorf("durable: the data of event %q: %w", name, err)
	}
	_, err = c.instancePost(ctx, id, "instances/"+esc(id)+"/raiseEvent/"+esc(name), nil, body, http.StatusAccepted, http.StatusGone)
	return err
}

func reason(r string) url.Values { return url.Values{"reason": {r}} }

// Terminate terminates instance id. Terminating an instance that already
// ended is not an error.
func (c *Client) Terminate(ctx context.Context, id, why string) error {
	_, err := c.instancePost(ctx, id, "instances/"+esc(id)+"/terminate", reason(why), nil, http.StatusAccepted, http.StatusGone)
	return err
}

// Suspend suspends instance id: events are kept until Resume.
func (c *Client) Suspend(ctx context.Context, id, why string) error {
	_, err := c.instancePost(ctx, id, "instances/"+esc(id)+"/suspend", reason(why), nil, http.StatusAccepted, http.StatusGone)
	return err
}

// Resume resumes a suspended instance id.
func (c *Client) Resume(ctx context.Context, id, why string) error {
	_, err := c.instancePost(ctx, id, "instances/"+esc(id)+"/resume", reason(why), nil, http.StatusAccepted, http.StatusGone)
	return err
}

// Rewind replays a failed instance id from its failed steps.
func (c *Client) Rewind(ctx context.Context, id, why string) error {
	rel := "instances/" + esc(id) + "/rewind"
	r, err := c.do(ctx, http.MethodPost, rel, reason(why), nil, nil)
	if err != nil {
		return err
	}
	switch r.status {
	case http.StatusAccepted:
		return nil
	case http.StatusNotFound:
		return fmt.Errorf("%w: %s", ErrInstanceNotFound, id)
	case http.StatusGone, http.StatusPreconditionFailed:
		return fmt.Errorf("durable: instance %s cannot be rewound: it has not failed: %w", id, c.unexpected(http.MethodPost, rel, r))
	case http.StatusNotImplemented:
		return fmt.Errorf("durable: the host's storage cannot rewind: %w", c.unexpected(http.MethodPost, rel, r))
	}
	return c.unexpected(http.MethodPost, rel, r)
}

// Restart starts instance id's orchestrator again with its original
// input, under the same id or (newID) a new one, and returns the id.
func (c *Client) Restart(ctx context.Context, id string, newID bool) (string, error) {
	rel := "instances/" + esc(id) + "/restart"
	r, err := c.instancePost(ctx, id, rel, url.Values{"restartWithNewInstanceId": {strconv.FormatBool(newID)}}, nil,
		http.StatusOK, http.StatusAccepted)
	if err != nil {
		return "", err
	}
	var cs struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(r.body, &cs) != nil || cs.ID == "" {
		return "", c.unexpected(http.MethodPost, rel, r)
	}
	return cs.ID, nil
}

func (c *Client) purge(ctx context.Context, rel string, q url.Values) (int, error) {
	r, err := c.do(ctx, http.MethodDelete, rel, q, nil, nil)
	if err != nil {
		return 0, err
	}
	switch r.status {
	case http.StatusNotFound:
		return 0, nil
	case http.StatusOK:
		var p struct {
			InstancesDeleted int `json:"instancesDeleted"`
		}
		if err := json.Unmarshal(r.body, &p); err != nil {
			return 0, fmt.Errorf("durable: DELETE %s: the answer: %w", rel, err)
		}
		return p.InstancesDeleted, nil
	}
	return 0, c.unexpected(http.MethodDelete, rel, r)
}

// Purge deletes instance id's history and status and returns how many
// instances it deleted (0 if the host did not know it).
func (c *Client) Purge(ctx context.Context, id string) (int, error) {
	return c.purge(ctx, "instances/"+esc(id), nil)
}

// PurgeBy deletes the instances f selects (CreatedTimeFrom is required)
// and returns how many.
func (c *Client) PurgeBy(ctx context.Context, f *StatusFilter) (int, error) {
	if f.CreatedTimeFrom.IsZero() {
		return 0, errors.New("durable: PurgeBy needs CreatedTimeFrom")
	}
	return c.purge(ctx, "instances/", f.query())
}

func entityRoute(id EntityID) string {
	key := id.Key
	if key == "" {
		key = "$"
	}
	return "entities/" + esc(id.Name) + "/" + esc(key)
}

// SignalEntity sends operation op to entity id (option WithInput).
func (c *Client) SignalEntity(ctx context.Context, id EntityID, op string, opts ...Option) error {
	o := applyOptions("SignalEntity", opts)
	var body []byte
	if o.hasInput {
		var err error
		if body, err = encodeValue(o.input); err != nil {
			return fmt.Errorf("durable: the input of signal %q to entity %s: %w", op, id, err)
		}
	}
	rel := entityRoute(id)
	r, err := c.do(ctx, http.MethodPost, rel, url.Values{"op": {op}}, body, nil)
	if err != nil {
		return err
	}
	if r.status != http.StatusAccepted {
		return c.unexpected(http.MethodPost, rel, r)
	}
	return nil
}

// ReadEntityState decodes entity id's state into v and says whether the
// entity exists.
func (c *Client) ReadEntityState(ctx context.Context, id EntityID, v any) (bool, error) {
	rel := entityRoute(id)
	r, err := c.do(ctx, http.MethodGet, rel, nil, nil, nil)
	if err != nil {
		return false, err
	}
	switch r.status {
	case http.StatusNotFound:
		return false, nil
	case http.StatusOK:
		if v != nil {
			if err := json.Unmarshal(r.body, v); err != nil {
				return true, fmt.Errorf("durable: the state of entity %s: %w", id, err)
			}
		}
		return true, nil
	}
	return false, c.unexpected(http.MethodGet, rel, r)
}

// CheckStatus returns instance id's management URLs as a check-status
// response shows them: with the origin of r (the request the function
// serves), as the JavaScript SDK does.
func (c *Client) CheckStatus(r *http.Request, id string) ManagementURLs {
	origin := ""
	if r != nil {
		scheme, host := r.URL.Scheme, r.URL.Host
		if p := r.Header.Get("X-Forwarded-Proto"); scheme == "" && p != "" {
			scheme = p
		}
		if scheme == "" {
			scheme = "http"
			if r.TLS != nil {
				scheme = "https"
			}
		}
		if host == "" {
			host = r.Host
		}
		if host != "" {
			origin = scheme + "://" + host
		}
	}
	placeholder := c.urls.ID
	fix := func(s string) string {
		if s == "" {
			return ""
		}
		if u, err := url.Parse(s); err == nil && origin != "" && u.Scheme != "" && u.Host != "" {
			s = origin + strings.TrimPrefix(s, u.Scheme+"://"+u.Host)
		}
		if placeholder != "" {
			s = strings.Replace(s, placeholder, esc(id), 1)
		}
		return s
	}
	m := c.urls
	return ManagementURLs{
		ID:                    id,
		StatusQueryGetURI:     fix(m.StatusQueryGetURI),
		SendEventPostURI:      fix(m.SendEventPostURI),
		TerminatePostURI:      fix(m.TerminatePostURI),
		RewindPostURI:         fix(m.RewindPostURI),
		PurgeHistoryDeleteURI: fix(m.PurgeHistoryDeleteURI),
		RestartPostURI:        fix(m.RestartPostURI),
		SuspendPostURI:        fix(m.SuspendPostURI),
		ResumePostURI:         fix(m.ResumePostURI),
	}
}

// CreateCheckStatusResponse answers r with 202 Accepted, the instance's
// management URLs as JSON, Location: its status URL and Retry-After: 10.
func (c *Client) CreateCheckStatusResponse(w http.ResponseWriter, r *http.Request, id string) {
	m := c.CheckStatus(r, id)
	w.Header().Set("Location", m.StatusQueryGetURI)
	w.Header().Set("Retry-After", "10")
	writeJSON(w, http.StatusAccepted, m)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := encodeValue(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// WaitOptions bound WaitForCompletionOrCreateCheckStatusResponse. Zero
// fields take the defaults, 10 s and 1 s.
type WaitOptions struct {
	Timeout, RetryInterval time.Duration
}

// WaitForCompletionOrCreateCheckStatusResponse polls instance id's status
// until it ends or the timeout passes, and answers r: Completed → 200 and
// the output; Canceled or Terminated → 200 and the status; Failed → 500
// and the status; still running → the check-status response. opts may be
// nil.
func (c *Client) WaitForCompletionOrCreateCheckStatusResponse(w http.ResponseWriter, r *http.Request, id string, opts *WaitOptions) error {
	timeout, interval := 10*time.Second, time.Second
	if opts != nil && opts.Timeout > 0 {
		timeout = opts.Timeout
	}
	if opts != nil && opts.RetryInterval > 0 {
		interval = opts.RetryInterval
	}
	if interval > timeout {
		return fmt.Errorf("durable: retry interval %v is longer than the timeout %v", interval, timeout)
	}
	ctx := r.Context()
	deadline := time.Now().Add(timeout)
	for {
		s, err := c.GetStatus(ctx, id, nil)
		if err != nil {
			return err
		}
		switch s.RuntimeStatus {
		case StatusCompleted:
			out := s.Output
			if out == nil {
				out = json.RawMessage("null")
			}
			writeJSON(w, http.StatusOK, out)
			return nil
		case StatusCanceled, StatusTerminated:
			writeJSON(w, http.StatusOK, s)
			return nil
		case StatusFailed:
			writeJSON(w, http.StatusInternalServerError, s)
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			c.CreateCheckStatusResponse(w, r, id)
			return nil
		}
		t := time.NewTimer(min(interval, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
