package deploy

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/mask"
	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// SecretResolver reads the value of a container secret (its valueFrom, as ECS
// takes it) from the local secret sources a deployment snapshotted.
type SecretResolver func(ctx context.Context, sources *manifest.Secrets, valueFrom string) (string, error)

// taskSpec is the task the revision's task definition describes, as ECS runs
// it: every container, with its secrets resolved; LoadBalancerInfo's container
// is the target, and runs the service's process command under the process
// driver (the others run their entryPoint and command).
func (r *run) taskSpec(ctx context.Context, id string) (runtime.TaskSpec, error) {
	rev := r.d.Revision
	spec := runtime.TaskSpec{
		ID: id,
		Labels: map[string]string{
			runtime.LabelService:    r.d.Config.Service.Name,
			runtime.LabelDeployment: r.d.ID,
			runtime.LabelRevision:   rev.CommitID,
		},
		TargetContainer: rev.ContainerName,
		ContainerPort:   rev.ContainerPort,
		ProcessDir:      rev.ArtifactDir,
	}
	for _, c := range rev.TaskDefinition.ContainerDefinitions {
		cs := containerSpec(c)
		if c.Name == rev.ContainerName {
			cs.ProcessCommand = r.d.Config.Service.ProcessCommand
		}
		secrets, err := r.resolveSecrets(ctx, c)
		if err != nil {
			return spec, err
		}
		cs.Secrets = secrets
		spec.Containers = append(spec.Containers, cs)
	}
	return spec, nil
}

// containerSpec translates an ECS container definition (seconds, names) into the
// runtime's terms.
func containerSpec(c *manifest.ContainerDefinition) runtime.ContainerSpec {
	cs := runtime.ContainerSpec{
		Name: c.Name, Image: c.Image, EntryPoint: c.EntryPoint, Command: c.Command,
		User: c.User, WorkingDir: c.WorkingDirectory, Essential: c.IsEssential(),
		StartTimeout: seconds(c.StartTimeout), StopTimeout: seconds(c.StopTimeout),
	}
	for _, kv := range c.Environment {
		cs.Env = append(cs.Env, kv.Name+"="+kv.Value)
	}
	for _, pm := range c.PortMappings {
		cs.Ports = append(cs.Ports, pm.ContainerPort)
	}
	for _, dep := range c.DependsOn {
		cs.DependsOn = append(cs.DependsOn, runtime.Dependency{Container: dep.ContainerName, Condition: runtime.Condition(dep.Condition)})
	}
	if hc := c.HealthCheck; hc != nil {
		cs.HealthCheck = &runtime.HealthCheck{Command: hc.Command, Interval: seconds(hc.Interval), Timeout: seconds(hc.Timeout),
			Retries: hc.Retries, StartPeriod: seconds(hc.StartPeriod)}
	}
	return cs
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

// hasContainerHealthChecks reports whether an essential container has a health
// check: then the task's health decides, with the router's, when it is healthy.
func hasContainerHealthChecks(td *manifest.TaskDefinition) bool {
	return slices.ContainsFunc(td.ContainerDefinitions, func(c *manifest.ContainerDefinition) bool {
		return c.IsEssential() && c.HealthCheck != nil
	})
}

// resolveSecrets returns the container's secrets as NAME=value.
func (r *run) resolveSecrets(ctx context.Context, c *manifest.ContainerDefinition) ([]string, error) {
	var out []string
	for _, s := range c.Secrets {
		if r.c.opts.Secrets == nil {
			return nil, fmt.Errorf("container %s: secret %s: no secret sources here", c.Name, s.Name)
		}
		v, err := r.c.opts.Secrets(ctx, r.d.Config.Secrets, s.ValueFrom)
		if err != nil {
			return nil, fmt.Errorf("container %s: secret %s: %w", c.Name, s.Name, err)
		}
		out = append(out, s.Name+"="+v)
	}
	return out, nil
}

// masker hides the values of the task definition's secrets (resolved once per
// run) in what the deployment reports: a task's last output, errors.
func (r *run) masker(ctx context.Context) *mask.Masker {
	if r.secrets != nil {
		return r.secrets
	}
	var values []string
	for _, c := range r.d.Revision.TaskDefinition.ContainerDefinitions {
		resolved, _ := r.resolveSecrets(ctx, c) // what cannot be resolved never reached a task
		for _, kv := range resolved {
			_, v, _ := strings.Cut(kv, "=")
			values = append(values, v)
		}
	}
	r.secrets = mask.NewMasker(values)
	return r.secrets
}

func (r *run) mask(ctx context.Context, s string) string { return r.masker(ctx).Mask(s) }

func (r *run) maskError(ctx context.Context, err error) error {
	return mask.Err(err, r.masker(ctx))
}

// SecretSources snapshots the local sources of the task definition's container
// secrets, file paths made absolute, for the controller to read them from
// whichever process it runs in.
func SecretSources(def *manifest.Definition, td *manifest.TaskDefinition) *manifest.Secrets {
	var out *manifest.Secrets
	if td == nil {
		return nil
	}
	for _, c := range td.ContainerDefinitions {
		for _, s := range c.Secrets {
			kind, ref := manifest.ContainerSecretSource(s.ValueFrom)
			src, key := secretSource(def, kind, ref)
			if src == nil {
				continue // validation names it; the resolver fails the task
			}
			if out == nil {
				out = &manifest.Secrets{SecretsManager: map[string]*manifest.SecretSource{}, ParameterStore: map[string]*manifest.SecretSource{}}
			}
			abs := *src
			if abs.File != "" && !filepath.IsAbs(abs.File) && !strings.HasPrefix(abs.File, "~/") {
				abs.File = filepath.Join(def.Dir, abs.File)
			}
			if kind == manifest.EnvSecretsManager {
				out.SecretsManager[key] = &abs
			} else {
				out.ParameterStore[key] = &abs
			}
		}
	}
	return out
}

func secretSource(def *manifest.Definition, kind, ref string) (*manifest.SecretSource, string) {
	if def.Secrets == nil {
		return nil, ""
	}
	if kind == manifest.EnvSecretsManager {
		id := manifest.ParseSecretRef(ref).ID
		src, _ := def.Secrets.SecretsManagerSource(id)
		return src, id
	}
	return def.Secrets.ParameterStore[ref], ref
}
