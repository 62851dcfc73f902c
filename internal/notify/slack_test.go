package notify

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// What CodeStar Notifications publishes to SNS for a pipeline started by a
// GitHub push (the shape of its FULL message; values made up).
const awsMessage = `{
  "account": "123456789012",
  "detailType": "CodePipeline Pipeline Execution State Change",
  "region": "eu-west-1",
  "source": "aws.codepipeline",
  "time": "2024-05-02T10:07:30Z",
  "notificationRuleArn": "arn:aws:codestar-notifications:eu-west-1:123456789012:notificationrule/0123abcd",
  "detail": {
    "pipeline": "orders-service",
    "execution-id": "5f1c2b7e-8a9d-4c3b-9e21-0f6d5a4b3c2d",
    "start-time": "2024-05-02T10:00:00.120Z",
    "execution-trigger": {
      "author-display-name": "Grace Hopper",
      "full-repository-name": "acme/orders-service",
      "provider-type": "GitHub",
      "branch-name": "main",
      "commit-message": "Fix rounding in totals\n\nHalf-even.",
      "commit-id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
    },
    "state": "SUCCEEDED",
    "version": 3.0,
    "pipeline-execution-attempt": 1.0
  },
  "resources": ["arn:aws:codepipeline:eu-west-1:123456789012:orders-service"],
  "additionalAttributes": {}
}`

func TestSlackFromAnAWSMessage(t *testing.T) {
	var n Notification
	if err := json.Unmarshal([]byte(awsMessage), &n); err != nil {
		t.Fatal(err)
	}
	if n.EventType() != "codepipeline-pipeline-pipeline-execution-succeeded" {
		t.Fatalf("event type %q", n.EventType())
	}
	msg := Slack(n, SlackOptions{BaseURL: "https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/"})
	if msg.Text != ":white_check_mark: orders-service: pipeline execution succeeded" {
		t.Errorf("text %q", msg.Text)
	}
	b, _ := json.Marshal(msg)
	for _, want := range []string{
		"`0d1a26e` Fix rounding in totals — Grace Hopper (main)", `*Duration*\n7m30s`, `*Status*\nSUCCEEDED`,
		`"url":"https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/orders-service/executions/5f1c2b7e-8a9d-4c3b-9e21-0f6d5a4b3c2d"`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("message lacks %s:\n%s", want, b)
		}
	}
}

// A local notification goes through JSON (the queue, or SNS on AWS) and comes
// out as the same Slack message: the builder depends on nothing but the JSON.
func TestLocalNotificationsSurviveJSON(t *testing.T) {
	at := time.Date(2024, 5, 2, 10, 7, 30, 0, time.UTC)
	info := ExecutionInfo{StartTime: at.Add(-5 * time.Minute), CommitID: "abcdef123", CommitMessage: "Add totals", Author: "Ada", Branch: "main", TriggerType: "WebhookV2"}
	for _, e := range []event.Event{
		{Time: at, Kind: event.KindExecution, Status: "Succeeded", Pipeline: "orders", ExecutionID: "e-1", Message: "all stages succeeded"},
		{Time: at, Kind: event.KindAction, Status: "Failed", Pipeline: "orders", ExecutionID: "e-1", Stage: "Test", Action: "UnitTests", Message: "2 failed", Data: map[string]any{"category": "Test", "provider": "CodeBuild"}},
		{Time: at, Kind: event.KindApproval, Status: "Rejected", Pipeline: "orders", ExecutionID: "e-1", Stage: "Approval", Action: "Manual"},
		{Time: at, Kind: event.KindDeployment, Status: "Succeeded", DeploymentID: "d-3", Group: "orders/production"},
		{Time: at, Kind: event.KindTraffic, Name: "production", DeploymentID: "d-3", Group: "orders/production", Message: "production: 20% replacement, 80% original", Data: map[string]any{"replacement_weight": 20}},
		{Time: at, Kind: event.KindAlarm, Name: "orders-p99-latency", Status: "ALARM", Message: "p99 0.8 > 0.5", DeploymentID: "d-3", Data: map[string]any{"previous": "OK"}},
	} {
		n := Build("rule", manifest.DetailFull, e, info)
		if ids := e.NotificationIDs(); len(ids) == 0 || ids[len(ids)-1] != n.EventType() && ids[0] != n.EventType() {
			t.Errorf("%s %s: notification says %q, the event %q", e.Kind, e.Status, n.EventType(), ids)
		}
		b, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		var back Notification
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		local, _ := json.Marshal(Slack(n, SlackOptions{BaseURL: "http://x"}))
		remote, _ := json.Marshal(Slack(back, SlackOptions{BaseURL: "http://x"}))
		if !reflect.DeepEqual(local, remote) {
			t.Errorf("%s %s: Slack message changes through JSON:\n%s\n%s", e.Kind, e.Status, local, remote)
		}
	}
}

func TestBasicCarriesOnlyTheEvent(t *testing.T) {
	e := event.Event{Time: time.Now(), Kind: event.KindExecution, Status: "Failed", Pipeline: "orders", ExecutionID: "e-1", Message: "Build failed"}
	basic, full := Build("r", manifest.DetailBasic, e, ExecutionInfo{}), Build("r", manifest.DetailFull, e, ExecutionInfo{})
	if len(basic.AdditionalAttributes) != 0 || full.AdditionalAttributes["message"] != "Build failed" {
		t.Errorf("BASIC %v, FULL %v", basic.AdditionalAttributes, full.AdditionalAttributes)
	}
	if basic.Detail["state"] != "FAILED" || basic.Resources[0] != "arn:aws:codepipeline:local:000000000000:orders" {
		t.Errorf("detail %v resources %v", basic.Detail, basic.Resources)
	}
}

func TestLongTextsStayWithinBlockKitLimits(t *testing.T) {
	e := event.Event{Time: time.Now(), Kind: event.KindExecution, Status: "Failed", Pipeline: strings.Repeat("p", 300), ExecutionID: "e", Message: strings.Repeat("é", 5000)}
	msg := Slack(Build("r", manifest.DetailFull, e, ExecutionInfo{}), SlackOptions{})
	header := msg.Blocks[0]["text"].(Block)["text"].(string)
	if n := len([]rune(header)); n != maxHeaderText || !strings.HasSuffix(header, "…") {
		t.Errorf("header of %d characters", n)
	}
	for _, b := range msg.Blocks {
		if text, ok := b["text"].(Block); ok && len([]rune(text["text"].(string))) > maxSectionText {
			t.Errorf("a block of %d characters", len([]rune(text["text"].(string))))
		}
	}
}

// A Lambda hands Slack whatever SNS delivered: any JSON object makes a message
// within Block Kit's limits, never a panic.
func FuzzSlackFromJSON(f *testing.F) {
	f.Add([]byte(awsMessage))
	f.Add([]byte(`{"detailType":"CloudWatch Alarm State Change","detail":{"alarmName":"x","state":{"value":"OK"}}}`))
	f.Add([]byte(`{"detailType":"CodePipeline Action Execution State Change","detail":{"state":"STARTED","type":{"category":"Approval"},"execution-trigger":{"commit-id":""}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var n Notification
		if json.Unmarshal(data, &n) != nil {
			return
		}
		msg := Slack(n, SlackOptions{BaseURL: "http://x"})
		if msg.Text == "" || len(msg.Blocks) < 2 || len([]rune(msg.Blocks[0]["text"].(Block)["text"].(string))) > maxHeaderText {
			t.Fatalf("message %+v", msg)
		}
	})
}
