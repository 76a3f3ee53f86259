package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWebhookRest(t *testing.T) {
	for target, want := range map[string]string{
		"/runtime/webhooks/durabletask":                           "/",
		"/runtime/webhooks/durabletask/":                          "/",
		"/runtime/webhooks/DurableTask/instances/a%2Fb?code=k":    "/instances/a%2Fb",
		"/runtime/webhooks/durabletask/entities/Counter/$?op=add": "/entities/Counter/$",
	} {
		r := httptest.NewRequest("GET", target, nil)
		if got := webhookRest(r); got != want {
			t.Errorf("webhookRest(%s) = %q, want %q", target, got, want)
		}
	}
	s := New(Config{Webhooks: map[string]http.Handler{"durabletask": http.NotFoundHandler()}})
	if s.webhookHandler("DurableTask") == nil || s.webhookHandler("other") != nil {
		t.Error("webhookHandler does not match extension names case-insensitively")
	}
}
