package awsrender

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// ECS deployment controllers.
const (
	ControllerECS        = "ECS"
	ControllerCodeDeploy = "CODE_DEPLOY"
)

// ALB health check limits, in seconds and counts.
const (
	minHealthInterval, maxHealthInterval = 5, 300
	minHealthTimeout, maxHealthTimeout   = 2, 120
	minThreshold, maxThreshold           = 2, 10
	maxDeregistrationDelay               = 3600
)

// services renders each service as an ECS service on Fargate: in the cluster its
// ECS deploy action names (or the deployment group's name for blue/green ones),
// with its health check, draining and first task definition.
func (r *renderer) services() (map[string]Service, error) {
	if err := r.loadRevisions(); err != nil {
		return nil, err
	}
	clusters, controllers := r.placement()
	out := map[string]Service{}
	for _, name := range slices.Sorted(maps.Keys(r.def.Services)) {
		s := r.def.Services[name]
		task, err := r.task(name)
		if err != nil {
			return nil, err
		}
		out[name] = Service{
			Cluster:             cmp.Or(clusters[name], name),
			Controller:          cmp.Or(controllers[name], ControllerECS),
			DesiredCount:        s.DesiredCount,
			HealthCheck:         r.healthCheck(s),
			DeregistrationDelay: r.seconds(s.Pos, "services."+name+".deregistration_delay", s.DeregistrationDelay.D(), 0, maxDeregistrationDelay),
			Task:                task,
		}
		r.localOnlyService(s, out[name].Controller)
	}
	return out, nil
}

// placement: the cluster and controller of each service that an ECS action or a
// deployment group deploys.
func (r *renderer) placement() (clusters, controllers map[string]string) {
	clusters, controllers = map[string]string{}, map[string]string{}
	for _, s := range r.def.Pipeline.Stages {
		for _, a := range s.Actions {
			if svc := a.Configuration["ServiceName"]; a.Provider == manifest.ProviderECS && svc != "" {
				clusters[svc] = cmp.Or(a.Configuration["ClusterName"], "default")
				controllers[svc] = ControllerECS
			}
		}
	}
	for _, appName := range slices.Sorted(maps.Keys(r.def.Applications)) {
		for _, gName := range slices.Sorted(maps.Keys(r.def.Applications[appName].DeploymentGroups)) {
			g := r.def.Applications[appName].DeploymentGroups[gName]
			if controllers[g.Service] == ControllerECS {
				r.findings.add(g.Pos, "applications."+appName+".deployment_groups."+gName+".service", Changed,
					"service %q is also deployed by an ECS action; on AWS a service has one deployment controller, CODE_DEPLOY here", g.Service)
			}
			clusters[g.Service], controllers[g.Service] = gName, ControllerCodeDeploy
		}
	}
	return clusters, controllers
}

func (r *renderer) healthCheck(s *manifest.Service) HealthCheck {
	hc, field := s.HealthCheck, "services."+s.Name+".health_check"
	interval := r.seconds(s.Pos, field+".interval", hc.Interval.D(), minHealthInterval, maxHealthInterval)
	return HealthCheck{
		Path:               hc.Path,
		Interval:           interval,
		Timeout:            r.seconds(s.Pos, field+".timeout", hc.Timeout.D(), minHealthTimeout, min(maxHealthTimeout, interval-1)),
		HealthyThreshold:   r.count(s.Pos, field+".healthy_threshold", hc.HealthyThreshold),
		UnhealthyThreshold: r.count(s.Pos, field+".unhealthy_threshold", hc.UnhealthyThreshold),
		Matcher:            hc.Matcher,
	}
}

// seconds rounds d up to whole seconds within [lo, hi], reporting any change.
func (r *renderer) seconds(pos manifest.Pos, field string, d time.Duration, lo, hi int) int {
	secs := int((d + time.Second - 1) / time.Second)
	clamped := min(max(secs, lo), hi)
	switch {
	case clamped != secs:
		r.findings.add(pos, field, Changed, "%s is outside the load balancer's range (%d to %d s); rendered as %d s", d, lo, hi, clamped)
	case d%time.Second != 0:
		r.findings.add(pos, field, Changed, "%s is not a whole number of seconds; rendered as %d s", d, secs)
	}
	return clamped
}

func (r *renderer) count(pos manifest.Pos, field string, n int) int {
	clamped := min(max(n, minThreshold), maxThreshold)
	if clamped != n {
		r.findings.add(pos, field, Changed, "%d is outside the load balancer's range (%d to %d); rendered as %d", n, minThreshold, maxThreshold, clamped)
	}
	return clamped
}

// localOnlyService reports what only means something on one machine.
func (r *renderer) localOnlyService(s *manifest.Service, controller string) {
	field := "services." + s.Name
	if s.Driver == manifest.DriverProcess {
		r.findings.add(s.Pos, field+".driver", LocalOnly, "process runs the revision as a local process; on AWS every task runs on Fargate from the task definition's image")
	}
	if len(s.Process.Command) > 0 {
		r.findings.add(s.Process.Pos, field+".process.command", LocalOnly, "how the process driver starts a revision; Fargate runs the image's entry point")
	}
	listener := "the load balancer's HTTPS listener on port 443"
	if controller == ControllerECS {
		listener = "the load balancer's staging listener (HTTPS, var.staging_listener_port)"
	}
	r.findings.add(s.Pos, field+".listeners.production", Changed, "%s is a local listener; on AWS the service is served by %s", s.Listeners.Production, listener)
	if s.Listeners.Test != "" {
		r.findings.add(s.Pos, field+".listeners.test", Changed, "%s is a local listener; on AWS the test listener is the load balancer's var.test_listener_port", s.Listeners.Test)
	}
}

