// Package source owns the Git source action (providers "Git" and, run locally,
// "CodeStarSourceConnection"): it resolves a commit of a local or remote git
// repository, exports that commit's tree (never the working copy's uncommitted
// changes) into the action's output artifact, and sets the variables CodePipeline's
// source actions set (CommitId, BranchName, CommitMessage, AuthorDate, ...).
package source

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
)

// Git is the source provider. The zero value runs "git" from PATH.
type Git struct {
	// Binary is the git executable; default "git".
	Binary string
}

// New returns the Git source provider.
func New() *Git { return &Git{} }

// Providers returns the provider under the names it serves locally, for
// pipeline.Options.Providers.
func Providers() map[string]pipeline.Provider {
	g := New()
	return map[string]pipeline.Provider{manifest.ProviderGit: g, manifest.ProviderCodeStar: g}
}

// Configuration keys the provider reads.
const (
	// ConfigRepository is a path (relative to the definition's directory, or
	// absolute) or a git URL. Default ".": the repository holding the definition.
	ConfigRepository = "Repository"
	// ConfigBranch is the branch whose head is built. Default: a local
	// repository's current branch; "main" for a URL.
	ConfigBranch = "BranchName"
	// ConfigFullRepositoryID names the repository in variables
	// (CodeStarSourceConnection's "owner/name").
	ConfigFullRepositoryID = "FullRepositoryId"
)

// Run exports the commit into the single output artifact.
func (g *Git) Run(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
	if len(a.Outputs) != 1 {
		return failed("a source action has exactly one output artifact, this one has %d", len(a.Outputs)), nil
	}
	repo, err := g.locate(ctx, a)
	if err != nil {
		return failed("%v", err), nil
	}
	fmt.Fprintf(a.Log, "repository %s\n", repo.describe())
	commit, branch, err := g.resolve(ctx, repo, a.Config[ConfigBranch], a.RequestedRevision)
	if err != nil {
		return failed("%v", err), nil
	}
	c, err := g.commitInfo(ctx, repo, commit)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	fmt.Fprintf(a.Log, "commit %s (%s) %s\n", c.ID, cmp.Or(branch, "detached"), c.Subject())
	files, err := g.export(ctx, repo, c.ID, a.Outputs[0].Dir)
	if err != nil {
		return failed("%v", err), nil
	}
	fmt.Fprintf(a.Log, "exported %d files of %s into %s\n", files, cmp.Or(repo.prefix, "the repository root"), a.Outputs[0].Name)
	name := cmp.Or(a.Config[ConfigFullRepositoryID], repo.fullName())
	return pipeline.Outcome{
		Status:  pipeline.Succeeded,
		Summary: fmt.Sprintf("%s %s", c.ID[:min(12, len(c.ID))], c.Subject()),
		OutputVariables: map[string]string{
			"CommitId": c.ID, "BranchName": branch, "CommitMessage": c.Message, "AuthorDate": c.AuthorDate,
			"AuthorDisplayName": c.Author, "FullRepositoryName": name, "ConnectionArn": "local", "ProviderType": "Git",
		},
		Data: map[string]any{"commit_id": c.ID, "repository": repo.location, "subdirectory": repo.prefix, "files": files},
	}, nil
}

func failed(format string, args ...any) pipeline.Outcome {
	return pipeline.Outcome{Status: pipeline.Failed, ErrorMessage: fmt.Sprintf(format, args...)}
}

// isURL tells a git URL (scheme://... or scp-like user@host:path) from a path.
func isURL(s string) bool {
	if strings.Contains(s, "://") {
		return true
	}
	at, colon, slash := strings.Index(s, "@"), strings.Index(s, ":"), strings.Index(s, "/")
	return at > 0 && colon > at && (slash < 0 || colon < slash)
}
