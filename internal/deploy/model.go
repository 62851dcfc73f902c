// Package deploy owns releasing a revision of a service: the blue-green controller
// with CodeDeploy's ECS lifecycle (hooks, test traffic, traffic shifting per deployment
// config, termination wait, rollback) and the ECS standard deploy used for staging.
//
// A deployment is a list of steps recorded in the store before and after each one
// runs. Every step is idempotent (it reads what is, does only what is missing), so a
// controller that crashed resumes a deployment by running its current step again.
// Traffic moves only through the router's atomic spec updates; nothing here holds
// connections, so a controller crash never drops a request.
package deploy

import (
	"time"

	"github.com/greenlight-ci/greenlight/internal/jsontime"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/routing"
)

// Kind is the deployment strategy.
type Kind string

// Deployment kinds.
const (
	KindBlueGreen Kind = "BLUE_GREEN" // CodeDeployToECS
	KindStandard  Kind = "ECS"        // ECS standard deploy: start new, wait healthy, switch, stop old
	KindRollback  Kind = "ROLLBACK"   // the deployment CodeDeploy creates to roll another one back
)

// Status is a deployment's status, with CodeDeploy's names.
type Status string

// Deployment statuses.
const (
	StatusCreated    Status = "Created"
	StatusInProgress Status = "InProgress"
	StatusReady      Status = "Ready" // STOP_DEPLOYMENT: waiting for `deploy continue`
	// StatusBaking: released (the bake window passed with every alarm OK),
	// production on green, blue kept warm for the termination wait.
	StatusBaking    Status = "Baking"
	StatusSucceeded Status = "Succeeded"
	StatusFailed    Status = "Failed"
	StatusStopped   Status = "Stopped"
)

// Done reports whether s is final.
func (s Status) Done() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusStopped
}

// Released reports whether production serves the replacement for good: the moment a
// pipeline action can move on.
func (s Status) Released() bool { return s == StatusBaking || s == StatusSucceeded }

// StepName names a step of a deployment.
type StepName string

// Step names: CodeDeploy's ECS lifecycle events, plus the waits and the termination
// CodeDeploy shows as deployment steps.
const (
	StepBeforeInstall         StepName = manifest.HookBeforeInstall
	StepInstall               StepName = "Install"
	StepAfterInstall          StepName = manifest.HookAfterInstall
	StepAllowTestTraffic      StepName = "AllowTestTraffic"
	StepAfterAllowTestTraffic StepName = manifest.HookAfterAllowTestTraffic
	StepBeforeAllowTraffic    StepName = manifest.HookBeforeAllowTraffic
	StepReadyWait             StepName = "ReadyWait"
	StepAllowTraffic          StepName = "AllowTraffic"
	StepAfterAllowTraffic     StepName = manifest.HookAfterAllowTraffic
	// StepBakeTime is the bake window: production on the replacement, every alarm
	// watched; the deployment is released only when it ends with every alarm OK
	// (ECS calls this lifecycle stage BAKE_TIME).
	StepBakeTime             StepName = "BakeTime"
	StepTerminationWait      StepName = "TerminationWait"
	StepTerminateOriginal    StepName = "TerminateOriginal"
	StepTerminateReplacement StepName = "TerminateReplacement" // rollback only
)

// StepStatus is a lifecycle event's status, with CodeDeploy's names.
type StepStatus string

// Step statuses.
const (
	StepPending    StepStatus = "Pending"
	StepInProgress StepStatus = "InProgress"
	StepSucceeded  StepStatus = "Succeeded"
	StepFailed     StepStatus = "Failed"
	StepSkipped    StepStatus = "Skipped"
)

// Step is one lifecycle event of a deployment.
type Step struct {
	Name    StepName   `json:"name"`
	Status  StepStatus `json:"status"`
	Start   time.Time  `json:"start,omitzero"`
	End     time.Time  `json:"end,omitzero"`
	Message string     `json:"message,omitempty"`
}

// ErrorCode says why a deployment failed or stopped: CodeDeploy's
// ErrorInformation.Code where one fits.
type ErrorCode string

