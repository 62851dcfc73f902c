package manifest

import (
	"errors"
	"slices"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/glob"
)

// Trigger provider types and pull request events (CodePipeline V2's
// PipelineTriggerDeclaration and GitPullRequestFilter).
const (
	TriggerProviderCodeStar = "CodeStarSourceConnection"

	PullRequestOpen    = "OPEN"
	PullRequestUpdated = "UPDATED"
	PullRequestClosed  = "CLOSED"
)

// PullRequestEvents are the pull request events a filter may name, in
// CodePipeline's order; a filter without events takes all of them.
var PullRequestEvents = []string{PullRequestOpen, PullRequestUpdated, PullRequestClosed}

// Limits of CodePipeline's trigger API (API_GitConfiguration,
// API_GitBranchFilterCriteria): three push and three pull request filters per
// trigger, eight patterns per includes or excludes list, 255 characters a pattern.
const (
	maxGitFilters      = 3
	maxFilterPatterns  = 8
	maxPatternLength   = 255
	maxPipelineTrigger = 50
)

// Trigger is one entry of pipeline.triggers: when a Git event starts the pipeline
// for a source action, instead of any push to its BranchName.
type Trigger struct {
	ProviderType     string            `json:"provider_type"`
	GitConfiguration *GitConfiguration `json:"git_configuration"`
	Pos              Pos               `json:"-"`
}

// GitConfiguration names the source action a trigger is for and its filters: the
// pipeline starts when any one filter matches.
type GitConfiguration struct {
	SourceActionName string                  `json:"source_action_name"`
	Push             []*GitPushFilter        `json:"push,omitempty"`
	PullRequest      []*GitPullRequestFilter `json:"pull_request,omitempty"`
	Pos              Pos                     `json:"-"`
}

// GitPushFilter matches pushes: of tags, or of branches (optionally only when a
// changed file matches FilePaths).
type GitPushFilter struct {
	Branches  *FilterCriteria `json:"branches,omitempty"`
	Tags      *FilterCriteria `json:"tags,omitempty"`
	FilePaths *FilterCriteria `json:"file_paths,omitempty"`
	Pos       Pos             `json:"-"`
}

// GitPullRequestFilter matches pull request events into (destination) branches.
type GitPullRequestFilter struct {
	Events    []string        `json:"events"` // default: OPEN, UPDATED, CLOSED
	Branches  *FilterCriteria `json:"branches,omitempty"`
	FilePaths *FilterCriteria `json:"file_paths,omitempty"`
	Pos       Pos             `json:"-"`
}

// FilterCriteria holds glob patterns (see internal/glob); excludes take precedence
// over includes.
type FilterCriteria struct {
	Includes []string `json:"includes,omitempty"`
	Excludes []string `json:"excludes,omitempty"`
	Pos      Pos      `json:"-"`
}

// SourceTrigger returns the trigger declared for a source action, or nil.
func (p *Pipeline) SourceTrigger(action string) *Trigger {
	for _, t := range p.Triggers {
		if t.GitConfiguration != nil && t.GitConfiguration.SourceActionName == action {
			return t
		}
	}
	return nil
}

func (d *decoder) triggers(n *node) []*Trigger {
	var out []*Trigger
	d.list(n, "triggers", func(_ int, item *node) { out = append(out, d.trigger(item)) })
	if n.kind == kindSeq && len(n.items) > maxPipelineTrigger {
		d.errorf(n.pos, "triggers: at most %d triggers, found %d", maxPipelineTrigger, len(n.items))
	}
	return out
}

func (d *decoder) trigger(n *node) *Trigger {
	t := &Trigger{Pos: n.pos}
	d.object(n, "trigger", t,
		req("provider_type", func(v *node) { t.ProviderType, _ = d.enum(v, "provider_type", TriggerProviderCodeStar) }),
		req("git_configuration", func(v *node) { t.GitConfiguration = d.gitConfiguration(v) }),
	)
	return t
}

func (d *decoder) gitConfiguration(n *node) *GitConfiguration {
	g := &GitConfiguration{Pos: n.pos}
	d.object(n, "git_configuration", g,
		req("source_action_name", func(v *node) { g.SourceActionName, _ = d.name(v, "source_action_name") }),
		opt("push", func(v *node) {
			d.filterList(v, "push", func(item *node) { g.Push = append(g.Push, d.pushFilter(item)) })
		}),
		opt("pull_request", func(v *node) {
			d.filterList(v, "pull_request", func(item *node) { g.PullRequest = append(g.PullRequest, d.pullRequestFilter(item)) })
		}),
	)
	if n.kind == kindMap && n.get("push") == nil && n.get("pull_request") == nil {
		d.errorf(n.pos, "git_configuration: needs push or pull_request filters")
	}
	return g
}

func (d *decoder) filterList(n *node, what string, item func(*node)) {
	d.list(n, what, func(_ int, v *node) { item(v) })
	if n.kind == kindSeq && (len(n.items) == 0 || len(n.items) > maxGitFilters) {
		d.errorf(n.pos, "%s: 1 to %d filters, found %d", what, maxGitFilters, len(n.items))
	}
}

