package manifest

import (
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/event"
)

// Notification rule settings, as aws_codestarnotifications_notification_rule
// writes them: BASIC carries the event as EventBridge has it, FULL adds what the
// service and the notifier know besides (commit, failed actions, links).
const (
	DetailBasic = "BASIC"
	DetailFull  = "FULL"

	RuleEnabled  = "ENABLED"
	RuleDisabled = "DISABLED"
)

// Notification target types.
const (
	TargetSlack   = "slack"
	TargetWebhook = "webhook"
	TargetSNS     = "sns"
)

var (
	// CodeStar Notifications' rule name pattern and target limit.
	ruleName       = regexp.MustCompile(`^[A-Za-z0-9\-_ ]{1,64}$`)
	maxRuleTargets = 10
	snsTopicARN    = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)
)

// NotificationRule is one entry of notifications: which events go where.
type NotificationRule struct {
	Name         string                `json:"name"`
	EventTypeIDs []string              `json:"event_type_ids"`
	DetailType   string                `json:"detail_type"`
	Status       string                `json:"status"` // default ENABLED
	Targets      []*NotificationTarget `json:"targets"`
	Pos          Pos                   `json:"-"`
}

// Enabled reports whether the rule sends anything.
func (r *NotificationRule) Enabled() bool { return r.Status != RuleDisabled }

// NotificationTarget is exactly one of a Slack incoming webhook, a generic webhook
// or an SNS topic (delivered on AWS only).
type NotificationTarget struct {
	Type    string         `json:"type"` // slack, webhook or sns
	Slack   *SlackTarget   `json:"slack,omitempty"`
	Webhook *WebhookTarget `json:"webhook,omitempty"`
	SNS     *SNSTarget     `json:"sns,omitempty"`
	Pos     Pos            `json:"-"`
}

// SlackTarget is a Slack incoming webhook; its URL is a secret.
type SlackTarget struct {
	URL *SecretValue `json:"url"`
}

// WebhookTarget receives the notification as JSON, signed with Secret in
// X-Greenlight-Signature when one is set.
type WebhookTarget struct {
	URL    string       `json:"url"`
	Secret *SecretValue `json:"secret,omitempty"`
}

// SNSTarget is an SNS topic.
type SNSTarget struct {
	ARN string `json:"arn"`
}

// String names the target without its secrets, for listings and logs.
func (t *NotificationTarget) String() string {
	switch {
	case t.Slack != nil:
		return "slack (" + t.Slack.URL.String() + ")"
	case t.Webhook != nil:
		return "webhook " + t.Webhook.URL
	case t.SNS != nil:
		return "sns " + t.SNS.ARN
	}
	return t.Type
}

// SecretValue is a secret greenlight reads when it needs it: exactly one of an
// environment variable, a file, or a source mapped under secrets (a
// secrets-manager reference "id[:json-key]" or a parameter-store name).
type SecretValue struct {
	Env            string `json:"env,omitempty"`
	File           string `json:"file,omitempty"`
	SecretsManager string `json:"secrets_manager,omitempty"`
	ParameterStore string `json:"parameter_store,omitempty"`
	Pos            Pos    `json:"-"`
}

// String says where the secret comes from, never its value.
func (s *SecretValue) String() string {
	switch {
	case s == nil:
		return ""
	case s.Env != "":
		return "env " + s.Env
	case s.File != "":
		return "file " + s.File
	case s.SecretsManager != "":
		return "secrets_manager " + s.SecretsManager
	}
	return "parameter_store " + s.ParameterStore
}

// WebhookConfig is how `greenlight serve` checks GitHub deliveries for this
// repository. Without it, serve reads the secret from GREENLIGHT_WEBHOOK_SECRET.
type WebhookConfig struct {
	Secret *SecretValue `json:"secret"`
	Pos    Pos          `json:"-"`
}

func (d *decoder) webhookConfig(n *node) *WebhookConfig {
	w := &WebhookConfig{Pos: n.pos}
	d.object(n, "webhook", w, req("secret", func(v *node) { w.Secret = d.secretValue(v, "secret") }))
	return w
}

func (d *decoder) notifications(n *node) []*NotificationRule {
	var out []*NotificationRule
	d.list(n, "notifications", func(_ int, item *node) { out = append(out, d.notificationRule(item)) })
	return out
}

func (d *decoder) notificationRule(n *node) *NotificationRule {
	r := &NotificationRule{Pos: n.pos, Status: RuleEnabled}
	d.object(n, "notification rule", r,
		req("name", func(v *node) { r.Name, _ = d.name(v, "name") }),
		req("event_type_ids", func(v *node) { r.EventTypeIDs = d.eventTypeIDs(v) }),
		req("detail_type", func(v *node) { r.DetailType, _ = d.enum(v, "detail_type", DetailBasic, DetailFull) }),
		opt("status", func(v *node) { r.Status, _ = d.enum(v, "status", RuleEnabled, RuleDisabled) }),
		req("targets", func(v *node) {
			d.list(v, "targets", func(_ int, item *node) { r.Targets = append(r.Targets, d.notificationTarget(item)) })
			if v.kind == kindSeq && (len(v.items) == 0 || len(v.items) > maxRuleTargets) {
				d.errorf(v.pos, "targets: 1 to %d targets, found %d", maxRuleTargets, len(v.items))
			}
		}),
	)
	return r
}

