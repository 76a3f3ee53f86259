package httpapi

import (
	"log/slog"

	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/httpapi/mcpapi"
)

// MCPWebhook is the name of the MCP extension's webhook,
// /runtime/webhooks/mcp.
const MCPWebhook = "mcp"

// MCPHandler returns the MCP server of h's app: its tool and resource
// functions, served over streamable HTTP and SSE.
// Close it when the HTTP server shuts down (frontdoor's RegisterOnShutdown):
// it ends the SSE streams.
func MCPHandler(h *host.Host, log *slog.Logger) *mcpapi.Handler {
	return mcpapi.New(mcpapi.Options{Host: h, Logger: log})
}
