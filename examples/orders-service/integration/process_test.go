//go:build integration

package integration

import (
	"net"
	"strings"
	"testing"
	"time"
)

// TestBadReleaseFailsOrdersNotHealth is the one-line bad release: FAIL_RATE in the
// task definition. Health checks pass, so only hooks and alarms can catch it.
func TestBadReleaseFailsOrdersNotHealth(t *testing.T) {
	svc := startService(t, "FAIL_RATE=1")
	var e errorBody
	if code := request(t, "GET", svc.url+"/orders", "", &e); code != 500 || !strings.Contains(e.Error, "FAIL_RATE=1") {
		t.Fatalf("GET /orders = %d %+v, want 500", code, e)
	}
	if code := request(t, "GET", svc.url+"/health", "", nil); code != 200 {
		t.Fatalf("GET /health = %d, want 200 even for a bad release", code)
	}
	code, _, errOut := runBinary(t, nil, "smoke", svc.url)
	if code != 1 || !strings.Contains(errOut, "smoke: FAIL against "+svc.url) || !strings.Contains(errOut, "status 500") {
		t.Fatalf("smoke against a bad release exited %d: %s", code, errOut)
	}
}

func TestHalfFailingReleaseIsCaughtBySmoke(t *testing.T) {
	svc := startService(t, "FAIL_RATE=0.5")
	failures := 0
	for range 200 {
		if code := request(t, "GET", svc.url+"/orders", "", nil); code == 500 {
			failures++
		}
	}
	// 200 draws at p=0.5: outside [60, 140] has odds below 1e-8.
	if failures < 60 || failures > 140 {
		t.Fatalf("%d of 200 requests failed with FAIL_RATE=0.5", failures)
	}
	// Twenty rounds: 62 requests, so the smoke test cannot pass by luck.
	if code, _, errOut := runBinary(t, nil, "smoke", "-rounds", "20", svc.url); code != 1 {
		t.Fatalf("smoke against FAIL_RATE=0.5 exited %d: %s", code, errOut)
	}
}

// TestGracefulShutdownOnSIGTERM: a request in flight when SIGTERM arrives is
// answered; then the process exits 0 and stops listening.
func TestGracefulShutdownOnSIGTERM(t *testing.T) {
	svc := startService(t, "LATENCY_MS=1500")
	type answer struct {
		code int
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		code, err := post(svc.url+"/orders", `{"customer":"drain","items":[{"sku":"A","quantity":1,"price_cents":10}]}`)
		answered <- answer{code, err}
	}()
	waitInFlight(t, svc.url)
	if err := svc.stop(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v, want status 0\n%s", err, svc.stderr.String())
	}
	select {
	case a := <-answered:
		if a.err != nil || a.code != 201 {
			t.Fatalf("in-flight request: status %d, error %v; want 201", a.code, a.err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("in-flight request never answered")
	}
	var sawShutdown bool
	for line := range svc.logs {
		if line["msg"] == "shutting down" && line["in_flight"] == float64(1) {
			sawShutdown = true
		}
	}
	if !sawShutdown {
		t.Fatal(`no "shutting down" log line with in_flight=1`)
	}
	if conn, err := net.Dial("tcp", strings.TrimPrefix(svc.url, "http://")); err == nil {
		conn.Close()
		t.Fatal("still listening after exit")
	}
}

// waitInFlight polls /stats until an /orders request is being handled.
func waitInFlight(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var stats struct {
			OrdersInFlight int `json:"orders_in_flight"`
		}
		request(t, "GET", url+"/stats", "", &stats)
		if stats.OrdersInFlight > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow request never showed in /stats")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRefusesToStartOnBadEnvironment(t *testing.T) {
	code, _, errOut := runBinary(t, []string{"FAIL_RATE=lots", "LATENCY_MS=-5", "PORT=0"})
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, want := range []string{
		"refusing to start, bad environment",
		`FAIL_RATE="lots": must be a number from 0 to 1`,
		`LATENCY_MS="-5": must be an integer number of milliseconds from 0 to 60000`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}
