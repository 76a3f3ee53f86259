package durable

import (
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The replay conformance suite: orchestrator episodes recorded from real
// SDKs running on funcd (Options.TraceDir), one file per orchestration in
// testdata/replay/<sdk>/. Every recorded reply must replay against its
// recorded history, the events it schedules must be the ones the next
// episode's history holds, and the same reply with its tasks changed must
// fail as nondeterministic.
//
// To record them again: run the end-to-end tests with FUNCD_DURABLE_TRACE
// set to a folder per SDK (node, go, custom), then
//
//	go test ./durable -run TestReplayConformance -record /that/folder
var record = flag.String("record", "", "rebuild testdata/replay from a folder of orchestration traces")

// conformanceCase is one recorded orchestration instance.
type conformanceCase struct {
	SDK      string          `json:"sdk"`
	Function string          `json:"function"`
	Episodes []TraceRecord   `json:"episodes"`
	Comment  json.RawMessage `json:"comment,omitempty"`
}

var sdkNames = map[string]string{
	"node":   "durable-functions 3.5.0 on @azure/functions 4 (Node.js)",
	"go":     "funcd's Go SDK (sdk/durable)",
	"custom": "a custom handler written against docs/DURABLE.md",
}

func TestReplayConformance(t *testing.T) {
	if *record != "" {
		recordConformance(t, *record)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "replay", "*", "*.json"))
	if len(files) < 10 {
		t.Fatalf("only %d recorded orchestrations in testdata/replay", len(files))
	}
	mutated := 0
	for _, file := range files {
		t.Run(strings.TrimSuffix(strings.TrimPrefix(file, filepath.Join("testdata", "replay")+"/"), ".json"), func(t *testing.T) {
			var c conformanceCase
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			for i, ep := range c.Episodes {
				var next *TraceRecord
				if i+1 < len(c.Episodes) {
					next = &c.Episodes[i+1]
				}
				mutated += checkEpisode(t, fmt.Sprintf("%s episode %d", file, i), c.Function, &ep, next)
			}
		})
	}
	if mutated < 10 {
		t.Errorf("only %d nondeterministic replies were checked", mutated)
	}
}

var conformanceOpts = Options{MaxShortTimer: 6 * 24 * 3600e9, LongTimerInterval: 3 * 24 * 3600e9, MaxActions: 100000}

// checkEpisode replays one recorded episode and returns how many
// nondeterministic variants of it it checked.
func checkEpisode(t *testing.T, where, function string, ep, next *TraceRecord) int {
	t.Helper()
	var req OrchestrationPayload
	if err := json.Unmarshal(ep.Request, &req); err != nil {
		t.Fatalf("%s: request: %v", where, err)
	}
	started := startedEvent(req.History)
	if started == nil || started.OrchestrationInstance == nil {
		t.Fatalf("%s: no ExecutionStarted", where)
	}
	inst := &Instance{ID: req.InstanceID, ExecutionID: started.OrchestrationInstance.ExecutionID, Name: function}
	reply := replyBytes(ep.Reply)
	st, err := ParseOrchestratorResult(reply, ep.Error)
	if err != nil {
		t.Fatalf("%s: reply: %v", where, err)
	}
	p, err := replay(&conformanceOpts, inst, req.History, st)
	if err != nil {
		t.Fatalf("%s: the recorded reply does not replay: %v", where, err)
	}
	if next != nil {
		var nreq OrchestrationPayload
		if err := json.Unmarshal(next.Request, &nreq); err != nil {
			t.Fatalf("%s: next request: %v", where, err)
		}
		if nst := startedEvent(nreq.History); nst != nil && nst.OrchestrationInstance != nil &&
			nst.OrchestrationInstance.ExecutionID == inst.ExecutionID {
			// The next episode's history holds this one's, then the
			// events this reply scheduled.
			n := len(req.History)
			if len(nreq.History) < n+len(p.events) {
				t.Fatalf("%s: the next history has %d events, want at least %d", where, len(nreq.History), n+len(p.events))
			}
			for k, ev := range p.events {
				if got, want := eventKey(nreq.History[n+k]), eventKey(ev); got != want {
					t.Errorf("%s: scheduled event %d is %s, the next history has %s", where, k, want, got)
				}
			}
		}
	}
	if ep.Error != "" || !schedules(req.History) {
		return 0
	}
	// The same reply with every task renamed (and timers turned into
	// activities) no longer matches what the history recorded.
	var v any
	if err := json.Unmarshal(reply, &v); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	if !mutateActions(v) {
		return 0
	}
	bad, _ := json.Marshal(v)
	st, err = ParseOrchestratorResult(bad, "")
	if err != nil {
		t.Fatalf("%s: mutated reply: %v", where, err)
	}
	_, err = replay(&conformanceOpts, inst, req.History, st)
	if nd, ok := errors.AsType[*NondeterminismError](err); !ok {
		t.Errorf("%s: a reply with its tasks changed replayed with %v, want a nondeterminism error\nreply: %s", where, err, bad)
	} else if !strings.Contains(nd.Msg, "V2") && !strings.Contains(nd.Msg, "Delay") {
		t.Errorf("%s: the nondeterminism error %q does not name the changed task", where, nd.Msg)
	}
	return 1
}

