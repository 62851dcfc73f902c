// Package build owns the CodeBuild buildspec v0.2 runner: it copies a source
// artifact into a work directory, runs the install, pre_build, build and
// post_build phases in one long-lived shell with CodeBuild's environment
// variables, phase transitions, on-failure and finally, masks secrets in every
// log line, and then uploads artifacts, saves the cache, parses test and
// coverage reports (internal/report) and reads the exported variables.
//
// Run is the entry point; the pipeline's CodeBuild action provider calls it.
package build

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/procfs"
	"github.com/greenlight-ci/greenlight/internal/report"
)

// Request is one build to run.
type Request struct {
	BuildID          string // "<project>:<uuid>"; CODEBUILD_BUILD_ID
	BuildNumber      int    // CODEBUILD_BUILD_NUMBER
	Project          string // build project name
	Buildspec        *manifest.Buildspec
	SourceDir        string            // primary input artifact; read-only, copied into WorkDir
	SecondarySources map[string]string // name -> dir, copied; CODEBUILD_SRC_DIR_<name>
	WorkDir          string            // empty dir the runner owns: the build's working copy, CODEBUILD_SRC_DIR
	Env              []string          // KEY=VALUE from the project, then the pipeline; override the buildspec
	Secrets          SecretResolver    // resolves env.secrets-manager and env.parameter-store
	// Masked are values in Env that came from secret sources (project or action
	// variables of type SECRETS_MANAGER or PARAMETER_STORE): masked wherever the
	// buildspec's own secrets are.
	Masked []string
	// HiddenEnv names variables of this process's environment the build does
	// not inherit: those greenlight.yaml reads secrets from
	// (manifest.Definition.SecretEnv), whatever their names say.
	HiddenEnv             []string
	ResolvedSourceVersion string // commit id
	Initiator             string // "codepipeline/<pipeline>"
	CacheDir              string // per project, kept between builds ("" = no cache)
	// CacheType is the project's: manifest.CacheLocal ("" too) leaves absolute
	// cache paths in place, CacheS3 saves and restores them, CacheNone ignores
	// the buildspec's cache.
	CacheType             string
	ArtifactsDir          string        // the primary artifact is copied here
	SecondaryArtifactsDir string        // secondary artifact <identifier> goes to <dir>/<identifier>
	Timeout               time.Duration // 0 = none
	Log                   io.Writer     // every line of output and phase headers, secrets masked; nil = discard
	// Started, when set, is called with the process group of the build's shell
	// once it runs and before any command does: every process of the build is
	// in it. A caller records it durably so that, should this process die, the
	// next one kills what the build left running (procfs.KillGroup). An error
	// ends the build (FAULT) before it runs anything.
	Started func(procfs.Group) error
}

// SecretResolver reads the secrets a buildspec names. Implementations map them
// to local sources (greenlight.yaml's secrets section).
type SecretResolver interface {
	// SecretsManager resolves "secret-id[:json-key[:version-stage[:version-id]]]".
	SecretsManager(ctx context.Context, ref string) (string, error)
	ParameterStore(ctx context.Context, name string) (string, error)
}

// Status is a build's or a phase's outcome, as CodeBuild names them.
type Status string

// Build statuses, CodeBuild's.
const (
	StatusSucceeded Status = "SUCCEEDED"
	StatusFailed    Status = "FAILED"
	StatusFault     Status = "FAULT" // greenlight could not run the build
	StatusTimedOut  Status = "TIMED_OUT"
	StatusStopped   Status = "STOPPED"
)

// Phase names in the order they run; upload_artifacts is CodeBuild's
// UPLOAD_ARTIFACTS (artifacts and cache).
const (
	PhaseInstall         = "install"
	PhasePreBuild        = "pre_build"
	PhaseBuild           = "build"
	PhasePostBuild       = "post_build"
	PhaseUploadArtifacts = "upload_artifacts"
)

// PhaseResult is one phase that ran. For a failed phase, Command, Position and
// ExitCode say which command failed first (Finally tells whether it was in the
// finally block); Context says why in words.
type PhaseResult struct {
	Name     string       `json:"name"`
	Status   Status       `json:"status"`
	Start    time.Time    `json:"start"`
	End      time.Time    `json:"end"`
	Command  string       `json:"command,omitempty"` // secrets masked
	Position manifest.Pos `json:"position,omitzero"`
	ExitCode int          `json:"exit_code,omitempty"`
	Finally  bool         `json:"finally,omitempty"`
	Context  string       `json:"context,omitempty"`
}

// Result is what a build did. Status is FAILED for a build that ran and failed
// (a command, an artifact, a report file, or a failed test in a report);
// Failure then says why in one line, secrets masked.
type Result struct {
	Status            Status            `json:"status"`
	Phases            []PhaseResult     `json:"phases"`
	Failure           string            `json:"failure,omitempty"`
	ExportedVariables map[string]string `json:"exported_variables,omitempty"`
	Artifacts         []ArtifactResult  `json:"artifacts,omitempty"` // primary first, then secondary
	Reports           []report.Report   `json:"reports,omitempty"`
	Start             time.Time         `json:"start"`
	End               time.Time         `json:"end"`
}

// Run runs one build and waits for it. A failing build is a Result with Status
// FAILED (or TIMED_OUT after req.Timeout, STOPPED when ctx ends), not an error.
// The error is for infrastructure problems (copying the source, starting the
// shell, writing artifacts); the Result is then still returned, with Status
// FAULT and what had run so far.
func Run(ctx context.Context, req Request) (*Result, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	b := newBuilder(ctx, &req)
	return b.run()
}

func (r *Request) check() error {
	switch {
	case r.Buildspec == nil:
		return errors.New("build request: no buildspec")
	case r.WorkDir == "":
		return errors.New("build request: no work directory")
	case r.BuildID == "":
		return errors.New("build request: no build id")
	case r.Timeout < 0:
		return errors.New("build request: negative timeout")
	}
	return nil
}
