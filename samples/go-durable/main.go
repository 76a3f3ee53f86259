// Command go-durable is a sample Durable Functions app written with
// funcd's Go SDK: build it with `go build -o app .` in this folder and run
// it with `funcd start` (FUNCTIONS_WORKER_RUNTIME=golang).
//
// Its functions: start (POST /api/start: starts hello_cities and answers
// with the instance's management URLs), hello_cities (an orchestrator that
// greets three cities in sequence, then counts the greetings in parallel),
// say_hello and count_letters (activities), counter (an entity that
// hello_cities signals with each greeting's length).
package main

import (
	"context"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/funcd/funcd/sdk"
	"github.com/funcd/funcd/sdk/durable"
	"github.com/funcd/funcd/sdk/worker"
)

func main() {
	app := sdk.FunctionApp()
	app.HTTP("start", start, sdk.WithMethods("POST")).DurableClient("client")
	app.Orchestration("hello_cities", helloCities)
	app.Activity("say_hello", sayHello)
	app.Activity("count_letters", countLetters)
	app.Entity("counter", counter)
	worker.Start(app)
}

func start(w http.ResponseWriter, r *http.Request) {
	client, err := durable.GetClient(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	id, err := client.StartNew(r.Context(), "hello_cities", durable.WithInput([]string{"Tokyo", "Seattle", "Lima"}))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	client.CreateCheckStatusResponse(w, r, id)
}

func helloCities(ctx *durable.OrchestrationContext) (any, error) {
	var cities []string
	if err := ctx.GetInput(&cities); err != nil {
		return nil, err
	}
	greetings := make([]string, 0, len(cities))
	for _, c := range cities {
		var g string
		if err := ctx.CallActivity("say_hello", durable.WithInput(c)).Await(&g); err != nil {
			return nil, err
		}
		greetings = append(greetings, g)
		if err := ctx.SetCustomStatus(map[string]int{"greeted": len(greetings)}); err != nil {
			return nil, err
		}
	}
	tasks := make([]durable.Task, len(greetings))
	for i, g := range greetings {
		tasks[i] = ctx.CallActivity("count_letters", durable.WithInput(g))
	}
	var counts []int
	if err := durable.WhenAll(tasks...).Await(&counts); err != nil {
		return nil, err
	}
	for _, n := range counts {
		if err := ctx.SignalEntity(durable.NewEntityID("counter", "letters"), "add", durable.WithInput(n)); err != nil {
			return nil, err
		}
	}
	return greetings, nil
}

func sayHello(_ context.Context, city string) (string, error) {
	if city == "" {
		return "", fmt.Errorf("say_hello: no city")
	}
	return "Hello " + city + "!", nil
}

func countLetters(_ context.Context, s string) (int, error) {
	return utf8.RuneCountInString(s), nil
}

func counter(ctx *durable.EntityContext) error {
	var n int
	if err := ctx.GetState(&n); err != nil {
		return err
	}
	switch ctx.Operation() {
	case "add":
		var d int
		if err := ctx.GetInput(&d); err != nil {
			return err
		}
		return ctx.SetState(n + d)
	case "get":
		return ctx.Return(n)
	case "reset":
		ctx.DeleteState()
		return nil
	}
	return fmt.Errorf("counter: no operation %q", ctx.Operation())
}
