package webhook

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/trigger"
)

// The parts of GitHub's push, pull_request and ping payloads greenlight reads
// ("Webhook events and payloads", docs.github.com).
type ghRepository struct {
	FullName      string `json:"full_name"`
	CloneURL      string `json:"clone_url"`
	SSHURL        string `json:"ssh_url"`
	HTMLURL       string `json:"html_url"`
	DefaultBranch string `json:"default_branch"`
}

type ghCommit struct {
	ID        string    `json:"id"`
	Message   string    `json:"message"`
	Timestamp time.Time `json:"timestamp"`
	URL       string    `json:"url"`
	Author    struct {
		Name     string `json:"name"`
		Email    string `json:"email"`
		Username string `json:"username"`
	} `json:"author"`
	Added    []string `json:"added"`
	Modified []string `json:"modified"`
	Removed  []string `json:"removed"`
}

type ghUser struct {
	Login string `json:"login"`
}

type ghPush struct {
	Ref        string        `json:"ref"`
	Before     string        `json:"before"`
	After      string        `json:"after"`
	Deleted    bool          `json:"deleted"`
	Commits    []ghCommit    `json:"commits"`
	HeadCommit *ghCommit     `json:"head_commit"`
	Repository *ghRepository `json:"repository"`
	Sender     ghUser        `json:"sender"`
}

type ghPullRequest struct {
	Action      string `json:"action"`
	Number      int    `json:"number"`
	PullRequest *struct {
		HTMLURL string `json:"html_url"`
		Title   string `json:"title"`
		Merged  bool   `json:"merged"`
		Head    struct {
			Ref string `json:"ref"`
			SHA string `json:"sha"`
		} `json:"head"`
		Base struct {
			Ref string `json:"ref"`
			SHA string `json:"sha"`
		} `json:"base"`
		User ghUser `json:"user"`
	} `json:"pull_request"`
	Repository *ghRepository `json:"repository"`
	Sender     ghUser        `json:"sender"`
}

// Ping is GitHub's "ping" event, sent when a webhook is created.
type Ping struct {
	Zen        string `json:"zen"`
	HookID     int64  `json:"hook_id"`
	Repository string `json:"repository,omitempty"`
}

type ghPing struct {
	Zen        string        `json:"zen"`
	HookID     int64         `json:"hook_id"`
	Repository *ghRepository `json:"repository"`
}

// maxPushCommits is the most commits GitHub lists in a push payload; a push with
// more lists only some of them, so its changed files are not complete.
const maxPushCommits = 2048

func decode(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return refuse(CodeMalformed, "the payload is not the JSON GitHub sends: %v", err)
	}
	return nil
}

func parsePush(data []byte) (*trigger.Event, error) {
	var p ghPush
	if err := decode(data, &p); err != nil {
		return nil, err
	}
	if p.Ref == "" || p.Repository == nil || p.Repository.FullName == "" {
		return nil, refuse(CodeMalformed, "the push payload has no ref or repository.full_name")
	}
	// GitHub marks a deleted ref with deleted: true and an after of zeros; the
	// zeros alone say it too, and are no commit to run.
	deleted := p.Deleted || isZeroCommit(p.After)
	if !deleted && !isCommitID(p.After) {
		return nil, refuse(CodeMalformed, "the push payload's after is %q, not a commit id", p.After)
	}
	ev := &trigger.Event{
		Kind: trigger.KindPush, Repository: repository(p.Repository), Ref: p.Ref,
		Before: p.Before, After: p.After, Deleted: deleted, Sender: p.Sender.Login,
		ChangedFiles: changedFiles(p.Commits), FilesKnown: len(p.Commits) < maxPushCommits,
	}
	if p.HeadCommit != nil {
		ev.HeadCommit = commit(*p.HeadCommit)
	} else {
		ev.HeadCommit = trigger.Commit{ID: p.After}
	}
	return ev, nil
}

// isCommitID reports whether s is a full hexadecimal commit id (SHA-1 or
// SHA-256).
func isCommitID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// isZeroCommit reports whether s is the all-zero id Git uses for "no commit".
func isZeroCommit(s string) bool { return s != "" && strings.Trim(s, "0") == "" }

// changedFiles is every path a push adds, modifies or removes, once each, sorted.
func changedFiles(commits []ghCommit) []string {
	var files []string
	for _, c := range commits {
		files = append(files, c.Added...)
		files = append(files, c.Modified...)
		files = append(files, c.Removed...)
	}
	slices.Sort(files)
	return slices.Compact(files)
}

func commit(c ghCommit) trigger.Commit {
	author := c.Author.Name
	if author == "" {
		author = c.Author.Username
	}
	return trigger.Commit{ID: c.ID, Message: c.Message, Author: author, Email: c.Author.Email, URL: c.URL, Time: c.Timestamp}
}

func repository(r *ghRepository) trigger.Repository {
	return trigger.Repository{FullName: r.FullName, CloneURL: r.CloneURL, SSHURL: r.SSHURL, HTMLURL: r.HTMLURL, DefaultBranch: r.DefaultBranch}
}

// pullRequestActions maps GitHub's pull_request actions to CodePipeline's pull
// request events; other actions (labeled, edited, ...) trigger nothing.
var pullRequestActions = map[string]string{
	"opened":      manifest.PullRequestOpen,
	"reopened":    manifest.PullRequestOpen,
	"synchronize": manifest.PullRequestUpdated,
	"closed":      manifest.PullRequestClosed,
}

func parsePullRequest(data []byte) (*trigger.Event, error) {
	var p ghPullRequest
	if err := decode(data, &p); err != nil {
		return nil, err
	}
	if p.PullRequest == nil || p.Repository == nil || p.Repository.FullName == "" || p.Action == "" {
		return nil, refuse(CodeMalformed, "the pull_request payload has no action, pull_request or repository.full_name")
	}
	pr := p.PullRequest
	return &trigger.Event{
		Kind: trigger.KindPullRequest, Repository: repository(p.Repository), Sender: p.Sender.Login,
		HeadCommit: trigger.Commit{ID: pr.Head.SHA, Author: pr.User.Login, Message: pr.Title},
		PR: &trigger.PullRequest{
			Number: p.Number, Action: pullRequestActions[p.Action], BaseBranch: pr.Base.Ref, BaseSHA: pr.Base.SHA,
			HeadBranch: pr.Head.Ref, HeadSHA: pr.Head.SHA, Merged: pr.Merged, Title: pr.Title, URL: pr.HTMLURL,
		},
	}, nil
}

func parsePing(data []byte) (*Ping, error) {
	var p ghPing
	if err := decode(data, &p); err != nil {
		return nil, err
	}
	ping := &Ping{Zen: p.Zen, HookID: p.HookID}
	if p.Repository != nil {
		ping.Repository = p.Repository.FullName
	}
	return ping, nil
}

// describe is a one-line summary of a trigger event, for logs and records.
func describe(ev *trigger.Event) string {
	if ev.Kind == trigger.KindPullRequest {
		return fmt.Sprintf("pull request #%d %s into %s (%s)", ev.PR.Number, ev.PR.Action, ev.PR.BaseBranch, ev.Repository.FullName)
	}
	if ev.Deleted {
		return fmt.Sprintf("deletion of %s of %s", ev.Ref, ev.Repository.FullName)
	}
	return fmt.Sprintf("push to %s of %s (%s)", ev.Ref, ev.Repository.FullName, short(ev.After))
}

func short(sha string) string { return sha[:min(len(sha), 12)] }