func (d *decoder) eventTypeIDs(n *node) []string {
	known := event.NotificationEventTypes()
	var out []string
	d.list(n, "event_type_ids", func(_ int, v *node) {
		id, ok := d.name(v, "event_type_ids")
		switch {
		case !ok:
		case !slices.Contains(known, id):
			d.errorf(v.pos, "event_type_ids: unknown event type %q (allowed: %s)", clip(id), strings.Join(known, ", "))
		case slices.Contains(out, id):
			d.errorf(v.pos, "event_type_ids: %q is listed twice", id)
		default:
			out = append(out, id)
		}
	})
	if n.kind == kindSeq && len(n.items) == 0 {
		d.errorf(n.pos, "event_type_ids: list at least one event type")
	}
	return out
}

// notificationTarget decodes a mapping with exactly one key: the target type.
func (d *decoder) notificationTarget(n *node) *NotificationTarget {
	t := &NotificationTarget{Pos: n.pos}
	d.object(n, "target", t,
		opt(TargetSlack, func(v *node) { t.Slack = d.slackTarget(v) }),
		opt(TargetWebhook, func(v *node) { t.Webhook = d.webhookTarget(v) }),
		opt(TargetSNS, func(v *node) { t.SNS = d.snsTarget(v) }),
	)
	if n.kind != kindMap {
		return t
	}
	if len(n.entries) != 1 {
		d.errorf(n.pos, "target: set exactly one of %s, %s or %s", TargetSlack, TargetWebhook, TargetSNS)
	} else {
		t.Type = n.entries[0].key
	}
	return t
}

func (d *decoder) slackTarget(n *node) *SlackTarget {
	s := &SlackTarget{}
	d.object(n, "slack", s, req("url", func(v *node) { s.URL = d.secretValue(v, "url") }))
	return s
}

func (d *decoder) webhookTarget(n *node) *WebhookTarget {
	w := &WebhookTarget{}
	d.object(n, "webhook", w,
		req("url", func(v *node) {
			if s, ok := d.name(v, "url"); ok && d.checkHTTPURL(v, "url", s) {
				w.URL = s
			}
		}),
		opt("secret", func(v *node) { w.Secret = d.secretValue(v, "secret") }),
	)
	return w
}

func (d *decoder) snsTarget(n *node) *SNSTarget {
	s := &SNSTarget{}
	d.object(n, "sns", s, req("arn", func(v *node) {
		arn, ok := d.name(v, "arn")
		if ok && !snsTopicARN.MatchString(arn) {
			d.errorf(v.pos, "arn: %q is not an SNS topic ARN (like arn:aws:sns:us-east-1:123456789012:deployments)", clip(arn))
		}
		s.ARN = arn
	}))
	return s
}

func (d *decoder) checkHTTPURL(v *node, key, s string) bool {
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		d.errorf(v.pos, "%s: %q is not an http:// or https:// URL", key, clip(s))
		return false
	}
	return true
}

// secretValue decodes a secret source written in place: {env: NAME}, {file:
// path}, {secrets_manager: id[:json-key]} or {parameter_store: name}.
func (d *decoder) secretValue(n *node, what string) *SecretValue {
	s := &SecretValue{Pos: n.pos}
	if n.kind == kindString {
		d.errorf(n.pos, "%s: write where the secret is read from ({env: NAME}, {file: path}, {secrets_manager: id} or {parameter_store: name}), not the secret itself", what)
		return s
	}
	d.object(n, what, s,
		opt("env", func(v *node) { s.Env, _ = d.name(v, "env") }),
		opt("file", func(v *node) { s.File, _ = d.name(v, "file") }),
		opt("secrets_manager", func(v *node) { s.SecretsManager, _ = d.name(v, "secrets_manager") }),
		opt("parameter_store", func(v *node) { s.ParameterStore, _ = d.name(v, "parameter_store") }),
	)
	if n.kind == kindMap && len(n.entries) != 1 {
		d.errorf(n.pos, "%s: set exactly one of env, file, secrets_manager or parameter_store", what)
	}
	return s
}

// validateNotifications: unique rule names, and secrets that name a mapped source.
func (d *decoder) validateNotifications(def *Definition) {
	seen := map[string]bool{}
	for _, r := range def.Notifications {
		at := d.at(r, "name", r.Pos)
		switch {
		case r.Name == "":
		case !ruleName.MatchString(r.Name):
			d.errorf(at, "name: rule name %q may hold only letters, digits, spaces, - and _ (at most 64)", clip(r.Name))
		case seen[r.Name]:
			d.errorf(at, "name: notification rule %q is defined twice", r.Name)
		}
		seen[r.Name] = true
		for _, t := range r.Targets {
			d.checkTargetSecrets(def, t)
		}
	}
	if def.Webhook != nil {
		d.checkSecretValue(def, def.Webhook.Secret)
	}
}

func (d *decoder) checkTargetSecrets(def *Definition, t *NotificationTarget) {
	switch {
	case t.Slack != nil:
		d.checkSecretValue(def, t.Slack.URL)
	case t.Webhook != nil:
		d.checkSecretValue(def, t.Webhook.Secret)
	}
}

func (d *decoder) checkSecretValue(def *Definition, s *SecretValue) {
	switch {
	case s == nil:
	case s.SecretsManager != "":
		d.checkSecretRef(def, EnvSecretsManager, s.SecretsManager, d.at(s, "secrets_manager", s.Pos), "secrets_manager")
	case s.ParameterStore != "":
		d.checkSecretRef(def, EnvParameterStore, s.ParameterStore, d.at(s, "parameter_store", s.Pos), "parameter_store")
	}
}
