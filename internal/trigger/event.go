// Package trigger decides whether a Git event starts a pipeline, as CodePipeline V2
// does: a source action with a trigger (pipeline.triggers) starts on the push or
// pull request filters it declares; one without starts on any push to its
// BranchName. It also tells which pipelines a delivery is for (the source's
// repository). Everything here is pure: the webhook package turns GitHub deliveries
// into Events, and the server acts on the Decision.
package trigger

import (
	"strings"
	"time"
)

// Kind is what happened in the repository.
type Kind string

// Kinds of GitHub event a trigger decides on.
const (
	KindPush        Kind = "push"
	KindPullRequest Kind = "pull_request"
)

// Repository identifies where an event happened.
type Repository struct {
	FullName      string `json:"full_name"` // owner/name
	CloneURL      string `json:"clone_url,omitempty"`
	SSHURL        string `json:"ssh_url,omitempty"`
	HTMLURL       string `json:"html_url,omitempty"`
	DefaultBranch string `json:"default_branch,omitempty"`
}

// Name is the repository's name without its owner.
func (r Repository) Name() string { return r.FullName[strings.LastIndex(r.FullName, "/")+1:] }

// Commit is the commit an event points at, as far as the event tells.
type Commit struct {
	ID      string    `json:"id"`
	Message string    `json:"message,omitempty"`
	Author  string    `json:"author,omitempty"`
	Email   string    `json:"email,omitempty"`
	URL     string    `json:"url,omitempty"`
	Time    time.Time `json:"time,omitzero"`
}

// Subject is the first line of the commit message.
func (c Commit) Subject() string {
	s, _, _ := strings.Cut(c.Message, "\n")
	return strings.TrimSpace(s)
}

// PullRequest is what a pull request event says, with its action already mapped
// to CodePipeline's event names (manifest.PullRequestOpen, ...), or "" for actions
// CodePipeline does not trigger on (labeled, assigned, ...).
type PullRequest struct {
	Number     int    `json:"number"`
	Action     string `json:"action"`
	BaseBranch string `json:"base_branch"`        // the destination: what branch filters match
	BaseSHA    string `json:"base_sha,omitempty"` // the destination's head when the event was sent
	HeadBranch string `json:"head_branch"`
	HeadSHA    string `json:"head_sha"`
	Merged     bool   `json:"merged,omitempty"`
	Title      string `json:"title,omitempty"`
	URL        string `json:"url,omitempty"`
}

// Event is a push or a pull request event.
type Event struct {
	Kind       Kind         `json:"kind"`
	Delivery   string       `json:"delivery,omitempty"` // the webhook delivery id
	Repository Repository   `json:"repository"`
	Ref        string       `json:"ref,omitempty"` // push: refs/heads/main, refs/tags/v1
	Before     string       `json:"before,omitempty"`
	After      string       `json:"after,omitempty"`
	Deleted    bool         `json:"deleted,omitempty"` // push: the ref was deleted
	HeadCommit Commit       `json:"head_commit"`
	PR         *PullRequest `json:"pull_request,omitempty"`
	Sender     string       `json:"sender,omitempty"`
	// ChangedFiles are the paths the event changes, relative to the repository
	// root. FilesKnown says they are complete: a push delivery lists them, a pull
	// request delivery does not, so the server fills them (git diff) before a file
	// path filter can match one.
	ChangedFiles []string `json:"changed_files,omitempty"`
	FilesKnown   bool     `json:"files_known,omitempty"`
	// FilesUnknown says why the changed files could not be found (the
	// repository is not reachable from here, a commit is missing), for the
	// decision's reason.
	FilesUnknown string `json:"files_unknown,omitempty"`
}

const (
	branchPrefix = "refs/heads/"
	tagPrefix    = "refs/tags/"
)

// Branch is the pushed branch, when a branch was pushed.
func (e Event) Branch() (string, bool) { return strings.CutPrefix(e.Ref, branchPrefix) }

// Tag is the pushed tag, when a tag was pushed.
func (e Event) Tag() (string, bool) { return strings.CutPrefix(e.Ref, tagPrefix) }

// Revision is the commit an execution started by e runs: the pushed head, or the
// pull request's head (CodePipeline runs the source branch of a pull request).
func (e Event) Revision() string {
	if e.Kind == KindPullRequest && e.PR != nil {
		return e.PR.HeadSHA
	}
	return e.After
}
