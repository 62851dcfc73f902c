// Package notify tells people what greenlight did, the way CodeStar Notifications
// does on AWS: events (internal/event) are matched against the notification rules
// of greenlight.yaml; each match becomes a delivery in a durable queue (Store),
// which a dispatcher sends with per-attempt timeouts, exponential backoff with
// jitter and a cap, to a Slack incoming webhook (Block Kit), a generic webhook
// (signed JSON) or an SNS topic (on AWS only; recorded as failed here). Emit only
// enqueues: a slow or dead endpoint never holds up whoever emitted the event.
//
// Messages are built from a CodeStar-notification-shaped Notification, the JSON
// CodeStar Notifications publishes to SNS, so that SlackMessage is a pure function
// an AWS Lambda subscribed to the topic can reuse: local and AWS messages look
// the same.
package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
)

// Where local notifications say they come from: ARNs keep AWS's shape with a
// "local" region and a zero account, as the example's NotificationArn does.
const (
	LocalRegion  = "local"
	LocalAccount = "000000000000"
)

// Notification is the message CodeStar Notifications publishes to an SNS topic:
// the EventBridge event of the service (detailType, source, detail) plus the rule
// that matched and, for FULL rules, additionalAttributes. Detail keeps each
// service's own spelling (execution-id for CodePipeline, deploymentId for
// CodeDeploy, alarmName for CloudWatch), so it is a map.
type Notification struct {
	Account              string         `json:"account"`
	DetailType           string         `json:"detailType"`
	Region               string         `json:"region"`
	Source               string         `json:"source"`
	Time                 time.Time      `json:"time"`
	NotificationRuleArn  string         `json:"notificationRuleArn"`
	Detail               map[string]any `json:"detail"`
	Resources            []string       `json:"resources"`
	AdditionalAttributes map[string]any `json:"additionalAttributes"`
}

// EventBridge detail types of the events greenlight notifies on.
const (
	DetailPipelineExecution = "CodePipeline Pipeline Execution State Change"
	DetailStageExecution    = "CodePipeline Stage Execution State Change"
	DetailActionExecution   = "CodePipeline Action Execution State Change"
	DetailDeployment        = "CodeDeploy Deployment State-change Notification"
	DetailAlarm             = "CloudWatch Alarm State Change"
	DetailTrafficShift      = "Greenlight Deployment Traffic Shift"
)

// ExecutionInfo is what the notifier knows of an execution besides the event:
// when it started and which commit it runs. Every field is optional.
type ExecutionInfo struct {
	Pipeline      string
	StartTime     time.Time
	TriggerType   string // StartPipelineExecution, Webhook, WebhookV2, ...
	TriggerDetail string
	CommitID      string
	CommitMessage string
	Author        string
	Branch        string
	Repository    string // owner/name
}

// str reads a string field of the detail (Lambda-safe: absent or mistyped is "").
func (n Notification) str(key string) string {
	s, _ := n.Detail[key].(string)
	return s
}

// sub reads a nested object of the detail.
func (n Notification) sub(key string) map[string]any {
	m, _ := n.Detail[key].(map[string]any)
	return m
}

// EventType is the CodeStar event type id the notification is for, derived
// from its detail type and state (CodeStar's messages do not carry it).
func (n Notification) EventType() string {
	state := strings.ToLower(n.str("state"))
	switch n.DetailType {
	case DetailPipelineExecution:
		return "codepipeline-pipeline-pipeline-execution-" + codestarState(state)
	case DetailStageExecution:
		return "codepipeline-pipeline-stage-execution-" + codestarState(state)
	case DetailActionExecution:
		if t, _ := n.sub("type")["category"].(string); t == "Approval" {
			return "codepipeline-pipeline-manual-approval-" + approvalState[state]
		}
		return "codepipeline-pipeline-action-execution-" + codestarState(state)
	case DetailDeployment:
		return "codedeploy-application-deployment-" + deploymentState[state]
	case DetailAlarm:
		return event.NotifyAlarmStateChanged
	case DetailTrafficShift:
		return event.NotifyDeploymentTrafficShifted
	}
	return ""
}

func codestarState(s string) string {
	if s == "stopped" || s == "abandoned" {
		return "canceled"
	}
	return s
}

var (
	approvalState   = map[string]string{"started": "needed", "succeeded": "succeeded", "failed": "failed"}
	deploymentState = map[string]string{"start": "started", "success": "succeeded", "failure": "failed", "stop": "failed"}
)

func ruleARN(rule string) string {
	return fmt.Sprintf("arn:aws:codestar-notifications:%s:%s:notificationrule/%s", LocalRegion, LocalAccount, rule)
}

func pipelineARN(pipeline string) string {
	return fmt.Sprintf("arn:aws:codepipeline:%s:%s:%s", LocalRegion, LocalAccount, pipeline)
}
