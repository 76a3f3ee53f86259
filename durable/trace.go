package durable

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
)

// TraceRecord is one orchestrator episode as Options.TraceDir keeps it:
// what the orchestrator function was given and what it returned. A
// directory of them is what an SDK's author reads to see the wire
// protocol at work, and what the replay conformance tests replay.
type TraceRecord struct {
	Function   string `json:"function"`
	InstanceID string `json:"instanceId"`
	// Request is the orchestrationTrigger value (OrchestrationPayload).
	Request json.RawMessage `json:"request"`
	// Reply is the function's return value (an OrchestratorState), as
	// JSON when it was JSON and as a JSON string otherwise; Error the
	// function's failure when it failed.
	Reply json.RawMessage `json:"reply,omitempty"`
	Error string          `json:"error,omitempty"`
}

// trace writes an episode to
// <TraceDir>/<hub>/<instance id>/<execution id>-<history length>.json,
// the path segments escaped. Tracing is a diagnostic: a write that fails
// is logged once per episode and does not fail the orchestration.
func (e *Engine) trace(inst *Instance, historyLen int, payload, reply []byte, failure error) {
	rec := TraceRecord{Function: inst.Name, InstanceID: inst.ID, Request: payload}
	switch {
	case failure != nil:
		rec.Error = failure.Error()
	case json.Valid(reply):
		rec.Reply = reply
	default:
		rec.Reply, _ = json.Marshal(string(reply))
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err == nil {
		dir := filepath.Join(e.opts.TraceDir, url.PathEscape(e.opts.Hub), url.PathEscape(inst.ID))
		if err = os.MkdirAll(dir, 0o755); err == nil {
			name := fmt.Sprintf("%s-%05d.json", url.PathEscape(inst.ExecutionID), historyLen)
			err = os.WriteFile(filepath.Join(dir, name), append(b, '\n'), 0o644)
		}
	}
	if err != nil {
		e.log.Warn("cannot write the orchestration trace", "instance", inst.ID, "dir", e.opts.TraceDir, "error", err)
	}
}
