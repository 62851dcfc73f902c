package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/mask"
	"github.com/greenlight-ci/greenlight/internal/procfs"
)

// builder is the state of one Run.
type builder struct {
	ctx        context.Context // the caller's: its end means STOPPED
	req        *Request
	result     *Result
	log        io.WriteCloser
	masker     *mask.Masker
	workDir    string
	privateDir string // the runner's own files (scripts, secondary sources); removed at the end
	scriptDir  string
	sh         *shell
	shellCfg   shellConfig
	succeeding bool
	failure    string      // the first reason the build fails, unmasked
	cache      *buildCache // nil: no cache
}

func newBuilder(ctx context.Context, req *Request) *builder {
	return &builder{
		ctx: ctx, req: req, succeeding: true,
		result: &Result{Status: StatusSucceeded, ExportedVariables: map[string]string{}, Start: time.Now()},
		log:    mask.NewMaskingWriter(io.Discard, nil),
		masker: mask.NewMasker(nil),
	}
}

func (b *builder) logTo() io.Writer {
	if b.req.Log == nil {
		return io.Discard
	}
	return b.req.Log
}

func (b *builder) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "[Container] %s %s\n", time.Now().Format("2006/01/02 15:04:05.000000"), fmt.Sprintf(format, args...))
}

func (b *builder) fail(reason string) {
	if b.failure == "" {
		b.failure = reason
	}
}

func (b *builder) run() (*Result, error) {
	secrets, missing, err := resolveSecrets(b.ctx, b.req.Buildspec.Env, b.req.Secrets)
	if err != nil {
		return b.fault(err)
	}
	values := slices.Clone(b.req.Masked)
	for _, s := range secrets {
		values = append(values, s.value)
	}
	// Nothing was logged yet: from here on every line goes through the mask.
	b.masker = mask.NewMasker(values)
	b.log = mask.NewMaskingWriter(b.logTo(), values)
	defer b.log.Close()
	b.logf("Build %s (project %s, build number %d)", b.req.BuildID, b.req.Project, b.req.BuildNumber)
	if missing != "" {
		b.logf("%s", missing)
		b.fail(missing)
		return b.finish()
	}
	path, problem := shellPath(b.req.Buildspec.Env.Shell)
	if problem != "" {
		b.fail(problem)
		return b.finish()
	}
	defer b.removePrivateDir()
	secondary, err := b.prepare()
	if err != nil {
		return b.fault(err)
	}
	b.shellCfg = shellConfig{
		path: path, dir: b.workDir, scriptDir: b.scriptDir, output: b.log,
		env: buildEnvironment(b.req, b.workDir, secondary, values, secrets, b.result.Start),
	}
	if err := b.openShell(b.shellCfg); err != nil {
		return b.fault(err)
	}
	return b.runBuild()
}

// openShell starts the build's shell (the first, or a new one after a command
// ended the last) and gives its process group to Request.Started before it
// runs anything.
func (b *builder) openShell(cfg shellConfig) error {
	sh, err := startShell(cfg)
	if err != nil {
		return err
	}
	if err := b.announceShell(sh, cfg.env); err != nil {
		sh.close()
		return err
	}
	b.sh = sh
	return nil
}

// announceShell gives the shell's process group to Request.Started. Its
// processes are told from those of another group that later takes the same id
// by their CODEBUILD_BUILD_ID, which they inherit.
func (b *builder) announceShell(sh *shell, env []string) error {
	if b.req.Started == nil {
		return nil
	}
	marker := ""
	for _, kv := range env {
		if strings.HasPrefix(kv, "CODEBUILD_BUILD_ID=") {
			marker = kv
		}
	}
	g, err := procfs.GroupOf(sh.cmd.Process.Pid, marker)
	if err != nil {
		return fmt.Errorf("record the build's processes: %w", err)
	}
	if err := b.req.Started(g); err != nil {
		return fmt.Errorf("record the build's processes: %w", err)
	}
	return nil
}

func (b *builder) runBuild() (*Result, error) {
	ctx, cancel := b.ctx, context.CancelFunc(func() {})
	if b.req.Timeout > 0 {
		ctx, cancel = context.WithTimeout(b.ctx, b.req.Timeout)
	}
	defer cancel()
	b.openCache(ctx)
	upload, interrupted, err := b.runPhases(ctx)
	if err == nil && interrupted == "" {
		err = b.exportVariables(ctx)
	}
	b.sh.close()
	switch {
	case err != nil:
		return b.fault(err)
	case interrupted != "":
		b.result.Status = interrupted
		return b.finish()
	}
	if upload {
		if err := b.uploadPhase(); err != nil {
			return b.fault(err)
		}
	} else {
		b.saveCache() // says why it does not
	}
	reports, problem := b.collectReports()
	b.result.Reports = reports
	if problem != "" {
		if b.failure != "" {
			b.failure += "; " + problem
		}
		b.fail(problem)
	}
	return b.finish()
}

