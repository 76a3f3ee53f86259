package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/worker"
)

// The health endpoints are the real host's: /admin/health runs every check,
// /admin/health/live the liveness checks and /admin/health/ready the
// readiness checks. They sit in front of the rest of the pipeline (no host
// availability check, no CORS, no customHeaders), take the master key (401
// without a key, 403 with a lower one, no challenge header), accept
// ?wait={seconds} (at most 60) to wait for the host to be ready first, and
// answer 200 {"status":"Healthy"} or 503 {"status":"Unhealthy"}, or the
// detailed report with ?expand=true.

// Health check tags and names, as the real host spells them.
const (
	tagLiveness  = "az.functions.liveness"
	tagReadiness = "az.functions.readiness"

	checkWebHost    = "azure.functions.web_host.lifecycle"
	checkScriptHost = "azure.functions.script_host.lifecycle"
	// checkWorker is funcd's own readiness check: the real host has no
	// state in which its worker is down and the host keeps running.
	checkWorker = "funcd.worker.lifecycle"
)

// maxHealthWait is HealthCheckWaitMiddleware's cap on ?wait.
const maxHealthWait = 60 * time.Second

// healthResult is one check's outcome.
type healthResult struct {
	name        string
	tag         string
	healthy     bool
	description string
	exception   string
	data        map[string]any
}

// isHealthPath reports whether seg (the decoded path) is under
// /admin/health, the real host's StartsWithSegments test.
func isHealthPath(seg []string) bool {
	return len(seg) >= 2 && strings.EqualFold(seg[0], "admin") && strings.EqualFold(seg[1], "health")
}

