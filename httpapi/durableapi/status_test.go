package durableapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/funcd/funcd/durable"
)

// HistoryEvents on every kind of event a history holds.
func TestHistoryEventsShapes(t *testing.T) {
	at := time.Date(2026, 3, 10, 13, 57, 31, 0, time.UTC)
	s := func(v string) *string { return &v }
	h := []durable.Event{
		{EventType: durable.OrchestratorStarted, EventID: -1, Timestamp: at},
		{EventType: durable.ExecutionStarted, EventID: -1, Timestamp: at, Name: "Hello", Input: s(`{"n":1}`),
			OrchestrationInstance: &durable.InstanceRef{InstanceID: "i", ExecutionID: "e"}},
		{EventType: durable.TaskScheduled, EventID: 0, Timestamp: at, Name: "SayHello", Input: s(`"Tokyo"`)},
		{EventType: durable.TimerCreated, EventID: 1, Timestamp: at, FireAt: at.Add(time.Minute)},
		{EventType: durable.OrchestratorCompleted, EventID: -1, Timestamp: at},
		{EventType: durable.TaskFailed, EventID: -1, Timestamp: at.Add(time.Second), TaskScheduledID: 0, Reason: "Activity function 'SayHello' failed: boom", Details: "stack"},
		{EventType: durable.TimerFired, EventID: -1, Timestamp: at.Add(time.Minute), TimerID: 1, FireAt: at.Add(time.Minute)},
		{EventType: durable.EventRaised, EventID: -1, Timestamp: at.Add(time.Minute), Name: "Approval", Input: s(`true`)},
		{EventType: durable.ExecutionTerminated, EventID: -1, Timestamp: at.Add(time.Minute), Input: s(`"Found a bug"`)},
		{EventType: durable.ExecutionCompleted, EventID: -1, Timestamp: at.Add(time.Minute), OrchestrationStatus: durable.Terminated, Result: s(`"Found a bug"`)},
	}
	// Inputs never show (the real extension drops them); results only
	// with showOutput.
	common := `[{"EventType":"ExecutionStarted","FunctionName":"Hello","Timestamp":"2026-03-10T13:57:31Z"},` +
		`{"EventType":"TimerCreated","FireAt":"2026-03-10T13:58:31Z","Timestamp":"2026-03-10T13:57:31Z"},` +
		`{"Details":"stack","EventType":"TaskFailed","FailureDetails":null,"FunctionName":"SayHello","Reason":"Activity function 'SayHello' failed: boom","ScheduledTime":"2026-03-10T13:57:31Z","Timestamp":"2026-03-10T13:57:32Z"},` +
		`{"EventType":"TimerFired","FireAt":"2026-03-10T13:58:31Z","Timestamp":"2026-03-10T13:58:31Z"},` +
		`{"EventType":"EventRaised","Name":"Approval","Timestamp":"2026-03-10T13:58:31Z"},` +
		`{"EventType":"ExecutionTerminated","Timestamp":"2026-03-10T13:58:31Z"},`
	for _, c := range []struct {
		showOutput bool
		want       string
	}{
		{false, common + `{"EventType":"ExecutionCompleted","FailureDetails":null,"OrchestrationStatus":"Terminated","Timestamp":"2026-03-10T13:58:31Z"}]`},
		{true, common + `{"EventType":"ExecutionCompleted","FailureDetails":null,"OrchestrationStatus":"Terminated","Result":"Found a bug","Timestamp":"2026-03-10T13:58:31Z"}]`},
	} {
		b, err := json.Marshal(HistoryEvents(h, c.showOutput))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("showOutput %v:\n got %s\nwant %s", c.showOutput, b, c.want)
		}
	}
}
