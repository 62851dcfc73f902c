package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// TestContinueOfADeploymentNotWaitingIsAConflict: POST .../continue to an
// active deployment that is not in its STOP_DEPLOYMENT ready wait answers 409
// with reason not_ready, as the AWS backend does (CodeDeploy's
// DeploymentIsNotInReadyStateException), and queues nothing. It used to answer
// 200 and record a continue that did nothing.
func TestContinueOfADeploymentNotWaitingIsAConflict(t *testing.T) {
	h := newHarness(t, nil)
	st := h.db.Deployments()
	d, err := deploy.Create(context.Background(), st, deploy.Request{Kind: deploy.KindBlueGreen, Application: "web", Group: "production",
		Config:   deploy.Config{Service: deploy.ServiceConfig{Name: "web"}, ReadyAction: manifest.ReadyStop},
		Revision: deploy.Revision{TaskDefinition: &manifest.TaskDefinition{Family: "web"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{d.ID, "active"} {
		resp, body := h.do(t, "operator", "POST", "/api/v1/deployments/"+id+"/continue", `{"reason":"too early"}`)
		e := errorOf(t, body)
		if resp.StatusCode != http.StatusConflict || e.Code != "conflict" || e.Reason != "not_ready" ||
			!strings.Contains(e.Message, d.ID+" is Created") || !strings.Contains(e.Message, "not reached its ready wait") {
			t.Errorf("continue %s: %d %s", id, resp.StatusCode, body)
		}
	}
	if cmds, err := st.TakeCommands(context.Background(), d.ID); err != nil || len(cmds) != 0 {
		t.Errorf("commands queued for %s: %v %v", d.ID, cmds, err)
	}
	if recs := h.auditLog(t); len(recs) == 0 || recs[0].Result != "failed" || !strings.Contains(recs[0].Message, "not waiting for a continue") {
		t.Errorf("audit record of the refused continue: %+v", recs[0])
	}
}
