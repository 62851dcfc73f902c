package trigger

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// definition parses a pipeline whose source action reads source (a configuration
// in flow YAML) and carries triggers (YAML under pipeline.triggers, or "").
func definition(t *testing.T, provider, source, triggers string) *manifest.Definition {
	t.Helper()
	src := `version: 1
pipeline:
  name: orders
  stages:
    - name: Source
      actions:
        - {name: AppSource, category: Source, provider: ` + provider + `, output_artifacts: [src], configuration: ` + source + `}
    - name: Build
      actions:
        - {name: Build, category: Build, provider: CodeBuild, input_artifacts: [src], configuration: {ProjectName: b}}
`
	if triggers != "" {
		src += "  triggers:\n" + triggers
	}
	src += "build_projects:\n  b: {}\n"
	def, err := manifest.ParseDefinition(filepath.Join(t.TempDir(), "orders", "greenlight.yaml"), []byte(src))
	if err != nil {
		t.Fatalf("definition:\n%v", err)
	}
	return def
}

var acme = Repository{FullName: "acme/orders", CloneURL: "https://github.com/acme/orders.git", SSHURL: "git@github.com:acme/orders.git", DefaultBranch: "main"}

func push(ref string, files ...string) Event {
	return Event{Kind: KindPush, Repository: acme, Ref: ref, After: "c0ffee", ChangedFiles: files, FilesKnown: true,
		HeadCommit: Commit{ID: "c0ffee", Message: "Fix totals\n\nlong text", Author: "Ada"}}
}

func pullRequest(action, base string, files ...string) Event {
	return Event{Kind: KindPullRequest, Repository: acme, ChangedFiles: files, FilesKnown: files != nil,
		PR: &PullRequest{Number: 7, Action: action, BaseBranch: base, HeadBranch: "feature/x", HeadSHA: "feed"}}
}

// The filters of CodePipeline's "Trigger filtering in the pipeline JSON (CLI)"
// example, with tags in a filter of their own as the console requires.
const docTriggers = `    - provider_type: CodeStarSourceConnection
      git_configuration:
        source_action_name: AppSource
        push:
          - branches: {includes: ["feature/**", "release/**"], excludes: [mainline]}
            file_paths: {includes: ["projectA/**", "common/**/*.js"], excludes: ["**/README.md", "**/LICENSE", "**/CONTRIBUTING.md"]}
          - tags: {includes: [release-v0, release-v1], excludes: [release-v2]}
        pull_request:
          - events: [CLOSED]
            branches: {includes: ["feature/**", "release/**"], excludes: [mainline]}
            file_paths: {includes: ["projectA/**", "common/**/*.js"], excludes: ["**/README.md"]}
`

func TestDecideWithTriggerFilters(t *testing.T) {
	def := definition(t, "CodeStarSourceConnection", "{FullRepositoryId: acme/orders, BranchName: mainline, ConnectionArn: x}", docTriggers)
	for _, c := range []struct {
		name   string
		ev     Event
		start  bool
		reason string
	}{
		{"branch and file included", push("refs/heads/feature/login", "projectA/src/a.go"), true,
			"push filter 1 of the trigger for AppSource: changed file projectA/src/a.go matches projectA/**"},
		{"nested js under common", push("refs/heads/release/2.0", "common/ui/x/app.js"), true, "matches common/**/*.js"},
		{"js at the root of common is not under common/**/", push("refs/heads/release/2.0", "common/app.js"), false,
			"none of the 1 changed files passes file_paths"},
		{"only excluded files", push("refs/heads/feature/x", "projectA/README.md", "projectA/docs/LICENSE"), false, "none of the 2 changed files"},
		{"one file excluded, another included", push("refs/heads/feature/x", "projectA/README.md", "projectA/main.go"), true, "projectA/main.go matches projectA/**"},
		{"BranchName is not used once triggers exist", push("refs/heads/mainline", "projectA/a.go"), false, "branch mainline is excluded by mainline"},
		{"branch not included", push("refs/heads/develop", "projectA/a.go"), false, "push filter 1: branch develop matches none of feature/**, release/**; push filter 2: refs/heads/develop is not a tag"},
		{"tag included", push("refs/tags/release-v1"), true, "push filter 2 of the trigger for AppSource: tag release-v1 matches release-v1"},
		{"tag excluded", push("refs/tags/release-v2"), false, "tag release-v2 is excluded by release-v2"},
		{"tag not included", push("refs/tags/v3"), false, "tag v3 matches none of release-v0, release-v1"},
		{"deleted branch", Event{Kind: KindPush, Repository: acme, Ref: "refs/heads/feature/x", Deleted: true}, false, "refs/heads/feature/x was deleted"},
		{"pull request closed into a feature branch", pullRequest("CLOSED", "feature/big", "projectA/x.go"), true, "pull_request filter 1"},
		{"pull request opened: the filter takes CLOSED only", pullRequest("OPEN", "feature/big", "projectA/x.go"), false, "pull request OPEN; the filter takes CLOSED"},
		{"pull request into mainline", pullRequest("CLOSED", "mainline", "projectA/x.go"), false, "destination branch mainline is excluded by mainline"},
		{"pull request files unknown", pullRequest("CLOSED", "release/1"), false, "the changed files are not known"},
		{"pull request files unknown, saying why", func() Event {
			ev := pullRequest("CLOSED", "release/1")
			ev.FilesUnknown = "commit feed is not in /src/orders"
			return ev
		}(), false, "the changed files are not known (commit feed is not in /src/orders), so file_paths cannot match"},
		{"pull request action without a CodePipeline event", pullRequest("", "feature/big", "projectA/x.go"), false, "not an OPEN, UPDATED or CLOSED"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(def, c.ev)
			if d.Start() != c.start || !strings.Contains(d.Reason, c.reason) {
				t.Fatalf("Decide = %s: %s\nwant start=%v with %q", d.Outcome, d.Reason, c.start, c.reason)
			}
			if d.Start() && (d.TriggerType != TriggerWebhookV2 || d.SourceAction != "AppSource" || d.Revision != c.ev.Revision()) {
				t.Errorf("decision = %+v", d)
			}
		})
	}
}

