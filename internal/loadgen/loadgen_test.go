package loadgen

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoadCountsAnswersAndFailures(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%4 == 0 {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "v1")
	}))
	defer srv.Close()
	l := Start(srv.URL, Options{Workers: 4, NewConnections: true, Bodies: true})
	time.Sleep(200 * time.Millisecond)
	l.Stop()
	total, failed := l.Total(), l.Failed()
	if total < 20 || failed == 0 || failed > total/2 || l.Bodies()["v1"] != int(total-failed) {
		t.Fatalf("total %d failed %d bodies %v", total, failed, l.Bodies())
	}
	if first, last := l.FirstFailure(), l.LastFailure(); first.IsZero() || last.Before(first) || last.Equal(first) {
		t.Errorf("failures from %s to %s, want a span", first, last)
	}
	srv.Close()
	l2 := Start(srv.URL, Options{Workers: 1})
	time.Sleep(50 * time.Millisecond)
	l2.Stop()
	if l2.Failed() != l2.Total() || l2.Total() == 0 || int64(len(l2.Errors())) != l2.Total() {
		t.Fatalf("requests to a closed server: %s", l2)
	}
}
