package httpapi

import (
	"encoding/json"
	"io"
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
// its query.
func selfLinks(r *http.Request) []link {
	return []link{{Rel: "self", Href: baseURL(r) + r.URL.EscapedPath()}}
}

// keyOps is one scope's key operations: a host scope or one function's keys.
type keyOps struct {
	list   func() ([]keys.Key, error)
	get    func(name string) (keys.Key, error)
	set    func(name, value string) (keys.Key, bool, error)
	delete func(name string) error
}

func (s *Server) hostKeys(w http.ResponseWriter, r *http.Request, scope string, rest []string) {
	m, ctx := s.cfg.Host.Keys(), r.Context()
	s.keyRoute(w, r, rest, keyOps{
		list:   func() ([]keys.Key, error) { return m.HostKeys(ctx, scope) },
		get:    func(n string) (keys.Key, error) { return m.HostKey(ctx, scope, n) },
		set:    func(n, v string) (keys.Key, bool, error) { return m.SetHostKey(ctx, scope, n, v) },
		delete: func(n string) error { return m.DeleteHostKey(ctx, scope, n) },
	})
}

func (s *Server) functionKeys(w http.ResponseWriter, r *http.Request, fn string, rest []string) {
	gen := s.cfg.Host.Current()
	if gen == nil || gen.App.Function(fn) == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	fn = gen.App.Function(fn).Name
	m, ctx := s.cfg.Host.Keys(), r.Context()
	s.keyRoute(w, r, rest, keyOps{
		list:   func() ([]keys.Key, error) { return m.FunctionKeys(ctx, fn) },
		get:    func(n string) (keys.Key, error) { return m.FunctionKey(ctx, fn, n) },
		set:    func(n, v string) (keys.Key, bool, error) { return m.SetFunctionKey(ctx, fn, n, v) },
		delete: func(n string) error { return m.DeleteFunctionKey(ctx, fn, n) },
	})
}

// keyRoute serves GET on a scope (list) and GET/PUT/POST/DELETE on one key.
func (s *Server) keyRoute(w http.ResponseWriter, r *http.Request, rest []string, ops keyOps) {
	switch {
	case len(rest) == 0:
		if !allow(w, r, http.MethodGet) {
			return
		}
		list, err := ops.list()
		if err != nil {
			writeError(w, err)
			return
		}
		resp := keyListResponse{Keys: make([]keyResponse, 0, len(list)), Links: selfLinks(r)}
		for _, k := range list {
			resp.Keys = append(resp.Keys, keyResponse{Name: k.Name, Value: k.Value})
		}
		writeJSON(w, http.StatusOK, resp)
	case len(rest) == 1:
		s.keyItem(w, r, rest[0], ops)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (s *Server) keyItem(w http.ResponseWriter, r *http.Request, name string, ops keyOps) {
	switch r.Method {
	case http.MethodGet:
		k, err := ops.get(name)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, keyResponse{Name: k.Name, Value: k.Value, Links: selfLinks(r)})
	case http.MethodPut, http.MethodPost:
		value := ""
		if r.Method == http.MethodPut {
			var body struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			}
			raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
			if err != nil || json.Unmarshal(raw, &body) != nil || body.Value == "" {
				writeError(w, funcd.Errorf(funcd.EINVALID, "Invalid key value"))
				return
			}
			value = body.Value
		}
		k, created, err := ops.set(name, value)
		if err != nil {
			writeError(w, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
			w.Header().Set("Location", baseURL(r)+r.URL.EscapedPath())
		}
		writeJSON(w, status, keyResponse{Name: k.Name, Value: k.Value, Links: selfLinks(r)})
	case http.MethodDelete:
		if err := ops.delete(name); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		allow(w, r, http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete)
	}
}
