// Package awsnotify is the Slack notifier Lambda function of deploy/aws: it
// receives the SNS messages CodeStar Notifications publishes for a notification
// rule and posts each to the rule's Slack incoming webhooks as the same Block
// Kit message greenlight serve sends (internal/notify's builder). Webhook URLs
// are secrets: the function reads them from Secrets Manager or Parameter Store
// (never from its environment) and keeps them for the life of its container. A
// message it could not deliver fails the invocation, so that Lambda retries it.
package awsnotify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	neturl "net/url"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/greenlight-ci/greenlight/internal/notify"
)

// Environment variables of the function.
const (
	// EnvRoutes is JSON: notification rule ARN -> the Slack webhooks' URL sources.
	EnvRoutes = "GREENLIGHT_SLACK_ROUTES"
	// EnvConsoleURL is where message links point (default: the CodePipeline console of the region).
	EnvConsoleURL = "GREENLIGHT_CONSOLE_URL"
)

// postTimeout bounds one POST to Slack.
const postTimeout = 10 * time.Second

// Source is where a webhook URL is kept: exactly one of a Secrets Manager
// reference "id[:json-key]" or a Parameter Store name (SecureString).
type Source struct {
	SecretsManager string `json:"secrets_manager,omitempty"`
	ParameterStore string `json:"parameter_store,omitempty"`
}

func (s Source) String() string {
	if s.SecretsManager != "" {
		return "secrets manager " + s.SecretsManager
	}
	return "parameter store " + s.ParameterStore
}

// Routes are the Slack webhooks of each notification rule, by the rule's ARN.
type Routes map[string][]Source

// SecretsManager reads a secret.
type SecretsManager interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// ParameterStore reads a parameter.
type ParameterStore interface {
	GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Handler delivers notifications; safe for concurrent use.
type Handler struct {
	Routes     Routes
	ConsoleURL string // the base of message links ("": none)
	Secrets    SecretsManager
	Parameters ParameterStore
	HTTP       *http.Client // nil: one with postTimeout
	Logger     *slog.Logger

	mu   sync.Mutex
	urls map[Source]string // read once per container
}

// Handle posts every record's notification to its rule's webhooks; the error
// joins every delivery that failed.
func (h *Handler) Handle(ctx context.Context, ev events.SNSEvent) error {
	var errs []error
	for _, r := range ev.Records {
		if err := h.deliver(ctx, r.SNS); err != nil {
			errs = append(errs, fmt.Errorf("message %s: %w", r.SNS.MessageID, err))
		}
	}
	return errors.Join(errs...)
}

// deliver posts one SNS message. A message that is no notification, or whose
// rule has no Slack webhook, is logged and dropped: retrying cannot help.
func (h *Handler) deliver(ctx context.Context, msg events.SNSEntity) error {
	var n notify.Notification
	if err := json.Unmarshal([]byte(msg.Message), &n); err != nil || n.DetailType == "" {
		h.Logger.Warn("not a CodeStar notification: dropped", "message", msg.MessageID, "topic", msg.TopicArn)
		return nil
	}
	sources := h.Routes[n.NotificationRuleArn]
	if len(sources) == 0 {
		h.Logger.Warn("no Slack webhook for the rule: dropped", "rule", n.NotificationRuleArn, "event", n.EventType())
		return nil
	}
	body, err := json.Marshal(notify.Slack(n, notify.SlackOptions{BaseURL: h.ConsoleURL}))
	if err != nil {
		return fmt.Errorf("encode the Slack message: %w", err)
	}
	var errs []error
	for _, src := range sources {
		if err := h.post(ctx, src, body); err != nil {
			errs = append(errs, err)
			continue
		}
		h.Logger.Info("sent to Slack", "event", n.EventType(), "webhook", src.String())
	}
	return errors.Join(errs...)
}

// post sends body to the webhook src keeps. Errors name the source, never the
// URL (it is the secret).
func (h *Handler) post(ctx context.Context, src Source, body []byte) error {
	url, err := h.url(ctx, src)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, postTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("the webhook URL in %s is not a URL", src)
	}
	req.Header.Set("Content-Type", "application/json")
	client := h.HTTP
	if client == nil {
		client = &http.Client{Timeout: postTimeout}
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return fmt.Errorf("post to the Slack webhook of %s: %w", src, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the Slack webhook of %s answered %d: %s", src, resp.StatusCode, bytes.TrimSpace(answer))
	}
	return nil
}
