package manifest

import (
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/jsontime"
)

// Pos is a position in a file a user wrote. Line and Column start at 1; zero means
// unknown.
type Pos struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Column == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	}
}

// Duration is a time.Duration written in YAML as a Go duration string ("90s", "5m",
// "1h30m") or as a bare number of seconds.
type Duration = jsontime.Duration

// Definition is a parsed and validated greenlight.yaml.
type Definition struct {
	Path string `json:"path"` // file the definition was read from
	Dir  string `json:"dir"`  // directory of Path; relative paths in the definition resolve here

	Version           int                          `json:"version"`
	Pipeline          *Pipeline                    `json:"pipeline"`
	BuildProjects     map[string]*BuildProject     `json:"build_projects,omitempty"`
	Services          map[string]*Service          `json:"services,omitempty"`
	Applications      map[string]*Application      `json:"applications,omitempty"`
	DeploymentConfigs map[string]*DeploymentConfig `json:"deployment_configs,omitempty"` // custom ones only
	Alarms            map[string]*Alarm            `json:"alarms,omitempty"`
	Secrets           *Secrets                     `json:"secrets,omitempty"`
	Notifications     []*NotificationRule          `json:"notifications,omitempty"` // notifications.go
	Webhook           *WebhookConfig               `json:"webhook,omitempty"`       // notifications.go
	Retention         *Retention                   `json:"retention,omitempty"`     // nil: DefaultRetention
	// Warnings are what the file says that greenlight accepts but ignores, with
	// their positions: `validate` prints them, nothing fails on them.
	Warnings ErrorList `json:"-"`
}

// Execution modes of a pipeline (CodePipeline V2).
const (
	ExecutionModeSuperseded = "SUPERSEDED"
	ExecutionModeQueued     = "QUEUED"
	ExecutionModeParallel   = "PARALLEL"
)

// Pipeline mirrors a CodePipeline pipeline declaration.
type Pipeline struct {
	Name          string              `json:"name"`
	ExecutionMode string              `json:"execution_mode"` // default SUPERSEDED
	Variables     []*PipelineVariable `json:"variables,omitempty"`
	Stages        []*Stage            `json:"stages"`
	Triggers      []*Trigger          `json:"triggers,omitempty"` // CodePipeline V2 triggers (triggers.go)
	Pos           Pos                 `json:"-"`
}

// PipelineVariable is a pipeline-level variable, read as #{variables.Name}.
type PipelineVariable struct {
	Name         string `json:"name"`
	DefaultValue string `json:"default_value,omitempty"`
	Description  string `json:"description,omitempty"`
	Pos          Pos    `json:"-"`
}

// Stage is one stage of the pipeline.
type Stage struct {
	Name    string    `json:"name"`
	Actions []*Action `json:"actions"`
	Pos     Pos       `json:"-"`
}

// Action categories and the providers greenlight runs locally.
const (
	CategorySource   = "Source"
	CategoryBuild    = "Build"
	CategoryTest     = "Test"
	CategoryDeploy   = "Deploy"
	CategoryApproval = "Approval"

	ProviderGit             = "Git" // local git repository by path or URL
	ProviderCodeStar        = "CodeStarSourceConnection"
	ProviderCodeBuild       = "CodeBuild"
	ProviderECS             = "ECS"
	ProviderCodeDeployToECS = "CodeDeployToECS"
	ProviderManual          = "Manual"
)

// Action mirrors a CodePipeline action declaration. Configuration keys keep
// CodePipeline's PascalCase names (ProjectName, FileName, ...).
type Action struct {
	Name             string            `json:"name"`
	Category         string            `json:"category"`
	Owner            string            `json:"owner,omitempty"` // default AWS
	Provider         string            `json:"provider"`
	Version          string            `json:"version,omitempty"` // default "1"
	RunOrder         int               `json:"run_order"`         // default 1
	InputArtifacts   []string          `json:"input_artifacts,omitempty"`
	OutputArtifacts  []string          `json:"output_artifacts,omitempty"`
	Namespace        string            `json:"namespace,omitempty"`
	Configuration    map[string]string `json:"configuration,omitempty"`
	TimeoutInMinutes int               `json:"timeout_in_minutes,omitempty"` // 0: the provider's default
	Pos              Pos               `json:"-"`
	// ConfigurationPos holds the position of each configuration value, so that a
	// provider can report a bad value where the user wrote it.
	ConfigurationPos map[string]Pos `json:"-"`
}

// BuildProject is the local stand-in for a CodeBuild project.
type BuildProject struct {
	Name                 string                 `json:"name"`
	Buildspec            string                 `json:"buildspec"` // path in the source artifact; default buildspec.yml
	EnvironmentVariables []*EnvironmentVariable `json:"environment_variables,omitempty"`
	Timeout              Duration               `json:"timeout"` // default 60m
	Cache                ProjectCache           `json:"cache"`
	Pos                  Pos                    `json:"-"`
}

