package httpapi

import (
	"net/http"
	"strings"

	"github.com/funcd/funcd/host"
)

// homepage answers a request to "/" that no function took, whatever its
// method, as the real host does: a small HTML page (ContentResult with
// Content-Type "text/html"), or 204 when AzureWebJobsDisableHomepage is
// true.
func (s *Server) homepage(w http.ResponseWriter, r *http.Request, gen *host.Generation) {
	if strings.EqualFold(gen.App.Settings["AzureWebJobsDisableHomepage"], "true") {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(homepageHTML))
	}
}

const homepageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Your Functions 4.0 app is up and running</title>
<style>body{font-family:system-ui,sans-serif;margin:4rem auto;max-width:40rem;color:#222}h1{font-weight:600}</style>
</head>
<body>
<h1>Your Functions 4.0 app is up and running</h1>
<p>This function app is served by funcd, a self-hosted Azure Functions host.</p>
</body>
</html>
`
