package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/host"
)

// admin serves the admin API. seg is the decoded path after /admin. As in
// the real host (MVC attribute routes under legacy routing), a route matches
// on its template and its verb before the key is checked: a request no admin
// route takes (an unknown path, or a verb the route does not accept) is left
// to the function routes, and admin reports false.
func (s *Server) admin(w http.ResponseWriter, r *http.Request, seg []string) bool {
	serve := s.adminRoute(r, seg)
	if serve == nil {
		return false
	}
	if !matchSegments(seg, "host", "ping") && !s.requireAdmin(w, r) {
		return true
	}
	serve(w, r)
	return true
}

// adminRoute returns the handler of the admin route that takes the request,
// or nil.
func (s *Server) adminRoute(r *http.Request, seg []string) http.HandlerFunc {
	m := r.Method
	get, post := m == http.MethodGet, m == http.MethodPost
	keyVerb := get || post || m == http.MethodPut || m == http.MethodDelete
	var scope string
	if len(seg) >= 2 {
		scope = hostKeyScope(seg[1])
	}
	if len(seg) >= 1 && strings.EqualFold(seg[0], "funcd") {
		return s.storageRoute(r, seg[1:])
	}
	switch {
	case matchSegments(seg, "host", "ping") && (get || post):
		return ping
	case matchSegments(seg, "host", "status") && get:
		return s.hostStatus
	case matchSegments(seg, "host", "synctriggers") && post:
		return s.syncTriggers
	case matchSegments(seg, "host", "restart") && post:
		return s.restart
	case matchSegments(seg, "warmup") && (get || post):
		return warmup
	case scope != "" && matchSegments(seg, "host", "") && get:
		return func(w http.ResponseWriter, r *http.Request) { s.keyList(w, r, s.hostKeyOps(r, scope)) }
	case scope != "" && matchSegments(seg, "host", "", "") && keyVerb:
		return func(w http.ResponseWriter, r *http.Request) { s.keyItem(w, r, seg[2], s.hostKeyOps(r, scope)) }
	case matchSegments(seg, "functions") && get:
		return s.listFunctions
	case matchSegments(seg, "functions", "") && get:
		return func(w http.ResponseWriter, r *http.Request) { s.getFunction(w, r, seg[1]) }
	case matchSegments(seg, "functions", "") && post:
		return func(w http.ResponseWriter, r *http.Request) { s.invokeFunction(w, r, seg[1]) }
	case matchSegments(seg, "functions", "", "status") && get:
		return func(w http.ResponseWriter, r *http.Request) { s.functionStatus(w, seg[1]) }
	case matchSegments(seg, "functions", "", "keys") && get:
		return func(w http.ResponseWriter, r *http.Request) {
			if ops, ok := s.functionKeyOps(w, r, seg[1]); ok {
				s.keyList(w, r, ops)
			}
		}
	case matchSegments(seg, "functions", "", "keys", "") && m == http.MethodPut:
		// The body is bound (415, 400) before the action looks the
		// function up (404).
		return func(w http.ResponseWriter, r *http.Request) {
			value, ok := readKeyBody(w, r)
			if !ok {
				return
			}
			if ops, ok := s.functionKeyOps(w, r, seg[1]); ok {
				s.putKey(w, r, seg[3], value, ops)
			}
		}
	case matchSegments(seg, "functions", "", "keys", "") && keyVerb:
		return func(w http.ResponseWriter, r *http.Request) {
			if ops, ok := s.functionKeyOps(w, r, seg[1]); ok {
				s.keyItem(w, r, seg[3], ops)
			}
		}
	}
	return nil
}

// ping answers GET and POST /admin/host/ping without a key, with the
// headers of [ResponseCache(NoStore = true, Location = None)].
func ping(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store,no-cache")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
}

// warmup answers GET and POST /admin/warmup as the real host does outside
// Elastic Premium and App Service plans, where the platform calls it as it
// adds an instance: there is no such platform here. A warmup function runs
// through POST /admin/functions/{name}.
func warmup(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, "This API is not available for the current hosting plan")
}

// syncTriggers has nothing to sync; like the real host it needs a running
// host.
func (s *Server) syncTriggers(w http.ResponseWriter, _ *http.Request) {
	gen, err := s.cfg.Host.Acquire()
	if err != nil {
		w.WriteHeader(statusOf(err))
		return
	}
	gen.Release()
	writeJSON(w, http.StatusOK, map[string]string{"status": "success"})
}

