package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/trigger"
	"github.com/greenlight-ci/greenlight/internal/webhook"
)

// BenchmarkDeliveryToDecision measures greenlight's side of "a webhook starts an
// execution": verify, parse and remember a signed push delivery (a real SQLite
// insert), then decide on a pipeline with a trigger. The baseline in the same run
// is the signature check alone.
func BenchmarkDeliveryToDecision(b *testing.B) {
	def, err := manifest.Load("../../examples/orders-service/greenlight.yaml")
	if err != nil {
		b.Fatal(err)
	}
	def.Dir = filepath.Join(b.TempDir(), "orders-service") // the example's Repository: . names the repository
	push := testdataB(b, "push.json")
	sig := webhook.Sign(secret, push)

	b.Run("signature only", func(b *testing.B) {
		for b.Loop() {
			if _, err := webhook.Verify(sig, push, secret); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("receive and decide", func(b *testing.B) {
		r, _ := newReceiver(b)
		i := 0
		for b.Loop() {
			i++
			// Every push is another one (a replayed payload is refused): its
			// own body, signed as GitHub signs it.
			body := bytes.Replace(push, []byte("{"), fmt.Appendf(nil, `{"bench_push": %d, `, i), 1)
			h := headers("application/json", "push", fmt.Sprintf("bench-%d", i), webhook.Sign(secret, body))
			d, err := r.Receive(context.Background(), h, bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			if dec := trigger.Decide(def, *d.Trigger); !dec.Start() {
				b.Fatalf("not started: %s", dec.Reason)
			}
			if err := r.Finish(context.Background(), d, webhook.OutcomeStarted, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