func TestPullRequestRunsItsHead(t *testing.T) {
	def := definition(t, "CodeStarSourceConnection", "{FullRepositoryId: acme/orders, BranchName: main}", `    - provider_type: CodeStarSourceConnection
      git_configuration:
        source_action_name: AppSource
        pull_request: [{branches: {includes: [main]}}]
`)
	d := Decide(def, pullRequest("UPDATED", "main"))
	if !d.Start() || d.Revision != "feed" || d.Branch != "feature/x" {
		t.Fatalf("decision = %+v", d)
	}
	if d := Decide(def, push("refs/heads/main", "a.go")); d.Start() || d.Reason != "the trigger for AppSource has no push filters" {
		t.Errorf("push with only pull request filters = %+v", d)
	}
}

func TestDecideWithoutTriggersUsesBranchName(t *testing.T) {
	def := definition(t, "Git", "{Repository: 'git@github.com:acme/orders.git', BranchName: release}", "")
	if d := Decide(def, push("refs/heads/release")); !d.Start() || d.TriggerType != TriggerWebhook || d.Branch != "release" || d.Revision != "c0ffee" {
		t.Errorf("push to BranchName = %+v", d)
	}
	for _, ev := range []Event{push("refs/heads/main"), push("refs/tags/release"), pullRequest("OPEN", "release", "a")} {
		if d := Decide(def, ev); d.Start() || d.Outcome != OutcomeNoMatch {
			t.Errorf("%s %s = %+v", ev.Kind, ev.Ref, d)
		}
	}
	noBranch := definition(t, "Git", "{Repository: 'https://github.com/ACME/orders'}", "")
	if d := Decide(noBranch, push("refs/heads/main")); !d.Start() {
		t.Errorf("without BranchName the default branch starts it: %+v", d)
	}
	off := definition(t, "CodeStarSourceConnection", "{FullRepositoryId: acme/orders, BranchName: main, DetectChanges: 'false'}", "")
	if d := Decide(off, push("refs/heads/main")); d.Outcome != OutcomeDisabled {
		t.Errorf("DetectChanges false = %+v", d)
	}
}

func TestRoutingByRepository(t *testing.T) {
	other := Repository{FullName: "acme/billing", CloneURL: "https://github.com/acme/billing.git"}
	for _, c := range []struct {
		provider, source string
		repo             Repository
		want             bool
	}{
		{"CodeStarSourceConnection", "{FullRepositoryId: Acme/Orders, BranchName: main}", acme, true},
		{"CodeStarSourceConnection", "{FullRepositoryId: acme/orders, BranchName: main}", other, false},
		{"Git", "{Repository: 'https://github.com/acme/orders.git'}", acme, true},
		{"Git", "{Repository: 'ssh://git@github.com/acme/orders'}", acme, true},
		{"Git", "{Repository: 'https://github.com/acme/orders.git'}", other, false},
		{"Git", "{Repository: .}", acme, true}, // the definition's directory is named orders
		{"Git", "{Repository: .}", other, false},
		{"Git", "{Repository: ../billing}", other, true},
	} {
		def := definition(t, c.provider, c.source, "")
		ev := push("refs/heads/main")
		ev.Repository = c.repo
		d := Decide(def, ev)
		if got := d.Outcome != OutcomeNotSource; got != c.want {
			t.Errorf("%s %s for %s: %+v", c.provider, c.source, c.repo.FullName, d)
		}
	}
}
