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

// admin routes /admin/... requests. Literal segments match case-insensitively
// as ASP.NET routes do; a wrong verb on a known route is 405.
func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/")[1:] // drop "admin"
	is := func(i int, lit string) bool { return i < len(seg) && strings.EqualFold(seg[i], lit) }

	// The only route without the master key.
	if len(seg) == 2 && is(0, "host") && is(1, "ping") {
		if !allow(w, r, http.MethodGet, http.MethodPost) {
			return
		}
		w.Header().Set("Cache-Control", "no-store, no-cache")
		w.WriteHeader(http.StatusOK)
		return
	}
	if !s.requireAdmin(w, r) {
		return
	}
	switch {
	case len(seg) == 2 && is(0, "host") && is(1, "status"):
		if allow(w, r, http.MethodGet) {
			s.hostStatus(w, r)
		}
	case len(seg) == 2 && is(0, "host") && is(1, "synctriggers"):
		if allow(w, r, http.MethodPost) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "success"})
		}
	case len(seg) == 2 && is(0, "host") && is(1, "restart"):
		if allow(w, r, http.MethodPost) {
			s.restart(w, r)
		}
	case len(seg) >= 2 && is(0, "host") && hostKeyScope(seg[1]) != "":
		s.hostKeys(w, r, hostKeyScope(seg[1]), seg[2:])
	case len(seg) == 1 && is(0, "functions"):
		if allow(w, r, http.MethodGet) {
			s.listFunctions(w, r)
		}
	case len(seg) == 2 && is(0, "functions"):
		switch r.Method {
		case http.MethodGet:
			s.getFunction(w, r, seg[1])
		case http.MethodPost:
			s.invokeFunction(w, r, seg[1])
		default:
			allow(w, r, http.MethodGet, http.MethodPost)
		}
	case len(seg) == 3 && is(0, "functions") && is(2, "status"):
		if allow(w, r, http.MethodGet) {
			s.functionStatus(w, seg[1])
		}
	case len(seg) >= 3 && is(0, "functions") && is(2, "keys"):
		s.functionKeys(w, r, seg[1], seg[3:])
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// allow answers 405 unless the request's method is one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	w.WriteHeader(http.StatusMethodNotAllowed)
	return false
}

// hostStatusResponse is the real host's HostStatus: null and default members
// are omitted, except functionAppContentEditingState.
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
	gen, err := s.cfg.Host.Acquire()
	if err != nil {
		w.WriteHeader(statusOf(err))
		return
	}
	fn := gen.Function(name)
	if fn == nil {
		gen.Release()
		w.WriteHeader(http.StatusNotFound)
		return
	}
	var body struct {
		Input *string `json:"input"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, gen.App.Host.HTTP.MaxRequestBodySize))
	if err != nil || len(raw) == 0 || json.Unmarshal(raw, &body) != nil {
		gen.Release()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	input := ""
	if body.Input != nil {
		input = *body.Input
	}
	value, _ := json.Marshal(input)
	inv := &funcd.Invocation{ID: newInvocationID(), Function: fn, TriggerValue: value}
	if fn.HTTPTrigger() != nil {
		inv.HTTP = &funcd.HTTPRequest{Method: http.MethodPost, URL: requestURL(r), Path: r.URL.EscapedPath(), Header: map[string][]string{}, Body: []byte(input)}
	}
	w.WriteHeader(http.StatusAccepted)
	go func() {
		defer gen.Release()
		_, _ = gen.Invoke(context.Background(), inv) // Invoke logs the outcome
	}()
}

// functionMetadata is the real host's FunctionMetadataResponse.
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
	out := make([]functionMetadata, 0, len(gen.Functions()))
	for _, fn := range gen.Functions() {
		out = append(out, metadataOf(gen, fn, base))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getFunction(w http.ResponseWriter, r *http.Request, name string) {
	gen := s.cfg.Host.Current()
	if gen == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	fn := gen.Function(name)
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