// hostStatusResponse is the real host's HostStatus: null and default members
// are omitted, except functionAppContentEditingState. "worker" is funcd's
// own, last, for clients that ignore members they do not know.
type hostStatusResponse struct {
	ID                             string                 `json:"id,omitempty"`
	State                          string                 `json:"state,omitempty"`
	Version                        string                 `json:"version,omitempty"`
	VersionDetails                 string                 `json:"versionDetails,omitempty"`
	PlatformVersion                string                 `json:"platformVersion,omitempty"`
	InstanceID                     string                 `json:"instanceId,omitempty"`
	ComputerName                   string                 `json:"computerName,omitempty"`
	ProcessUptime                  int64                  `json:"processUptime,omitempty"`
	FunctionAppContentEditingState string                 `json:"functionAppContentEditingState"`
	ExtensionBundle                *funcd.ExtensionBundle `json:"extensionBundle,omitempty"`
	Errors                         []string               `json:"errors,omitempty"`
	Worker                         *workerStatus          `json:"worker,omitempty"`
}

// workerStatus is the worker process part of funcd's host status.
type workerStatus struct {
	// State is NotStarted, Starting, Ready, Down (waiting to restart after
	// a failure), Failed (given up) or Stopped.
	State           string     `json:"state"`
	Pid             int        `json:"pid,omitempty"`
	RestartCount    int        `json:"restartCount"`
	FailuresInARow  int        `json:"failuresInARow"`
	LastFailure     string     `json:"lastFailure,omitempty"`
	LastFailureTime *time.Time `json:"lastFailureTime,omitempty"`
	NextRestartTime *time.Time `json:"nextRestartTime,omitempty"`
	ReadySince      *time.Time `json:"readySince,omitempty"`
}

func workerStatusOf(st host.Status) *workerStatus {
	hw := st.Worker
	if hw == nil {
		return nil
	}
	at := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	return &workerStatus{
		State:           string(hw.Phase),
		Pid:             hw.Pid,
		RestartCount:    hw.Restarts,
		FailuresInARow:  hw.Failures,
		LastFailure:     hw.LastFailure,
		LastFailureTime: at(hw.LastFailureAt),
		NextRestartTime: at(hw.NextStart),
		ReadySince:      at(hw.ReadySince),
	}
}

func (s *Server) hostStatus(w http.ResponseWriter, _ *http.Request) {
	st := s.cfg.Host.Status()
	writeJSON(w, http.StatusOK, hostStatusResponse{
		ID:                             st.ID,
		State:                          st.State.String(),
		Version:                        st.Version,
		VersionDetails:                 st.Version + " (funcd)",
		ComputerName:                   st.ComputerName,
		ProcessUptime:                  st.ProcessUptime.Milliseconds(),
		FunctionAppContentEditingState: "Unknown",
		ExtensionBundle:                st.ExtensionBundle,
		Errors:                         st.Errors,
		Worker:                         workerStatusOf(st),
	})
}

// restartResponse is what the real host answers to a restart request.
type restartResponse struct {
	IsSelfHost             bool   `json:"isSelfHost"`
	SecretsPath            string `json:"secretsPath"`
	ScriptPath             string `json:"scriptPath"`
	LogPath                string `json:"logPath"`
	TestDataPath           string `json:"testDataPath"`
	HasParentScope         bool   `json:"hasParentScope"`
	IsStandbyConfiguration bool   `json:"isStandbyConfiguration"`
	IsFileSystemReadOnly   bool   `json:"isFileSystemReadOnly"`
	IsScmRunFromPackage    bool   `json:"isScmRunFromPackage"`
}

// restart answers at once and reloads the app in the background; requests in
// flight finish on the old generation.
func (s *Server) restart(w http.ResponseWriter, _ *http.Request) {
	h := s.cfg.Host
	writeJSON(w, http.StatusOK, restartResponse{
		IsSelfHost:  true,
		SecretsPath: h.StateDir(),
		ScriptPath:  h.ScriptRoot(),
	})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := h.Restart(ctx); err != nil {
			s.log.Error("host restart failed; the previous configuration keeps running", "error", err)
		}
	}()
}

