package manifest

import (
	"slices"
	"testing"
)

// withTriggers is the minimal pipeline with triggers written under it.
func withTriggers(triggers string) string {
	return `version: 1
pipeline:
  name: p
  stages:
    - name: Source
      actions:
        - {name: Src, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: ., BranchName: main}}
    - name: Build
      actions:
        - {name: Build, category: Build, provider: CodeBuild, input_artifacts: [src], configuration: {ProjectName: b}}
  triggers:
` + triggers + `build_projects:
  b: {}
`
}

// The filters of CodePipeline's "Trigger filtering in the pipeline JSON (CLI)"
// example, written in greenlight.yaml.
func TestParseTriggers(t *testing.T) {
	def, err := ParseDefinition("greenlight.yaml", []byte(withTriggers(`    - provider_type: CodeStarSourceConnection
      git_configuration:
        source_action_name: Src
        push:
          - branches: {includes: ["feature/**", "release/**"], excludes: [mainline]}
            file_paths: {includes: ["projectA/**", "common/**/*.js"], excludes: ["**/README.md", "**/LICENSE"]}
          - tags: {includes: [release-v0, release-v1], excludes: [release-v2]}
        pull_request:
          - events: [CLOSED]
            branches: {includes: ["feature/**"]}
          - branches: {excludes: [mainline]}
`)))
	mustNotFail(t, err)
	tr := def.Pipeline.SourceTrigger("Src")
	if tr == nil || tr.ProviderType != TriggerProviderCodeStar || def.Pipeline.SourceTrigger("Build") != nil {
		t.Fatalf("trigger = %+v", tr)
	}
	g := tr.GitConfiguration
	if len(g.Push) != 2 || len(g.PullRequest) != 2 {
		t.Fatalf("git configuration = %+v", g)
	}
	if p := g.Push[0]; !slices.Equal(p.Branches.Includes, []string{"feature/**", "release/**"}) || !slices.Equal(p.FilePaths.Excludes, []string{"**/README.md", "**/LICENSE"}) || p.Tags != nil {
		t.Errorf("push filter 1 = %+v", p)
	}
	if p := g.Push[1]; p.Tags.String() != "includes release-v0, release-v1; excludes release-v2" || p.Branches != nil {
		t.Errorf("push filter 2 tags = %q", p.Tags)
	}
	if pr := g.PullRequest[0]; !slices.Equal(pr.Events, []string{PullRequestClosed}) {
		t.Errorf("pull request events = %q", pr.Events)
	}
	if pr := g.PullRequest[1]; !slices.Equal(pr.Events, PullRequestEvents) || pr.Pos.Line != 22 {
		t.Errorf("default events = %q at %v, want all three at line 22", pr.Events, pr.Pos)
	}
}

func TestTriggerErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		triggers string
		want     []string
	}{
		{"provider and source action", `    - provider_type: GitHub
      git_configuration: {source_action_name: Build, push: [{branches: {includes: [main]}}]}
    - provider_type: CodeStarSourceConnection
      git_configuration: {source_action_name: Src, push: [{branches: {includes: [main]}}]}
    - provider_type: CodeStarSourceConnection
      git_configuration: {source_action_name: Src, pull_request: [{branches: {includes: [main]}}]}
`, []string{
			`greenlight.yaml:12:22: provider_type: unknown "GitHub" (allowed: CodeStarSourceConnection)`,
			`greenlight.yaml:13:47: source_action_name: "Build" is not a source action of this pipeline (allowed: Src)`,
			`greenlight.yaml:17:47: source_action_name: source action "Src" already has a trigger (one trigger per source action)`,
		}},
		{"filter combinations", `    - provider_type: CodeStarSourceConnection
      git_configuration:
        source_action_name: Src
        push:
          - {tags: {includes: [v1]}, branches: {includes: [main]}}
          - {file_paths: {includes: [src/**]}}
          - {}
          - {branches: {includes: [a]}}
        pull_request:
          - {tags: {includes: [v1]}, events: [OPENED, OPEN, OPEN]}
`, []string{
			"greenlight.yaml:16:11: push: 1 to 3 filters, found 4",
			"greenlight.yaml:16:13: push filter: tags cannot be combined with branches or file_paths (allowed: tags; branches; branches with file_paths)",
			"greenlight.yaml:17:13: push filter: file_paths needs branches (allowed: tags; branches; branches with file_paths)",
			"greenlight.yaml:18:13: push filter: needs branches or tags",
			`greenlight.yaml:21:13: pull_request filter: missing required key "branches"`,
			`greenlight.yaml:21:14: pull_request filter: unknown key "tags" (allowed: events, branches, file_paths)`,
			`greenlight.yaml:21:47: events: unknown "OPENED" (allowed: OPEN, UPDATED, CLOSED)`,
			"greenlight.yaml:21:61: events: OPEN is listed twice",
		}},
		{"patterns", `    - provider_type: CodeStarSourceConnection
      git_configuration:
        source_action_name: Src
        push:
          - branches: {includes: ["release-[0-9", "{a,{b}}"], excludes: []}
            file_paths: {includes: [/src/**, "a\\"]}
          - tags: {}
`, []string{
			`greenlight.yaml:16:44: branches.includes: invalid glob "release-[0-9": missing ']' (patterns use *, **, ?, [a-z], [!a-z], {a,b} and \ to escape)`,
			`greenlight.yaml:16:55: branches.includes: invalid glob "{a,{b}}": cannot nest groups (patterns use *, **, ?, [a-z], [!a-z], {a,b} and \ to escape)`,
			"greenlight.yaml:16:73: branches.excludes: 1 to 8 patterns, found 0",
			`greenlight.yaml:17:37: file_paths.includes: "/src/**": file paths are relative to the repository root; remove the leading /`,
			`greenlight.yaml:17:46: file_paths.includes: invalid glob "a\\": no character to escape (patterns use *, **, ?, [a-z], [!a-z], {a,b} and \ to escape)`,
			"greenlight.yaml:18:19: tags: needs includes or excludes",
		}},
		{"no filters", `    - provider_type: CodeStarSourceConnection
      git_configuration: {source_action_name: Src}
`, []string{
			"greenlight.yaml:13:26: git_configuration: needs push or pull_request filters",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := withTriggers(tc.triggers)
			_, err := ParseDefinition("greenlight.yaml", []byte(src))
			assertErrors(t, src, err, tc.want...)
		})
	}
}
