package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/keys"
)

// hostKeyScope maps the second segment of /admin/host/{scope} to a key
// scope, or "" if it names none. /admin/host/keys is the function keys scope.
func hostKeyScope(seg string) string {
	switch strings.ToLower(seg) {
	case "keys", "functionkeys":
		return keys.ScopeFunctionKeys
	case "systemkeys":
		return keys.ScopeSystemKeys
	}
	return ""
}

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

type keyResponse struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Links []link `json:"links,omitempty"`
}

type keyListResponse struct {
	Keys  []keyResponse `json:"keys"`
	Links []link        `json:"links"`
}

// selfLinks is the "links" member of key responses: the request URL without
// its query, its path unescaped (the real host's GetBaseUri).
func selfLinks(r *http.Request) []link {
	return []link{{Rel: "self", Href: baseURL(r) + r.URL.Path}}
}

// keyOps is one scope's key operations: a host scope or one function's keys.
type keyOps struct {
	list   func() ([]keys.Key, error)
	get    func(name string) (keys.Key, error)
	set    func(name, value string) (keys.Key, bool, error)
	delete func(name string) error
}

// hostKeyOps is a host scope's key operations.
func (s *Server) hostKeyOps(r *http.Request, scope string) keyOps {
	m, ctx := s.cfg.Host.Keys(), r.Context()
	return keyOps{
		list:   func() ([]keys.Key, error) { return m.HostKeys(ctx, scope) },
		get:    func(n string) (keys.Key, error) { return m.HostKey(ctx, scope, n) },
		set:    func(n, v string) (keys.Key, bool, error) { return m.SetHostKey(ctx, scope, n, v) },
		delete: func(n string) error { return m.DeleteHostKey(ctx, scope, n) },
	}
}

// functionKeyOps is a function's key operations; it answers 404 and reports
// false when the function does not exist.
func (s *Server) functionKeyOps(w http.ResponseWriter, r *http.Request, fn string) (keyOps, bool) {
	gen := s.cfg.Host.Current()
	if gen == nil || gen.App.Function(fn) == nil {
		w.WriteHeader(http.StatusNotFound)
		return keyOps{}, false
	}
	fn = gen.App.Function(fn).Name
	m, ctx := s.cfg.Host.Keys(), r.Context()
	return keyOps{
		list:   func() ([]keys.Key, error) { return m.FunctionKeys(ctx, fn) },
		get:    func(n string) (keys.Key, error) { return m.FunctionKey(ctx, fn, n) },
		set:    func(n, v string) (keys.Key, bool, error) { return m.SetFunctionKey(ctx, fn, n, v) },
		delete: func(n string) error { return m.DeleteFunctionKey(ctx, fn, n) },
	}, true
}

// keyList answers GET on a scope.
func (s *Server) keyList(w http.ResponseWriter, r *http.Request, ops keyOps) {
	list, err := ops.list()
	if err != nil {
		writeError(w, r, err)
		return
	}
	resp := keyListResponse{Keys: make([]keyResponse, 0, len(list)), Links: selfLinks(r)}
	for _, k := range list {
		resp.Keys = append(resp.Keys, keyResponse{Name: k.Name, Value: k.Value})
	}
	writeJSON(w, http.StatusOK, resp)
}

// keyItem answers GET, PUT, POST and DELETE on one key.
func (s *Server) keyItem(w http.ResponseWriter, r *http.Request, name string, ops keyOps) {
	switch r.Method {
	case http.MethodGet:
		k, err := ops.get(name)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, keyResponse{Name: k.Name, Value: k.Value, Links: selfLinks(r)})
	case http.MethodPut:
		if value, ok := readKeyBody(w, r); ok {
			s.putKey(w, r, name, value, ops)
		}
	case http.MethodPost:
		s.putKey(w, r, name, "", ops)
	case http.MethodDelete:
		if err := ops.delete(name); err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// readKeyBody reads the {"name","value"} body of a PUT: 415 unless it is
// JSON, 400 "Invalid key value" without a value. It writes the failure and
// reports false.
func readKeyBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	if !requireJSONBody(w, r) {
		return "", false
	}
	var body struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	raw, err := readBody(w, r, 64<<10)
	if err != nil {
		writeBodyError(w, err)
		return "", false
	}
	if json.Unmarshal(jsonText(r, raw), &body) != nil || body.Value == "" {
		writeError(w, r, funcd.Errorf(funcd.EINVALID, "Invalid key value"))
		return "", false
	}
	return body.Value, true
}

// putKey sets a key to value, or to a new random value when value is "",
// answering 201 when it created the key and 200 when it replaced one.
func (s *Server) putKey(w http.ResponseWriter, r *http.Request, name, value string, ops keyOps) {
	k, created, err := ops.set(name, value)
	if err != nil {
		writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", selfLinks(r)[0].Href)
	}
	writeJSON(w, status, keyResponse{Name: k.Name, Value: k.Value, Links: selfLinks(r)})
}
