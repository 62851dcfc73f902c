package serve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/provider"
)

// TriggerPoll is CodePipeline's trigger type for an execution started because
// polling found a new commit on the source branch.
const TriggerPoll control.Trigger = "PollForSourceChanges"

// SeenRevisions tells whether a pipeline already started an execution for a
// commit (the executions recorded say it, so it holds across restarts).
type SeenRevisions interface {
	RevisionRequested(ctx context.Context, pipeline, revision string) (bool, error)
}

// Poller is DetectChanges without a webhook: for each definition with no webhook
// secret, it reads the head of each source action's branch every Interval and
// starts an execution for each head no execution of the pipeline was started for.
type Poller struct {
	Definitions []*manifest.Definition
	Starter     Starter
	Seen        SeenRevisions
	Interval    time.Duration // 0: one minute
	Logger      *slog.Logger
	Git         string // the git binary; "": git from PATH
}

// Run polls until ctx ends.
func (p *Poller) Run(ctx context.Context) error {
	for {
		p.Poll(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(cmp.Or(p.Interval, time.Minute)):
		}
	}
}

// Poll checks every polled source once and returns the executions it started.
func (p *Poller) Poll(ctx context.Context) []string {
	var started []string
	for _, def := range p.Definitions {
		if _, err := (provider.Secrets{Def: def}).WebhookSecret(ctx); !errors.Is(err, provider.ErrNoWebhookSecret) {
			continue // deliveries start this pipeline
		}
		for _, a := range PolledSources(def.Pipeline) {
			id, err := p.pollSource(ctx, def, a)
			if err != nil {
				p.Logger.Warn("poll source", "pipeline", def.Pipeline.Name, "action", a.Name, "err", err)
			}
			if id != "" {
				started = append(started, id)
			}
		}
	}
	return started
}

// PolledSources are the source actions whose new commits start the pipeline
// when serve polls it (no webhook secret): Git sources unless DetectChanges is false.
func PolledSources(pl *manifest.Pipeline) []*manifest.Action {
	var out []*manifest.Action
	for _, s := range pl.Stages {
		for _, a := range s.Actions {
			if a.Category == manifest.CategorySource && !strings.EqualFold(a.Configuration["DetectChanges"], "false") &&
				(a.Provider == manifest.ProviderGit || a.Provider == manifest.ProviderCodeStar) {
				out = append(out, a)
			}
		}
	}
	return out
}

func (p *Poller) pollSource(ctx context.Context, def *manifest.Definition, a *manifest.Action) (string, error) {
	head, branch, err := p.head(ctx, def.Dir, a)
	if err != nil {
		return "", err
	}
	seen, err := p.Seen.RevisionRequested(ctx, def.Pipeline.Name, head)
	if err != nil || seen {
		return "", err
	}
	id, err := p.Starter.StartExecution(ctx, control.StartRequest{Pipeline: def.Pipeline.Name, Revision: head, Ref: "refs/heads/" + branch, Trigger: TriggerPoll,
		Who: fmt.Sprintf("new commit %s on %s (source action %s)", head[:min(12, len(head))], branch, a.Name)})
	if err != nil {
		return "", fmt.Errorf("start execution at %s: %w", head, err)
	}
	p.Logger.Info("source changed: execution started", "pipeline", def.Pipeline.Name, "commit", head, "execution", id)
	return id, nil
}

// head returns the commit at the head of the action's branch: BranchName, else a
// local repository's current branch, or main for a URL (as the source action
// resolves it).
func (p *Poller) head(ctx context.Context, dir string, a *manifest.Action) (commit, branch string, err error) {
	loc := cmp.Or(a.Configuration["Repository"], ".")
	branch = a.Configuration["BranchName"]
	if strings.Contains(loc, "://") || strings.HasPrefix(loc, "git@") {
		branch = cmp.Or(branch, "main")
		out, err := p.git(ctx, "", "ls-remote", "--", loc, "refs/heads/"+branch)
		commit, _, _ = strings.Cut(out, "\t")
		if err == nil && commit == "" {
			err = fmt.Errorf("%s has no branch %s", loc, branch)
		}
		return commit, branch, err
	}
	if !filepath.IsAbs(loc) {
		loc = filepath.Join(dir, loc)
	}
	if branch == "" {
		if branch, err = p.git(ctx, loc, "symbolic-ref", "--quiet", "--short", "HEAD"); err != nil {
			return "", "", err
		}
	}
	commit, err = p.git(ctx, loc, "rev-parse", "--verify", "--quiet", "--end-of-options", "refs/heads/"+branch+"^{commit}")
	if err != nil {
		return "", "", fmt.Errorf("branch %s of %s: %w", branch, loc, err)
	}
	return commit, branch, nil
}

func (p *Poller) git(ctx context.Context, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cmp.Or(p.Git, "git"), args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
