package source

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/flock"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
)

// repository is where git commands run and which part of the tree is exported.
type repository struct {
	location string // what the configuration said, resolved: a path or a URL
	gitDir   string // where `git -C` runs: the work tree, a bare repository or the URL's mirror
	prefix   string // subdirectory of the repository to export ("" for the root)
	remote   bool
}

func (r repository) describe() string {
	if r.prefix != "" {
		return fmt.Sprintf("%s (subdirectory %s)", r.location, r.prefix)
	}
	return r.location
}

// fullName is the repository's name in variables: "owner/name" of a URL, the
// directory name of a local repository.
func (r repository) fullName() string {
	if !r.remote {
		return filepath.Base(r.location)
	}
	p := r.location
	if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+3:]
		if j := strings.Index(p, "/"); j >= 0 {
			p = p[j+1:]
		}
	} else if i := strings.Index(p, ":"); i >= 0 {
		p = p[i+1:]
	}
	p = strings.TrimSuffix(strings.Trim(p, "/"), ".git")
	parts := strings.Split(p, "/")
	if len(parts) > 2 {
		parts = parts[len(parts)-2:]
	}
	return strings.Join(parts, "/")
}

// locate finds the repository the configuration names. A local path may point
// inside a larger repository (a monorepo): that subdirectory becomes the export's
// root. A URL is mirrored under <StateDir>/sources/ and fetched on every run.
func (g *Git) locate(ctx context.Context, a *pipeline.ActionRun) (repository, error) {
	loc := a.Config[ConfigRepository]
	if loc == "" {
		loc = "."
	}
	if isURL(loc) {
		return g.mirror(ctx, a, loc)
	}
	if !filepath.IsAbs(loc) {
		loc = filepath.Join(a.DefinitionDir, loc)
	}
	loc = filepath.Clean(loc)
	if fi, err := os.Stat(loc); err != nil || !fi.IsDir() {
		return repository{}, fmt.Errorf("repository %s: not a directory", loc)
	}
	bare, err := g.git(ctx, loc, "rev-parse", "--is-bare-repository")
	if err != nil {
		return repository{}, fmt.Errorf("repository %s is not a git repository: %w", loc, err)
	}
	if bare == "true" {
		return repository{location: loc, gitDir: loc}, nil
	}
	prefix, err := g.git(ctx, loc, "rev-parse", "--show-prefix")
	if err != nil {
		return repository{}, fmt.Errorf("repository %s: %w", loc, err)
	}
	// git archive resolves paths against its working directory: run it at the top.
	top, err := g.git(ctx, loc, "rev-parse", "--show-toplevel")
	if err != nil {
		return repository{}, fmt.Errorf("repository %s: %w", loc, err)
	}
	return repository{location: loc, gitDir: top, prefix: strings.TrimSuffix(prefix, "/")}, nil
}

// mirror fetches url's branches and tags into a bare mirror, serialized across
// processes with a lock file.
func (g *Git) mirror(ctx context.Context, a *pipeline.ActionRun, url string) (repository, error) {
	dir := mirrorDir(a.StateDir, url)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return repository{}, fmt.Errorf("create source cache: %w", err)
	}
	lock, err := flock.Acquire(dir + ".lock")
	if err != nil {
		return repository{}, fmt.Errorf("lock source cache: %w", err)
	}
	defer lock.Release()
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		if _, err := g.git(ctx, "", "init", "--bare", "--quiet", dir); err != nil {
			return repository{}, fmt.Errorf("create mirror of %s: %w", url, err)
		}
	}
	fmt.Fprintf(a.Log, "fetching %s\n", url)
	if _, err := g.git(ctx, dir, "fetch", "--quiet", "--prune", "--force", "--", url,
		"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"); err != nil {
		return repository{}, fmt.Errorf("fetch %s: %w", url, err)
	}
	if rev := a.RequestedRevision; rev != "" && !g.exists(ctx, dir, rev) {
		// A commit no branch or tag points at can still be fetched by id.
		if _, err := g.git(ctx, dir, "fetch", "--quiet", "--", url, rev); err != nil {
			a.Logger.Debug("fetch requested revision", "revision", rev, "err", err)
		}
	}
	return repository{location: url, gitDir: dir, remote: true}, nil
}

