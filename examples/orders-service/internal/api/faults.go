package api

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// Faults makes a release misbehave on purpose: the FAIL_RATE and LATENCY_MS knobs of
// the task definition.
type Faults struct {
	FailRate float64        // fraction of requests answered 500, 0..1
	Latency  time.Duration  // added before each request is handled
	Rand     func() float64 // uniform in [0, 1); nil means math/rand/v2.Float64
}

// Wrap applies the faults to next. A failed request never reaches next, as if the
// handler had crashed before doing anything.
func (f Faults) Wrap(next http.Handler) http.Handler {
	if f.FailRate <= 0 && f.Latency <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.Latency > 0 {
			t := time.NewTimer(f.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return // the client left; nobody reads an answer
			}
		}
		if f.fails() {
			writeJSON(w, http.StatusInternalServerError, ErrorBody{Error: fmt.Sprintf("injected failure (FAIL_RATE=%g)", f.FailRate)})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (f Faults) fails() bool {
	switch {
	case f.FailRate <= 0:
		return false
	case f.FailRate >= 1:
		return true
	case f.Rand == nil:
		return rand.Float64() < f.FailRate
	default:
		return f.Rand() < f.FailRate
	}
}
