package awsrender

import (
	"strings"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Event type id prefixes by the resource a CodeStar notification rule watches.
const (
	pipelineEvents   = "codepipeline-pipeline-"
	deploymentEvents = "codedeploy-application-deployment-"
)

// notifications renders each rule as CodeStar notification rules: one on the
// pipeline for its CodePipeline events, one per CodeDeploy application for its
// deployment events, sending to its SNS topics and, for Slack targets, to the
// stack's notifications topic, where the notifier function posts to Slack.
// greenlight's own event ids and generic webhooks are local only.
func (r *renderer) notifications() map[string]NotificationRule {
	out := map[string]NotificationRule{}
	for _, rule := range r.def.Notifications {
		field := "notifications." + rule.Name
		n := NotificationRule{DetailType: rule.DetailType, Status: rule.Status, PipelineEventTypeIDs: []string{},
			DeploymentEventTypeIDs: []string{}, SNSTopics: []string{}, Slack: []SlackTarget{}}
		r.eventTypes(rule, field, &n)
		for _, t := range rule.Targets {
			r.target(t, field, &n)
		}
		switch {
		case len(n.SNSTopics) == 0 && len(n.Slack) == 0:
			r.findings.add(rule.Pos, field, LocalOnly, "no target reaches AWS (a generic webhook is local only): the stack creates no rule for it")
		case len(n.PipelineEventTypeIDs) == 0 && len(n.DeploymentEventTypeIDs) == 0:
			r.findings.add(rule.Pos, field, LocalOnly, "none of its events exists on AWS: the stack creates no rule for it")
		default:
			out[rule.Name] = n
		}
	}
	return out
}

func (r *renderer) eventTypes(rule *manifest.NotificationRule, field string, n *NotificationRule) {
	for _, id := range rule.EventTypeIDs {
		switch {
		case strings.HasPrefix(id, pipelineEvents):
			n.PipelineEventTypeIDs = append(n.PipelineEventTypeIDs, id)
		case strings.HasPrefix(id, deploymentEvents):
			n.DeploymentEventTypeIDs = append(n.DeploymentEventTypeIDs, id)
		default:
			r.findings.add(rule.Pos, field+".event_type_ids."+id, LocalOnly,
				"%s is greenlight's own event (CodeStar Notifications has no such event type): not notified on AWS", id)
		}
	}
}

func (r *renderer) target(t *manifest.NotificationTarget, field string, n *NotificationRule) {
	switch {
	case t.SNS != nil:
		n.SNSTopics = append(n.SNSTopics, t.SNS.ARN)
	case t.Webhook != nil:
		r.findings.add(t.Pos, field+".targets.webhook", LocalOnly,
			"%s: CodeStar Notifications sends to SNS topics and chat channels only; subscribe the endpoint to an SNS target instead", t.Webhook.URL)
	case t.Slack != nil:
		n.Slack = append(n.Slack, r.slackTarget(t.Slack.URL, field))
	}
}

// slackTarget says where the notifier reads the webhook URL: the Secrets
// Manager secret or parameter greenlight.yaml names, or (for a URL from an
// environment variable or a file) the stack's slack_webhook_secret.
func (r *renderer) slackTarget(url *manifest.SecretValue, field string) SlackTarget {
	switch {
	case url.SecretsManager != "":
		return SlackTarget{SecretsManager: &url.SecretsManager, SecretID: optional(manifest.ParseSecretRef(url.SecretsManager).ID)}
	case url.ParameterStore != "":
		return SlackTarget{ParameterStore: &url.ParameterStore}
	}
	r.findings.add(url.Pos, field+".targets.slack.url", Changed,
		"%s is local; on AWS the notifier reads the webhook URL from the Secrets Manager secret var.slack_webhook_secret", url)
	return SlackTarget{}
}

// webhook: GitHub's deliveries reach CodePipeline through the connection.
func (r *renderer) webhook() {
	if w := r.def.Webhook; w != nil {
		r.findings.add(w.Pos, "webhook", LocalOnly,
			"on AWS GitHub's events reach CodePipeline through the CodeStar connection (pipeline.triggers); greenlight serve's webhook secret is not used there")
	}
}

// triggers renders pipeline.triggers as CodePipeline V2 triggers, as written:
// the source action keeps its name on AWS.
func (r *renderer) triggers() []Trigger {
	out := []Trigger{}
	for _, t := range r.def.Pipeline.Triggers {
		g := t.GitConfiguration
		if g == nil {
			continue
		}
		tr := Trigger{SourceActionName: g.SourceActionName, Push: []PushFilter{}, PullRequest: []PullRequestFilter{}}
		for _, p := range g.Push {
			tr.Push = append(tr.Push, PushFilter{Branches: filter(p.Branches), FilePaths: filter(p.FilePaths), Tags: filter(p.Tags)})
		}
		for _, p := range g.PullRequest {
			events := p.Events
			if len(events) == 0 {
				events = manifest.PullRequestEvents
			}
			tr.PullRequest = append(tr.PullRequest, PullRequestFilter{Events: events, Branches: filter(p.Branches), FilePaths: filter(p.FilePaths)})
		}
		out = append(out, tr)
	}
	return out
}

func filter(f *manifest.FilterCriteria) *Filter {
	if f == nil {
		return nil
	}
	return &Filter{Includes: nonNil(f.Includes), Excludes: nonNil(f.Excludes)}
}
