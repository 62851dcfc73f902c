package serve_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/serve"
	"github.com/greenlight-ci/greenlight/internal/trigger"
	"github.com/greenlight-ci/greenlight/internal/webhook"
)

// prTrigger starts the pipeline on pull requests into main that change src/.
const prTrigger = `  triggers:
    - provider_type: CodeStarSourceConnection
      git_configuration:
        source_action_name: Source
        pull_request:
          - events: [OPEN, UPDATED]
            branches: {includes: [main]}
            file_paths: {includes: ["src/**"]}
`

// pullRequestPayload is GitHub's pull_request delivery of a pull request from
// head into main of owner/name, whose base was at base.
func pullRequestPayload(fullName string, number int, base, head string) []byte {
	body, _ := json.Marshal(map[string]any{
		"action": "synchronize", "number": number,
		"pull_request": map[string]any{
			"html_url": "https://github.com/" + fullName + "/pull/1", "title": "a change", "user": map[string]any{"login": "ada"},
			"head": map[string]any{"ref": "feature", "sha": head}, "base": map[string]any{"ref": "main", "sha": base},
		},
		"repository": map[string]any{"full_name": fullName, "default_branch": "main"},
		"sender":     map[string]any{"login": "ada"},
	})
	return body
}

// A pull_request delivery lists no files: serve finds them with git in the
// source's repository, so file_paths filters match as CodePipeline's do — a
// pull request changing src/ starts the pipeline, one changing only docs does
// not, and one whose head the repository lacks says so in the decision.
func TestPullRequestFilePathsMatchTheFilesItChanges(t *testing.T) {
	t.Setenv("GREENLIGHT_WEBHOOK_SECRET", secret)
	r := newRepo(t, t.TempDir(), "prs", definition("prs", prTrigger))
	base := r.git("rev-parse", "HEAD")
	r.git("checkout", "-q", "-b", "feature")
	for _, dir := range []string{"src", "docs"} {
		if err := os.MkdirAll(filepath.Join(r.dir, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	docsOnly := r.commit("docs/guide.md", "how to", "docs only")
	withSrc := r.commit("src/orders.go", "package orders", "a source change")
	r.git("checkout", "-q", "main")
	r.commit("README", "main moved on", "main meanwhile") // not the pull request's
	s := startServer(t, r.path())

	docs := s.deliver("pull_request", "pr-docs", pullRequestPayload("acme/prs", 1, base, docsOnly), secret)
	if d := onlyDecision(t, docs); docs.status != http.StatusOK || d.Outcome != trigger.OutcomeNoMatch ||
		!strings.Contains(d.Reason, "none of the 1 changed files passes file_paths") {
		t.Errorf("a pull request changing docs only: %d %+v", docs.status, docs.DeliveryAnswer)
	}
	missing := strings.Repeat("0f", 20)
	gone := s.deliver("pull_request", "pr-gone", pullRequestPayload("acme/prs", 2, base, missing), secret)
	if d := onlyDecision(t, gone); d.Outcome != trigger.OutcomeNoMatch ||
		!strings.Contains(d.Reason, "the changed files are not known (commit "+missing+" is not in "+r.dir+")") {
		t.Errorf("a pull request whose head is not here: %+v", gone.DeliveryAnswer)
	}
	if n := len(s.executions("prs")); n != 0 {
		t.Fatalf("%d executions before a pull request changed src/", n)
	}
	src := s.deliver("pull_request", "pr-src", pullRequestPayload("acme/prs", 3, base, withSrc), secret)
	if d := onlyDecision(t, src); src.status != http.StatusAccepted || src.Outcome != webhook.OutcomeStarted ||
		!strings.Contains(d.Reason, "changed file src/orders.go matches src/**") || d.Revision != withSrc || d.ExecutionID == "" {
		t.Errorf("a pull request changing src/: %d %+v", src.status, src.DeliveryAnswer)
	}
}

func onlyDecision(t *testing.T, a answer) serve.PipelineDecision {
	t.Helper()
	if len(a.Pipelines) != 1 {
		t.Fatalf("answer %d %+v: want one pipeline's decision", a.status, a.DeliveryAnswer)
	}
	return a.Pipelines[0]
}
