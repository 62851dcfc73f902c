package trigger

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/glob"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Outcome is what an event means for one pipeline.
type Outcome string

// Outcomes of a decision.
const (
	OutcomeStart      Outcome = "start"       // start an execution
	OutcomeNotSource  Outcome = "not-source"  // the repository is not a source of the pipeline
	OutcomeNoMatch    Outcome = "no-match"    // no trigger filter (or default branch) matched
	OutcomeRefDeleted Outcome = "ref-deleted" // a deleted branch or tag starts nothing
	OutcomeDisabled   Outcome = "disabled"    // DetectChanges: false and no trigger
)

// CodePipeline's ExecutionTrigger types for executions started by a repository
// event: Webhook without filters, WebhookV2 by a trigger filter.
const (
	TriggerWebhook   = "Webhook"
	TriggerWebhookV2 = "WebhookV2"
)

// Decision is what an event asks of a pipeline, and why.
type Decision struct {
	Outcome      Outcome `json:"outcome"`
	Reason       string  `json:"reason"`
	SourceAction string  `json:"source_action,omitempty"`
	Revision     string  `json:"revision,omitempty"` // the commit to run
	Branch       string  `json:"branch,omitempty"`
	Tag          string  `json:"tag,omitempty"`
	TriggerType  string  `json:"trigger_type,omitempty"`
}

// Ref is the full ref the event names: refs/tags/<tag>, refs/heads/<branch>
// (a pull request's source branch), or "".
func (d Decision) Ref() string {
	switch {
	case d.Tag != "":
		return tagPrefix + d.Tag
	case d.Branch != "":
		return branchPrefix + d.Branch
	}
	return ""
}

// Start reports whether the pipeline should start an execution.
func (d Decision) Start() bool { return d.Outcome == OutcomeStart }

// Decide tells whether ev starts def's pipeline. Each source action reading the
// event's repository is considered in pipeline order; the first that the event
// triggers wins.
func Decide(def *manifest.Definition, ev Event) Decision {
	p := def.Pipeline
	var last Decision
	found := false
	for _, a := range sourceActions(p) {
		if !SourceRepositoryMatches(a, def.Dir, ev.Repository) {
			continue
		}
		found = true
		d := decideFor(p, a, ev)
		if d.Start() {
			return d
		}
		last = d
	}
	if !found {
		return Decision{Outcome: OutcomeNotSource, Reason: fmt.Sprintf("%s is not the repository of any source action of %s (%s)",
			ev.Repository.FullName, p.Name, strings.Join(sourcesRead(p, def.Dir), "; "))}
	}
	return last
}

// sourcesRead says which GitHub repository each source action of p stands for,
// for a delivery that matched none of them.
func sourcesRead(p *manifest.Pipeline, dir string) []string {
	var out []string
	for _, a := range sourceActions(p) {
		switch location := a.Configuration["Repository"]; {
		case a.Provider == manifest.ProviderCodeStar:
			out = append(out, fmt.Sprintf("%s reads FullRepositoryId %s", a.Name, a.Configuration["FullRepositoryId"]))
		case a.Provider != manifest.ProviderGit:
			out = append(out, fmt.Sprintf("%s is a %s source, which takes no GitHub delivery", a.Name, a.Provider))
		case isURL(location):
			out = append(out, fmt.Sprintf("%s reads %s", a.Name, location))
		default:
			if !filepath.IsAbs(location) {
				location = filepath.Join(dir, location)
			}
			out = append(out, fmt.Sprintf("%s reads the clone %s, which stands for the GitHub repository named %s, as its directory is",
				a.Name, location, filepath.Base(filepath.Clean(location))))
		}
	}
	return out
}

func sourceActions(p *manifest.Pipeline) []*manifest.Action {
	var out []*manifest.Action
	for _, s := range p.Stages {
		for _, a := range s.Actions {
			if a.Category == manifest.CategorySource {
				out = append(out, a)
			}
		}
	}
	return out
}

func decideFor(p *manifest.Pipeline, a *manifest.Action, ev Event) Decision {
	if ev.Kind == KindPush && ev.Deleted {
		return Decision{Outcome: OutcomeRefDeleted, SourceAction: a.Name, Reason: ev.Ref + " was deleted"}
	}
	if t := p.SourceTrigger(a.Name); t != nil && t.GitConfiguration != nil {
		return filtered(t.GitConfiguration, a, ev)
	}
	return byBranchName(a, ev)
}

// byBranchName is CodePipeline's trigger without filters: a push to the source
// action's BranchName (the repository's default branch when none is set).
func byBranchName(a *manifest.Action, ev Event) Decision {
	d := Decision{SourceAction: a.Name, Outcome: OutcomeNoMatch}
	if strings.EqualFold(a.Configuration["DetectChanges"], "false") {
		d.Outcome, d.Reason = OutcomeDisabled, fmt.Sprintf("source action %s has DetectChanges: false and no trigger", a.Name)
		return d
	}
	want := a.Configuration["BranchName"]
	if want == "" {
		want = ev.Repository.DefaultBranch
	}
	branch, isBranch := ev.Branch()
	switch {
	case ev.Kind != KindPush:
		d.Reason = fmt.Sprintf("source action %s has no trigger; only a push to %s starts it", a.Name, want)
	case !isBranch || branch != want:
		d.Reason = fmt.Sprintf("push to %s; source action %s watches branch %s", ev.Ref, a.Name, want)
	default:
		d = started(a, ev, TriggerWebhook, fmt.Sprintf("push to %s, the branch of source action %s", branch, a.Name))
	}
	return d
}

