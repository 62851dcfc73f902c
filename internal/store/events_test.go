package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
)

func TestEventsAreStoredInOrderAndFiltered(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i, e := range []event.Event{
		{Kind: event.KindExecution, ExecutionID: "e1", Status: "InProgress"},
		{Kind: event.KindDeployment, ExecutionID: "e1", DeploymentID: "d-1", Status: "InProgress", Data: map[string]any{"weight": 10.0}},
		{Kind: event.KindAlarm, DeploymentID: "d-1", Name: "error-rate", Status: "ALARM"},
		{Kind: event.KindExecution, ExecutionID: "e2", Status: "InProgress"},
	} {
		e.Time = now.Add(time.Duration(i) * time.Millisecond)
		if _, err := db.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := db.Events(ctx, event.Query{})
	if len(all) != 4 || all[0].Seq >= all[1].Seq || !all[0].Time.Equal(now.Round(0).UTC()) && all[0].Time.Sub(now).Abs() > time.Microsecond {
		t.Fatalf("all events: %+v", all)
	}
	e1, _ := db.Events(ctx, event.Query{ExecutionID: "e1"})
	d1, _ := db.Events(ctx, event.Query{DeploymentIDs: []string{"d-1"}, Kinds: []event.Kind{event.KindAlarm}})
	after, _ := db.Events(ctx, event.Query{AfterSeq: all[1].Seq, Limit: 1})
	if len(e1) != 2 || len(d1) != 1 || d1[0].Name != "error-rate" || len(after) != 1 || after[0].Seq != all[2].Seq {
		t.Fatalf("filters: e1 %d, d-1 alarms %v, after %v", len(e1), d1, after)
	}
	if all[1].Data["weight"] != 10.0 {
		t.Errorf("data %v", all[1].Data)
	}
	db.Close()
	// A reopened file keeps its events and does not re-apply migrations.
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if again, _ := db.Events(ctx, event.Query{}); len(again) != 4 {
		t.Fatalf("after reopening: %d events", len(again))
	}
}

// TestProcessesOpeningANewFileAtOnceAllSucceed: a `run` and a `status` from
// another terminal may create the state file together; neither may fail with
// "database is locked".
func TestProcessesOpeningANewFileAtOnceAllSucceed(t *testing.T) {
	for round := range 10 {
		path := filepath.Join(t.TempDir(), "state.db")
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				db, err := Open(context.Background(), path)
				if err == nil {
					_, err = db.AppendEvent(context.Background(), event.Event{Kind: event.KindLog, Time: time.Now()})
					db.Close()
				}
				errs <- err
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}
