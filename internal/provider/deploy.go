// Package provider implements the pipeline actions that hand work to other
// components: CodeBuild (the buildspec runner), ECS (the staging deploy) and
// CodeDeployToECS (the blue-green controller). The Git source and Manual approval
// live with the engine and the source package.
package provider

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/atomicfile"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
)

// Deployments is what the deploy actions need: the definition, where deployments
// are recorded (the controller process drives them), how to follow one, and how a
// service's runtime driver resolves.
type Deployments struct {
	Def    *manifest.Definition
	Store  deploy.Store
	Follow control.DeploymentSource
	// Driver resolves a service's configured driver (auto, docker, process) to the
	// one it runs on now.
	Driver func(ctx context.Context, service string) (string, error)
	// EnsureController makes sure a controller process will drive what is created.
	EnsureController func(ctx context.Context) error
	Poll             time.Duration // default control.DefaultPoll
	// HiddenEnv names variables of this process's environment, besides the
	// definition's own secret sources, that no deployment hook may inherit
	// (serve: every served definition's).
	HiddenEnv []string
}

// ECS is the ECS standard deploy action: imagedefinitions.json applied to the
// service's task definition, new tasks started, traffic switched once they are
// healthy, old tasks stopped.
type ECS struct{ Deployments }

// Run creates the staging deployment (or follows the one an earlier attempt
// created) until it is done.
func (p ECS) Run(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
	if p.exists(ctx, a.ExternalID) {
		return p.follow(ctx, a, a.ExternalID, deploy.Status.Done)
	}
	service := a.Config["ServiceName"]
	if len(a.Inputs) == 0 {
		return failed("the ECS action needs an input artifact holding %s", cmp.Or(a.Config["FileName"], "imagedefinitions.json")), nil
	}
	dir := a.Inputs[0].Dir
	file := filepath.Join(dir, cmp.Or(a.Config["FileName"], "imagedefinitions.json"))
	images, err := manifest.ReadFile(file, manifest.ParseImageDefinitions)
	if err != nil {
		return failed("%v", err), nil
	}
	base, err := p.baseTaskDefinition(ctx, service, dir)
	if err != nil {
		return failed("%v", err), nil
	}
	rev, err := deploy.StandardRevision(base, images, dir)
	if err != nil {
		return failed("%v", err), nil
	}
	rev.CommitID = a.Source.CommitID
	driver, err := p.Driver(ctx, service)
	if err != nil {
		return failed("%v", err), nil
	}
	timeout, err := manifest.ParseECSDeploymentTimeout(a.Config["DeploymentTimeout"])
	if err != nil {
		return failed("DeploymentTimeout: %v", err), nil
	}
	cfg, err := deploy.StandardConfig(p.Def, service, driver, rev, timeout)
	if err != nil {
		return failed("%v", err), nil
	}
	cfg.HiddenEnv = append(cfg.HiddenEnv, p.HiddenEnv...)
	return p.create(ctx, a, deploy.Request{Kind: deploy.KindStandard, Application: a.Config["ClusterName"], Group: service, Config: cfg, Revision: rev}, deploy.Status.Done)
}

// baseTaskDefinition is the service's current task definition, or for its first
// deployment the taskdef.json the build produced beside imagedefinitions.json.
func (p ECS) baseTaskDefinition(ctx context.Context, service, dir string) (*manifest.TaskDefinition, error) {
	last, err := p.Store.LastReleased(ctx, service)
	if err != nil {
		return nil, fmt.Errorf("read current task definition of %s: %w", service, err)
	}
	if last != nil {
		return last.Revision.TaskDefinition, nil
	}
	td, err := manifest.ReadFile(filepath.Join(dir, "taskdef.json"), manifest.ParseTaskDefinition)
	if err != nil {
		return nil, fmt.Errorf("service %s has no task definition yet and the input artifact has no usable taskdef.json: %w", service, err)
	}
	return td, nil
}

// CodeDeployToECS is the blue-green deploy action.
type CodeDeployToECS struct{ Deployments }