func started(a *manifest.Action, ev Event, triggerType, reason string) Decision {
	d := Decision{Outcome: OutcomeStart, SourceAction: a.Name, Revision: ev.Revision(), TriggerType: triggerType, Reason: reason}
	if ev.Kind == KindPullRequest && ev.PR != nil {
		d.Branch = ev.PR.HeadBranch
	} else if b, ok := ev.Branch(); ok {
		d.Branch = b
	} else if t, ok := ev.Tag(); ok {
		d.Tag = t
	}
	return d
}

// filtered applies a trigger's filters: the first one that matches starts the
// pipeline (CodePipeline ORs the filters of a trigger).
func filtered(g *manifest.GitConfiguration, a *manifest.Action, ev Event) Decision {
	var d Decision
	switch ev.Kind {
	case KindPush:
		d = firstFilter(g.Push, "push", matchPush, a, ev)
	case KindPullRequest:
		d = firstFilter(g.PullRequest, "pull_request", matchPullRequest, a, ev)
	}
	if d.Reason == "" {
		d = Decision{Outcome: OutcomeNoMatch, SourceAction: a.Name, Reason: fmt.Sprintf("the trigger for %s has no %s filters", a.Name, ev.Kind)}
	}
	return d
}

// firstFilter tries each filter of one kind; without a match, the reason lists
// why each one did not.
func firstFilter[F any](filters []F, kind string, match func(F, Event) (bool, string), a *manifest.Action, ev Event) Decision {
	var why []string
	for i, f := range filters {
		ok, reason := match(f, ev)
		if ok {
			return started(a, ev, TriggerWebhookV2, fmt.Sprintf("%s filter %d of the trigger for %s: %s", kind, i+1, a.Name, reason))
		}
		why = append(why, fmt.Sprintf("%s filter %d: %s", kind, i+1, reason))
	}
	return Decision{Outcome: OutcomeNoMatch, SourceAction: a.Name, Reason: strings.Join(why, "; ")}
}

// matchPush: a tags filter matches tag pushes only, a branches filter branch
// pushes only, with at least one changed file passing its file_paths.
func matchPush(f *manifest.GitPushFilter, ev Event) (bool, string) {
	if f.Tags != nil {
		tag, ok := ev.Tag()
		if !ok {
			return false, ev.Ref + " is not a tag"
		}
		return matchName(f.Tags, "tag", tag)
	}
	branch, ok := ev.Branch()
	if !ok {
		return false, ev.Ref + " is not a branch"
	}
	if ok, reason := matchName(f.Branches, "branch", branch); !ok || f.FilePaths == nil {
		return ok, reason
	}
	return matchFiles(f.FilePaths, ev)
}

func matchPullRequest(f *manifest.GitPullRequestFilter, ev Event) (bool, string) {
	pr := ev.PR
	if pr == nil || pr.Action == "" {
		return false, "not an OPEN, UPDATED or CLOSED pull request event"
	}
	if !slices.Contains(f.Events, pr.Action) {
		return false, fmt.Sprintf("pull request %s; the filter takes %s", pr.Action, strings.Join(f.Events, ", "))
	}
	ok, reason := matchName(f.Branches, "destination branch", pr.BaseBranch)
	if !ok || f.FilePaths == nil {
		return ok, reason
	}
	return matchFiles(f.FilePaths, ev)
}

// matchName applies includes and excludes to a branch or tag name; an exclude
// wins over an include, and without includes everything not excluded matches.
func matchName(c *manifest.FilterCriteria, what, name string) (bool, string) {
	if c == nil {
		return true, what + " " + name
	}
	if p := firstMatch(c.Excludes, name); p != "" {
		return false, fmt.Sprintf("%s %s is excluded by %s", what, name, p)
	}
	if len(c.Includes) == 0 {
		return true, fmt.Sprintf("%s %s is not excluded", what, name)
	}
	if p := firstMatch(c.Includes, name); p != "" {
		return true, fmt.Sprintf("%s %s matches %s", what, name, p)
	}
	return false, fmt.Sprintf("%s %s matches none of %s", what, name, strings.Join(c.Includes, ", "))
}

// matchFiles: the event starts the pipeline when at least one changed file is
// included (or there are no includes) and not excluded.
func matchFiles(c *manifest.FilterCriteria, ev Event) (bool, string) {
	if !ev.FilesKnown && ev.FilesUnknown != "" {
		return false, fmt.Sprintf("the changed files are not known (%s), so file_paths cannot match", ev.FilesUnknown)
	}
	if !ev.FilesKnown {
		return false, "the changed files are not known, so file_paths cannot match"
	}
	for _, f := range ev.ChangedFiles {
		if firstMatch(c.Excludes, f) != "" {
			continue
		}
		if len(c.Includes) == 0 {
			return true, fmt.Sprintf("changed file %s is not excluded", f)
		}
		if p := firstMatch(c.Includes, f); p != "" {
			return true, fmt.Sprintf("changed file %s matches %s", f, p)
		}
	}
	return false, fmt.Sprintf("none of the %d changed files passes file_paths (%s)", len(ev.ChangedFiles), c)
}

// firstMatch returns the first pattern matching name. Patterns were validated when
// greenlight.yaml was loaded; one that does not compile matches nothing.
func firstMatch(patterns []string, name string) string {
	for _, p := range patterns {
		if g, err := glob.Compile(p); err == nil && g.Match(name) {
			return p
		}
	}
	return ""
}
