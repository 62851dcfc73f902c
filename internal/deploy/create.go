package deploy

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/jsontime"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Request asks for a deployment.
type Request struct {
	ID          string // optional: an id recorded beforehand (see NewID)
	Kind        Kind
	Application string
	Group       string
	Config      Config
	Revision    Revision
	Creator     Creator
	ExecutionID string
}

// Create records a new deployment; the controller (in this or another process)
// picks it up. It fails with ErrServiceBusy while another deployment of the service
// is in progress (one that is only baking does not count: it is asked to finish).
func Create(ctx context.Context, store Store, req Request) (*Deployment, error) {
	if req.Revision.TaskDefinition == nil {
		return nil, fmt.Errorf("deployment needs a task definition")
	}
	if req.Config.Service.Name == "" {
		return nil, fmt.Errorf("deployment needs a service")
	}
	id := req.ID
	if id == "" {
		id = NewID()
	}
	d := &Deployment{
		ID: id, Kind: req.Kind, Application: req.Application, Group: req.Group,
		Status: StatusCreated, Creator: cmp.Or(req.Creator, CreatorUser), ExecutionID: req.ExecutionID,
		Created: time.Now(), Revision: req.Revision, Config: req.Config, Steps: planSteps(req.Kind),
	}
	if err := store.CreateDeployment(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

// NewID returns a deployment id shaped like CodeDeploy's: d- and nine characters.
func NewID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 9)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "d-" + string(b)
}

// Defaults for what greenlight.yaml leaves out.
const (
	DefaultInstallTimeout = 5 * time.Minute
)

// BlueGreenConfig snapshots a deployment group's configuration for a revision.
// driver is the service's resolved runtime driver (docker or process).
func BlueGreenConfig(def *manifest.Definition, app, group, driver string, rev Revision) (Config, error) {
	g, ok := def.DeploymentGroup(app, group)
	if !ok {
		return Config{}, fmt.Errorf("deployment group %s/%s is not defined in %s", app, group, def.Path)
	}
	svc, ok := def.Services[g.Service]
	if !ok {
		return Config{}, fmt.Errorf("deployment group %s/%s: service %q is not defined", app, group, g.Service)
	}
	dc, ok := def.DeploymentConfig(g.DeploymentConfig)
	if !ok {
		return Config{}, fmt.Errorf("deployment group %s/%s: unknown deployment config %q", app, group, g.DeploymentConfig)
	}
	cfg := Config{
		Service:          serviceConfig(def, svc, driver),
		DeploymentConfig: dc,
		ReadyAction:      cmp.Or(g.DeploymentReady.ActionOnTimeout, manifest.ReadyContinue),
		ReadyWait:        g.DeploymentReady.WaitTime,
		TerminationWait:  g.TerminationWait,
		InstallTimeout:   jsontime.Duration(DefaultInstallTimeout),
		AutoRollback:     g.AutoRollback,
		OnExistingAlarm:  cmp.Or(g.Alarms.OnExistingAlarm, manifest.ExistingAlarmBlock),
		Hooks:            map[string]*manifest.Hook{},
		Secrets:          SecretSources(def, rev.TaskDefinition),
		HiddenEnv:        def.SecretEnv(),
	}
	if g.Alarms.Enabled {
		for _, name := range g.Alarms.Names {
			a, ok := def.Alarms[name]
			if !ok {
				return Config{}, fmt.Errorf("deployment group %s/%s: alarm %q is not defined", app, group, name)
			}
			cfg.Alarms = append(cfg.Alarms, a)
		}
	}
	cfg.BakeTime = jsontime.Duration(DefaultBakeTime(cfg.Alarms))
	if g.BakeTime != nil {
		cfg.BakeTime = *g.BakeTime
	}
	if appspec := rev.AppSpec; appspec != nil {
		for _, h := range appspec.Hooks {
			hook, ok := g.Hooks[h.Function]
			if !ok {
				return Config{}, fmt.Errorf("%s: hook %s names %q, which deployment group %s/%s does not map under hooks", h.Pos, h.Event, h.Function, app, group)
			}
			cfg.Hooks[h.Event] = hook
		}
	}
	return cfg, nil
}

