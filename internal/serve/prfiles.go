package serve

import (
	"context"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/source"
	"github.com/greenlight-ci/greenlight/internal/trigger"
)

// PullRequestFiles finds the files a pull request changes in the repository a
// source action reads (source.Git does, with git).
type PullRequestFiles interface {
	ChangedFiles(ctx context.Context, c source.Changes) ([]string, error)
}

// filesTimeout bounds finding a pull request's files: GitHub gives up on a
// delivery after 10 s.
const filesTimeout = 8 * time.Second

// changedFiles are one delivery's pull request files per repository, found
// once whichever pipelines read that repository.
type changedFiles map[string]filesFound

type filesFound struct {
	files []string
	err   error
}

// withFiles fills a pull request event's changed files for def (GitHub's
// pull_request delivery lists none) when a file_paths filter of def's
// pull_request trigger needs them: git diff between the pull request's base
// and head in the repository its source action reads, a path or a URL's
// mirror. When they cannot be found the event says why, and so does the
// filter's reason.
func (h *Webhook) withFiles(ctx context.Context, def *manifest.Definition, ev trigger.Event, found changedFiles) trigger.Event {
	if ev.Kind != trigger.KindPullRequest || ev.PR == nil || ev.FilesKnown {
		return ev
	}
	a := sourceNeedingFiles(def, ev.Repository)
	if a == nil {
		return ev
	}
	if h.Files == nil {
		ev.FilesUnknown = "this server reads no repository"
		return ev
	}
	c := source.Changes{Repository: a.Configuration[source.ConfigRepository], DefinitionDir: def.Dir, StateDir: h.StateDir,
		Base: ev.PR.BaseSHA, Head: ev.PR.HeadSHA, PullNumber: ev.PR.Number}
	key := c.DefinitionDir + "\x00" + c.Repository
	got, ok := found[key]
	if !ok {
		fctx, cancel := context.WithTimeout(ctx, filesTimeout)
		got.files, got.err = h.Files.ChangedFiles(fctx, c)
		if got.err != nil && fctx.Err() != nil {
			got.err = fmt.Errorf("no answer from git within %s: %w", filesTimeout, got.err)
		}
		cancel()
		found[key] = got
	}
	if got.err != nil {
		ev.FilesUnknown = got.err.Error()
		return ev
	}
	ev.ChangedFiles, ev.FilesKnown = got.files, true
	return ev
}

// sourceNeedingFiles is the first source action of def that reads repo and
// whose trigger has a pull_request filter on file_paths, or nil.
func sourceNeedingFiles(def *manifest.Definition, repo trigger.Repository) *manifest.Action {
	for _, st := range def.Pipeline.Stages {
		for _, a := range st.Actions {
			if a.Category == manifest.CategorySource && trigger.SourceRepositoryMatches(a, def.Dir, repo) && filtersFiles(def.Pipeline, a.Name) {
				return a
			}
		}
	}
	return nil
}

func filtersFiles(p *manifest.Pipeline, action string) bool {
	t := p.SourceTrigger(action)
	if t == nil || t.GitConfiguration == nil {
		return false
	}
	for _, f := range t.GitConfiguration.PullRequest {
		if f.FilePaths != nil {
			return true
		}
	}
	return false
}
