package awsnotify

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/greenlight-ci/greenlight/internal/awsfake"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/gobuild"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/notify"
)

// notifyFunction is the function's own main (deploy/aws/lambda/notify).
var notifyFunction string

func TestMain(m *testing.M) {
	os.Exit(gobuild.Main(m, gobuild.Program{Pkg: "../../deploy/aws/lambda/notify", Name: "bootstrap", Path: &notifyFunction}))
}

const (
	opGetSecret    = "secretsmanager.GetSecretValue"
	opGetParameter = "AmazonSSM.GetParameter"
	ruleARN        = "arn:aws:codestar-notifications:eu-west-1:123456789012:notificationrule/0123abcd"
	console        = "https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/"
)

// slackStandIn is Slack's incoming webhook on loopback: it records what it is
// sent and answers status.
type slackStandIn struct {
	URL    string
	mu     sync.Mutex
	bodies []string
	status int
}

func newSlack(t *testing.T) *slackStandIn {
	s := &slackStandIn{status: http.StatusOK}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.URL.Path != "/services/T000/B000/secret" {
			t.Errorf("Slack got %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		s.bodies = append(s.bodies, string(body))
		w.WriteHeader(s.status)
		if s.status != http.StatusOK {
			_, _ = io.WriteString(w, "no_service")
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/services/T000/B000/secret"
	return s
}

func (s *slackStandIn) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// localNotification is what greenlight serve builds for an approval request of
// the example pipeline.
func localNotification() notify.Notification {
	at := time.Date(2026, 12, 5, 10, 7, 30, 0, time.UTC)
	e := event.Event{Time: at, Kind: event.KindApproval, Status: "Needed", Pipeline: "orders-service", ExecutionID: "5f1c2b7e-8a9d-4c3b-9e21-0f6d5a4b3c2d",
		Stage: "Approval", Action: "ManualApproval", Message: "check staging", Data: map[string]any{"category": "Approval", "provider": "Manual"}}
	n := notify.Build("releases", manifest.DetailFull, e, notify.ExecutionInfo{StartTime: at.Add(-5 * time.Minute), CommitID: "0d1a26e67d8f", CommitMessage: "Fix rounding", Branch: "main"})
	n.NotificationRuleArn = ruleARN
	return n
}

func snsEvent(t *testing.T, messages ...any) events.SNSEvent {
	var ev events.SNSEvent
	for i, m := range messages {
		body, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		ev.Records = append(ev.Records, events.SNSEventRecord{EventSource: "aws:sns", SNS: events.SNSEntity{
			MessageID: "msg-" + string(rune('a'+i)), TopicArn: "arn:aws:sns:eu-west-1:123456789012:orders-service-notifications", Message: string(body)}})
	}
	return ev
}

func newHandler(srv *awsfake.Server, routes Routes) *Handler {
	cfg := srv.Config()
	return &Handler{Routes: routes, ConsoleURL: console, Secrets: secretsmanager.NewFromConfig(cfg), Parameters: ssm.NewFromConfig(cfg),
		Logger: slog.New(slog.DiscardHandler)}
}

// TestSlackGetsTheMessageGreenlightServeSends: the notification CodeStar
// publishes to SNS comes out of the function as the Block Kit message the local
// server sends for the same event, to the URL read from Secrets Manager.
func TestSlackGetsTheMessageGreenlightServeSends(t *testing.T) {
	slack := newSlack(t)
	srv := awsfake.New(t)
	srv.Answer(opGetSecret, map[string]any{"ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbCdEf", "Name": "slack", "SecretString": slack.URL + "\n"})
	h := newHandler(srv, Routes{ruleARN: {{SecretsManager: "slack"}}})
	n := localNotification()
	if err := h.Handle(t.Context(), snsEvent(t, n, n)); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(notify.Slack(n, notify.SlackOptions{BaseURL: console}))
	got := slack.received()
	if len(got) != 2 || got[0] != string(want) {
		t.Fatalf("Slack received %d messages:\n%s\nwant\n%s", len(got), strings.Join(got, "\n"), want)
	}
	if !strings.Contains(got[0], "orders-service: approval needed at Approval/ManualApproval") || !strings.Contains(got[0], "Review and approve") {
		t.Errorf("message %s", got[0])
	}
	calls := srv.Calls(opGetSecret)
	if len(calls) != 1 || calls[0].Input["SecretId"] != "slack" {
		t.Fatalf("GetSecretValue calls %+v: read once, by id", calls)
	}
}

// TestUndeliveredMessageFailsTheInvocation: Slack refuses, so the invocation
// fails (Lambda retries it); the error never shows the URL.
func TestUndeliveredMessageFailsTheInvocation(t *testing.T) {
	slack := newSlack(t)
	slack.status = http.StatusInternalServerError
	srv := awsfake.New(t)
	srv.Answer(opGetParameter, map[string]any{"Parameter": map[string]any{"Name": "/slack/url", "Type": "SecureString", "Value": slack.URL}})
	h := newHandler(srv, Routes{ruleARN: {{ParameterStore: "/slack/url"}}})
	err := h.Handle(t.Context(), snsEvent(t, localNotification()))
	if err == nil || !strings.Contains(err.Error(), "answered 500: no_service") || !strings.Contains(err.Error(), "parameter store /slack/url") || strings.Contains(err.Error(), slack.URL) {
		t.Fatalf("Handle = %v", err)
	}
	if in := srv.Calls(opGetParameter)[0].Input; in["Name"] != "/slack/url" || in["WithDecryption"] != true {
		t.Errorf("GetParameter %v", in)
	}
}

func TestSecretWithAJSONKeyAndUnroutedMessages(t *testing.T) {
	slack := newSlack(t)
	srv := awsfake.New(t)
	value, _ := json.Marshal(map[string]string{"url": slack.URL, "channel": "#deploys"})
	srv.Answer(opGetSecret, map[string]any{"SecretString": string(value)})
	h := newHandler(srv, Routes{ruleARN: {{SecretsManager: "slack:url"}}})
	other := localNotification()
	other.NotificationRuleArn = "arn:aws:codestar-notifications:eu-west-1:123456789012:notificationrule/other"
	if err := h.Handle(t.Context(), snsEvent(t, localNotification(), other, "not a notification")); err != nil {
		t.Fatal(err)
	}
	if got := slack.received(); len(got) != 1 {
		t.Fatalf("Slack received %d messages, want the routed one only", len(got))
	}
	srv.Fail(opGetSecret, &awsfake.Error{Status: 400, Type: "AccessDeniedException", Message: "not authorized to perform secretsmanager:GetSecretValue"})
	fresh := newHandler(srv, Routes{ruleARN: {{SecretsManager: "slack:url"}}})
	if err := fresh.Handle(t.Context(), snsEvent(t, localNotification())); err == nil || !strings.Contains(err.Error(), "secretsmanager:GetSecretValue on it") {
		t.Fatalf("Handle without access to the secret = %v", err)
	}
}

// TestFunctionUnderTheLambdaRuntime runs deploy/aws/lambda/notify as Lambda runs
// it: routes from the environment, the SDK's default chain, an SNS event in.
func TestFunctionUnderTheLambdaRuntime(t *testing.T) {
	slack := newSlack(t)
	srv := awsfake.New(t)
	srv.Answer(opGetSecret, map[string]any{"SecretString": slack.URL})
	routes, _ := json.Marshal(Routes{ruleARN: {{SecretsManager: "slack"}}})
	ev, _ := json.Marshal(snsEvent(t, localNotification()))
	env := append(srv.Env("SECRETS_MANAGER"), EnvRoutes+"="+string(routes))
	if answer := awsfake.Invoke(t, notifyFunction, ev, time.Now().Add(20*time.Second), env...); answer != "response: null" {
		t.Fatalf("the function answered %q", answer)
	}
	if got := slack.received(); len(got) != 1 || !strings.Contains(got[0], `"url":"https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/orders-service/executions/`) {
		t.Fatalf("Slack received %v", got)
	}

	slack.status = http.StatusNotFound
	answer := awsfake.Invoke(t, notifyFunction, ev, time.Now().Add(20*time.Second), env...)
	if !strings.HasPrefix(answer, "error: ") || !strings.Contains(answer, "answered 404") {
		t.Fatalf("the function answered %q to a refused delivery", answer)
	}
}

// FuzzSNSMessage: whatever an SNS message holds, the function drops it, or
// builds the Slack message and fails only for want of a webhook; it never
// panics.
func FuzzSNSMessage(f *testing.F) {
	local, _ := json.Marshal(localNotification())
	f.Add(string(local))
	f.Add(`{"detailType":"CodeDeploy Deployment State-change Notification","notificationRuleArn":"` + ruleARN + `","detail":{"deploymentId":"d-1","state":"FAILURE"}}`)
	f.Add(`{"detailType":"CloudWatch Alarm State Change","notificationRuleArn":"` + ruleARN + `","detail":{"state":{"value":"ALARM"}}}`)
	f.Add(`{"detailType":1}`)
	f.Add("not json")
	h := &Handler{Routes: Routes{ruleARN: {{}}}, Logger: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, message string) {
		err := h.Handle(t.Context(), events.SNSEvent{Records: []events.SNSEventRecord{{SNS: events.SNSEntity{MessageID: "m", Message: message}}}})
		if err != nil && !strings.Contains(err.Error(), "a Slack webhook without a source") {
			t.Fatalf("Handle(%q) = %v", message, err)
		}
	})
}
