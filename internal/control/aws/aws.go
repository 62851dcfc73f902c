// Package aws is the control surface (control.Backend) of a pipeline running on
// AWS: CodePipeline for executions and approvals, CodeBuild and CloudWatch Logs
// for logs and reports, CodeDeploy (and ECS) for deployments, CloudWatch for
// alarms, all through aws-sdk-go-v2 with the standard credential chain, region
// settings and retryer. AWS keeps the state and drives the work; this package
// reads it into the same read model the local backend returns and derives the
// event stream followers tail from the state changes it observes.
//
// What AWS has no verb for (a deployment outside the pipeline) fails with
// control.ErrNotSupported; AWS's own refusals become the control surface's
// typed errors, explained in one line with what to do.
package aws

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Options say which pipeline and deployment groups a Backend operates.
type Options struct {
	// Config is the SDK configuration (config.LoadDefaultConfig: the standard
	// credential chain, region and retry settings).
	Config sdkaws.Config
	// Pipeline is the CodePipeline pipeline's name.
	Pipeline string
	// Groups are the CodeDeploy deployment groups its deployments run in.
	Groups []Group
	// Refresh is how long Events answers from what it observed before it reads
	// AWS again (0: DefaultRefresh); executions and running builds' logs are
	// read at most twice in that time.
	Refresh time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Group is one CodeDeploy deployment group and what greenlight.yaml says of it.
type Group struct {
	Application string
	Name        string
	Service     string   // the ECS service it deploys
	Alarms      []string // the CloudWatch alarms that stop it
}

// Ref is "application/group", the name the control surface gives a group.
func (g Group) Ref() string { return g.Application + "/" + g.Name }

// OptionsFor returns the options of the stack deploy/aws renders from def:
// the module names the pipeline, the applications, the groups and the alarms
// as greenlight.yaml does.
func OptionsFor(def *manifest.Definition, cfg sdkaws.Config) Options {
	o := Options{Config: cfg, Pipeline: def.Pipeline.Name}
	for _, appName := range slices.Sorted(maps.Keys(def.Applications)) {
		app := def.Applications[appName]
		for _, name := range slices.Sorted(maps.Keys(app.DeploymentGroups)) {
			g := app.DeploymentGroups[name]
			o.Groups = append(o.Groups, Group{Application: appName, Name: name, Service: g.Service, Alarms: g.Alarms.Names})
		}
	}
	return o
}

// Backend implements control.Backend on AWS. It holds no work of its own: Close
// only forgets what it observed.
type Backend struct {
	opts Options
	cp   CodePipeline
	cb   CodeBuild
	logs CloudWatchLogs
	cd   CodeDeploy
	ecs  ECS
	cw   CloudWatch

	structure structureCache
	events    *observer
	images    sync.Map // task definition|container -> image
	// views and buildLogs are recent reads, reused for half of Refresh.
	views     readCache[*control.Execution]
	buildLogs readCache[string]
}

var _ control.Backend = (*Backend)(nil)

// New returns the backend of opts, with SDK clients made from opts.Config.
func New(opts Options) *Backend {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg := opts.Config
	return &Backend{
		opts:   opts,
		cp:     codepipeline.NewFromConfig(cfg),
		cb:     codebuild.NewFromConfig(cfg),
		logs:   cloudwatchlogs.NewFromConfig(cfg),
		cd:     codedeploy.NewFromConfig(cfg),
		ecs:    ecs.NewFromConfig(cfg),
		cw:     cloudwatch.NewFromConfig(cfg),
		events: newObserver(),
	}
}

// Close forgets what it observed; AWS goes on with everything. Idempotent.
func (b *Backend) Close() error {
	b.events.reset()
	b.views.reset()
	b.buildLogs.reset()
	return nil
}

// ResumeExecutions has nothing to do: CodePipeline drives its executions.
func (b *Backend) ResumeExecutions(context.Context) ([]string, error) { return nil, nil }

// structureCache is the pipeline's declaration, read once: stages, actions and
// their providers do not change while a command runs.
type structureCache struct {
	mu     sync.Mutex
	stages []stageDecl
	mode   string
}

// stageDecl is a stage as the pipeline declares it.
type stageDecl struct {
	Name    string
	Actions []actionDecl
}

// actionDecl is an action as the pipeline declares it.
type actionDecl struct {
	Name, Category, Provider string
	RunOrder                 int
}
