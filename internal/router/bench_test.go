package router

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// Benchmarks of the hot path through a real loopback backend. Compare
// BenchmarkProxyRouter with BenchmarkProxyDirect: the difference is the router's
// cost (client and backend costs are in both).

func benchBackend(b *testing.B) string {
	be := startBackend(b, "bench")
	return be.addr
}

func benchRouter(b *testing.B, targets int) string {
	r := newTestRouter(b)
	var ts []TargetSpec
	for i := range targets {
		be := startBackend(b, "bench")
		ts = append(ts, be.target(string(rune('a'+i))))
	}
	spec := twoGroupSpec("bench", ts, nil)
	st := mustApply(b, r, spec)
	for _, t := range ts {
		waitState(b, r, "bench", t.ID, TargetHealthy)
	}
	return st.ProductionAddress
}

func runGets(b *testing.B, url string) {
	c := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

func BenchmarkProxyDirect(b *testing.B) {
	runGets(b, "http://"+benchBackend(b)+"/small")
}

func BenchmarkProxyRouter(b *testing.B) {
	runGets(b, "http://"+benchRouter(b, 1)+"/small")
}

func BenchmarkProxyRouterThreeTargets(b *testing.B) {
	runGets(b, "http://"+benchRouter(b, 3)+"/small")
}

// BenchmarkProxyHandler calls the listener handler directly (no client socket),
// so allocations are the router's and the backend round trip's only.
func BenchmarkProxyHandler(b *testing.B) {
	r := newTestRouter(b)
	be := startBackend(b, "h")
	mustApply(b, r, twoGroupSpec("h", []TargetSpec{be.target("h1")}, nil))
	waitState(b, r, "h", "h1", TargetHealthy)
	r.mu.Lock()
	h := &listenerHandler{svc: r.services["h"]}
	r.mu.Unlock()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, _ := http.NewRequest(http.MethodGet, "http://bench/small", nil)
		req.RemoteAddr = "127.0.0.1:5555"
		w := &discardWriter{header: http.Header{}}
		for pb.Next() {
			clear(w.header)
			w.code = 0
			h.ServeHTTP(w, req)
			if w.code != http.StatusOK {
				b.Errorf("status %d", w.code)
				return
			}
		}
	})
}

type discardWriter struct {
	header http.Header
	code   int
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(b), nil
}
func (w *discardWriter) WriteHeader(code int) { w.code = code }
