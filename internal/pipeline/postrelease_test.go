package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/store"
)

func TestFailReleasedActionFailsTheExecutionThatReleasedIt(t *testing.T) {
	def := definition("", stage("Build", action("Build", "Fake", 1)), stage("Deploy", action("Deploy", "Fake", 1)))
	h := newHarness(t, def)
	h.fake.on("Deploy", func(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
		if err := a.SetExternalID("d-RELEASED1"); err != nil {
			return pipeline.Outcome{}, err
		}
		return pipeline.Outcome{Status: pipeline.Succeeded, Summary: "production on the new revision"}, nil
	})
	id := h.start(pipeline.StartRequest{})
	h.await(h.runAsync(id), pipeline.StatusSucceeded)

	db, err := store.Open(context.Background(), h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if changed, err := pipeline.FailReleasedAction(context.Background(), db.Pipelines(), id, "d-OTHER", "x", time.Now()); err != nil || changed {
		t.Fatalf("unknown deployment: changed %v, %v", changed, err)
	}
	changed, err := pipeline.FailReleasedAction(context.Background(), db.Pipelines(), id, "d-RELEASED1", "alarm error-rate entered ALARM", time.Now())
	if err != nil || !changed {
		t.Fatalf("changed %v, %v", changed, err)
	}
	v := h.view(id)
	deployAction := findAction(v, "Deploy", "Deploy")
	if v.Status != pipeline.StatusFailed || findStage(v, "Deploy").Status != pipeline.StatusFailed || deployAction.Status != pipeline.StatusFailed {
		t.Fatalf("execution %s, stage %s, action %s", v.Status, findStage(v, "Deploy").Status, deployAction.Status)
	}
	if !strings.Contains(v.StatusSummary, "rolled back after release: alarm error-rate") || findStage(v, "Build").Status != pipeline.StatusSucceeded {
		t.Errorf("summary %q, build stage %s", v.StatusSummary, findStage(v, "Build").Status)
	}
	evs, _ := db.Events(context.Background(), event.Query{ExecutionID: id, Kinds: []event.Kind{event.KindExecution}})
	if last := evs[len(evs)-1]; last.Status != string(pipeline.StatusFailed) {
		t.Errorf("last execution event %s, want Failed", last.Status)
	}
	// Once is enough: a second call changes nothing.
	if changed, err := pipeline.FailReleasedAction(context.Background(), db.Pipelines(), id, "d-RELEASED1", "again", time.Now()); err != nil || changed {
		t.Fatalf("second call: changed %v, %v", changed, err)
	}
}

func TestFailReleasedActionWaitsForAnActionInProgress(t *testing.T) {
	def := definition("", stage("Build", action("Build", "Fake", 1)), stage("Deploy", action("Deploy", "Fake", 1)))
	h := newHarness(t, def)
	block, release := blockUntilReleased(pipeline.Outcome{Status: pipeline.Succeeded})
	h.fake.on("Deploy", func(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
		if err := a.SetExternalID("d-RACE00001"); err != nil {
			return pipeline.Outcome{}, err
		}
		return block(ctx, a)
	})
	id := h.start(pipeline.StartRequest{})
	done := h.runAsync(id)
	h.waitFor("deploy running", func() bool { return len(h.fake.callsOf(id, "Deploy")) == 1 })
	db, _ := store.Open(context.Background(), h.dbPath)
	defer db.Close()
	h.waitFor("external id recorded", func() bool {
		_, err := pipeline.FailReleasedAction(context.Background(), db.Pipelines(), id, "d-RACE00001", "x", time.Now())
		return errors.Is(err, pipeline.ErrActionInProgress)
	})
	release()
	h.await(done, pipeline.StatusSucceeded)
}

// TestRollbackWhileALaterStageRunsFailsTheExecution: the released deployment is
// rolled back while the execution still runs a later stage; the execution must
// not end Succeeded when that stage does.
func TestRollbackWhileALaterStageRunsFailsTheExecution(t *testing.T) {
	def := definition("", stage("Deploy", action("Deploy", "Fake", 1)), stage("Verify", action("Verify", "Fake", 1)))
	h := newHarness(t, def)
	h.fake.on("Deploy", func(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
		if err := a.SetExternalID("d-LATER0001"); err != nil {
			return pipeline.Outcome{}, err
		}
		return pipeline.Outcome{Status: pipeline.Succeeded}, nil
	})
	block, release := blockUntilReleased(pipeline.Outcome{Status: pipeline.Succeeded})
	h.fake.on("Verify", block)
	id := h.start(pipeline.StartRequest{})
	done := h.runAsync(id)
	h.waitFor("verify running", func() bool { return len(h.fake.callsOf(id, "Verify")) == 1 })
	db, err := store.Open(context.Background(), h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if changed, err := pipeline.FailReleasedAction(context.Background(), db.Pipelines(), id, "d-LATER0001", "alarm error-rate entered ALARM", time.Now()); err != nil || !changed {
		t.Fatalf("changed %v, %v", changed, err)
	}
	release()
	h.await(done, pipeline.StatusFailed)
	v := h.view(id)
	if !strings.Contains(v.StatusSummary, "stage Deploy failed after release: action Deploy: rolled back after release: alarm error-rate") {
		t.Errorf("summary %q", v.StatusSummary)
	}
}
