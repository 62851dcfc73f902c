package awsrender

// Stack is what the Terraform module under deploy/aws takes as its `greenlight`
// variable. The JSON names are the module's attribute names; variables.tf declares
// the same shape.
type Stack struct {
	Pipeline          Pipeline                    `json:"pipeline"`
	BuildProjects     map[string]BuildProject     `json:"build_projects"`
	Services          map[string]Service          `json:"services"`
	DeploymentGroups  map[string]DeploymentGroup  `json:"deployment_groups"` // by "application/group"
	DeploymentConfigs map[string]DeploymentConfig `json:"deployment_configs"`
	Alarms            map[string]Alarm            `json:"alarms"`
	Hooks             map[string]Hook             `json:"hooks"` // by Lambda function name
	// Notifications are the notification rules that reach AWS, by name.
	Notifications map[string]NotificationRule `json:"notifications"`
}

// Pipeline is a CodePipeline V2 pipeline.
type Pipeline struct {
	Name          string     `json:"name"`
	ExecutionMode string     `json:"execution_mode"`
	Variables     []Variable `json:"variables"`
	Stages        []Stage    `json:"stages"`
	Triggers      []Trigger  `json:"triggers"`
}

// Trigger is a CodePipeline V2 Git trigger of a source action: the pipeline
// starts when any filter matches.
type Trigger struct {
	SourceActionName string              `json:"source_action_name"`
	Push             []PushFilter        `json:"push"`
	PullRequest      []PullRequestFilter `json:"pull_request"`
}

// PushFilter matches pushes of branches (and changed files) or of tags.
type PushFilter struct {
	Branches  *Filter `json:"branches"`
	FilePaths *Filter `json:"file_paths"`
	Tags      *Filter `json:"tags"`
}

// PullRequestFilter matches pull request events into branches.
type PullRequestFilter struct {
	Events    []string `json:"events"`
	Branches  *Filter  `json:"branches"`
	FilePaths *Filter  `json:"file_paths"`
}

// Filter holds glob patterns; excludes win.
type Filter struct {
	Includes []string `json:"includes"`
	Excludes []string `json:"excludes"`
}

// Variable is a pipeline variable (CodePipeline V2).
type Variable struct {
	Name         string `json:"name"`
	DefaultValue string `json:"default_value"`
	Description  string `json:"description"`
}

// Stage is a pipeline stage with its actions.
type Stage struct {
	Name    string   `json:"name"`
	Actions []Action `json:"actions"`
}

// Action is a CodePipeline action. Configuration holds the values written in
// greenlight.yaml that AWS takes as they are; ConfigurationRefs the values the
// module resolves to the resources it creates (a build project's name, the
// connection's ARN, the staging URL, ...).
type Action struct {
	Name              string            `json:"name"`
	Category          string            `json:"category"`
	Owner             string            `json:"owner"`
	Provider          string            `json:"provider"`
	Version           string            `json:"version"`
	RunOrder          int               `json:"run_order"`
	InputArtifacts    []string          `json:"input_artifacts"`
	OutputArtifacts   []string          `json:"output_artifacts"`
	Namespace         *string           `json:"namespace"`
	TimeoutInMinutes  *int              `json:"timeout_in_minutes"`
	Configuration     map[string]string `json:"configuration"`
	ConfigurationRefs map[string]Ref    `json:"configuration_refs"`
}

// Ref names a value only the stack knows: Kind is one of the Ref* constants, Name
// the key within that kind ("" for singletons), Suffix is appended (a URL path).
type Ref struct {
	Kind   RefKind `json:"ref"`
	Name   string  `json:"name"`
	Suffix string  `json:"suffix"`
}

// RefKind is a kind of resource the module resolves a configuration value to.
type RefKind string

// The kinds deploy/aws/pipeline.tf resolves (local.refs).
const (
	RefConnection      RefKind = "connection"       // the CodeStar connection's ARN
	RefRepository      RefKind = "repository"       // var.repository ("owner/name")
	RefBuildProject    RefKind = "build_project"    // a CodeBuild project's name
	RefCluster         RefKind = "cluster"          // an ECS cluster's name
	RefService         RefKind = "service"          // an ECS service's name
	RefApplication     RefKind = "application"      // a CodeDeploy application's name
	RefDeploymentGroup RefKind = "deployment_group" // "application/group" -> the group's name
	RefApprovalTopic   RefKind = "approval_topic"   // the approvals SNS topic's ARN
	RefServiceURL      RefKind = "service_url"      // a service's URL on the load balancer
)

// BuildProject is a CodeBuild project.
type BuildProject struct {
	Buildspec            string                `json:"buildspec"`
	TimeoutInMinutes     int                   `json:"timeout_in_minutes"`
	EnvironmentVariables []EnvironmentVariable `json:"environment_variables"`
	// Privileged is true when the buildspec runs docker (CodeBuild's privileged mode).
	Privileged   bool              `json:"privileged"`
	ReportGroups map[string]string `json:"report_groups"` // buildspec report name -> TEST or CODE_COVERAGE
	CachePaths   bool              `json:"cache"`         // the buildspec names cache paths
	// Parameters and Secrets are the Parameter Store names and Secrets Manager ids
	// the project's variables and buildspec read: its role may read these only.
	Parameters []string `json:"parameters"`
	Secrets    []string `json:"secrets"`
}

// EnvironmentVariable is a build project environment variable.
type EnvironmentVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type"`
}