// ProjectCache is a build project's cache type, as CodeBuild's ProjectCache:
// LOCAL (default) saves the buildspec's relative cache paths in the state
// directory and leaves absolute ones in place (this machine's folders outlive
// builds, as a CodeBuild host's local cache does); S3 saves and restores
// absolute paths too, as CodeBuild's S3 cache does; NO_CACHE ignores the
// buildspec's cache section.
type ProjectCache struct {
	Type string `json:"type"`
	Pos  Pos    `json:"-"`
}

// Build project cache types.
const (
	CacheLocal = "LOCAL"
	CacheS3    = "S3"
	CacheNone  = "NO_CACHE"
)

// Environment variable types of a CodeBuild project.
const (
	EnvPlaintext      = "PLAINTEXT"
	EnvParameterStore = "PARAMETER_STORE"
	EnvSecretsManager = "SECRETS_MANAGER"
)

// EnvironmentVariable is a variable a build project sets.
type EnvironmentVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type"` // default PLAINTEXT
	Pos   Pos    `json:"-"`
}

// Runtime drivers.
const (
	DriverAuto    = "auto"
	DriverDocker  = "docker"
	DriverProcess = "process"
)

// Service is a local ECS service: where its revisions run and how traffic reaches them.
type Service struct {
	Name                string        `json:"name"`
	Driver              string        `json:"driver"`        // auto (default), docker, process
	DesiredCount        int           `json:"desired_count"` // default 1
	Listeners           Listeners     `json:"listeners"`
	HealthCheck         HealthCheck   `json:"health_check"`
	DeregistrationDelay Duration      `json:"deregistration_delay"` // default 30s
	Process             ProcessConfig `json:"process"`
	Pos                 Pos           `json:"-"`
}

// Listeners are the addresses ("127.0.0.1:8080", loopback unless the operator
// says otherwise) the router serves the service on, with their options when a
// listener is written in the long form ({address: ..., protocol: HTTPS, ...}).
type Listeners struct {
	Production        string   `json:"production"`
	Test              string   `json:"test,omitempty"`
	ProductionOptions Listener `json:"production_options,omitzero"`
	TestOptions       Listener `json:"test_options,omitzero"`
}

// Listener protocols, as an ALB's listener names them.
const (
	ProtocolHTTP  = "HTTP"
	ProtocolHTTPS = "HTTPS"
)

// Listener is how one listener speaks to clients (the long form's keys).
type Listener struct {
	Protocol       string        `json:"protocol,omitempty"` // HTTP (default) or HTTPS
	Certificates   []Certificate `json:"certificates,omitempty"`
	ACME           *ACME         `json:"acme,omitempty"`
	RedirectHTTP   string        `json:"redirect_http,omitempty"` // address answering plain HTTP with a redirect to this listener
	HSTS           *HSTS         `json:"hsts,omitempty"`
	H2C            bool          `json:"h2c,omitempty"`
	MaxRequestBody int64         `json:"max_request_body,omitempty"` // bytes; 0: no limit
	Pos            Pos           `json:"-"`
}

// Certificate is a PEM certificate chain and its key; relative paths are from
// the directory of greenlight.yaml.
type Certificate struct {
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
	Pos      Pos    `json:"-"`
}

// ACME obtains certificates from an ACME CA for public host names.
type ACME struct {
	Domains      []string `json:"domains"`
	Email        string   `json:"email,omitempty"`
	DirectoryURL string   `json:"directory_url,omitempty"` // default Let's Encrypt
	CacheDir     string   `json:"cache_dir,omitempty"`     // default .greenlight/acme beside greenlight.yaml
	CAFile       string   `json:"ca_file,omitempty"`       // PEM roots to trust for the CA's API
}

// HSTS is a Strict-Transport-Security policy.
type HSTS struct {
	MaxAge            Duration `json:"max_age"`
	IncludeSubdomains bool     `json:"include_subdomains,omitempty"`
	Preload           bool     `json:"preload,omitempty"`
}

// HealthCheck follows an ALB target group's health check settings.
type HealthCheck struct {
	Path               string   `json:"path"`                // default /
	Interval           Duration `json:"interval"`            // default 5s
	Timeout            Duration `json:"timeout"`             // default 2s
	HealthyThreshold   int      `json:"healthy_threshold"`   // default 2
	UnhealthyThreshold int      `json:"unhealthy_threshold"` // default 2
	Matcher            string   `json:"matcher"`             // default "200"; "200,204" or "200-299"
}