// Run creates the blue-green deployment (or follows the one an earlier attempt
// created) until production serves the new revision or it is rolled back.
func (p CodeDeployToECS) Run(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
	released := func(s deploy.Status) bool { return s.Released() || s.Done() }
	if p.exists(ctx, a.ExternalID) {
		return p.follow(ctx, a, a.ExternalID, released)
	}
	app, group := a.Config["ApplicationName"], a.Config["DeploymentGroupName"]
	g, ok := p.Def.DeploymentGroup(app, group)
	if !ok {
		return failed("deployment group %s/%s is not defined", app, group), nil
	}
	taskdefDir := artifactDir(a, a.Config["TaskDefinitionTemplateArtifact"])
	appspecDir := artifactDir(a, a.Config["AppSpecTemplateArtifact"])
	if taskdefDir == "" || appspecDir == "" {
		return failed("input artifact for the task definition or appspec not found (inputs: %s)", inputNames(a)), nil
	}
	taskdefPath, err := renderTaskDefinition(a, filepath.Join(taskdefDir, cmp.Or(a.Config["TaskDefinitionTemplatePath"], "taskdef.json")))
	if err != nil {
		return failed("%v", err), nil
	}
	rev, err := deploy.LoadBlueGreenRevision(filepath.Join(appspecDir, cmp.Or(a.Config["AppSpecTemplatePath"], "appspec.yaml")), taskdefPath, taskdefDir)
	if err != nil {
		return failed("%v", err), nil
	}
	rev.CommitID = a.Source.CommitID
	driver, err := p.Driver(ctx, g.Service)
	if err != nil {
		return failed("%v", err), nil
	}
	cfg, err := deploy.BlueGreenConfig(p.Def, app, group, driver, rev)
	if err != nil {
		return failed("%v", err), nil
	}
	cfg.HiddenEnv = append(cfg.HiddenEnv, p.HiddenEnv...)
	return p.create(ctx, a, deploy.Request{Kind: deploy.KindBlueGreen, Application: app, Group: group, Config: cfg, Revision: rev}, released)
}

// renderTaskDefinition writes the task definition with an image URI for each
// placeholder the action names, as CodePipeline does: for N from 1 to 4, the
// ImageURI of ImageNArtifactName's imageDetail.json replaces
// "<ImageNContainerName>" (default IMAGEN_NAME). Without any, the file is used as
// it is.
func renderTaskDefinition(a *pipeline.ActionRun, path string) (string, error) {
	replacements, err := imagePlaceholders(a)
	if err != nil || len(replacements) == 0 {
		return path, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read task definition: %w", err)
	}
	for i := 0; i < len(replacements); i += 2 {
		if !strings.Contains(string(data), replacements[i]) {
			return "", fmt.Errorf("%s has no %s placeholder to put the image of %s in", filepath.Base(path), replacements[i], replacements[i+1])
		}
	}
	rendered := filepath.Join(a.StateDir, "rendered", a.ExecutionID, filepath.Base(path))
	if err := os.MkdirAll(filepath.Dir(rendered), 0o755); err != nil {
		return "", fmt.Errorf("render task definition: %w", err)
	}
	out := strings.NewReplacer(replacements...).Replace(string(data))
	if err := atomicfile.Write(rendered, []byte(out), 0o644); err != nil {
		return "", fmt.Errorf("render task definition: %w", err)
	}
	return rendered, nil
}

// imagePlaceholders returns placeholder, image URI pairs for every ImageN the
// action configures.
func imagePlaceholders(a *pipeline.ActionRun) ([]string, error) {
	var pairs []string
	for n := 1; n <= 4; n++ {
		artifactKey := fmt.Sprintf("Image%dArtifactName", n)
		artifact := a.Config[artifactKey]
		if artifact == "" {
			continue
		}
		dir := artifactDir(a, artifact)
		if dir == "" {
			return nil, fmt.Errorf("%s %q is not an input artifact (inputs: %s)", artifactKey, artifact, inputNames(a))
		}
		uri, err := readImageDetail(filepath.Join(dir, "imageDetail.json"))
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", artifactKey, artifact, err)
		}
		placeholder := cmp.Or(a.Config[fmt.Sprintf("Image%dContainerName", n)], fmt.Sprintf("IMAGE%d_NAME", n))
		pairs = append(pairs, "<"+placeholder+">", uri)
	}
	return pairs, nil
}

// exists reports whether an earlier attempt of the action created its deployment.
func (p Deployments) exists(ctx context.Context, id string) bool {
	if id == "" {
		return false
	}
	_, err := p.Store.Deployment(ctx, id)
	return err == nil
}

// create records the deployment under an id the action saved first, so that a
// pipeline process that crashes right after finds and follows it instead of
// deploying twice (and one that crashed before creating it creates it now).
func (p Deployments) create(ctx context.Context, a *pipeline.ActionRun, req deploy.Request, until func(deploy.Status) bool) (pipeline.Outcome, error) {
	req.ID = a.ExternalID
	if req.ID == "" {
		req.ID = deploy.NewID()
		if err := a.SetExternalID(req.ID); err != nil {
			return pipeline.Outcome{}, fmt.Errorf("record deployment id: %w", err)
		}
	}
	req.Creator, req.ExecutionID = deploy.CreatorPipeline, a.ExecutionID
	req.Revision.Description = fmt.Sprintf("%s %s/%s", a.Pipeline, a.Stage, a.Action)
	if p.EnsureController != nil {
		if err := p.EnsureController(ctx); err != nil {
			return pipeline.Outcome{}, err
		}
	}
	if _, err := deploy.Create(ctx, p.Store, req); err != nil {
		if errors.Is(err, deploy.ErrServiceBusy) {
			return failed("%v", err), nil
		}
		return pipeline.Outcome{}, fmt.Errorf("create deployment: %w", err)
	}
	fmt.Fprintf(a.Log, "deployment %s created (%s to %s)\n", req.ID, req.Kind, req.Config.Service.Name)
	return p.follow(ctx, a, req.ID, until)
}

