package source

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"github.com/greenlight-ci/greenlight/internal/flock"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
)

// Changes names a pull request's commits in the repository a source action
// reads.
type Changes struct {
	Repository    string // the action's Repository configuration: a path or a URL ("": ".")
	DefinitionDir string // a relative path is resolved against it
	StateDir      string // where the mirror of a URL lives (<StateDir>/sources)
	Base, Head    string // the destination branch's commit and the pull request's head
	PullNumber    int    // fetched as refs/pull/N/head when the head is missing (GitHub's ref); 0: none
}

// ChangedFiles returns the paths a pull request changes, relative to the
// repository's root, as GitHub's "Files changed" shows them: git diff between
// the merge base of Base and Head, and Head. A URL's mirror is fetched first
// (its branches and tags, Head by id, then the pull request's ref); a local
// repository is read as it is, never fetched into. It fails, saying why, when
// the repository or a commit cannot be reached.
func (g *Git) ChangedFiles(ctx context.Context, c Changes) ([]string, error) {
	if c.Base == "" || c.Head == "" {
		return nil, fmt.Errorf("the event names no base or head commit")
	}
	run := &pipeline.ActionRun{
		Config: map[string]string{ConfigRepository: c.Repository}, DefinitionDir: c.DefinitionDir, StateDir: c.StateDir,
		RequestedRevision: c.Head, Log: io.Discard, Logger: slog.New(slog.DiscardHandler),
	}
	repo, err := g.locate(ctx, run)
	if err != nil {
		return nil, err
	}
	if repo.remote && c.PullNumber > 0 && !g.exists(ctx, repo.gitDir, c.Head) {
		if err := g.fetchPull(ctx, repo, c.PullNumber); err != nil {
			return nil, err
		}
	}
	for _, commit := range []string{c.Base, c.Head} {
		if !g.exists(ctx, repo.gitDir, commit) {
			return nil, fmt.Errorf("commit %s is not in %s", commit, repo.describe())
		}
	}
	out, err := g.gitBytes(ctx, repo.gitDir, "diff", "--name-only", "-z", "--no-renames", c.Base+"..."+c.Head, "--")
	if err != nil {
		return nil, fmt.Errorf("changed files of %s...%s in %s: %w", short(c.Base), short(c.Head), repo.describe(), err)
	}
	files := []string{}
	for f := range bytes.SplitSeq(out, []byte{0}) {
		if len(f) > 0 {
			files = append(files, string(f))
		}
	}
	return files, nil
}

// fetchPull fetches GitHub's ref of a pull request's head into a mirror (a
// fork's head is in no branch of the repository).
func (g *Git) fetchPull(ctx context.Context, repo repository, number int) error {
	lock, err := flock.Acquire(repo.gitDir + ".lock")
	if err != nil {
		return fmt.Errorf("lock source cache: %w", err)
	}
	defer lock.Release()
	ref := "refs/pull/" + strconv.Itoa(number) + "/head"
	if _, err := g.git(ctx, repo.gitDir, "fetch", "--quiet", "--", repo.location, ref); err != nil {
		return fmt.Errorf("fetch %s of %s: %w", ref, repo.location, err)
	}
	return nil
}

func short(commit string) string { return commit[:min(12, len(commit))] }