// ProcessConfig tells the process driver how to run a revision without a container:
// Command runs from the directory of the build artifact that carries the task
// definition, with the container's environment and PORT set to the port it must
// listen on.
type ProcessConfig struct {
	Command []string `json:"command,omitempty"`
	Pos     Pos      `json:"-"`
}

// Application is a CodeDeploy application.
type Application struct {
	Name             string                      `json:"name"`
	DeploymentGroups map[string]*DeploymentGroup `json:"deployment_groups"`
	Pos              Pos                         `json:"-"`
}

// Deployment ready options (CodeDeploy DeploymentReadyOption.ActionOnTimeout).
const (
	ReadyContinue = "CONTINUE_DEPLOYMENT"
	ReadyStop     = "STOP_DEPLOYMENT"
)

// Auto-rollback events.
const (
	RollbackOnFailure = "DEPLOYMENT_FAILURE"
	RollbackOnAlarm   = "DEPLOYMENT_STOP_ON_ALARM"
	RollbackOnRequest = "DEPLOYMENT_STOP_ON_REQUEST"
)

// What a deployment does when one of its alarms is already in ALARM as it starts.
const (
	ExistingAlarmBlock  = "block"
	ExistingAlarmIgnore = "ignore"
)

// DeploymentGroup is a CodeDeploy ECS blue/green deployment group.
type DeploymentGroup struct {
	Application      string          `json:"application"`
	Name             string          `json:"name"`
	Service          string          `json:"service"`           // a key of Definition.Services
	DeploymentConfig string          `json:"deployment_config"` // default CodeDeployDefault.ECSAllAtOnce
	DeploymentReady  DeploymentReady `json:"deployment_ready"`
	TerminationWait  Duration        `json:"termination_wait"` // blue kept warm this long; default 5m
	// BakeTime is how long production must serve the replacement with every alarm
	// OK before the deployment counts as released; nil: the longest alarm's
	// evaluation range (BakeWindow).
	BakeTime     *Duration    `json:"bake_time,omitempty"`
	AutoRollback AutoRollback `json:"auto_rollback"`
	Alarms       AlarmConfig  `json:"alarms"`
	// TaskDefinitionTemplate is a task definition in the source tree (optional);
	// only `greenlight validate` reads it, to check it against the appspec.
	TaskDefinitionTemplate string `json:"task_definition_template,omitempty"`
	// Hooks maps a function name used in appspec.yaml Hooks to what runs locally.
	Hooks map[string]*Hook `json:"hooks,omitempty"`
	Pos   Pos              `json:"-"`
}

// DeploymentReady is when traffic moves to the replacement (CodeDeploy's
// deploymentReadyOption).
type DeploymentReady struct {
	ActionOnTimeout string   `json:"action_on_timeout"` // default CONTINUE_DEPLOYMENT
	WaitTime        Duration `json:"wait_time"`         // default 0
}

// AutoRollback says which events roll a deployment back.
type AutoRollback struct {
	Enabled bool     `json:"enabled"`
	Events  []string `json:"events,omitempty"`
}

// RollsBackOn reports whether the group rolls back automatically on event.
func (a AutoRollback) RollsBackOn(event string) bool {
	if !a.Enabled {
		return false
	}
	for _, e := range a.Events {
		if e == event {
			return true
		}
	}
	return false
}

// AlarmConfig names the alarms that watch a deployment group's deployments.
type AlarmConfig struct {
	Enabled bool     `json:"enabled"`
	Names   []string `json:"names,omitempty"` // keys of Definition.Alarms, at most 10
	// OnExistingAlarm says what a deployment does when an alarm is already in ALARM
	// as it starts: block (default) or ignore (with a warning event).
	OnExistingAlarm string `json:"on_existing_alarm"`
}

// Hook is what runs locally for an appspec lifecycle hook: exactly one of Command
// (run with the deployment's context in the environment) or HTTP (POSTed the
// CodeDeploy hook event as JSON; 2xx succeeds).
type Hook struct {
	Name    string   `json:"name"`
	Command []string `json:"command,omitempty"`
	HTTP    string   `json:"http,omitempty"`
	Timeout Duration `json:"timeout"` // default 60s; CodeDeploy allows an hour
	Pos     Pos      `json:"-"`
}

// Deployment config types (CodeDeploy TrafficRoutingConfig.Type).
const (
	TrafficAllAtOnce       = "AllAtOnce"
	TrafficTimeBasedCanary = "TimeBasedCanary"
	TrafficTimeBasedLinear = "TimeBasedLinear"
)

// DeploymentConfig is how production traffic moves to green.
type DeploymentConfig struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Percentage int      `json:"percentage,omitempty"` // canary: first step; linear: each step
	Interval   Duration `json:"interval,omitempty"`   // time between steps, one second or more
	Pos        Pos      `json:"-"`
}

