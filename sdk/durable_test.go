package sdk

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/funcd/funcd/sdk/durable"
)

func TestDurableRegistrationMistakes(t *testing.T) {
	app := FunctionApp()
	mustPanic(t, "nil function", func() { app.Orchestration("o", nil) })
	mustPanic(t, "nil function", func() { app.Entity("e", nil) })
	mustPanic(t, `activity "a": an activity is a func(context.Context[, In]) ([Out, ]error), not func(string) string`,
		func() { app.Activity("a", func(s string) string { return s }) })
	f := app.HTTP("start", func(http.ResponseWriter, *http.Request) {}).DurableClient("client")
	mustPanic(t, "already has a durable client binding", func() { f.DurableClient("other") })
	mustPanic(t, `binding name "req"`, func() {
		app.HTTP("start2", func(http.ResponseWriter, *http.Request) {}).DurableClient("req")
	})
	app.Activity("ok", func(context.Context) error { return nil })
	mustPanic(t, "registered twice", func() { app.Activity("ok", func(context.Context) error { return nil }) })
}

func TestGetClientOutsideAnInvocation(t *testing.T) {
	if _, err := durable.GetClient(context.Background()); err == nil || !strings.Contains(err.Error(), "outside an invocation") {
		t.Errorf("GetClient outside an invocation: %v", err)
	}
}