// Error codes.
const (
	CodeHealthConstraints ErrorCode = "HEALTH_CONSTRAINTS"
	CodeHookFailed        ErrorCode = "HOOK_EXECUTION_FAILURE"
	CodeAlarmActive       ErrorCode = "ALARM_ACTIVE"
	CodeTimeout           ErrorCode = "TIMEOUT"
	CodeTaskCrashed       ErrorCode = "ECS_UPDATE_ERROR"
	CodeManualStop        ErrorCode = "MANUAL_STOP"
	CodeInternal          ErrorCode = "INTERNAL_ERROR"
	CodeRevisionMissing   ErrorCode = "REVISION_MISSING"
)

// Creator is who or what created a deployment.
type Creator string

// Creators of a deployment.
const (
	CreatorUser         Creator = "user"
	CreatorPipeline     Creator = "CodePipeline"
	CreatorAutoRollback Creator = "autoRollback"
	CreatorRollback     Creator = "userRollback"
)

// Deployment is everything the controller needs to run, resume and report one
// deployment. Configuration is a snapshot taken at creation, so a resumed deployment
// behaves as it started even if greenlight.yaml changed meanwhile.
type Deployment struct {
	ID          string    `json:"id"` // d-XXXXXXXXX
	Kind        Kind      `json:"kind"`
	Application string    `json:"application"`
	Group       string    `json:"deployment_group"`
	Status      Status    `json:"status"`
	Creator     Creator   `json:"creator"`
	ExecutionID string    `json:"execution_id,omitempty"` // pipeline execution that asked for it
	Created     time.Time `json:"created"`
	Completed   time.Time `json:"completed,omitzero"`

	Revision Revision `json:"revision"`
	Config   Config   `json:"config"`

	Steps []Step `json:"steps"`
	// Target groups: Original serves production when the deployment starts (empty for
	// the service's first deployment), Replacement receives the new tasks.
	OriginalTargetGroup    string    `json:"original_target_group,omitempty"`
	ReplacementTargetGroup string    `json:"replacement_target_group"`
	OriginalTasks          []Task    `json:"original_tasks,omitempty"`
	ReplacementTasks       []Task    `json:"replacement_tasks,omitempty"`
	ReplacementWeight      int       `json:"replacement_weight"` // production % on the replacement now
	TerminationDue         time.Time `json:"termination_due,omitzero"`

	ContinueRequested bool `json:"continue_requested,omitempty"`
	// Stop is set when the deployment must stop at the next safe point: a rollback
	// request, an alarm, or a failure; the controller then runs the rollback.
	Stop *StopRequest `json:"stop,omitempty"`

	ErrorCode    ErrorCode `json:"error_code,omitempty"`
	ErrorMessage string    `json:"error_message,omitempty"`

	// Rollback links: RollbackOf on a rollback deployment; RolledBackBy on the one it
	// rolled back.
	RollbackOf   string        `json:"rollback_of,omitempty"`
	RolledBackBy string        `json:"rolled_back_by,omitempty"`
	Rollback     *RollbackInfo `json:"rollback,omitempty"`

	// Replacements lists the production tasks the service scheduler replaced
	// after the deployment ended (its task list names the new ones).
	Replacements []TaskReplacement `json:"replacements,omitempty"`
}

