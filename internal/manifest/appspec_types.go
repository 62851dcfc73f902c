package manifest

import "encoding/json"

// ECS lifecycle events a CodeDeploy appspec may hook, in the order they run.
const (
	HookBeforeInstall         = "BeforeInstall"
	HookAfterInstall          = "AfterInstall"
	HookAfterAllowTestTraffic = "AfterAllowTestTraffic"
	HookBeforeAllowTraffic    = "BeforeAllowTraffic"
	HookAfterAllowTraffic     = "AfterAllowTraffic"
)

// ECSHookEvents lists the hookable events in lifecycle order.
var ECSHookEvents = []string{HookBeforeInstall, HookAfterInstall, HookAfterAllowTestTraffic, HookBeforeAllowTraffic, HookAfterAllowTraffic}

// AppSpec is a CodeDeploy appspec for the ECS compute platform.
type AppSpec struct {
	Path      string         `json:"path"`
	Version   string         `json:"version"` // "0.0"
	Resources []*ECSService  `json:"resources"`
	Hooks     []*AppSpecHook `json:"hooks,omitempty"` // in file order
	Pos       Pos            `json:"-"`
}

// Target returns the one TargetService resource (validation guarantees exactly one).
func (a *AppSpec) Target() *ECSService { return a.Resources[0] }

// HookFor returns the function named for event, or "".
func (a *AppSpec) HookFor(event string) string {
	for _, h := range a.Hooks {
		if h.Event == event {
			return h.Function
		}
	}
	return ""
}

// ECSService is an AWS::ECS::Service resource of an appspec.
type ECSService struct {
	Name            string `json:"name"` // e.g. TargetService
	Type            string `json:"type"` // AWS::ECS::Service
	TaskDefinition  string `json:"task_definition"`
	ContainerName   string `json:"container_name"`
	ContainerPort   int    `json:"container_port"`
	PlatformVersion string `json:"platform_version,omitempty"`
	Pos             Pos    `json:"-"`
	// Where LoadBalancerInfo's values were written, for ValidateRevision's errors.
	ContainerNamePos Pos `json:"-"`
	ContainerPortPos Pos `json:"-"`
	// NetworkConfiguration and CapacityProviderStrategy are accepted and ignored
	// locally: they only mean something on AWS.
}

// AppSpecHook maps a lifecycle event to the hook function that runs for it.
type AppSpecHook struct {
	Event    string `json:"event"`
	Function string `json:"function"`
	Pos      Pos    `json:"-"`
}

// TaskDefinition is an ECS task definition (the fields greenlight uses; every other
// field of RegisterTaskDefinition is accepted and kept in Extra).
type TaskDefinition struct {
	Path                 string                 `json:"-"`
	Family               string                 `json:"family"`
	ContainerDefinitions []*ContainerDefinition `json:"containerDefinitions"`
	NetworkMode          string                 `json:"networkMode,omitempty"`
	Cpu                  string                 `json:"cpu,omitempty"`
	Memory               string                 `json:"memory,omitempty"`
	ExecutionRoleArn     string                 `json:"executionRoleArn,omitempty"`
	TaskRoleArn          string                 `json:"taskRoleArn,omitempty"`
	// Extra holds every other RegisterTaskDefinition field as written.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
	Pos   Pos                        `json:"-"`
}

// Container returns the container definition named name, or nil.
func (t *TaskDefinition) Container(name string) *ContainerDefinition {
	for _, c := range t.ContainerDefinitions {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ContainerDefinition is one container of a task definition.
type ContainerDefinition struct {
	Name             string                `json:"name"`
	Image            string                `json:"image"`
	Essential        *bool                 `json:"essential,omitempty"`
	Cpu              int                   `json:"cpu,omitempty"`
	Memory           int                   `json:"memory,omitempty"`
	PortMappings     []PortMapping         `json:"portMappings,omitempty"`
	Environment      []NameValue           `json:"environment,omitempty"`
	Secrets          []ContainerSecret     `json:"secrets,omitempty"`
	EntryPoint       []string              `json:"entryPoint,omitempty"`
	Command          []string              `json:"command,omitempty"`
	WorkingDirectory string                `json:"workingDirectory,omitempty"`
	User             string                `json:"user,omitempty"`
	HealthCheck      *ContainerHealthCheck `json:"healthCheck,omitempty"`
	DependsOn        []ContainerDependency `json:"dependsOn,omitempty"`
	StartTimeout     int                   `json:"startTimeout,omitempty"` // seconds
	StopTimeout      int                   `json:"stopTimeout,omitempty"`  // seconds
	// Extra holds every other ContainerDefinition field as written.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
	Pos   Pos                        `json:"-"`
}

// PortMapping is a port a container listens on.
type PortMapping struct {
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort,omitempty"`
	Protocol      string `json:"protocol,omitempty"`
	Name          string `json:"name,omitempty"`
}

// NameValue is one environment variable of a container.
type NameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ContainerSecret is a secret a container gets as an environment variable.
type ContainerSecret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
	Pos       Pos    `json:"-"`
}

// ContainerDependency is a dependsOn entry: the container starts once
// ContainerName reached Condition (START, COMPLETE, SUCCESS or HEALTHY).
type ContainerDependency struct {
	ContainerName string `json:"containerName"`
	Condition     string `json:"condition"`
	Pos           Pos    `json:"-"` // where containerName was written
}

// dependsOn conditions, as ECS names them.
const (
	DependencyStart    = "START"
	DependencyComplete = "COMPLETE"
	DependencySuccess  = "SUCCESS"
	DependencyHealthy  = "HEALTHY"
)

// ContainerHealthCheck is a container's own health check command.
type ContainerHealthCheck struct {
	Command     []string `json:"command"`
	Interval    int      `json:"interval,omitempty"`
	Timeout     int      `json:"timeout,omitempty"`
	Retries     int      `json:"retries,omitempty"`
	StartPeriod int      `json:"startPeriod,omitempty"`
}

// ImageDefinition is one entry of imagedefinitions.json (the ECS standard deploy
// action's input).
type ImageDefinition struct {
	Name     string `json:"name"`
	ImageURI string `json:"imageUri"`
	Pos      Pos    `json:"-"`
}