// health answers a request under /admin/health; rest is the path after it.
func (s *Server) health(w http.ResponseWriter, r *http.Request, rest []string) {
	if !s.requireHealthKey(w, r) {
		return
	}
	if !s.healthWait(w, r) {
		return
	}
	var tag string
	switch {
	case len(rest) == 0:
	case len(rest) == 1 && strings.EqualFold(rest[0], "live"):
		tag = tagLiveness
	case len(rest) == 1 && strings.EqualFold(rest[0], "ready"):
		tag = tagReadiness
	default:
		w.WriteHeader(http.StatusNotFound)
		return
	}
	started := time.Now()
	var results []healthResult
	for _, res := range s.healthChecks() {
		if tag == "" || res.tag == tag {
			results = append(results, res)
		}
	}
	healthy := true
	for _, res := range results {
		healthy = healthy && res.healthy
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "Thu, 01 Jan 1970 00:00:00 GMT")
	status := http.StatusOK
	if !healthy {
		status = http.StatusServiceUnavailable
	}
	// bool.TryParse of the joined values: "true" in any case, spaces
	// around it allowed.
	if strings.EqualFold(strings.TrimSpace(strings.Join(r.URL.Query()["expand"], ",")), "true") {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(expandedReport(healthy, results, time.Since(started)))
		return
	}
	// The minimal writer sets no Content-Type (and net/http must not sniff
	// one).
	h["Content-Type"] = nil
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"status":"` + healthStatus(healthy) + `"}`))
}

func healthStatus(healthy bool) string {
	if healthy {
		return "Healthy"
	}
	return "Unhealthy"
}

// requireHealthKey is HealthCheckAuthMiddleware: the admin policy, failing
// with a bare 401 (no challenge) or 403.
func (s *Server) requireHealthKey(w http.ResponseWriter, r *http.Request) bool {
	c, err := s.authenticate(r, "")
	switch {
	case err != nil:
		s.log.Error("cannot check the request's key", "error", err)
		w.WriteHeader(statusOf(err))
		return false
	case c.level == funcd.AuthAdmin:
		return true
	case c.level == funcd.AuthAnonymous:
		w.WriteHeader(http.StatusUnauthorized)
	default:
		w.WriteHeader(http.StatusForbidden)
	}
	return false
}

// healthWait is HealthCheckWaitMiddleware: with ?wait={seconds}, wait up to
// that long (at most a minute) for the host to be ready, then go on either
// way. A value that is not a non-negative integer is 400.
func (s *Server) healthWait(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	if _, ok := q["wait"]; !ok {
		return true
	}
	raw := strings.Join(q["wait"], ",")
	n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 32)
	if err != nil || n < 0 {
		writeJSON(w, http.StatusBadRequest, errorResponse{
			Code: "BadArgument", Message: "'wait' query param must be a positive integer", Target: "wait=" + raw,
			Details: []errorResponse{}, AdditionalInfo: []any{},
		})
		return false
	}
	wait := min(time.Duration(n)*time.Second, maxHealthWait)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !s.ready() {
		select {
		case <-tick.C:
		case <-deadline.C:
			return true
		case <-r.Context().Done():
			return false
		}
	}
	return true
}

// errorResponse is the real host's ErrorResponse model.
type errorResponse struct {
	Code           string          `json:"code"`
	Message        string          `json:"message"`
	Target         string          `json:"target"`
	Details        []errorResponse `json:"details"`
	AdditionalInfo []any           `json:"additionalInfo"`
}

// ready reports whether every readiness check passes.
func (s *Server) ready() bool {
	for _, res := range s.healthChecks() {
		if res.tag == tagReadiness && !res.healthy {
			return false
		}
	}
	return true
}

// healthChecks runs every check, in the real host's registration order.
func (s *Server) healthChecks() []healthResult {
	st := s.cfg.Host.Status()
	return []healthResult{webHostCheck(st), scriptHostCheck(st), workerCheck(st)}
}

// webHostCheck is the liveness check: healthy while the host serves, until
// it shuts down.
func webHostCheck(st host.Status) healthResult {
	res := healthResult{name: checkWebHost, tag: tagLiveness, healthy: true}
	switch {
	case st.State == host.StateStopped:
		res.healthy, res.description = false, "Stopped"
	case st.ShuttingDown:
		res.healthy, res.description = false, "Stopping"
	}
	return res
}

// scriptHostCheck is ScriptHostHealthCheck: healthy when the host is
// Initialized or Running.
func scriptHostCheck(st host.Status) healthResult {
	res := healthResult{name: checkScriptHost, tag: tagReadiness}
	unhealthy := func(desc, code string) healthResult {
		res.description = desc
		res.data = map[string]any{"Area": "lifecycle", "ErrorCode": code}
		return res
	}
	switch st.State {
	case host.StateInitialized, host.StateRunning:
		res.healthy = true
		return res
	case host.StateDefault:
		return unhealthy("No script host available", "NoScriptHost")
	case host.StateStarting:
		return unhealthy("Script host not started", "Starting")
	case host.StateError:
		msg := strings.Join(st.Errors, "\n")
		res = unhealthy("Script host in error state: \n"+msg, "Faulted")
		res.exception = msg
		return res
	case host.StateStopping:
		return unhealthy("Script host stopping", "Stopping")
	case host.StateStopped:
		return unhealthy("Script host stopped", "Stopped")
	case host.StateOffline:
		return unhealthy("Script host offline", "Offline")
	}
	return unhealthy("Script host in unknown state", "Unknown")
}

// workerCheck is funcd's readiness check of the worker process: healthy
// when it serves or the app runs none.
func workerCheck(st host.Status) healthResult {
	res := healthResult{name: checkWorker, tag: tagReadiness, healthy: st.WorkerServing()}
	if res.healthy {
		return res
	}
	hw := st.Worker
	res.data = map[string]any{"Area": "lifecycle", "ErrorCode": string(hw.Phase), "RestartCount": hw.Restarts}
	switch hw.Phase {
	case worker.PhaseDown:
		res.description = "Worker process down; restarts at " + hw.NextStart.UTC().Format(time.RFC3339)
	case worker.PhaseStarting:
		res.description = "Worker process starting"
	default:
		res.description = "Worker process " + strings.ToLower(string(hw.Phase))
	}
	res.exception = hw.LastFailure
	return res
}

// expandedReport is HealthChecks.UI's report, which the real host writes for
// ?expand=true.
func expandedReport(healthy bool, results []healthResult, took time.Duration) []byte {
	type entry struct {
		Data        map[string]any `json:"data"`
		Description string         `json:"description,omitempty"`
		Duration    string         `json:"duration"`
		Exception   string         `json:"exception,omitempty"`
		Status      string         `json:"status"`
		Tags        []string       `json:"tags"`
	}
	var b bytes.Buffer
	b.WriteString(`{"status":"` + healthStatus(healthy) + `","totalDuration":"` + funcd.TimeSpan(took) + `","entries":{`)
	for i, res := range results {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(res.name)
		data := res.data
		if data == nil {
			data = map[string]any{}
		}
		e, _ := json.Marshal(entry{Data: data, Description: res.description, Duration: funcd.TimeSpan(0),
			Exception: res.exception, Status: healthStatus(res.healthy), Tags: []string{res.tag}})
		b.Write(name)
		b.WriteByte(':')
		b.Write(e)
	}
	b.WriteString("}}")
	return b.Bytes()
}
