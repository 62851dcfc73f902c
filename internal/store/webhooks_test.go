package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/webhook"
)

// Two processes claiming one delivery id at once (two servers on one state file,
// or GitHub retrying while the first attempt is in flight): exactly one wins.
func TestConcurrentClaimsOfOneDelivery(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	var dbs []*DB
	for range 2 {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs = append(dbs, db)
	}
	for round := range 20 {
		id := fmt.Sprintf("delivery-%d", round)
		var wg sync.WaitGroup
		wins := make(chan bool, 2)
		for _, db := range dbs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				prev, err := WebhookDeliveries{DB: db}.ClaimDelivery(ctx, webhook.Record{ID: id, Event: "push", Received: time.Now(), Outcome: webhook.OutcomeClaimed}, time.Now().Add(-time.Hour))
				if err != nil {
					t.Error(err)
				}
				wins <- prev == nil
			}()
		}
		wg.Wait()
		if a, b := <-wins, <-wins; a == b {
			t.Fatalf("round %d: both claims returned won=%v", round, a)
		}
	}
	n, err := WebhookDeliveries{DB: dbs[0]}.PruneDeliveries(ctx, time.Now().Add(time.Minute))
	if err != nil || n != 20 {
		t.Errorf("pruned %d, %v", n, err)
	}
}
