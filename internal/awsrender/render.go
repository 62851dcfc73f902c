package awsrender

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/greenlight-ci/greenlight/internal/atomicfile"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// TFVarsName is the file the example root reads: Terraform loads every
// *.auto.tfvars.json of a root module by itself.
const TFVarsName = "greenlight.auto.tfvars.json"

// Result is a rendered definition and what could not be rendered as written.
type Result struct {
	Stack    Stack
	Findings []Finding
}

// Render translates def into the stack's inputs. sourceDir is the source tree the
// definition's files (buildspecs, appspec, task definition template) are read
// from; a file that cannot be read or parsed is an error, as `greenlight validate`
// would report it.
func Render(def *manifest.Definition, sourceDir string) (*Result, error) {
	r := &renderer{def: def, dir: sourceDir}
	stack := Stack{
		Pipeline:          r.pipeline(),
		DeploymentConfigs: r.deploymentConfigs(),
		Alarms:            r.alarms(),
		Notifications:     r.notifications(),
	}
	var err error
	if stack.BuildProjects, err = r.buildProjects(); err != nil {
		return nil, err
	}
	if stack.DeploymentGroups, stack.Hooks, err = r.deploymentGroups(); err != nil {
		return nil, err
	}
	if stack.Services, err = r.services(); err != nil {
		return nil, err
	}
	r.secrets()
	r.webhook()
	return &Result{Stack: stack, Findings: r.findings.sorted()}, nil
}

// renderer carries what the per-part functions share.
type renderer struct {
	def      *manifest.Definition
	dir      string
	findings findings
	// revisions are the deployment groups' appspec and task definition, by service.
	revisions map[string]revision
}

// path resolves a file the definition names against the source tree.
func (r *renderer) path(rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(r.dir, rel)
}

// TFVars encodes the stack as the module's `greenlight` variable, indented, with a
// trailing newline (the file is committed beside the example root).
func (s Stack) TFVars() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]Stack{"greenlight": s}); err != nil {
		return nil, fmt.Errorf("encode stack: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteTFVars writes the stack to dir/greenlight.auto.tfvars.json atomically.
func (s Stack) WriteTFVars(dir string) (string, error) {
	data, err := s.TFVars()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, TFVarsName)
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}

// Check renders def and prints its findings: what `greenlight validate --aws` adds.
func Check(def *manifest.Definition, sourceDir string, w io.Writer, asJSON bool) error {
	res, err := Render(def, sourceDir)
	if err != nil {
		return err
	}
	return WriteFindings(w, res.Findings, asJSON)
}
