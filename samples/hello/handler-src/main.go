// Command handler is the sample app's Azure Functions custom handler: a plain
// Go HTTP server that answers the host's invocation requests on the port in
// FUNCTIONS_CUSTOMHANDLER_PORT.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
)

// invokeRequest is what the host posts for each invocation.
type invokeRequest struct {
	Data     map[string]json.RawMessage
	Metadata map[string]json.RawMessage
}

// httpRequest is the shape of an HTTP trigger's value in Data.
type httpRequest struct {
	Method string
	Query  map[string]string
	Params map[string]*string
	Body   string
}

// invokeResponse is what the host expects back.
type invokeResponse struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// httpResponse is the value of an http output binding.
type httpResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       string            `json:"body"`
}

func main() {
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" {
		port = "8080"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hello", hello)
	mux.HandleFunc("POST /products", products)
	// stdout is the handler's information log; the host reads stderr as
	// errors.
	log.SetOutput(os.Stdout)
	log.Printf("sample handler listening on 127.0.0.1:%s", port)
	log.Fatal(http.ListenAndServe("127.0.0.1:"+port, mux))
}

func readRequest(w http.ResponseWriter, r *http.Request) (httpRequest, bool) {
	var in invokeRequest
	var req httpRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return req, false
	}
	if err := json.Unmarshal(in.Data["req"], &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return req, false
	}
	return req, true
}

func reply(w http.ResponseWriter, res httpResponse, logs ...string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(invokeResponse{Outputs: map[string]any{"res": res}, Logs: logs})
}

func hello(w http.ResponseWriter, r *http.Request) {
	req, ok := readRequest(w, r)
	if !ok {
		return
	}
	name := req.Query["name"]
	if name == "" {
		var body struct{ Name string }
		_ = json.Unmarshal([]byte(req.Body), &body)
		name = body.Name
	}
	greeting := os.Getenv("GREETING")
	if name == "" {
		reply(w, httpResponse{StatusCode: 200, Body: "This HTTP triggered function executed successfully. Pass a name in the query string or in the request body for a personalized response."})
		return
	}
	reply(w, httpResponse{StatusCode: 200, Body: greeting + ", " + name + ". This HTTP triggered function executed successfully."},
		"greeted "+name)
}

func products(w http.ResponseWriter, r *http.Request) {
	req, ok := readRequest(w, r)
	if !ok {
		return
	}
	body, _ := json.Marshal(map[string]any{"category": req.Params["category"], "id": req.Params["id"]})
	reply(w, httpResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(body)})
}