func replyBytes(r json.RawMessage) []byte {
	var s string
	if json.Unmarshal(r, &s) == nil {
		return []byte(s)
	}
	return r
}

// schedules says whether a history records tasks the orchestrator
// scheduled, which its replies must schedule again.
func schedules(h []Event) bool {
	return slices.ContainsFunc(h, func(ev Event) bool {
		return ev.EventType == TaskScheduled || ev.EventType == SubOrchestrationInstanceCreated || ev.EventType == TimerCreated
	})
}

// mutateActions renames every activity and sub-orchestration call of an
// OrchestratorState and turns every timer into an activity call.
func mutateActions(v any) bool {
	changed := false
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			if at, ok := x["actionType"].(float64); ok {
				switch int(at) {
				case 0, 1, 2, 3:
					x["functionName"] = fmt.Sprint(x["functionName"]) + "V2"
					changed = true
				case 5:
					delete(x, "fireAt")
					x["actionType"], x["functionName"] = 0, "Delay"
					changed = true
				}
			}
			for k, e := range x {
				if k == "actions" || k == "compoundActions" {
					walk(e)
				}
			}
		}
	}
	walk(v)
	return changed
}

// eventKey is what two scheduling events must agree on.
func eventKey(ev Event) string {
	ev.Timestamp, ev.IsPlayed = ev.Timestamp.UTC().Truncate(0), false
	ev.Timestamp = ev.Timestamp.AddDate(-ev.Timestamp.Year()+1, 0, 0).Truncate(1 << 62) // ignore when
	b, _ := json.Marshal(ev)
	return string(b)
}

// recordConformance rebuilds testdata/replay from dir/<sdk>/<hub>/<instance>/*.json.
func recordConformance(t *testing.T, dir string) {
	for sdk := range sdkNames {
		byFunction := map[string][]TraceRecord{}
		instances, _ := filepath.Glob(filepath.Join(dir, sdk, "*", "*"))
		slices.Sort(instances)
		for _, inst := range instances {
			files, _ := filepath.Glob(filepath.Join(inst, "*.json"))
			var eps []TraceRecord
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				var r TraceRecord
				if err := json.Unmarshal(b, &r); err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				eps = append(eps, r)
			}
			slices.SortFunc(eps, func(a, b TraceRecord) int { return cmp.Compare(episodeOrder(a), episodeOrder(b)) })
			// One instance per function: the one with the most episodes.
			if len(eps) > len(byFunction[eps[0].Function]) {
				byFunction[eps[0].Function] = eps
			}
		}
		if len(byFunction) == 0 {
			continue
		}
		out := filepath.Join("testdata", "replay", sdk)
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		for fn, eps := range byFunction {
			b, err := json.MarshalIndent(conformanceCase{SDK: sdkNames[sdk], Function: fn, Episodes: eps}, "", " ")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(out, fn+".json"), append(b, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// episodeOrder orders the episodes of an instance: by the time its
// execution started, then by history length.
func episodeOrder(r TraceRecord) string {
	var req OrchestrationPayload
	_ = json.Unmarshal(r.Request, &req)
	started := ""
	for _, ev := range req.History {
		if ev.EventType == ExecutionStarted {
			started = ev.Timestamp.UTC().Format("2006-01-02T15:04:05.000000000")
			break
		}
	}
	return fmt.Sprintf("%s %08d", started, len(req.History))
}