// follow waits until the deployment reaches a status until accepts, logging its
// steps, and turns the result into the action's outcome.
func (p Deployments) follow(ctx context.Context, a *pipeline.ActionRun, id string, until func(deploy.Status) bool) (pipeline.Outcome, error) {
	if p.EnsureController != nil {
		if err := p.EnsureController(ctx); err != nil {
			return pipeline.Outcome{}, err
		}
	}
	seen := map[deploy.StepName]deploy.StepStatus{}
	d, err := control.FollowDeployment(ctx, p.Follow, id, control.Follow{
		Until:  func(d *deploy.Deployment) bool { return until(d.Status) },
		OnRead: func(d *deploy.Deployment) { logSteps(a.Log, d, seen) },
		Poll:   p.Poll,
	})
	if err != nil {
		return pipeline.Outcome{}, err
	}
	return outcomeOf(d), nil
}

func logSteps(w io.Writer, d *deploy.Deployment, seen map[deploy.StepName]deploy.StepStatus) {
	for _, s := range d.Steps {
		if seen[s.Name] == s.Status || s.Status == deploy.StepPending {
			continue
		}
		seen[s.Name] = s.Status
		line := fmt.Sprintf("%s %s: %s", d.ID, s.Name, s.Status)
		if s.Message != "" {
			line += " (" + s.Message + ")"
		}
		fmt.Fprintln(w, line)
	}
}

func outcomeOf(d *deploy.Deployment) pipeline.Outcome {
	data := map[string]any{"deployment_id": d.ID, "deployment_status": string(d.Status), "service": d.Config.Service.Name}
	if d.RolledBackBy != "" {
		data["rolled_back_by"] = d.RolledBackBy
	}
	if d.Rollback != nil {
		data["rollback_restore_ms"] = d.Rollback.Restore.D().Milliseconds()
		data["rollback_detection_ms"] = d.Rollback.Detection.D().Milliseconds()
	}
	url := d.Config.Service.ProductionURL()
	switch d.Status {
	case deploy.StatusBaking:
		return pipeline.Outcome{Status: pipeline.Succeeded, ExternalURL: url, Data: data,
			Summary: fmt.Sprintf("%s: production on the new revision%s; original kept warm until %s", d.ID, bakeNote(d), d.TerminationDue.Format(time.TimeOnly))}
	case deploy.StatusSucceeded:
		return pipeline.Outcome{Status: pipeline.Succeeded, ExternalURL: url, Data: data, Summary: fmt.Sprintf("%s: succeeded", d.ID)}
	default:
		msg := fmt.Sprintf("deployment %s %s: %s", d.ID, strings.ToLower(string(d.Status)), d.ErrorMessage)
		if d.RolledBackBy != "" {
			msg += fmt.Sprintf(" (rolled back by %s)", d.RolledBackBy)
		}
		return pipeline.Outcome{Status: pipeline.Failed, ExternalURL: url, Data: data, Summary: msg, ErrorMessage: msg}
	}
}

// bakeNote says that the release passed its bake window, when it had one.
func bakeNote(d *deploy.Deployment) string {
	if s := d.Step(deploy.StepBakeTime); s != nil && s.Status == deploy.StepSucceeded {
		return fmt.Sprintf(", baked %s with every alarm OK", d.Config.BakeTime)
	}
	return ""
}

func failed(format string, args ...any) pipeline.Outcome {
	msg := fmt.Sprintf(format, args...)
	return pipeline.Outcome{Status: pipeline.Failed, Summary: msg, ErrorMessage: msg}
}

// artifactDir returns the input artifact named name (the first input when name is empty).
func artifactDir(a *pipeline.ActionRun, name string) string {
	for _, in := range a.Inputs {
		if name == "" || in.Name == name {
			return in.Dir
		}
	}
	return ""
}

func inputNames(a *pipeline.ActionRun) string {
	names := make([]string, len(a.Inputs))
	for i, in := range a.Inputs {
		names[i] = in.Name
	}
	return strings.Join(names, ", ")
}

// readImageDetail reads the image URI from an imageDetail.json ({"ImageURI": ...}),
// the file an ECR source action or a build writes for CodeDeployToECS.
func readImageDetail(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	var detail struct {
		ImageURI string `json:"ImageURI"`
	}
	if err := json.Unmarshal(data, &detail); err != nil || detail.ImageURI == "" {
		return "", fmt.Errorf("%s: want {\"ImageURI\": \"...\"}", path)
	}
	return detail.ImageURI, nil
}