// prepare makes the work directory a copy of the source and copies secondary
// sources to a private directory.
func (b *builder) prepare() (map[string]string, error) {
	work, err := filepath.Abs(b.req.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	b.workDir = work
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, fmt.Errorf("create work directory: %w", err)
	}
	if b.req.SourceDir != "" {
		n, err := copyTree(b.req.SourceDir, work, false)
		if err != nil {
			return nil, fmt.Errorf("copy source into work directory: %w", err)
		}
		b.logf("Copied %d source files to %s", n, work)
	}
	private, err := os.MkdirTemp("", "greenlight-build-")
	if err != nil {
		return nil, fmt.Errorf("create build directory: %w", err)
	}
	b.privateDir = private
	b.scriptDir = filepath.Join(private, "scripts")
	if err := os.Mkdir(b.scriptDir, 0o700); err != nil {
		return nil, fmt.Errorf("create script directory: %w", err)
	}
	secondary := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(b.req.SecondarySources)) {
		if !shellName.MatchString(name) {
			return nil, fmt.Errorf("secondary source %q: name must be letters, digits and _", name)
		}
		dir := filepath.Join(private, "sources", name)
		if _, err := copyTree(b.req.SecondarySources[name], dir, false); err != nil {
			return nil, fmt.Errorf("copy secondary source %s: %w", name, err)
		}
		secondary[name] = dir
	}
	return secondary, nil
}

func (b *builder) removePrivateDir() {
	if b.privateDir != "" {
		if err := os.RemoveAll(b.privateDir); err != nil {
			b.logf("Could not remove %s: %v", b.privateDir, err)
		}
	}
}

// shellPath resolves env.shell; problem is a user error.
func shellPath(name string) (path, problem string) {
	switch name {
	case "", "bash", "/bin/bash", "/usr/bin/bash":
		p, err := exec.LookPath("bash")
		if err != nil {
			return "", "env.shell: bash is not installed on this machine (install it, or set env.shell: sh)"
		}
		return p, ""
	case "sh", "/bin/sh":
		return "/bin/sh", ""
	}
	return "", fmt.Sprintf("env.shell: %q is not supported (allowed: bash, sh)", name)
}

var shellName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// exportVariables reads env.exported-variables from the shell after the last
// phase: the values at the end of the build, exported or not. Unset is "".
func (b *builder) exportVariables(ctx context.Context) error {
	names := b.req.Buildspec.Env.ExportedVariables
	if len(names) == 0 {
		return nil
	}
	var script strings.Builder
	files := map[string]string{}
	for i, name := range names {
		if !shellName.MatchString(name) {
			b.logf("Exported variable %q is not a shell variable name; skipped", name)
			continue
		}
		files[name] = filepath.Join(b.scriptDir, fmt.Sprintf("exported-%d", i))
		fmt.Fprintf(&script, "printf '%%s' \"${%s-}\" > %s\n", name, shellQuote(files[name]))
	}
	if _, err := b.exec(ctx, script.String()); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("read exported variables: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		value, err := os.ReadFile(files[name])
		if err != nil {
			return fmt.Errorf("read exported variable %s: %w", name, err)
		}
		b.result.ExportedVariables[name] = b.exportedValue(name, string(value))
	}
	return nil
}

// exportedValue masks a secret in an exported variable: exported variables are
// shown in the pipeline's history and events, so a secret there would leak.
func (b *builder) exportedValue(name, value string) string {
	masked := b.masker.Mask(value)
	if masked != value {
		b.logf("Exported variable %s holds a secret: exported masked; read the secret from secrets-manager or parameter-store where it is needed", name)
	}
	return masked
}

// uploadPhase uploads artifacts and, when the build succeeded, saves the cache.
// A missing artifact fails the build; failing to save the cache is only logged.
func (b *builder) uploadPhase() error {
	pr := PhaseResult{Name: PhaseUploadArtifacts, Status: StatusSucceeded, Start: time.Now()}
	b.logf("Entering phase UPLOAD_ARTIFACTS")
	artifacts, err := b.uploadArtifacts()
	b.result.Artifacts = artifacts
	var af *artifactFailure
	switch {
	case errors.As(err, &af):
		pr.Status, pr.Context = StatusFailed, "CLIENT_ERROR: "+af.msg
		b.fail("phase upload_artifacts: " + af.msg)
	case err != nil:
		pr.Status, pr.Context, pr.End = StatusFault, err.Error(), time.Now()
		b.result.Phases = append(b.result.Phases, pr)
		return err
	}
	b.saveCache()
	pr.End = time.Now()
	b.result.Phases = append(b.result.Phases, pr)
	b.logf("Phase complete: UPLOAD_ARTIFACTS State: %s", pr.Status)
	if pr.Status == StatusFailed {
		b.logf("Phase context: %s", pr.Context)
	}
	return nil
}

func (b *builder) finish() (*Result, error) {
	if b.failure != "" && b.result.Status == StatusSucceeded {
		b.result.Status = StatusFailed
	}
	b.result.Failure = b.masker.Mask(b.failure)
	b.result.End = time.Now()
	if b.result.Failure != "" {
		b.logf("Build failed: %s", b.result.Failure)
	}
	b.logf("Build complete: %s", b.result.Status)
	return b.result, nil
}

func (b *builder) fault(err error) (*Result, error) {
	b.result.Status = StatusFault
	b.fail(err.Error())
	b.result.Failure = b.masker.Mask(b.failure)
	b.result.End = time.Now()
	b.logf("Build fault: %s", b.result.Failure)
	return b.result, fmt.Errorf("build %s: %w", b.req.BuildID, mask.Err(err, b.masker))
}