// pushFilter decodes a push filter. CodePipeline accepts tags alone, branches
// alone, or branches with file paths ("Add trigger with code push or pull request
// event types").
func (d *decoder) pushFilter(n *node) *GitPushFilter {
	f := &GitPushFilter{Pos: n.pos}
	d.object(n, "push filter", f,
		opt("branches", func(v *node) { f.Branches = d.criteria(v, "branches", false) }),
		opt("tags", func(v *node) { f.Tags = d.criteria(v, "tags", false) }),
		opt("file_paths", func(v *node) { f.FilePaths = d.criteria(v, "file_paths", true) }),
	)
	if n.kind != kindMap {
		return f
	}
	switch has := func(k string) bool { return n.get(k) != nil }; {
	case has("tags") && (has("branches") || has("file_paths")):
		d.errorf(n.pos, "push filter: tags cannot be combined with branches or file_paths (allowed: tags; branches; branches with file_paths)")
	case has("file_paths") && !has("branches"):
		d.errorf(n.pos, "push filter: file_paths needs branches (allowed: tags; branches; branches with file_paths)")
	case !has("tags") && !has("branches"):
		d.errorf(n.pos, "push filter: needs branches or tags")
	}
	return f
}

func (d *decoder) pullRequestFilter(n *node) *GitPullRequestFilter {
	f := &GitPullRequestFilter{Pos: n.pos, Events: slices.Clone(PullRequestEvents)}
	d.object(n, "pull_request filter", f,
		opt("events", func(v *node) { f.Events = d.pullRequestEvents(v) }),
		req("branches", func(v *node) { f.Branches = d.criteria(v, "branches", false) }),
		opt("file_paths", func(v *node) { f.FilePaths = d.criteria(v, "file_paths", true) }),
	)
	return f
}

func (d *decoder) pullRequestEvents(n *node) []string {
	var out []string
	d.list(n, "events", func(_ int, v *node) {
		e, ok := d.enum(v, "events", PullRequestEvents...)
		switch {
		case ok && slices.Contains(out, e):
			d.errorf(v.pos, "events: %s is listed twice", e)
		case ok:
			out = append(out, e)
		}
	})
	if n.kind == kindSeq && len(n.items) == 0 {
		d.errorf(n.pos, "events: list at least one (allowed: %s), or leave events out for all", strings.Join(PullRequestEvents, ", "))
	}
	return out
}

// criteria decodes includes/excludes and checks each pattern's glob syntax, with
// the column of the offending character.
func (d *decoder) criteria(n *node, what string, paths bool) *FilterCriteria {
	c := &FilterCriteria{Pos: n.pos}
	d.object(n, what, c,
		opt("includes", func(v *node) { c.Includes = d.patterns(v, what+".includes", paths) }),
		opt("excludes", func(v *node) { c.Excludes = d.patterns(v, what+".excludes", paths) }),
	)
	if n.kind == kindMap && n.get("includes") == nil && n.get("excludes") == nil {
		d.errorf(n.pos, "%s: needs includes or excludes", what)
	}
	return c
}

func (d *decoder) patterns(n *node, what string, paths bool) []string {
	var out []string
	d.list(n, what, func(_ int, v *node) {
		s, ok := d.name(v, what)
		if ok && d.checkPattern(v, what, s, paths) {
			out = append(out, s)
		}
	})
	if n.kind == kindSeq && (len(n.items) == 0 || len(n.items) > maxFilterPatterns) {
		d.errorf(n.pos, "%s: 1 to %d patterns, found %d", what, maxFilterPatterns, len(n.items))
	}
	return out
}

func (d *decoder) checkPattern(v *node, what, s string, paths bool) bool {
	if len(s) > maxPatternLength {
		d.errorf(v.pos, "%s: pattern is %d characters long (at most %d)", what, len(s), maxPatternLength)
		return false
	}
	if _, err := glob.Compile(s); err != nil {
		var se *glob.SyntaxError
		if errors.As(err, &se) {
			d.errorf(posIn(v, se.Offset), "%s: invalid glob %q: %s (patterns use *, **, ?, [a-z], [!a-z], {a,b} and \\ to escape)", what, clip(s), se.Msg)
			return false
		}
	}
	if paths && strings.HasPrefix(s, "/") {
		d.errorf(v.pos, "%s: %q: file paths are relative to the repository root; remove the leading /", what, clip(s))
		return false
	}
	return true
}

// validateTriggers: each trigger names a source action of the pipeline, once.
func (c *pipelineCheck) validateTriggers(p *Pipeline) {
	var sources []string
	for _, l := range c.actions {
		if l.action.Category == CategorySource && l.action.Name != "" {
			sources = append(sources, l.action.Name)
		}
	}
	seen := map[string]bool{}
	for _, t := range p.Triggers {
		g := t.GitConfiguration
		if g == nil || g.SourceActionName == "" {
			continue
		}
		at := c.d.at(g, "source_action_name", g.Pos)
		switch {
		case !slices.Contains(sources, g.SourceActionName):
			c.d.errorf(at, "source_action_name: %q is not a source action of this pipeline (allowed: %s)", clip(g.SourceActionName), allowedNames(sources, "none"))
		case seen[g.SourceActionName]:
			c.d.errorf(at, "source_action_name: source action %q already has a trigger (one trigger per source action)", g.SourceActionName)
		}
		seen[g.SourceActionName] = true
	}
}

// String describes the criteria in one line, for logs and decisions.
func (f *FilterCriteria) String() string {
	if f == nil {
		return ""
	}
	var parts []string
	if len(f.Includes) > 0 {
		parts = append(parts, "includes "+strings.Join(f.Includes, ", "))
	}
	if len(f.Excludes) > 0 {
		parts = append(parts, "excludes "+strings.Join(f.Excludes, ", "))
	}
	return strings.Join(parts, "; ")
}