// revision is what a deployment group deploys: its appspec's load balancer
// target and its task definition template.
type revision struct {
	container string
	port      int
	path      string // the template
	td        *manifest.TaskDefinition
}

// loadRevisions reads each deployment group's task definition template and the
// appspec of the action that deploys it.
func (r *renderer) loadRevisions() error {
	r.revisions = map[string]revision{}
	for _, appName := range slices.Sorted(maps.Keys(r.def.Applications)) {
		for _, gName := range slices.Sorted(maps.Keys(r.def.Applications[appName].DeploymentGroups)) {
			g := r.def.Applications[appName].DeploymentGroups[gName]
			if g.TaskDefinitionTemplate == "" {
				continue
			}
			rev, err := r.revision(g)
			if err != nil {
				return fmt.Errorf("deployment group %q: %w", gName, err)
			}
			r.revisions[g.Service] = rev
		}
	}
	return nil
}

func (r *renderer) revision(g *manifest.DeploymentGroup) (revision, error) {
	path := r.path(g.TaskDefinitionTemplate)
	td, err := manifest.ReadFile(path, manifest.ParseTaskDefinition)
	if err != nil {
		return revision{}, err
	}
	rev := revision{path: path, td: td}
	if len(td.ContainerDefinitions) > 0 {
		c := td.ContainerDefinitions[0]
		rev.container = c.Name
		if len(c.PortMappings) > 0 {
			rev.port = c.PortMappings[0].ContainerPort
		}
	}
	app, err := r.appSpecFor(g)
	if err != nil {
		return revision{}, err
	}
	if app != nil {
		rev.container, rev.port = app.Target().ContainerName, app.Target().ContainerPort
	}
	return rev, nil
}

// appSpecFor reads the appspec of the CodeDeployToECS action deploying g, from
// the source tree; nil when the build produces it.
func (r *renderer) appSpecFor(g *manifest.DeploymentGroup) (*manifest.AppSpec, error) {
	for _, s := range r.def.Pipeline.Stages {
		for _, a := range s.Actions {
			c := a.Configuration
			if a.Provider != manifest.ProviderCodeDeployToECS || c["ApplicationName"] != g.Application || c["DeploymentGroupName"] != g.Name {
				continue
			}
			path := r.path(cmp.Or(c["AppSpecTemplatePath"], "appspec.yaml"))
			if _, err := os.Stat(path); err != nil {
				return nil, nil
			}
			return manifest.ReadFile(path, manifest.ParseAppSpec)
		}
	}
	return nil, nil
}

// task is the first task definition of a service: its own deployment group's
// template, or else the one template of the definition.
func (r *renderer) task(service string) (TaskSpec, error) {
	rev, ok := r.revisions[service]
	if !ok && len(r.revisions) > 0 {
		first := slices.Sorted(maps.Keys(r.revisions))[0]
		rev, ok = r.revisions[first], true
	}
	if !ok {
		return TaskSpec{}, fmt.Errorf("service %q: no task definition to register on AWS; name one with task_definition_template on a deployment group", service)
	}
	raw, err := containerDefinitionsJSON(rev.path)
	if err != nil {
		return TaskSpec{}, err
	}
	return TaskSpec{
		Family: rev.td.Family, CPU: rev.td.Cpu, Memory: rev.td.Memory, ContainerDefinitions: raw,
		ContainerName: rev.container, ContainerPort: rev.port,
		ExecutionRoleName: roleName(rev.td.ExecutionRoleArn), LogGroups: logGroups(rev.td),
	}, nil
}

// containerDefinitionsJSON returns the template's containerDefinitions as written,
// compacted, placeholders included.
func containerDefinitionsJSON(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read task definition template: %w", err)
	}
	var td struct {
		ContainerDefinitions json.RawMessage `json:"containerDefinitions"`
	}
	if err := json.Unmarshal(data, &td); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	var defs []map[string]any
	if err := json.Unmarshal(td.ContainerDefinitions, &defs); err != nil {
		return "", fmt.Errorf("%s: containerDefinitions: %w", path, err)
	}
	out, err := json.Marshal(defs)
	return string(out), err
}

// roleName is the name in "arn:aws:iam::${AWS_ACCOUNT_ID}:role/path/name".
func roleName(arn string) string {
	_, rest, ok := strings.Cut(arn, ":role/")
	if !ok {
		return ""
	}
	return rest[strings.LastIndex(rest, "/")+1:]
}

func logGroups(td *manifest.TaskDefinition) []string {
	var out []string
	for _, c := range td.ContainerDefinitions {
		var lc struct {
			Options map[string]string `json:"options"`
		}
		if raw, ok := c.Extra["logConfiguration"]; ok && json.Unmarshal(raw, &lc) == nil {
			if g := lc.Options["awslogs-group"]; g != "" && !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	return nonNil(out)
}
