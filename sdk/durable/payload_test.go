package durable

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// hostPayload is an orchestration payload as the host writes it: every
// kind of event the replay reads, escaped inputs and results, unknown
// fields, nulls.
const hostPayload = `{"history":[
 {"EventType":12,"EventId":-1,"IsPlayed":false,"Timestamp":"2025-01-01T00:00:00Z"},
 {"EventType":0,"EventId":-1,"IsPlayed":true,"Timestamp":"2025-01-01T00:00:00.1234567Z","Name":"Chain","Version":"",
  "Input":"{\"city\":\"Tōkyō\\n\"}","OrchestrationInstance":{"InstanceId":"abc","ExecutionId":"e1"},"ParentInstance":null,"Tags":null,"Correlation":null},
 {"EventType":4,"EventId":0,"IsPlayed":false,"Timestamp":"2025-01-01T00:00:01","Name":"Inc","Input":"[1]"},
 {"EventType":13,"EventId":-1,"IsPlayed":false,"Timestamp":"2025-01-01T00:00:01Z"},
 {"EventType":5,"EventId":-1,"TaskScheduledId":0,"Result":"\"ok \\u00e9\"","Timestamp":"2025-01-01T00:00:02+02:00"},
 {"EventType":10,"EventId":1,"FireAt":"2025-01-02T00:00:00Z","Timestamp":"2025-01-01T00:00:02Z"},
 {"EventType":11,"EventId":-1,"TimerId":1,"FireAt":"2025-01-02T00:00:00Z","Timestamp":"2025-01-02T00:00:00Z"},
 {"EventType":15,"EventId":-1,"Name":"approve","Input":null,"Timestamp":"2025-01-02T00:00:00Z"},
 {"EventType":6,"EventId":-1,"TaskScheduledId":2,"Reason":"boom","Details":"at x","Timestamp":"2025-01-02T00:00:00Z"},
 {"EventType":7,"EventId":3,"Name":"Sub","InstanceId":"child","Input":"3","Timestamp":"2025-01-02T00:00:00Z"}
 ],
 "input":{"a":[1,2.5,true,null,"x"]},"instanceId":"abc","isReplaying":true,"parentInstanceId":null,
 "upperSchemaVersion":1,"upperSchemaVersionNew":2,"longRunningTimerIntervalDuration":"3.00:00:00",
 "maximumShortTimerDuration":"6.00:00:00","defaultHttpAsyncRequestSleepTimeMillseconds":30000}`

// TestDecodePayloadAsEncodingJSON: the direct reader gives what
// json.Unmarshal gives, for the host's payloads and for what it leaves to
// json.Unmarshal.
func TestDecodePayloadAsEncodingJSON(t *testing.T) {
	fastOnly := func(s string) bool {
		var p orchestrationPayload
		r := reader{b: []byte(s)}
		return json.Valid([]byte(s)) && r.payload(&p)
	}
	if !fastOnly(hostPayload) {
		t.Fatal("the host's payload is not read directly")
	}
	cases := []string{
		hostPayload,
		`{"history":[],"input":null,"instanceId":"i","upperSchemaVersion":null}`,
		`{"history":null,"input":"\"x\""}`,
		` { "history" : [ { "EventType" : 12 , "Timestamp" : "2025-01-01T00:00:00Z" } ] , "input" : 5 } `,
		// Left to encoding/json:
		`{"History":[{"EventType":12}]}`,
		`{"history":[{"eventtype":12,"Timestamp":"2025-01-01T00:00:00Z"}]}`,
		`{"history":[{"EventType":6,"FailureDetails":{"ErrorType":"E","ErrorMessage":"m"},"Timestamp":"2025-01-01T00:00:00Z"}]}`,
		`{"history":[null]}`,
		`{"history":[{"EventId":1.5}]}`,
		`{"history":[{"EventId":"1"}]}`,
		`{"history":[{"EventId":99999999999999999999}]}`,
		`{"history":[{"EventType":5,"Timestamp":"2025-01-01T00:00:00Z"}],"history":[{"EventId":3,"Timestamp":"2025-01-01T00:00:00Z"}]}`,
		`{"instanceId":"a\u0062c","isReplaying":"yes"}`,
		`{"instanceId":"` + "\xff" + `"}`,
		`{"history":[{"Timestamp":"not a time"}]}`,
		`{"history":[{"Timestamp":5}]}`,
		`{"input":{"a":1},"x":[{"y":"]"}]}`,
		`{"\u0069nput":1}`,
		`null`,
		`[]`,
		`{"history":[]} x`,
		`{"history":[`,
		``,
	}
	for _, c := range cases {
		var want, got orchestrationPayload
		wantErr := json.Unmarshal([]byte(c), &want)
		gotErr := decodePayload([]byte(c), &got)
		if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
			t.Errorf("%.60s: error %v, encoding/json's %v", c, gotErr, wantErr)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%.60s:\n got %+v\nwant %+v", c, got, want)
		}
	}
}

func FuzzDecodePayload(f *testing.F) {
	f.Add(hostPayload)
	f.Add(`{"history":[{"EventType":5,"Result":"\"\\ud83d\\ude00\""}],"input":[]}`)
	f.Add(strings.ReplaceAll(hostPayload, "Z\"", "+01:00\""))
	f.Fuzz(func(t *testing.T, s string) {
		var want, got orchestrationPayload
		wantErr := json.Unmarshal([]byte(s), &want)
		gotErr := decodePayload([]byte(s), &got)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("error %v, encoding/json's %v", gotErr, wantErr)
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v\nwant %+v", got, want)
		}
	})
}
