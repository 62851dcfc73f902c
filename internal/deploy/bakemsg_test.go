package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/alarm"
)

// TestBakeProgressPastTheWindowSaysWhatItWaitsFor: once the window has passed
// with every alarm OK but not yet evaluated on its last slot, the progress
// line says so, not "waiting for alarms OK".
func TestBakeProgressPastTheWindowSaysWhatItWaitsFor(t *testing.T) {
	start := time.Now()
	b := newBakeClock(start, 3*time.Second)
	ok := []alarm.Evaluation{{Alarm: "orders-error-rate", State: alarm.StateOK}, {Alarm: "orders-p99-latency", State: alarm.StateOK}}
	if got, want := bakeProgressMessage(b, start.Add(time.Second), ok), "baking 1s/3s, alarms OK"; got != want {
		t.Errorf("in the window: %q, want %q", got, want)
	}
	got := bakeProgressMessage(b, start.Add(3100*time.Millisecond), ok)
	if want := "baked 3s/3s, waiting for the alarms' evaluation of the window's end"; got != want {
		t.Errorf("past the window, alarms OK: %q, want %q", got, want)
	}
	late := []alarm.Evaluation{ok[0], {Alarm: "orders-p99-latency", State: alarm.StateInsufficientData}}
	if got := bakeProgressMessage(b, start.Add(3100*time.Millisecond), late); !strings.HasSuffix(got, "waiting for alarm orders-p99-latency INSUFFICIENT_DATA") {
		t.Errorf("past the window, an alarm without data: %q", got)
	}
}