// StandardConfig snapshots a service for an ECS standard deployment of a
// revision whose new tasks must be healthy and switched within timeout (the
// action's DeploymentTimeout).
func StandardConfig(def *manifest.Definition, service, driver string, rev Revision, timeout time.Duration) (Config, error) {
	svc, ok := def.Services[service]
	if !ok {
		return Config{}, fmt.Errorf("service %q is not defined in %s", service, def.Path)
	}
	return Config{
		Service:           serviceConfig(def, svc, driver),
		DeploymentConfig:  manifest.BuiltinDeploymentConfigs["CodeDeployDefault.ECSAllAtOnce"],
		InstallTimeout:    jsontime.Duration(timeout),
		DeploymentTimeout: jsontime.Duration(timeout),
		Secrets:           SecretSources(def, rev.TaskDefinition),
		HiddenEnv:         def.SecretEnv(),
	}, nil
}

func serviceConfig(def *manifest.Definition, svc *manifest.Service, driver string) ServiceConfig {
	return ServiceConfig{
		Name:                svc.Name,
		Driver:              driver,
		DesiredCount:        max(svc.DesiredCount, 1),
		ProductionListener:  svc.Listeners.Production,
		TestListener:        svc.Listeners.Test,
		Listeners:           routerListeners(svc.Listeners, def.Dir),
		HealthCheck:         svc.HealthCheck,
		DeregistrationDelay: svc.DeregistrationDelay,
		ProcessCommand:      svc.Process.Command,
	}
}

// LoadBlueGreenRevision reads and checks an appspec and task definition.
func LoadBlueGreenRevision(appspecPath, taskdefPath, artifactDir string) (Revision, error) {
	appspec, err := manifest.ReadFile(appspecPath, manifest.ParseAppSpec)
	if err != nil {
		return Revision{}, err
	}
	td, err := manifest.ReadFile(taskdefPath, manifest.ParseTaskDefinition)
	if err != nil {
		return Revision{}, err
	}
	if err := manifest.ValidateRevision(appspec, td); err != nil {
		return Revision{}, err
	}
	target := appspec.Target()
	c := td.Container(target.ContainerName)
	return Revision{
		TaskDefinition: td, AppSpec: appspec,
		ContainerName: target.ContainerName, ContainerPort: target.ContainerPort,
		Image: c.Image, ArtifactDir: artifactDir,
	}, nil
}

// StandardRevision applies imagedefinitions.json to a base task definition (the
// service's current one, or the artifact's taskdef.json for a first deployment), as
// the ECS deploy action does: each named container gets its new image. The
// load-balanced container is the first one with a port mapping.
func StandardRevision(base *manifest.TaskDefinition, images []manifest.ImageDefinition, artifactDir string) (Revision, error) {
	td := cloneTaskDefinition(base)
	for _, img := range images {
		c := td.Container(img.Name)
		if c == nil {
			return Revision{}, fmt.Errorf("%s: container %q is not in task definition %s (containers: %s)", img.Pos, img.Name, td.Family, containerNames(td))
		}
		c.Image = img.ImageURI
	}
	for _, c := range td.ContainerDefinitions {
		if len(c.PortMappings) > 0 {
			return Revision{TaskDefinition: td, ContainerName: c.Name, ContainerPort: c.PortMappings[0].ContainerPort, Image: c.Image, ArtifactDir: artifactDir}, nil
		}
	}
	return Revision{}, fmt.Errorf("task definition %s: no container has a port mapping to route traffic to", td.Family)
}

func cloneTaskDefinition(td *manifest.TaskDefinition) *manifest.TaskDefinition {
	c := *td
	c.ContainerDefinitions = make([]*manifest.ContainerDefinition, len(td.ContainerDefinitions))
	for i, cd := range td.ContainerDefinitions {
		cc := *cd
		c.ContainerDefinitions[i] = &cc
	}
	return &c
}

func containerNames(td *manifest.TaskDefinition) string {
	var s string
	for i, c := range td.ContainerDefinitions {
		if i > 0 {
			s += ", "
		}
		s += c.Name
	}
	return s
}
