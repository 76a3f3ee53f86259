package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/httpapi/durableapi"
)

// DurableWebhook is the name of the Durable Functions extension's webhook,
// /runtime/webhooks/durabletask.
const DurableWebhook = "durabletask"

// DurableHandler returns the Durable Functions management API of h: it
// runs on the engine of the app h runs at the time of each request, and its
// URLs carry the durabletask_extension system key.
func DurableHandler(h *host.Host, log *slog.Logger) http.Handler {
	return durableapi.New(durableapi.Options{
		Engine: h.Durable,
		Key: func(ctx context.Context) (string, error) {
			km := h.Keys()
			if km == nil {
				return "", nil
			}
			return km.ExtensionKey(ctx, DurableWebhook)
		},
		MaxBody: func() int64 {
			if g := h.Current(); g != nil {
				return g.App.Host.HTTP.MaxRequestBodySize
			}
			return 0
		},
		Logger: log,
	})
}
