package manifest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// providerConfig lists the configuration keys of a provider, as CodePipeline
// names them.
type providerConfig struct {
	allowed  []string
	required []string
	defaults map[string]string
}

var providerConfigs = map[string]providerConfig{
	ProviderGit: {allowed: []string{"Repository", "BranchName"}, required: []string{"Repository"}},
	// ConnectionArn and the output format only mean something on AWS.
	ProviderCodeStar: {
		allowed:  []string{"ConnectionArn", "FullRepositoryId", "BranchName", "OutputArtifactFormat", "DetectChanges"},
		required: []string{"FullRepositoryId", "BranchName"},
	},
	ProviderCodeBuild: {
		allowed:  []string{"ProjectName", "PrimarySource", "EnvironmentVariables"},
		required: []string{"ProjectName"},
	},
	ProviderECS: {
		allowed:  []string{"ClusterName", "ServiceName", "FileName", "DeploymentTimeout"},
		required: []string{"ServiceName"},
		defaults: map[string]string{"FileName": "imagedefinitions.json"},
	},
	ProviderCodeDeployToECS: {
		allowed: []string{
			"ApplicationName", "DeploymentGroupName",
			"TaskDefinitionTemplateArtifact", "TaskDefinitionTemplatePath",
			"AppSpecTemplateArtifact", "AppSpecTemplatePath",
			"Image1ArtifactName", "Image1ContainerName", "Image2ArtifactName", "Image2ContainerName",
			"Image3ArtifactName", "Image3ContainerName", "Image4ArtifactName", "Image4ContainerName",
		},
		required: []string{"ApplicationName", "DeploymentGroupName"},
		defaults: map[string]string{"TaskDefinitionTemplatePath": "taskdef.json", "AppSpecTemplatePath": "appspec.yaml"},
	},
	ProviderManual: {allowed: []string{"CustomData", "ExternalEntityLink", "NotificationArn"}},
}

// checkConfiguration checks keys per provider and what the values name, then fills
// CodePipeline's defaults (FileName, the template paths, and the template artifacts
// of a CodeDeployToECS action with a single input).
func (c *pipelineCheck) checkConfiguration(l located) {
	a := l.action
	pc, ok := providerConfigs[a.Provider]
	if !ok || !c.validPair(a) {
		return
	}
	for _, key := range slices.Sorted(maps.Keys(a.Configuration)) {
		if !slices.Contains(pc.allowed, key) {
			c.d.errorf(c.d.at(a, "configuration key "+key, c.keyPos(a, key)), "configuration: unknown key %q for %s (allowed: %s)", key, a.Provider, strings.Join(pc.allowed, ", "))
		}
	}
	for _, key := range pc.required {
		if strings.TrimSpace(a.Configuration[key]) == "" {
			c.d.errorf(c.d.at(a, "configuration", a.Pos), "configuration: %s needs %s", a.Provider, key)
		}
	}
	switch a.Provider {
	case ProviderCodeBuild:
		c.checkCodeBuild(a)
	case ProviderECS:
		checkNamed(c, a, "ServiceName", c.def.Services, "services")
		if v, ok := literal(a, "DeploymentTimeout"); ok {
			if _, err := ParseECSDeploymentTimeout(v); err != nil {
				c.d.errorf(c.keyPos(a, "DeploymentTimeout"), "DeploymentTimeout: %v", err)
			}
		}
	case ProviderCodeDeployToECS:
		c.checkCodeDeploy(a)
	case ProviderManual:
		c.checkURL(a, "ExternalEntityLink")
	}
	if a.Configuration == nil {
		a.Configuration = map[string]string{}
	}
	for key, v := range pc.defaults {
		if a.Configuration[key] == "" {
			a.Configuration[key] = v
		}
	}
}

// keyPos is where a configuration value was written.
func (c *pipelineCheck) keyPos(a *Action, key string) Pos {
	if p, ok := a.ConfigurationPos[key]; ok {
		return p
	}
	return c.d.at(a, "configuration", a.Pos)
}