// TaskReplacement records one production task the service scheduler replaced:
// Old exited (or was gone), New serves in its place.
type TaskReplacement struct {
	Old      string    `json:"old"`
	New      string    `json:"new"`
	ExitCode int       `json:"exit_code"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
}

// Revision is what gets deployed.
type Revision struct {
	TaskDefinition *manifest.TaskDefinition `json:"task_definition"`
	AppSpec        *manifest.AppSpec        `json:"appspec,omitempty"` // blue-green only
	ContainerName  string                   `json:"container_name"`
	ContainerPort  int                      `json:"container_port"`
	Image          string                   `json:"image"`
	ArtifactDir    string                   `json:"artifact_dir"` // where process commands and hooks run
	CommitID       string                   `json:"commit_id,omitempty"`
	Description    string                   `json:"description,omitempty"`
}

// Config is the snapshot of the service, deployment group, deployment config,
// hooks and alarms a deployment runs with.
type Config struct {
	Service          ServiceConfig             `json:"service"`
	DeploymentConfig manifest.DeploymentConfig `json:"deployment_config"`
	ReadyAction      string                    `json:"ready_action"`
	ReadyWait        jsontime.Duration         `json:"ready_wait"`
	TerminationWait  jsontime.Duration         `json:"termination_wait"`
	// BakeTime is the bake window (StepBakeTime): how long production must serve
	// the replacement with every alarm OK before the deployment is released.
	BakeTime       jsontime.Duration `json:"bake_time"`
	InstallTimeout jsontime.Duration `json:"install_timeout"`
	// DeploymentTimeout (ECS standard deployments: the action's DeploymentTimeout)
	// bounds the time from Install's start until the new tasks are healthy and
	// take production; past it the deployment fails and the old tasks keep serving.
	DeploymentTimeout jsontime.Duration         `json:"deployment_timeout,omitempty"`
	AutoRollback      manifest.AutoRollback     `json:"auto_rollback"`
	Alarms            []*manifest.Alarm         `json:"alarms,omitempty"`
	OnExistingAlarm   string                    `json:"on_existing_alarm,omitempty"`
	Hooks             map[string]*manifest.Hook `json:"hooks,omitempty"` // by lifecycle event
	// Secrets are the local sources of the task definition's container secrets
	// (SecretSources): where the values are read, never the values.
	Secrets *manifest.Secrets `json:"secrets,omitempty"`
	// HiddenEnv names more variables of the controller's environment the
	// deployment's hooks do not inherit: those every definition the creating
	// process serves reads secrets from (the webhook secret, Slack URLs, other
	// secret sources). The controller inherits them from whoever started it.
	HiddenEnv []string `json:"hidden_env,omitempty"`
}

// ServiceConfig is the part of a service definition a deployment needs.
type ServiceConfig struct {
	Name                string                `json:"name"`
	Driver              string                `json:"driver"` // resolved: docker or process
	DesiredCount        int                   `json:"desired_count"`
	ProductionListener  string                `json:"production_listener"`
	TestListener        string                `json:"test_listener,omitempty"`
	Listeners           routing.ListenerSpecs `json:"listeners,omitzero"` // protocols, certificates, limits
	HealthCheck         manifest.HealthCheck  `json:"health_check"`
	DeregistrationDelay jsontime.Duration     `json:"deregistration_delay"`
	ProcessCommand      []string              `json:"process_command,omitempty"`
}

// Task is one running task of a task set.
type Task struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Driver  string `json:"driver,omitempty"` // empty when unknown (then every driver is asked to stop it)
}

// StopRequest says why a deployment must stop.
type StopRequest struct {
	Event     string    `json:"event"` // manifest.RollbackOn*: which auto-rollback event it is
	Code      ErrorCode `json:"code"`
	Reason    string    `json:"reason"`
	Requested time.Time `json:"requested"`
	// Alarm details when Event is DEPLOYMENT_STOP_ON_ALARM.
	Alarm       string    `json:"alarm,omitempty"`
	FirstBreach time.Time `json:"first_breach,omitzero"`
	AlarmAt     time.Time `json:"alarm_at,omitzero"`
}

// RollbackInfo records how fast a rollback restored production.
type RollbackInfo struct {
	Reason     string            `json:"reason"`
	Alarm      string            `json:"alarm,omitempty"`
	Detection  jsontime.Duration `json:"detection,omitempty"` // first breaching datapoint -> ALARM
	Restore    jsontime.Duration `json:"restore"`             // stop requested (ALARM) -> 100% on original
	RestoredAt time.Time         `json:"restored_at"`
}

// Step returns the named step, or nil.
func (d *Deployment) Step(name StepName) *Step {
	for i := range d.Steps {
		if d.Steps[i].Name == name {
			return &d.Steps[i]
		}
	}
	return nil
}

// CurrentStep returns the first step that is not finished, or nil when all are.
func (d *Deployment) CurrentStep() *Step {
	for i := range d.Steps {
		if s := d.Steps[i].Status; s == StepPending || s == StepInProgress {
			return &d.Steps[i]
		}
	}
	return nil
}

// Active reports whether the deployment still holds its deployment group.
func (d *Deployment) Active() bool { return !d.Status.Done() }
