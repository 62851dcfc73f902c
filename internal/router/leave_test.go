package router

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestNoRequestFailsWhenTargetsLeaveInTheSameChangeAsTheWeights is a rollback's
// shape: one atomic change moves production to the other group and deregisters
// the targets of the group it leaves. Under concurrent load, over many flips, no
// request may get a 503 from the moment in between.
func TestNoRequestFailsWhenTargetsLeaveInTheSameChangeAsTheWeights(t *testing.T) {
	for _, v := range protocolVariants {
		t.Run(v.name, func(t *testing.T) { noFailureWhenTargetsLeave(t, v) })
	}
}

func noFailureWhenTargetsLeave(t *testing.T, v protocolVariant) {
	backend := func(body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, body) }))
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}
	blue, green := backend("blue"), backend("green")
	r := New(Options{})
	defer r.Close(t.Context())
	spec := ServiceSpec{
		Name: "web", ProductionListener: "127.0.0.1:0",
		HealthCheck:         HealthCheck{Path: "/", Interval: Duration(50 * time.Millisecond), Timeout: Duration(40 * time.Millisecond), HealthyThreshold: 1, UnhealthyThreshold: 3, Matcher: "200"},
		DeregistrationDelay: Duration(time.Second),
		TargetGroups:        []TargetGroupSpec{{Name: "g1", Targets: []TargetSpec{{ID: "b", Address: blue}}}, {Name: "g2"}},
		ProductionWeights:   map[string]int{"g1": 100},
	}
	client, scheme := v.prepare(t, &spec)
	st, err := r.Apply(spec)
	if err != nil {
		t.Fatal(err)
	}
	addr := st.ProductionAddress
	waitHealthy := func(id string) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, _ := r.Status("web")
			for _, g := range st.TargetGroups {
				for _, tg := range g.Targets {
					if tg.ID == id && tg.State == TargetHealthy {
						return
					}
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never healthy", id)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitHealthy("b")

	var total, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			client := client()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(scheme + addr + "/")
				total.Add(1)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				}
				if resp != nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		})
	}
	ids := []string{"b", "g"}
	addrs := []string{blue, green}
	for i := range 100 {
		from, to := i%2, (i+1)%2
		// Register the next target in the idle group, wait until healthy, then
		// move production and deregister the old target in one change.
		spec.TargetGroups[to].Targets = []TargetSpec{{ID: fmt.Sprintf("%s%d", ids[to], i), Address: addrs[to]}}
		if _, err := r.Apply(spec); err != nil {
			t.Fatal(err)
		}
		waitHealthy(fmt.Sprintf("%s%d", ids[to], i))
		spec.ProductionWeights = map[string]int{spec.TargetGroups[to].Name: 100}
		spec.TargetGroups[from].Targets = nil
		if _, err := r.Apply(spec); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || total.Load() < 500 {
		t.Fatalf("%d of %d requests failed", failed.Load(), total.Load())
	}
}
