package httpworker

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/worker/internal/loopback"
)

// benchEnv starts a Worker whose logs are discarded.
func benchEnv(b *testing.B) *testEnv {
	root := b.TempDir()
	app := &funcd.App{
		Root:     root,
		Settings: map[string]string{},
		Host: funcd.HostConfig{CustomHandler: &funcd.CustomHandler{
			DefaultExecutablePath: handlerBin,
			WorkingDirectory:      root,
		}},
	}
	w := New(Config{App: app, Logger: slog.New(slog.DiscardHandler), HostVersion: testHostVersion})
	if err := w.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = w.Shutdown(context.Background()) })
	return &testEnv{app: app, w: w}
}

func benchInvocation() *funcd.Invocation {
	inv := httpInvocation(httpFunction("bench", "bench/{id}"), "POST", "/api/bench/1", "name=x", `{"name":"funcd"}`)
	inv.HTTP.Header = map[string][]string{
		"Content-Type": {"application/json"},
		"User-Agent":   {"bench"},
		"Accept":       {"*/*"},
	}
	id := "1"
	inv.HTTP.Params = map[string]*string{"id": &id}
	inv.Started = time.Now()
	return inv
}

// BenchmarkInvoke measures Invoke through the real test handler.
func BenchmarkInvoke(b *testing.B) {
	e := benchEnv(b)
	ctx := context.Background()
	if _, err := e.w.sup.Wait(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			inv := benchInvocation()
			res, err := e.w.Invoke(ctx, inv)
			if err != nil || res.HTTP == nil || res.HTTP.Status != 200 {
				b.Errorf("Invoke = %v, %v", res, err)
				return
			}
		}
	})
}

// BenchmarkDirect posts the same payload straight to the handler, the
// baseline Invoke is compared with.
func BenchmarkDirect(b *testing.B) {
	e := benchEnv(b)
	ctx := context.Background()
	p, err := e.w.sup.Wait(ctx)
	if err != nil {
		b.Fatal(err)
	}
	url := generationOf(p).base + "/bench"
	payload, err := appendPayload(nil, benchInvocation(), payloadEnv{now: time.Now(), guid: newGUID()})
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: loopback.New()}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	})
}

// BenchmarkPayload measures building the request payload alone.
func BenchmarkPayload(b *testing.B) {
	inv := benchInvocation()
	env := payloadEnv{now: time.Now(), guid: newGUID()}
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = appendPayload(buf[:0], inv, env); err != nil {
			b.Fatal(err)
		}
	}
}
