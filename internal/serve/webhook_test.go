package serve_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/trigger"
	"github.com/greenlight-ci/greenlight/internal/webhook"
)

const secret = "It's a Secret to Everybody"

// A signed push to the watched branch starts an execution of the pushed commit
// (not the branch's head); the same delivery again starts nothing; refusals and
// pushes elsewhere start nothing; the metrics count all of it.
func TestSignedPushStartsAnExecutionAtThePushedCommit(t *testing.T) {
	t.Setenv("GREENLIGHT_WEBHOOK_SECRET", secret)
	r := newRepo(t, t.TempDir(), "orders", definition("orders", ""))
	pushed := r.commit("README", "v2", "the commit pushed")
	r.commit("README", "v3", "a later commit, the branch's head")
	s := startServer(t, r.path())

	body := pushPayload("acme/orders", "refs/heads/main", pushed)
	a := s.deliver("push", "d-1", body, secret)
	if a.status != http.StatusAccepted || a.Outcome != webhook.OutcomeStarted || len(a.Pipelines) != 1 || a.Pipelines[0].ExecutionID == "" {
		t.Fatalf("signed push answered %d %+v", a.status, a.DeliveryAnswer)
	}
	id := a.Pipelines[0].ExecutionID
	var source *control.Action
	waitFor(t, "the source action to succeed", func() bool {
		v, err := s.srv.Backend().GetExecution(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		source = v.Action("Source", "Source")
		return source != nil && source.Status == "Succeeded"
	})
	if got := source.OutputVariables["CommitId"]; got != pushed {
		t.Errorf("the execution ran %s, want the pushed commit %s", got, pushed)
	}
	ex := s.executions("orders")[0]
	if ex.Trigger != control.TriggerWebhook || !strings.Contains(ex.TriggerDetail, "d-1") || !strings.Contains(ex.TriggerDetail, "ada") {
		t.Errorf("trigger %s %q: want Webhook naming the delivery and the sender", ex.Trigger, ex.TriggerDetail)
	}

	again := s.deliver("push", "d-1", body, secret)
	if again.status != http.StatusConflict || again.Error.Code != string(webhook.CodeRedelivery) {
		t.Errorf("redelivery answered %d %+v", again.status, again.Error)
	}
	for _, c := range []struct {
		name, event, id, secret string
		body                    []byte
		status                  int
		code                    webhook.Code
	}{
		{"unsigned", "push", "d-2", "", body, http.StatusUnauthorized, webhook.CodeUnsigned},
		{"mis-signed", "push", "d-3", "another secret", body, http.StatusUnauthorized, webhook.CodeBadSignature},
		{"malformed", "push", "d-4", secret, []byte(`{"ref":`), http.StatusBadRequest, webhook.CodeMalformed},
	} {
		if got := s.deliver(c.event, c.id, c.body, c.secret); got.status != c.status || got.Error.Code != string(c.code) {
			t.Errorf("%s: answered %d %+v, want %d %s", c.name, got.status, got.Error, c.status, c.code)
		}
	}
	other := s.deliver("push", "d-5", pushPayload("acme/orders", "refs/heads/feature", pushed), secret)
	if other.status != http.StatusOK || other.Outcome != webhook.OutcomeIgnored || len(other.Pipelines) != 1 || other.Pipelines[0].Outcome != trigger.OutcomeNoMatch {
		t.Errorf("push to an unwatched branch answered %d %+v", other.status, other.DeliveryAnswer)
	}
	// A push of a repository no pipeline reads says why in the answer, which
	// GitHub shows under the webhook's recent deliveries.
	unread := s.deliver("push", "d-7", pushPayload("acme/billing", "refs/heads/main", pushed), secret)
	if want := "no pipeline here reads this repository: acme/billing is not the repository of any source action of orders (Source reads the clone " +
		r.dir; unread.status != http.StatusOK || unread.Outcome != webhook.OutcomeIgnored || !strings.HasPrefix(unread.Reason, want) ||
		!strings.HasSuffix(unread.Reason, "which stands for the GitHub repository named orders, as its directory is)") {
		t.Errorf("push of a repository no pipeline reads answered %d %+v, want a reason starting %q", unread.status, unread.DeliveryAnswer, want)
	}
	ping := s.deliver("ping", "d-6", []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`), secret)
	if ping.status != http.StatusOK || ping.Outcome != webhook.OutcomePing {
		t.Errorf("ping answered %d %+v", ping.status, ping.DeliveryAnswer)
	}
	if n := len(s.executions("orders")); n != 1 {
		t.Errorf("%d executions, want the one the first delivery started", n)
	}
	checkMetrics(t, s, []string{
		`greenlight_pipeline_executions{pipeline="orders",status="InProgress"} 1`,
		`greenlight_webhook_deliveries_total{outcome="started"} 1`,
		`greenlight_webhook_deliveries_total{outcome="refused_redelivery"} 1`,
		`greenlight_webhook_deliveries_total{outcome="refused_unsigned"} 1`,
		`greenlight_webhook_deliveries_total{outcome="ignored"} 2`,
		`greenlight_webhook_deliveries_total{outcome="ping"} 1`,
		`greenlight_stage_duration_seconds_count{pipeline="orders",stage="Source",status="Succeeded"} 1`,
		`greenlight_action_duration_seconds_count{action="Source",pipeline="orders",stage="Source",status="Succeeded"} 1`,
		`greenlight_notification_queue_depth 0`,
		`greenlight_notification_deliveries{status="failed"} 0`,
	})
}

func checkMetrics(t *testing.T, s *server, want []string) {
	t.Helper()
	unauthenticated, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	unauthenticated.Body.Close()
	if unauthenticated.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /metrics without a token: %d, want 401", unauthenticated.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, s.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+s.token(access.RoleViewer))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", resp.StatusCode, text)
	}
	for _, line := range want {
		if !strings.Contains(string(text), line+"\n") {
			t.Errorf("the exposition has no %q:\n%s", line, text)
		}
	}
}

// One server, two repositories with their own secrets: a delivery starts only
// the pipeline whose source is the delivery's repository.
func TestDeliveryIsRoutedToThePipelineOfItsRepository(t *testing.T) {
	t.Setenv("ALPHA_SECRET", "alpha secret")
	t.Setenv("BETA_SECRET", "beta secret")
	parent := t.TempDir()
	alpha := newRepo(t, parent, "alpha", definition("alpha", "webhook: {secret: {env: ALPHA_SECRET}}\n"))
	beta := newRepo(t, parent, "beta", definition("beta", "webhook: {secret: {env: BETA_SECRET}}\n"))
	s := startServer(t, alpha.path(), beta.path())

	head := beta.git("rev-parse", "HEAD")
	a := s.deliver("push", "b-1", pushPayload("acme/beta", "refs/heads/main", head), "beta secret")
	if a.status != http.StatusAccepted || len(a.Pipelines) != 1 || a.Pipelines[0].Pipeline != "beta" {
		t.Fatalf("push to beta answered %d %+v", a.status, a.DeliveryAnswer)
	}
	if n, m := len(s.executions("alpha")), len(s.executions("beta")); n != 0 || m != 1 {
		t.Errorf("alpha has %d executions, beta %d: want 0 and 1", n, m)
	}
	// Signed with alpha's secret but about beta: alpha does not read beta.
	wrong := s.deliver("push", "b-2", pushPayload("acme/beta", "refs/heads/main", head), "alpha secret")
	if wrong.status != http.StatusOK || wrong.Outcome != webhook.OutcomeIgnored || len(wrong.Pipelines) != 0 {
		t.Errorf("beta's push signed with alpha's secret answered %d %+v", wrong.status, wrong.DeliveryAnswer)
	}
	all, err := s.srv.Backend().ListExecutions(context.Background(), control.ExecutionQuery{})
	if err != nil || len(all.Executions) != 1 || all.Executions[0].Pipeline != "beta" {
		t.Errorf("every pipeline's executions: %+v, %v", all.Executions, err)
	}
}

// A pushed tag that a trigger takes starts an execution that names the tag, not
// the source's branch: in the execution (status, history, the API's JSON) and
// in what `greenlight status` prints of it.
func TestATagsExecutionNamesTheTag(t *testing.T) {
	t.Setenv("GREENLIGHT_WEBHOOK_SECRET", secret)
	triggers := `  triggers:
    - provider_type: CodeStarSourceConnection
      git_configuration:
        source_action_name: Source
        push:
          - tags: {includes: ["v*"]}
          - branches: {includes: [main]}
`
	r := newRepo(t, t.TempDir(), "orders", definition("orders", triggers))
	tagged := r.commit("README", "v1.2.0", "release 1.2.0")
	r.git("tag", "v1.2.0")
	s := startServer(t, r.path())

	started := func(ref, delivery string) control.ExecutionSummary {
		t.Helper()
		a := s.deliver("push", delivery, pushPayload("acme/orders", ref, tagged), secret)
		if a.status != http.StatusAccepted || len(a.Pipelines) != 1 || a.Pipelines[0].ExecutionID == "" {
			t.Fatalf("push of %s answered %d %+v", ref, a.status, a.DeliveryAnswer)
		}
		id := a.Pipelines[0].ExecutionID
		for _, ex := range s.executions("orders") {
			if ex.ID == id {
				return ex
			}
		}
		t.Fatalf("execution %s is not in the history", id)
		return control.ExecutionSummary{}
	}
	tag := started("refs/tags/v1.2.0", "d-tag")
	if tag.Ref != "refs/tags/v1.2.0" || tag.RefName() != "tag v1.2.0" {
		t.Errorf("the tag's execution: ref %q, named %q; want refs/tags/v1.2.0, \"tag v1.2.0\"", tag.Ref, tag.RefName())
	}
	waitFor(t, "the tag's source action to succeed", func() bool {
		v, err := s.srv.Backend().GetExecution(context.Background(), tag.ID)
		if err != nil {
			t.Fatal(err)
		}
		a := v.Action("Source", "Source")
		return a != nil && a.Status == "Succeeded"
	})
	v, err := s.srv.Backend().GetExecution(context.Background(), tag.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Ref != "refs/tags/v1.2.0" || v.RefName() != "tag v1.2.0" || v.Source.Branch != "main" {
		t.Errorf("the tag's execution view: ref %q named %q (source branch %q)", v.Ref, v.RefName(), v.Source.Branch)
	}
	body, status := s.get("/api/v1/executions/"+tag.ID, s.token(access.RoleViewer))
	if status != http.StatusOK || !strings.Contains(body, `"ref":"refs/tags/v1.2.0"`) {
		t.Errorf("GET the execution: %d %s; want its ref", status, body)
	}
	branch := started("refs/heads/main", "d-branch")
	if branch.Ref != "refs/heads/main" || branch.RefName() != "main" {
		t.Errorf("the branch's execution: ref %q, named %q; want refs/heads/main, main", branch.Ref, branch.RefName())
	}
}