// literal returns a configuration value unless it is empty or holds variable
// references, which only an execution can resolve.
func literal(a *Action, key string) (string, bool) {
	v := a.Configuration[key]
	return v, v != "" && !strings.Contains(v, "#{")
}

func checkNamed[V any](c *pipelineCheck, a *Action, key string, names map[string]V, section string) {
	v, ok := literal(a, key)
	if _, known := names[v]; ok && !known {
		c.d.errorf(c.keyPos(a, key), "%s: unknown %q (allowed: %s)", key, clip(v), allowedNames(slices.Sorted(maps.Keys(names)), "none; define it under "+section))
	}
}

func (c *pipelineCheck) checkCodeBuild(a *Action) {
	checkNamed(c, a, "ProjectName", c.def.BuildProjects, "build_projects")
	c.checkInputName(a, "PrimarySource")
	if v, ok := literal(a, "EnvironmentVariables"); ok {
		if err := checkEnvironmentVariablesJSON(v); err != nil {
			c.d.errorf(c.keyPos(a, "EnvironmentVariables"), "EnvironmentVariables: %v", err)
		}
	}
}

// checkEnvironmentVariablesJSON checks CodeBuild's action-level override:
// a JSON array of {name, value, type}.
func checkEnvironmentVariablesJSON(v string) error {
	var vars []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
		Type  string `json:"type"`
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&vars); err != nil {
		return fmt.Errorf(`expected a JSON array like [{"name":"X","value":"y","type":"PLAINTEXT"}]: %v`, err)
	}
	for _, ev := range vars {
		if ev.Name == "" {
			return fmt.Errorf("every variable needs a name")
		}
		if ev.Type != "" && !slices.Contains([]string{EnvPlaintext, EnvParameterStore, EnvSecretsManager}, ev.Type) {
			return fmt.Errorf("variable %q: unknown type %q (allowed: %s, %s, %s)", ev.Name, ev.Type, EnvPlaintext, EnvParameterStore, EnvSecretsManager)
		}
	}
	return nil
}

func (c *pipelineCheck) checkCodeDeploy(a *Action) {
	app, appOK := literal(a, "ApplicationName")
	if _, known := c.def.Applications[app]; appOK && !known {
		c.d.errorf(c.keyPos(a, "ApplicationName"), "ApplicationName: unknown %q (allowed: %s)", clip(app), allowedNames(slices.Sorted(maps.Keys(c.def.Applications)), "none; define it under applications"))
	} else if group, ok := literal(a, "DeploymentGroupName"); appOK && ok {
		if _, found := c.def.DeploymentGroup(app, group); !found {
			groups := c.def.Applications[app].DeploymentGroups
			c.d.errorf(c.keyPos(a, "DeploymentGroupName"), "DeploymentGroupName: application %q has no deployment group %q (allowed: %s)", app, clip(group), allowedNames(slices.Sorted(maps.Keys(groups)), "none"))
		}
	}
	for _, key := range []string{"TaskDefinitionTemplateArtifact", "AppSpecTemplateArtifact", "Image1ArtifactName", "Image2ArtifactName", "Image3ArtifactName", "Image4ArtifactName"} {
		c.checkInputName(a, key)
	}
	for i := 1; i <= 4; i++ {
		artifact, container := fmt.Sprintf("Image%dArtifactName", i), fmt.Sprintf("Image%dContainerName", i)
		if (a.Configuration[artifact] == "") != (a.Configuration[container] == "") {
			c.d.errorf(c.d.at(a, "configuration", a.Pos), "configuration: %s and %s go together", artifact, container)
		}
	}
	if len(a.InputArtifacts) == 1 && a.Configuration != nil {
		for _, key := range []string{"TaskDefinitionTemplateArtifact", "AppSpecTemplateArtifact"} {
			if a.Configuration[key] == "" {
				a.Configuration[key] = a.InputArtifacts[0]
			}
		}
	}
}

