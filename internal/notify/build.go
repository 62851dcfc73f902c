package notify

import (
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Build turns an event into the notification a rule with detailType (BASIC or
// FULL) sends. BASIC holds the event as EventBridge has it; FULL adds what
// greenlight knows besides: the event's message, the approval's custom data,
// failed actions, the rollback.
func Build(rule, detailType string, e event.Event, info ExecutionInfo) Notification {
	n := Notification{
		Account: LocalAccount, Region: LocalRegion, Time: e.Time.UTC(), NotificationRuleArn: ruleARN(rule),
		Detail: map[string]any{}, AdditionalAttributes: map[string]any{},
	}
	switch e.Kind {
	case event.KindDeployment, event.KindTraffic, event.KindAlarm:
		n.deployment(e)
	default:
		n.pipeline(e, info)
	}
	if detailType == manifest.DetailFull {
		n.AdditionalAttributes = fullAttributes(e)
	}
	return n
}

// pipelineStates are EventBridge's CodePipeline states for greenlight statuses.
var pipelineStates = map[string]string{
	"InProgress": "STARTED", "Started": "STARTED", "Succeeded": "SUCCEEDED", "Failed": "FAILED",
	"Stopped": "STOPPED", "Stopping": "STOPPING", "Canceled": "CANCELED", "Superseded": "SUPERSEDED",
	"Resumed": "RESUMED", "Abandoned": "ABANDONED",
	// A manual approval is an action: needed is its start, approved its success.
	"Needed": "STARTED", "Approved": "SUCCEEDED", "Rejected": "FAILED",
}

func (n *Notification) pipeline(e event.Event, info ExecutionInfo) {
	n.Source = "aws.codepipeline"
	pipeline := e.Pipeline
	if pipeline == "" {
		pipeline = info.Pipeline
	}
	n.Resources = []string{pipelineARN(pipeline)}
	d := n.Detail
	d["pipeline"], d["execution-id"], d["state"], d["version"] = pipeline, e.ExecutionID, pipelineStates[e.Status], 1
	if !info.StartTime.IsZero() {
		d["start-time"] = info.StartTime.UTC().Format(time.RFC3339Nano)
	}
	if trig := executionTrigger(info); len(trig) > 0 {
		d["execution-trigger"] = trig
	}
	switch e.Kind {
	case event.KindExecution:
		n.DetailType = DetailPipelineExecution
	case event.KindStage:
		n.DetailType, d["stage"] = DetailStageExecution, e.Stage
	case event.KindAction, event.KindApproval:
		n.DetailType, d["stage"], d["action"] = DetailActionExecution, e.Stage, e.Action
		d["type"] = actionType(e)
	}
}

// executionTrigger is CodePipeline's execution-trigger detail: what started the
// execution, with the commit when a repository event did.
func executionTrigger(info ExecutionInfo) map[string]any {
	t := map[string]any{}
	for k, v := range map[string]string{
		"trigger-type": info.TriggerType, "trigger-detail": info.TriggerDetail, "commit-id": info.CommitID,
		"commit-message": info.CommitMessage, "author-display-name": info.Author, "branch-name": info.Branch,
		"full-repository-name": info.Repository,
	} {
		if v != "" {
			t[k] = v
		}
	}
	return t
}

func actionType(e event.Event) map[string]any {
	if e.Kind == event.KindApproval {
		return map[string]any{"owner": "AWS", "category": "Approval", "provider": "Manual", "version": "1"}
	}
	t := map[string]any{"owner": "AWS", "version": "1"}
	for _, k := range []string{"category", "provider"} {
		if v, ok := e.Data[k].(string); ok {
			t[k] = v
		}
	}
	return t
}

// deploymentStates are EventBridge's CodeDeploy states.
var deploymentStates = map[string]string{"InProgress": "START", "Succeeded": "SUCCESS", "Failed": "FAILURE", "Stopped": "STOP"}

func (n *Notification) deployment(e event.Event) {
	n.Source = "greenlight"
	app, group, _ := strings.Cut(e.Group, "/")
	d := n.Detail
	d["deploymentId"], d["application"], d["deploymentGroup"] = e.DeploymentID, app, group
	n.Resources = []string{"arn:aws:codedeploy:" + LocalRegion + ":" + LocalAccount + ":deploymentgroup:" + e.Group}
	switch e.Kind {
	case event.KindDeployment:
		n.Source, n.DetailType = "aws.codedeploy", DetailDeployment
		d["state"], d["region"] = deploymentStates[e.Status], LocalRegion
	case event.KindTraffic:
		n.DetailType, d["listener"], d["message"] = DetailTrafficShift, e.Name, e.Message
		if w, ok := e.Data["replacement_weight"]; ok {
			d["replacementWeight"] = w
		}
	case event.KindAlarm:
		n.DetailType, d["alarmName"] = DetailAlarm, e.Name
		d["state"] = map[string]any{"value": e.Status, "reason": e.Message, "timestamp": e.Time.UTC().Format(time.RFC3339Nano)}
		if prev, ok := e.Data["previous"].(string); ok {
			d["previousState"] = map[string]any{"value": prev}
		}
		n.Resources = []string{"arn:aws:cloudwatch:" + LocalRegion + ":" + LocalAccount + ":alarm:" + e.Name}
	}
}

// fullAttributes is what a FULL rule adds to the event.
func fullAttributes(e event.Event) map[string]any {
	a := map[string]any{}
	if e.Message != "" {
		a["message"] = e.Message
	}
	if e.Status == "Failed" && e.Action != "" {
		a["failedStage"] = e.Stage
		a["failedActions"] = []map[string]any{{"action": e.Action, "additionalInformation": e.Message}}
	} else if e.Status == "Failed" && e.Stage != "" {
		a["failedStage"] = e.Stage
	}
	for from, to := range map[string]string{
		"custom_data": "customData", "external_entity_link": "externalEntityLink", "expires_at": "expires",
		"decided_by": "decidedBy", "summary": "summary", "rolled_back_by": "rolledBackBy", "error_code": "errorCode",
		"trigger": "trigger", "revision": "revision",
	} {
		if v, ok := e.Data[from]; ok && v != "" && v != nil {
			a[to] = v
		}
	}
	return a
}