// Service is an ECS service on Fargate behind the load balancer.
type Service struct {
	Cluster string `json:"cluster"`
	// Controller is ECS (a rolling deploy by CodePipeline's ECS action) or
	// CODE_DEPLOY (blue/green by a deployment group).
	Controller   string      `json:"controller"`
	DesiredCount int         `json:"desired_count"`
	HealthCheck  HealthCheck `json:"health_check"`
	// DeregistrationDelay in seconds.
	DeregistrationDelay int      `json:"deregistration_delay"`
	Task                TaskSpec `json:"task"`
}

// HealthCheck is an ALB target group health check; times in seconds.
type HealthCheck struct {
	Path               string `json:"path"`
	Interval           int    `json:"interval"`
	Timeout            int    `json:"timeout"`
	HealthyThreshold   int    `json:"healthy_threshold"`
	UnhealthyThreshold int    `json:"unhealthy_threshold"`
	Matcher            string `json:"matcher"`
}

// TaskSpec is the task definition the stack registers first (CodePipeline registers
// later ones): the task definition template's settings, with its ${IMAGE_URI},
// ${AWS_ACCOUNT_ID} and ${AWS_DEFAULT_REGION} placeholders left for the module.
type TaskSpec struct {
	Family               string   `json:"family"`
	CPU                  string   `json:"cpu"`
	Memory               string   `json:"memory"`
	ContainerDefinitions string   `json:"container_definitions"` // JSON array
	ContainerName        string   `json:"container_name"`        // the one the load balancer reaches
	ContainerPort        int      `json:"container_port"`
	ExecutionRoleName    string   `json:"execution_role_name"` // the role the template names, created by the stack
	LogGroups            []string `json:"log_groups"`          // awslogs groups the template writes to
}

// DeploymentGroup is a CodeDeploy ECS blue/green deployment group.
type DeploymentGroup struct {
	Application      string `json:"application"`
	Name             string `json:"name"`
	Service          string `json:"service"`
	DeploymentConfig string `json:"deployment_config"`
	ActionOnTimeout  string `json:"action_on_timeout"`
	// WaitTimeInMinutes applies to STOP_DEPLOYMENT only; CONTINUE_DEPLOYMENT goes on at once.
	WaitTimeInMinutes        int      `json:"wait_time_in_minutes"`
	TerminationWaitInMinutes int      `json:"termination_wait_time_in_minutes"`
	AutoRollbackEnabled      bool     `json:"auto_rollback_enabled"`
	AutoRollbackEvents       []string `json:"auto_rollback_events"`
	AlarmsEnabled            bool     `json:"alarms_enabled"`
	Alarms                   []string `json:"alarms"`
}

// DeploymentConfig is a custom CodeDeploy ECS deployment config.
type DeploymentConfig struct {
	Type              string `json:"type"` // AllAtOnce, TimeBasedCanary, TimeBasedLinear
	Percentage        int    `json:"percentage"`
	IntervalInMinutes int    `json:"interval_in_minutes"`
}

// Alarm is a CloudWatch metric alarm on the load balancer's metrics.
type Alarm struct {
	Description        string        `json:"description"`
	MetricName         *string       `json:"metric_name"`
	Statistic          *string       `json:"statistic"`
	ExtendedStatistic  *string       `json:"extended_statistic"`
	MetricQueries      []MetricQuery `json:"metric_queries"`
	Period             int           `json:"period"`
	EvaluationPeriods  int           `json:"evaluation_periods"`
	DatapointsToAlarm  int           `json:"datapoints_to_alarm"`
	Threshold          float64       `json:"threshold"`
	ComparisonOperator string        `json:"comparison_operator"`
	TreatMissingData   string        `json:"treat_missing_data"`
}

// MetricQuery is one metric or expression of a metric-math alarm.
type MetricQuery struct {
	ID         string  `json:"id"`
	MetricName *string `json:"metric_name"`
	Stat       *string `json:"stat"`
	Expression *string `json:"expression"`
	Label      *string `json:"label"`
	ReturnData bool    `json:"return_data"`
}

// Hook is a lifecycle-hook Lambda function: the command greenlight.yaml runs for
// it, run by deploy/aws/lambda/hook from the function's package.
type Hook struct {
	Command []string `json:"command"`
	// LifecycleEvent is the appspec event the function is named for ("" when the
	// appspec is not in the source tree or names it for several events), and
	// DeploymentGroup ("application/group") the group whose service it checks.
	LifecycleEvent  string `json:"lifecycle_event"`
	DeploymentGroup string `json:"deployment_group"`
	// TimeoutSeconds is the hook's timeout; the function's own is a little longer,
	// so that it always reports before Lambda stops it.
	TimeoutSeconds int `json:"timeout_seconds"`
}

// NotificationRule is a notification rule as CodeStar Notifications takes it:
// its CodePipeline events go to a rule on the pipeline, its CodeDeploy events to
// a rule on each application.
type NotificationRule struct {
	DetailType             string        `json:"detail_type"`
	Status                 string        `json:"status"`
	PipelineEventTypeIDs   []string      `json:"pipeline_event_type_ids"`
	DeploymentEventTypeIDs []string      `json:"deployment_event_type_ids"`
	SNSTopics              []string      `json:"sns_topics"` // topics of sns targets, as written
	Slack                  []SlackTarget `json:"slack"`      // posted by the notifier from the stack's topic
}

// SlackTarget is where the notifier reads a Slack webhook URL: a Secrets
// Manager reference ("id[:json-key]", SecretID its id) or a Parameter Store
// name; all null: the stack's slack_webhook_secret.
type SlackTarget struct {
	SecretsManager *string `json:"secrets_manager"`
	SecretID       *string `json:"secret_id"`
	ParameterStore *string `json:"parameter_store"`
}
