package manifest

import (
	"slices"
	"testing"
)

func TestParseNotificationsAndWebhookSecret(t *testing.T) {
	src := minimal + `secrets:
  secrets_manager: {"ci/github": {env: GITHUB_SECRET_JSON}}
webhook:
  secret: {secrets_manager: "ci/github:webhook"}
notifications:
  - name: releases
    event_type_ids: [codepipeline-pipeline-pipeline-execution-failed, codepipeline-pipeline-manual-approval-needed, greenlight-deployment-rolled-back]
    detail_type: FULL
    targets:
      - slack: {url: {env: SLACK_WEBHOOK_URL}}
      - webhook: {url: "https://hooks.example.com/greenlight", secret: {file: webhook.secret}}
      - sns: {arn: "arn:aws:sns:us-east-1:123456789012:releases"}
  - name: quiet
    event_type_ids: [codedeploy-application-deployment-succeeded]
    detail_type: BASIC
    status: DISABLED
    targets: [{webhook: {url: "http://127.0.0.1:9000/x"}}]
`
	def, err := ParseDefinition("greenlight.yaml", []byte(src))
	mustNotFail(t, err)
	if got := def.Webhook.Secret; got.SecretsManager != "ci/github:webhook" || got.String() != "secrets_manager ci/github:webhook" {
		t.Errorf("webhook secret = %+v", got)
	}
	r := def.Notifications[0]
	if r.Name != "releases" || r.DetailType != DetailFull || !r.Enabled() || len(r.EventTypeIDs) != 3 || len(r.Targets) != 3 {
		t.Fatalf("rule = %+v", r)
	}
	var kinds []string
	for _, tg := range r.Targets {
		kinds = append(kinds, tg.Type+": "+tg.String())
	}
	want := []string{"slack: slack (env SLACK_WEBHOOK_URL)", "webhook: webhook https://hooks.example.com/greenlight", "sns: sns arn:aws:sns:us-east-1:123456789012:releases"}
	if !slices.Equal(kinds, want) {
		t.Errorf("targets = %q, want %q", kinds, want)
	}
	if r.Targets[1].Webhook.Secret.File != "webhook.secret" {
		t.Errorf("webhook target secret = %+v", r.Targets[1].Webhook.Secret)
	}
	if q := def.Notifications[1]; q.Enabled() || q.DetailType != DetailBasic {
		t.Errorf("disabled rule = %+v", q)
	}
}

func TestNotificationErrors(t *testing.T) {
	src := minimal + `webhook: {secret: {env: A, file: b}}
notifications:
  - name: "bad/name"
    event_type_ids: [codepipeline-pipeline-pipeline-execution-started, codepipeline-pipeline-action-execution-superseded, codepipeline-pipeline-pipeline-execution-started]
    detail_type: SHORT
    targets:
      - {slack: {url: "https://hooks.slack.com/services/T/B/x"}}
      - {webhook: {url: "ftp://x"}, sns: {arn: "arn:aws:sns:us-east-1:1:t"}}
      - {sns: {arn: "arn:aws:sqs:us-east-1:123456789012:q"}}
      - {webhook: {url: "https://x", secret: {parameter_store: /missing}}}
  - name: bad/name
    event_type_ids: []
    detail_type: BASIC
    status: ON
    targets: []
`
	_, err := ParseDefinition("greenlight.yaml", []byte(src))
	known := "codedeploy-application-deployment-failed, codedeploy-application-deployment-started, codedeploy-application-deployment-succeeded, codepipeline-pipeline-action-execution-canceled, codepipeline-pipeline-action-execution-failed, codepipeline-pipeline-action-execution-started, codepipeline-pipeline-action-execution-succeeded, codepipeline-pipeline-manual-approval-failed, codepipeline-pipeline-manual-approval-needed, codepipeline-pipeline-manual-approval-succeeded, codepipeline-pipeline-pipeline-execution-canceled, codepipeline-pipeline-pipeline-execution-failed, codepipeline-pipeline-pipeline-execution-resumed, codepipeline-pipeline-pipeline-execution-started, codepipeline-pipeline-pipeline-execution-succeeded, codepipeline-pipeline-pipeline-execution-superseded, codepipeline-pipeline-stage-execution-canceled, codepipeline-pipeline-stage-execution-failed, codepipeline-pipeline-stage-execution-resumed, codepipeline-pipeline-stage-execution-started, codepipeline-pipeline-stage-execution-succeeded, greenlight-alarm-state-changed, greenlight-deployment-rolled-back, greenlight-deployment-traffic-shifted"
	assertErrors(t, src, err,
		"greenlight.yaml:13:19: secret: set exactly one of env, file, secrets_manager or parameter_store",
		`greenlight.yaml:15:11: name: rule name "bad/name" may hold only letters, digits, spaces, - and _ (at most 64)`,
		`greenlight.yaml:16:72: event_type_ids: unknown event type "codepipeline-pipeline-action-execution-superseded" (allowed: `+known+`)`,
		`greenlight.yaml:16:123: event_type_ids: "codepipeline-pipeline-pipeline-execution-started" is listed twice`,
		`greenlight.yaml:17:18: detail_type: unknown "SHORT" (allowed: BASIC, FULL)`,
		"greenlight.yaml:19:23: url: write where the secret is read from ({env: NAME}, {file: path}, {secrets_manager: id} or {parameter_store: name}), not the secret itself",
		"greenlight.yaml:20:9: target: set exactly one of slack, webhook or sns",
		`greenlight.yaml:20:25: url: "ftp://x" is not an http:// or https:// URL`,
		`greenlight.yaml:20:48: arn: "arn:aws:sns:us-east-1:1:t" is not an SNS topic ARN (like arn:aws:sns:us-east-1:123456789012:deployments)`,
		`greenlight.yaml:21:21: arn: "arn:aws:sqs:us-east-1:123456789012:q" is not an SNS topic ARN (like arn:aws:sns:us-east-1:123456789012:deployments)`,
		`greenlight.yaml:22:64: parameter_store: parameter_store "/missing" has no local source; map it under secrets.parameter_store (known: none)`,
		`greenlight.yaml:23:11: name: rule name "bad/name" may hold only letters, digits, spaces, - and _ (at most 64)`,
		"greenlight.yaml:24:21: event_type_ids: list at least one event type",
		`greenlight.yaml:26:13: status: unknown "ON" (allowed: ENABLED, DISABLED)`,
		"greenlight.yaml:27:14: targets: 1 to 10 targets, found 0",
	)
}

func TestNotificationRuleNamesAreUnique(t *testing.T) {
	src := minimal + `notifications:
  - {name: a, event_type_ids: [greenlight-alarm-state-changed], detail_type: BASIC, targets: [{sns: {arn: "arn:aws:sns:eu-west-1:123456789012:t"}}]}
  - {name: a, event_type_ids: [greenlight-alarm-state-changed], detail_type: BASIC, targets: [{sns: {arn: "arn:aws:sns:eu-west-1:123456789012:t"}}]}
`
	_, err := ParseDefinition("greenlight.yaml", []byte(src))
	assertErrors(t, src, err, `greenlight.yaml:15:12: name: notification rule "a" is defined twice`)
}
