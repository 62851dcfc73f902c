package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/pipeline"
)

// Every field of the pipeline rows survives a write and a read, in the same file
// reopened (as another process would see it).
func TestPipelineRowsRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 5, 1, 10, 0, 0, 123456789, time.UTC)
	ex := &pipeline.ExecutionRecord{ID: "e1", Pipeline: "orders", Mode: "SUPERSEDED", Status: "InProgress", StatusSummary: "s",
		Trigger: "CLI", TriggerDetail: "ada", RequestedRevision: "main", SourceRevision: map[string]string{"commit_id": "abc"},
		Variables: map[string]string{"Env": "prod"}, StageIndex: 2, Waiting: true, WaitingSince: now, StopMode: "wait",
		StopReason: "r", Owner: pipeline.Owner{ID: "o", PID: 42, Start: 1 << 40, Host: "h", Heartbeat: now},
		StartedAt: now, UpdatedAt: now}
	stage := &pipeline.StageRecord{ExecutionID: "e1", Pipeline: "orders", Stage: "Build", Index: 1, Attempt: 2, Status: "Failed",
		Message: "m", RetryMode: "ALL_ACTIONS", StartedAt: now, EndedAt: now}
	action := &pipeline.ActionRecord{ExecutionID: "e1", Stage: "Build", Action: "Build", Attempt: 1, RunOrder: 2, Provider: "CodeBuild",
		Status: "Succeeded", Summary: "ok", ExternalID: "b-1", ExternalURL: "http://x", OutputVariables: map[string]string{"K": "V"},
		Data: map[string]any{"tests": float64(3)}, LogPath: "/l", StartedAt: now, EndedAt: now}
	art := &pipeline.ArtifactRecord{ExecutionID: "e1", Name: "build_output", Stage: "Build", Action: "Build", Attempt: 1, Dir: "/a", SealedAt: now}
	appr := &pipeline.ApprovalRecord{ExecutionID: "e1", Stage: "Approval", Action: "Approve", Attempt: 1, Status: "Needed", CustomData: "c",
		ExternalEntityLink: "http://l", NotificationArn: "arn", RequestedAt: now, ExpiresAt: now.Add(time.Hour)}
	err = db.Pipelines().Update(ctx, func(t pipeline.Tx) error {
		for _, write := range []func() error{
			func() error { return t.InsertExecution(ex) }, func() error { return t.PutStageRun(stage) },
			func() error { return t.PutActionRun(action) }, func() error { return t.PutArtifact(art) },
			func() error { return t.PutApproval(appr) },
		} {
			if err := write(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	db.Close()

	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Pipelines().View(ctx, func(tx pipeline.Tx) error {
		gotEx, err := tx.Execution("e1")
		if err != nil {
			return err
		}
		check(t, "execution", gotEx, ex)
		gotStage, err := tx.StageRun("e1", "Build")
		if err != nil {
			return err
		}
		check(t, "stage run", gotStage, stage)
		actions, err := tx.ActionRuns("e1")
		if err != nil || len(actions) != 1 {
			return errors.Join(err, errors.New("want one action run"))
		}
		check(t, "action run", actions[0], action)
		arts, err := tx.Artifacts("e1")
		if err != nil || len(arts) != 1 {
			return errors.Join(err, errors.New("want one artifact"))
		}
		check(t, "artifact", arts[0], art)
		gotAppr, err := tx.Approval("e1", "Approval", "Approve", 1)
		if err != nil {
			return err
		}
		check(t, "approval", gotAppr, appr)
		if _, err := tx.Execution("nope"); !errors.Is(err, pipeline.ErrNotFound) {
			t.Errorf("missing execution: %v", err)
		}
		active, err := tx.ExecutionsWithStatus("orders", "InProgress", "Stopping")
		if err != nil || len(active) != 1 {
			t.Errorf("active executions %v, %v", active, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read: %v", err)
	}
}

func check(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}
