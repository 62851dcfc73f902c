package awsrender

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// pipeline renders the pipeline: stages and actions as declared, with the values
// that name resources of the stack turned into references the module resolves.
func (r *renderer) pipeline() Pipeline {
	p := r.def.Pipeline
	out := Pipeline{Name: p.Name, ExecutionMode: p.ExecutionMode, Variables: []Variable{}, Triggers: r.triggers()}
	for _, v := range p.Variables {
		out.Variables = append(out.Variables, Variable{Name: v.Name, DefaultValue: v.DefaultValue, Description: v.Description})
	}
	for _, s := range p.Stages {
		stage := Stage{Name: s.Name}
		for _, a := range s.Actions {
			stage.Actions = append(stage.Actions, r.action(s, a))
		}
		out.Stages = append(out.Stages, stage)
	}
	return out
}

func (r *renderer) action(s *manifest.Stage, a *manifest.Action) Action {
	out := Action{
		Name: a.Name, Category: a.Category, Owner: a.Owner, Provider: a.Provider, Version: a.Version,
		RunOrder: a.RunOrder, InputArtifacts: nonNil(a.InputArtifacts), OutputArtifacts: nonNil(a.OutputArtifacts),
		Configuration: maps.Clone(a.Configuration), ConfigurationRefs: map[string]Ref{},
	}
	if out.Configuration == nil {
		out.Configuration = map[string]string{}
	}
	if a.Namespace != "" {
		out.Namespace = &a.Namespace
	}
	if a.TimeoutInMinutes > 0 {
		out.TimeoutInMinutes = &a.TimeoutInMinutes
	}
	c := actionConfig{r: r, a: a, out: &out, field: fmt.Sprintf("pipeline.stages.%s.actions.%s", s.Name, a.Name)}
	switch a.Provider {
	case manifest.ProviderGit:
		c.gitSource()
	case manifest.ProviderCodeStar:
		c.refIfAbsent("ConnectionArn", Ref{Kind: RefConnection})
	case manifest.ProviderCodeBuild:
		c.ref("ProjectName", RefBuildProject)
	case manifest.ProviderECS:
		c.ref("ClusterName", RefCluster)
		c.ref("ServiceName", RefService)
	case manifest.ProviderCodeDeployToECS:
		c.codeDeploy()
	case manifest.ProviderManual:
		c.approval()
	}
	return out
}

// actionConfig rewrites one action's configuration.
type actionConfig struct {
	r     *renderer
	a     *manifest.Action
	out   *Action
	field string
}

func (c actionConfig) pos(key string) manifest.Pos {
	if p, ok := c.a.ConfigurationPos[key]; ok {
		return p
	}
	return c.a.Pos
}

// ref turns a literal value naming a resource into a reference to it. A value
// with #{...} variables stays as written: CodePipeline resolves it per execution.
func (c actionConfig) ref(key string, kind RefKind) {
	v := c.out.Configuration[key]
	if v == "" || strings.Contains(v, "#{") {
		return
	}
	delete(c.out.Configuration, key)
	c.out.ConfigurationRefs[key] = Ref{Kind: kind, Name: v}
}

func (c actionConfig) refIfAbsent(key string, ref Ref) {
	if c.out.Configuration[key] == "" {
		delete(c.out.Configuration, key)
		c.out.ConfigurationRefs[key] = ref
	}
}

// gitSource: a local repository becomes the GitHub repository of the stack's
// CodeStar connection, on the same branch.
func (c actionConfig) gitSource() {
	repo := c.out.Configuration["Repository"]
	delete(c.out.Configuration, "Repository")
	c.out.Provider = manifest.ProviderCodeStar
	c.out.ConfigurationRefs["ConnectionArn"] = Ref{Kind: RefConnection}
	c.out.ConfigurationRefs["FullRepositoryId"] = Ref{Kind: RefRepository}
	c.r.findings.add(c.pos("Repository"), c.field+".configuration.Repository", Changed,
		"provider Git reads the local repository %q; on AWS the action is CodeStarSourceConnection on the GitHub repository var.repository, through the stack's connection", repo)
}

func (c actionConfig) codeDeploy() {
	group := c.out.Configuration["DeploymentGroupName"]
	c.ref("ApplicationName", RefApplication)
	if app, ok := c.out.ConfigurationRefs["ApplicationName"]; ok && group != "" && !strings.Contains(group, "#{") {
		delete(c.out.Configuration, "DeploymentGroupName")
		c.out.ConfigurationRefs["DeploymentGroupName"] = Ref{Kind: RefDeploymentGroup, Name: app.Name + "/" + group}
	}
}

// approval: a local SNS ARN becomes the stack's approvals topic, and a link to a
// service's loopback listener becomes that service's URL on the load balancer.
func (c actionConfig) approval() {
	if arn := c.out.Configuration["NotificationArn"]; arn != "" && isLocalARN(arn) {
		delete(c.out.Configuration, "NotificationArn")
		c.out.ConfigurationRefs["NotificationArn"] = Ref{Kind: RefApprovalTopic}
		c.r.findings.add(c.pos("NotificationArn"), c.field+".configuration.NotificationArn", Changed,
			"%s is not an AWS topic; on AWS approval requests go to the stack's approvals topic", arn)
	}
	link := c.out.Configuration["ExternalEntityLink"]
	service, suffix, ok := c.r.serviceListening(link)
	if !ok {
		return
	}
	delete(c.out.Configuration, "ExternalEntityLink")
	c.out.ConfigurationRefs["ExternalEntityLink"] = Ref{Kind: RefServiceURL, Name: service, Suffix: suffix}
	c.r.findings.add(c.pos("ExternalEntityLink"), c.field+".configuration.ExternalEntityLink", Changed,
		"%s is service %q's local listener; on AWS the link is that service's URL on the load balancer, path %q", link, service, suffix)
}

// isLocalARN: greenlight's examples use the "local" region or account 000000000000.
func isLocalARN(arn string) bool {
	parts := strings.Split(arn, ":")
	return len(parts) < 6 || parts[3] == "local" || parts[4] == "000000000000"
}

// serviceListening finds the service one of whose listeners link points at, and
// the rest of the link (path, query) after the address.
func (r *renderer) serviceListening(link string) (service, suffix string, ok bool) {
	u, err := url.Parse(link)
	if err != nil || u.Host == "" || strings.Contains(link, "#{") {
		return "", "", false
	}
	for _, name := range slices.Sorted(maps.Keys(r.def.Services)) {
		l := r.def.Services[name].Listeners
		if sameAddress(u.Host, l.Production) || sameAddress(u.Host, l.Test) {
			rest := strings.TrimPrefix(link, u.Scheme+"://"+u.Host)
			return name, rest, true
		}
	}
	return "", "", false
}

func sameAddress(host, listener string) bool {
	if listener == "" {
		return false
	}
	h1, p1, err1 := net.SplitHostPort(host)
	h2, p2, err2 := net.SplitHostPort(listener)
	if err1 != nil || err2 != nil || p1 != p2 {
		return false
	}
	return h1 == h2 || h2 == "" || h2 == "0.0.0.0" || (h1 == "localhost" && strings.HasPrefix(h2, "127."))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
