// Command handler is a custom handler with Durable Functions written by
// hand against funcd's durable wire contract (docs/DURABLE.md): Hello, an
// orchestrator that greets three cities one after the other, SayHello, its
// activity, and Start, an HTTP function that returns its durableClient
// binding so that the test can check it.
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
)

// request is the custom handler payload.
type request struct {
	Data     map[string]json.RawMessage
	Metadata map[string]json.RawMessage
}

// stringValue reads a JSON string. The host sends a string value in Data as
// the JSON string of its JSON text, so a value takes two.
func stringValue(raw json.RawMessage) (string, error) {
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ReturnValue": v})
}

type historyEvent struct {
	EventType       int
	TaskScheduledID int `json:"TaskScheduledId"`
	Result          *string
}

// hello replays the history: each completed task's result in order, then
// either the next call or the output.
func hello(w http.ResponseWriter, r *http.Request) {
	var req request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// The context is a JSON object.
	var ctx struct {
		History []historyEvent
		Input   json.RawMessage
	}
	if err := json.Unmarshal(req.Data["context"], &ctx); err != nil {
		http.Error(w, "context: "+err.Error(), http.StatusBadRequest)
		return
	}
	var greetings []string
	for _, ev := range ctx.History {
		if ev.EventType == 5 { // TaskCompleted
			var g string
			_ = json.Unmarshal([]byte(*ev.Result), &g)
			greetings = append(greetings, g)
		}
	}
	cities := []string{"Tokyo", "Seattle", "London"}
	var actions []map[string]any
	for i := 0; i <= len(greetings) && i < len(cities); i++ {
		// The input is any JSON value; the activity receives its JSON text.
		actions = append(actions, map[string]any{"actionType": 0, "functionName": "SayHello", "input": cities[i]})
	}
	state := map[string]any{"isDone": false, "actions": [][]map[string]any{actions}, "schemaVersion": 2,
		"customStatus": map[string]int{"greeted": len(greetings)}}
	if len(greetings) == len(cities) {
		state["isDone"], state["output"] = true, greetings
	}
	reply(w, state)
}

func sayHello(w http.ResponseWriter, r *http.Request) {
	var req request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	text, err := stringValue(req.Data["name"])
	if err != nil {
		http.Error(w, "name: "+err.Error(), http.StatusBadRequest)
		return
	}
	var name string
	if err := json.Unmarshal([]byte(text), &name); err != nil {
		http.Error(w, fmt.Sprintf("name %q is not JSON: %v", text, err), http.StatusBadRequest)
		return
	}
	reply(w, "Hello "+name+"!")
}

func start(w http.ResponseWriter, r *http.Request) {
	var req request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// A string binding value arrives as the JSON string of its JSON text.
	text, err := stringValue(req.Data["starter"])
	if err != nil {
		http.Error(w, "starter: "+err.Error(), http.StatusBadRequest)
		return
	}
	client, err := stringValue(json.RawMessage(text))
	if err != nil {
		http.Error(w, "starter: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"Outputs": map[string]any{"res": map[string]any{"statusCode": 200, "body": client}}})
}

func main() {
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	http.HandleFunc("/Hello", hello)
	http.HandleFunc("/SayHello", sayHello)
	http.HandleFunc("/Start", start)
	log.Fatal(http.ListenAndServe("127.0.0.1:"+port, nil))
}
