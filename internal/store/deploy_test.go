package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/jsontime"
)

func deployment(id, service string, status deploy.Status, created time.Time) *deploy.Deployment {
	return &deploy.Deployment{ID: id, Kind: deploy.KindBlueGreen, Application: "orders", Group: "production", Status: status,
		Created: created, Config: deploy.Config{Service: deploy.ServiceConfig{Name: service}, TerminationWait: jsontime.Duration(5 * time.Minute)},
		Steps: []deploy.Step{{Name: deploy.StepInstall, Status: deploy.StepPending}}}
}

// The deploy adapter keeps one active deployment per service (a baking one does
// not count), finds deployments by id and status, and hands commands over once.
func TestDeploymentsRoundTripAndOneActivePerService(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := db.Deployments()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	first := deployment("d-FIRST0001", "web", deploy.StatusCreated, t0)
	if err := st.CreateDeployment(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDeployment(ctx, deployment("d-SECOND001", "web", deploy.StatusCreated, t0.Add(time.Second))); !errors.Is(err, deploy.ErrServiceBusy) {
		t.Fatalf("a second active deployment: %v, want ErrServiceBusy", err)
	}
	first.Status = deploy.StatusBaking
	if err := st.SaveDeployment(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDeployment(ctx, deployment("d-SECOND001", "web", deploy.StatusCreated, t0.Add(time.Second))); err != nil {
		t.Fatalf("a deployment after one that only bakes: %v", err)
	}
	got, err := st.Deployment(ctx, "d-FIRST0001")
	if err != nil || got.Status != deploy.StatusBaking || got.Config.TerminationWait.D() != 5*time.Minute || !got.Created.Equal(t0) {
		t.Fatalf("read back %+v, %v", got, err)
	}
	if _, err := st.Deployment(ctx, "d-NOTHERE01"); !errors.Is(err, deploy.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	if last, err := st.LastReleased(ctx, "web"); err != nil || last == nil || last.ID != "d-FIRST0001" {
		t.Fatalf("last released %+v, %v", last, err)
	}
	if latest, err := st.LatestDeployments(ctx, "", 1); err != nil || len(latest) != 1 || latest[0].ID != "d-SECOND001" {
		t.Fatalf("latest %+v, %v", latest, err)
	}
	if err := st.AddCommand(ctx, "d-SECOND001", deploy.Command{Name: deploy.CommandRollback, Who: "ada"}); err != nil {
		t.Fatal(err)
	}
	if cmds, err := st.TakeCommands(ctx, "d-SECOND001"); err != nil || len(cmds) != 1 || cmds[0].Name != deploy.CommandRollback || cmds[0].Time.IsZero() {
		t.Fatalf("commands %+v, %v", cmds, err)
	}
	if cmds, err := st.TakeCommands(ctx, "d-SECOND001"); err != nil || len(cmds) != 0 {
		t.Fatalf("commands taken twice: %+v, %v", cmds, err)
	}
}

// Records written before durations were strings (nanoseconds) still read.
func TestDeploymentRecordsWithNanosecondDurationsStillRead(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	legacy := `{"id":"d-LEGACY001","kind":"BLUE_GREEN","status":"Succeeded","config":{"service":{"name":"web","deregistration_delay":30000000000},"termination_wait":300000000000},"rollback":{"reason":"r","restore":12000000}}`
	_, err = db.sql.ExecContext(ctx, `INSERT INTO deployments(id, service, kind, status, created, data) VALUES (?,?,?,?,?,?)`,
		"d-LEGACY001", "web", "BLUE_GREEN", "Succeeded", formatTime(time.Now()), legacy)
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Deployments().Deployment(ctx, "d-LEGACY001")
	if err != nil || d.Config.TerminationWait.D() != 5*time.Minute || d.Config.Service.DeregistrationDelay.D() != 30*time.Second ||
		d.Rollback.Restore.D() != 12*time.Millisecond {
		t.Fatalf("legacy record: %+v, %v", d, err)
	}
}