// checkInputName: a configuration value naming an artifact must name an input.
func (c *pipelineCheck) checkInputName(a *Action, key string) {
	v, ok := literal(a, key)
	if ok && !slices.Contains(a.InputArtifacts, v) {
		c.d.errorf(c.keyPos(a, key), "%s: %q is not an input artifact of this action (inputs: %s)", key, clip(v), allowedNames(a.InputArtifacts, "none"))
	}
}

func (c *pipelineCheck) checkURL(a *Action, key string) {
	v, ok := literal(a, key)
	if !ok {
		return
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.d.errorf(c.keyPos(a, key), "%s: %q is not an http:// or https:// URL", key, clip(v))
	}
}

// checkVariableRefs: each #{ns.key} must name codepipeline, a declared pipeline
// variable, or the namespace of an action that has run by then.
func (c *pipelineCheck) checkVariableRefs(l located) {
	a := l.action
	for _, key := range slices.Sorted(maps.Keys(a.Configuration)) {
		n := c.d.config[configKey{a, key}]
		if n == nil {
			continue
		}
		refs, err := VariableRefs(n.text)
		if serr, ok := err.(*VariableSyntaxError); ok {
			c.d.errorf(posIn(n, serr.Offset), "%s: %s", key, serr.Msg)
		}
		for _, r := range refs {
			if msg := c.resolve(l, r); msg != "" {
				c.d.errorf(posIn(n, r.Offset), "%s: %s", key, msg)
			}
		}
	}
}

// resolve explains why a reference cannot be resolved at l, or returns "".
func (c *pipelineCheck) resolve(l located, r VariableRef) string {
	switch r.Namespace {
	case NamespaceCodePipeline:
		if !slices.Contains(CodePipelineVariables, r.Key) {
			return fmt.Sprintf("unknown variable %s (allowed: %s)", r, strings.Join(CodePipelineVariables, ", "))
		}
		return ""
	case NamespaceVariables:
		var declared []string
		for _, v := range c.def.Pipeline.Variables {
			declared = append(declared, v.Name)
		}
		if !slices.Contains(declared, r.Key) {
			return fmt.Sprintf("%s: no pipeline variable %q (declared: %s)", r, r.Key, allowedNames(declared, "none; declare it under pipeline.variables"))
		}
		return ""
	}
	owner, ok := c.namespaces[r.Namespace]
	switch {
	case !ok:
		return fmt.Sprintf("%s: unknown namespace %q (available here: %s)", r, r.Namespace, strings.Join(c.namespacesBefore(l), ", "))
	case !owner.before(l):
		return fmt.Sprintf("%s: namespace %q belongs to %s, which does not run before this action", r, r.Namespace, owner)
	}
	return ""
}

func (c *pipelineCheck) namespacesBefore(l located) []string {
	names := []string{NamespaceCodePipeline, NamespaceVariables}
	for _, ns := range slices.Sorted(maps.Keys(c.namespaces)) {
		if c.namespaces[ns].before(l) {
			names = append(names, ns)
		}
	}
	return names
}

// DefaultECSDeploymentTimeout is how long CodePipeline's ECS deploy action waits
// for the new tasks to be healthy and switched when DeploymentTimeout is not set.
const DefaultECSDeploymentTimeout = 60 * time.Minute

// ParseECSDeploymentTimeout reads the ECS deploy action's DeploymentTimeout: whole
// minutes from 1 to 60, as CodePipeline takes it; "" is the default.
func ParseECSDeploymentTimeout(v string) (time.Duration, error) {
	if strings.TrimSpace(v) == "" {
		return DefaultECSDeploymentTimeout, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > 60 {
		return 0, fmt.Errorf("%q is not a number of minutes from 1 to 60 (default: 60)", clip(v))
	}
	return time.Duration(n) * time.Minute, nil
}