// BuiltinDeploymentConfigs are CodeDeploy's predefined ECS configs.
var BuiltinDeploymentConfigs = map[string]DeploymentConfig{
	"CodeDeployDefault.ECSAllAtOnce":                    {Name: "CodeDeployDefault.ECSAllAtOnce", Type: TrafficAllAtOnce},
	"CodeDeployDefault.ECSLinear10PercentEvery1Minutes": {Name: "CodeDeployDefault.ECSLinear10PercentEvery1Minutes", Type: TrafficTimeBasedLinear, Percentage: 10, Interval: Duration(time.Minute)},
	"CodeDeployDefault.ECSLinear10PercentEvery3Minutes": {Name: "CodeDeployDefault.ECSLinear10PercentEvery3Minutes", Type: TrafficTimeBasedLinear, Percentage: 10, Interval: Duration(3 * time.Minute)},
	"CodeDeployDefault.ECSCanary10Percent5Minutes":      {Name: "CodeDeployDefault.ECSCanary10Percent5Minutes", Type: TrafficTimeBasedCanary, Percentage: 10, Interval: Duration(5 * time.Minute)},
	"CodeDeployDefault.ECSCanary10Percent15Minutes":     {Name: "CodeDeployDefault.ECSCanary10Percent15Minutes", Type: TrafficTimeBasedCanary, Percentage: 10, Interval: Duration(15 * time.Minute)},
}

// ALB metric names the router records per target group.
const (
	MetricRequestCount     = "RequestCount"
	MetricTarget5XX        = "HTTPCode_Target_5XX_Count"
	MetricTarget4XX        = "HTTPCode_Target_4XX_Count"
	MetricTarget2XX        = "HTTPCode_Target_2XX_Count"
	MetricELB5XX           = "HTTPCode_ELB_5XX_Count"
	MetricTargetRespTime   = "TargetResponseTime"
	MetricHealthyHostCount = "HealthyHostCount"
)

// Alarm is a CloudWatch metric alarm, field for field as Terraform's
// aws_cloudwatch_metric_alarm writes it. Either MetricName with Statistic or
// ExtendedStatistic, or MetricQueries (metric math) with exactly one ReturnData.
type Alarm struct {
	Name               string         `json:"name"`
	Description        string         `json:"description,omitempty"`
	MetricName         string         `json:"metric_name,omitempty"`
	Statistic          string         `json:"statistic,omitempty"`          // Sum, Average, Minimum, Maximum, SampleCount
	ExtendedStatistic  string         `json:"extended_statistic,omitempty"` // p50 ... p99.9
	MetricQueries      []*MetricQuery `json:"metric_queries,omitempty"`
	Period             int            `json:"period"` // seconds, 1 or more
	EvaluationPeriods  int            `json:"evaluation_periods"`
	DatapointsToAlarm  int            `json:"datapoints_to_alarm"` // default EvaluationPeriods
	Threshold          float64        `json:"threshold"`
	ComparisonOperator string         `json:"comparison_operator"`
	TreatMissingData   string         `json:"treat_missing_data"` // default missing
	Pos                Pos            `json:"-"`
}

// MetricQuery is one line of metric math: a metric with a statistic, or an
// expression over other queries' ids.
type MetricQuery struct {
	ID         string `json:"id"`
	MetricName string `json:"metric_name,omitempty"`
	Stat       string `json:"stat,omitempty"`
	Expression string `json:"expression,omitempty"`
	Label      string `json:"label,omitempty"`
	ReturnData bool   `json:"return_data,omitempty"`
	Pos        Pos    `json:"-"`
}

// CloudWatch comparison operators and missing-data treatments.
const (
	GreaterThanOrEqualToThreshold = "GreaterThanOrEqualToThreshold"
	GreaterThanThreshold          = "GreaterThanThreshold"
	LessThanThreshold             = "LessThanThreshold"
	LessThanOrEqualToThreshold    = "LessThanOrEqualToThreshold"

	MissingDataMissing      = "missing"
	MissingDataNotBreaching = "notBreaching"
	MissingDataBreaching    = "breaching"
	MissingDataIgnore       = "ignore"
)

// Secrets maps the ids a buildspec names under secrets-manager and parameter-store
// (and build project variables of those types) to local sources.
type Secrets struct {
	SecretsManager map[string]*SecretSource `json:"secrets_manager,omitempty"`
	ParameterStore map[string]*SecretSource `json:"parameter_store,omitempty"`
}

// SecretSource is exactly one of: an environment variable of the greenlight process,
// or a file (a secrets-manager secret with a json-key reads the file as JSON).
type SecretSource struct {
	Env  string `json:"env,omitempty"`
	File string `json:"file,omitempty"`
	Pos  Pos    `json:"-"`
}
