package azstorage

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// probeTimeout bounds each step of AzuriteRunning's probe, so that a
// host deciding where UseDevelopmentStorage=true points does not wait long
// on a port nobody listens on.
const probeTimeout = time.Second

// AzuriteRunning reports whether a storage service answers at acct's blob
// and queue endpoints: a TCP dial to each, then an unsigned list request
// that Azurite (or Azure Storage) answers with its x-ms-request-id header,
// or Azurite's Server header, whatever the status. Any other listener on
// those ports (or none) is false. Each probe takes at most about a second
// and ctx can cut it shorter.
//
// The host calls it with DevelopmentAccount() to decide whether
// UseDevelopmentStorage=true means a running Azurite or the embedded store.
func AzuriteRunning(ctx context.Context, acct Account) bool {
	if acct.BlobEndpoint == "" || acct.QueueEndpoint == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*probeTimeout)
	defer cancel()
	results := make(chan bool, 2)
	for _, endpoint := range []string{acct.BlobEndpoint, acct.QueueEndpoint} {
		go func() { results <- probe(ctx, endpoint) }()
	}
	ok := true
	for range 2 {
		ok = <-results && ok
	}
	return ok
}

func probe(ctx context.Context, endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return false
	}
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	dialCtx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dialCtx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return false
	}
	conn.Close()

	list := *u
	list.RawQuery = "comp=list"
	reqCtx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, list.String(), nil)
	if err != nil {
		return false
	}
	client := &http.Client{
		// A storage service answers itself; a redirect is something else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.Header.Get("x-ms-request-id") != "" || strings.Contains(resp.Header.Get("Server"), "Azurite")
}