// invokeFunction runs a function in the background with the posted input, as
// the real host's POST /admin/functions/{name} does: 202 at once.
func (s *Server) invokeFunction(w http.ResponseWriter, r *http.Request, name string) {
	// Model binding (and its 415) comes before the running-host filter.
	if !requireJSONBody(w, r) {
		return
	}
	gen, err := s.cfg.Host.Acquire()
	if err != nil {
		w.WriteHeader(statusOf(err))
		return
	}
	// The body is bound before the action looks the function up.
	var body *struct {
		Input *string `json:"input"`
	}
	raw, err := readBody(w, r, gen.App.Host.HTTP.MaxRequestBodySize)
	if err != nil {
		gen.Release()
		writeBodyError(w, err)
		return
	}
	if json.Unmarshal(jsonText(r, raw), &body) != nil || body == nil {
		gen.Release()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	fn := gen.Function(name)
	if fn == nil {
		gen.Release()
		w.WriteHeader(http.StatusNotFound)
		return
	}
	input := ""
	if body.Input != nil {
		input = *body.Input
	}
	w.WriteHeader(http.StatusAccepted)
	if fn.HTTPTrigger() != nil {
		inv := &funcd.Invocation{ID: funcd.NewGUID(), Function: fn,
			HTTP: &funcd.HTTPRequest{Method: http.MethodPost, URL: requestURL(r), Path: r.URL.EscapedPath(), Header: map[string][]string{}, Body: []byte(input)}}
		go func() {
			defer gen.Release()
			res, _ := gen.Invoke(context.Background(), inv) // Invoke logs the outcome
			discardResult(res)
		}()
		return
	}
	// Other triggers run through the same pipeline as their listeners'
	// events (inputs, worker, outputs), once: no retries.
	go func() {
		defer gen.Release()
		_ = gen.InvokeManual(context.Background(), fn, input) // logged by the pipeline
	}()
}

// functionMetadata is the real host's FunctionMetadataResponse. It has no
// errors member: a function in error is listed like any other, and its
// errors are in /admin/functions/{name}/status.
type functionMetadata struct {
	Name               string          `json:"name"`
	ScriptRootPathHref string          `json:"script_root_path_href"`
	ScriptHref         *string         `json:"script_href"`
	ConfigHref         string          `json:"config_href"`
	TestDataHref       *string         `json:"test_data_href"`
	Href               string          `json:"href"`
	InvokeURLTemplate  *string         `json:"invoke_url_template"`
	Language           *string         `json:"language"`
	Config             json.RawMessage `json:"config"`
	Files              any             `json:"files"`
	TestData           *string         `json:"test_data"`
	IsDisabled         bool            `json:"isDisabled"`
	IsDirect           bool            `json:"isDirect"`
	IsProxy            bool            `json:"isProxy"`
}

func (s *Server) listFunctions(w http.ResponseWriter, r *http.Request) {
	gen := s.cfg.Host.Current()
	if gen == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	base := baseURL(r)
	if hn := gen.App.Settings["WEBSITE_HOSTNAME"]; hn != "" {
		base = "https://" + hn
	}
	listed := gen.Listed()
	out := make([]functionMetadata, 0, len(listed))
	for _, fn := range listed {
		out = append(out, metadataOf(gen, fn, base))
	}
	writeJSON(w, http.StatusOK, out)
}

// listedFunction returns the listed function with the given name
// (case-insensitive), or nil.
func listedFunction(gen *host.Generation, name string) *funcd.Function {
	for _, fn := range gen.Listed() {
		if strings.EqualFold(fn.Name, name) {
			return fn
		}
	}
	return nil
}

func (s *Server) getFunction(w http.ResponseWriter, r *http.Request, name string) {
	gen := s.cfg.Host.Current()
	if gen == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	fn := listedFunction(gen, name)
	if fn == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, metadataOf(gen, fn, baseURL(r)))
}

func metadataOf(gen *host.Generation, fn *funcd.Function, base string) functionMetadata {
	m := functionMetadata{
		Name:               fn.Name,
		ScriptRootPathHref: base + "/admin/vfs/" + fn.Name + "/",
		ConfigHref:         base + "/admin/vfs/" + fn.Name + "/function.json",
		Href:               base + "/admin/functions/" + fn.Name,
		Config:             fn.Config,
		IsDisabled:         fn.Disabled,
	}
	if len(m.Config) == 0 {
		m.Config = json.RawMessage("{}")
	}
	if fn.ScriptFile != "" {
		href := base + "/admin/vfs/" + strings.TrimPrefix(pathJoin(fn.Name, fn.ScriptFile), "/")
		m.ScriptHref = &href
	}
	if fn.HTTPTrigger() != nil {
		u := strings.ToLower(base + "/" + gen.RouteTemplate(fn))
		m.InvokeURLTemplate = &u
	}
	return m
}

// pathJoin joins a function folder and its scriptFile as the real host does
// (scriptFile is relative to the function's folder).
func pathJoin(dir, file string) string {
	file = strings.ReplaceAll(file, "\\", "/")
	for strings.HasPrefix(file, "../") {
		file = strings.TrimPrefix(file, "../")
		dir = ""
	}
	if dir == "" {
		return strings.TrimPrefix(file, "./")
	}
	return dir + "/" + strings.TrimPrefix(file, "./")
}

func (s *Server) functionStatus(w http.ResponseWriter, name string) {
	gen := s.cfg.Host.Current()
	if gen == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	fn := gen.App.Function(name)
	if fn == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	// The real host reports errors of the functions it tried to create: an
	// allow list leaves the others out, and they answer as listed (an
	// empty status) or unknown (404).
	if fn.NotAllowed {
		if fn.Unreadable {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	if fn.OK() {
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	errs := make([]string, len(fn.Errors))
	for i, e := range fn.Errors {
		errs[i] = e.Error()
	}
	writeJSON(w, http.StatusOK, map[string][]string{"errors": errs})
}

// baseURL is scheme://host of the request.
func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}
