package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestRunLoad drives an httptest server for a moment and checks that every
// request succeeded and was timed.
func TestRunLoad(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/hello" {
					http.NotFound(w, r)
					return
				}
				if chunked {
					w.(http.Flusher).Flush() // forces chunked encoding
				}
				_, _ = io.WriteString(w, "Hello, World")
			}))
			defer srv.Close()
			res, err := Run(context.Background(), Config{
				Addr: strings.TrimPrefix(srv.URL, "http://"), Path: "/api/hello",
				Conns: 4, Duration: 200 * time.Millisecond, WantBody: "Hello, World",
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors != 0 || res.Requests == 0 {
				t.Fatalf("%d requests, %d errors (first: %v)", res.Requests, res.Errors, res.FirstErr)
			}
			if res.Latency.Count() != res.Requests {
				t.Errorf("histogram has %d values for %d requests", res.Latency.Count(), res.Requests)
			}
			p50, p99 := res.Latency.Quantile(0.5), res.Latency.Quantile(0.99)
			if p50 <= 0 || p99 < p50 || p99 > time.Second {
				t.Errorf("p50 %v, p99 %v", p50, p99)
			}
			if res.RPS() <= 0 || res.Elapsed < 200*time.Millisecond {
				t.Errorf("%.0f req/s over %v", res.RPS(), res.Elapsed)
			}
		})
	}
}

// TestRunLoadCountsFailures checks that a wrong status or body is counted as
// a failure, not as a request.
func TestRunLoadCountsFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") == "" {
			t.Error("no User-Agent")
		}
		_, _ = io.WriteString(w, "Goodbye")
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{
		Addr: strings.TrimPrefix(srv.URL, "http://"), Path: "/api/hello",
		Conns: 2, Duration: 50 * time.Millisecond, WantBody: "Hello, World",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 0 || res.Errors == 0 || res.FirstErr == nil {
		t.Fatalf("%d requests, %d errors (first: %v); want only errors", res.Requests, res.Errors, res.FirstErr)
	}
}

// TestHistogram checks bucket bounds and percentiles against exact values.
func TestHistogram(t *testing.T) {
	for _, v := range []uint64{0, 1, 255, 256, 257, 511, 512, 1000, 123456, 1 << 40, 1<<63 - 1} {
		i := bucketOf(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d, out of range", v, i)
		}
		got := bucketValue(i)
		if diff := float64(got) - float64(v); diff > float64(v)/128+1 || -diff > float64(v)/128+1 {
			t.Errorf("bucketValue(bucketOf(%d)) = %d, more than 1/128 off", v, got)
		}
	}
	var h Histogram
	for i := 1; i <= 10000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 1} {
		want := time.Duration(q*10000) * time.Microsecond
		got := h.Quantile(q)
		if d := got - want; d > want/200 || -d > want/200 {
			t.Errorf("quantile(%v) = %v, want %v ± 0.5%%", q, got, want)
		}
	}
}

// TestRunRequests checks that a request budget stops the run at exactly that
// many requests.
func TestRunRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{Addr: strings.TrimPrefix(srv.URL, "http://"), Path: "/", Conns: 3, Requests: 100})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 100 || res.Errors != 0 {
		t.Fatalf("%d requests, %d errors (first: %v); want 100, 0", res.Requests, res.Errors, res.FirstErr)
	}
}