// mirrorDir is where the bare mirror of url lives.
func mirrorDir(stateDir, url string) string {
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(stateDir, "sources", hex.EncodeToString(sum[:8])+".git")
}

// resolve returns the commit to export and the branch it reports: the requested
// revision when there is one, else the head of the branch (default: the local
// repository's current branch, or main for a URL).
func (g *Git) resolve(ctx context.Context, repo repository, branch, requested string) (commit, reportedBranch string, err error) {
	if branch == "" && !repo.remote {
		branch, _ = g.git(ctx, repo.gitDir, "symbolic-ref", "--quiet", "--short", "HEAD")
	}
	if branch == "" && repo.remote {
		branch = "main"
	}
	rev := requested
	switch {
	case rev != "" && g.exists(ctx, repo.gitDir, "refs/heads/"+rev):
		branch = rev
	case rev == "" && branch != "":
		rev = "refs/heads/" + branch
	case rev == "":
		rev = "HEAD"
	}
	commit, err = g.git(ctx, repo.gitDir, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil || commit == "" {
		branches, _ := g.git(ctx, repo.gitDir, "for-each-ref", "--format=%(refname:short)", "refs/heads")
		what := "revision " + requested
		if requested == "" {
			what = "branch " + branch
		}
		return "", "", fmt.Errorf("%s not found in %s (branches: %s)", what, repo.location,
			cmp.Or(strings.ReplaceAll(branches, "\n", ", "), "none"))
	}
	return commit, branch, nil
}

func (g *Git) exists(ctx context.Context, dir, rev string) bool {
	_, err := g.git(ctx, dir, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	return err == nil
}

// commitInfo reads the metadata CodePipeline's variables carry.
func (g *Git) commitInfo(ctx context.Context, repo repository, commit string) (commitMeta, error) {
	out, err := g.gitBytes(ctx, repo.gitDir, "show", "-s", "--format=%H%x00%an%x00%aI%x00%B", commit)
	if err != nil {
		return commitMeta{}, fmt.Errorf("read commit %s: %w", commit, err)
	}
	return parseCommit(out)
}

// commitMeta is one commit's metadata.
type commitMeta struct {
	ID, Author, AuthorDate, Message string
}

// Subject is the first line of the message.
func (c commitMeta) Subject() string {
	s, _, _ := strings.Cut(c.Message, "\n")
	return s
}

// parseCommit parses `git show -s --format=%H%x00%an%x00%aI%x00%B`.
func parseCommit(b []byte) (commitMeta, error) {
	parts := bytes.SplitN(b, []byte{0}, 4)
	if len(parts) != 4 {
		return commitMeta{}, fmt.Errorf("commit metadata: %d fields, want 4", len(parts))
	}
	c := commitMeta{ID: string(parts[0]), Author: string(parts[1]), AuthorDate: string(parts[2]),
		Message: strings.TrimSpace(string(parts[3]))}
	if !isHex(c.ID) {
		return commitMeta{}, fmt.Errorf("commit metadata: %q is not a commit id", c.ID)
	}
	return c, nil
}

func isHex(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// git runs one git command in dir and returns its trimmed output.
func (g *Git) git(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := g.gitBytes(ctx, dir, args...)
	return strings.TrimSpace(string(out)), err
}

func (g *Git) gitBytes(ctx context.Context, dir string, args ...string) ([]byte, error) {
	sub := args[0]
	if dir != "" {
		args = append([]string{"-C", dir}, args...)
	}
	cmd := exec.CommandContext(ctx, g.binary(), args...)
	// No prompt may hang an unattended run; messages stay parseable.
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var exitErr *exec.ExitError
		if msg := strings.TrimSpace(stderr.String()); msg != "" && errors.As(err, &exitErr) {
			return out, fmt.Errorf("git %s: %s", sub, msg)
		}
		return out, fmt.Errorf("git %s: %w", sub, err)
	}
	return out, nil
}

func (g *Git) binary() string {
	if g.Binary != "" {
		return g.Binary
	}
	return "git"
}
