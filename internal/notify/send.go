package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	neturl "net/url"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Headers of a generic webhook notification.
const (
	HeaderSignature = "X-Greenlight-Signature" // sha256=<hex HMAC-SHA256 of the body with the target's secret>
	HeaderEvent     = "X-Greenlight-Event"     // the event type id
	HeaderDelivery  = "X-Greenlight-Delivery"  // the delivery's sequence number: the same on every retry
)

// Sign returns the X-Greenlight-Signature value for body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// outcome is what one attempt came to.
type outcome struct {
	ok        bool
	permanent bool // retrying cannot help
	status    int
	retryIn   time.Duration
	err       string
}

// attempt sends a delivery once and records the result. The record is written
// even when ctx ends meanwhile: the queue must know what happened.
func (n *Notifier) attempt(ctx context.Context, d Delivery) {
	if d.Payload == nil {
		d.Payload = n.payload(ctx, d)
	}
	d.Attempts++
	out := n.send(ctx, d)
	if ctx.Err() != nil && !out.ok {
		out = outcome{err: "greenlight stopped during the attempt"} // not the endpoint's fault: try again later
		d.Attempts--
	}
	n.record(&d, out)
	if err := n.o.Store.SaveAttempt(context.WithoutCancel(ctx), d); err != nil {
		n.o.Logger.Error("record notification attempt", "delivery", d.Seq, "err", err)
	}
}

// payload builds the body for the target from the event, once.
func (n *Notifier) payload(ctx context.Context, d Delivery) []byte {
	var info ExecutionInfo
	if n.o.Lookup != nil && d.Event.ExecutionID != "" {
		if got, err := n.o.Lookup.ExecutionInfo(ctx, d.Event.ExecutionID); err == nil {
			info = got
		}
	}
	msg := Build(d.Rule, d.DetailType, d.Event, info)
	var body any = msg
	if d.Target.Slack != nil {
		body = Slack(msg, SlackOptions{BaseURL: n.o.BaseURL})
	}
	b, _ := json.Marshal(body) // maps and strings only: cannot fail
	return b
}

func (n *Notifier) send(ctx context.Context, d Delivery) outcome {
	t, secrets := n.targetOf(d)
	switch {
	case t.SNS != nil:
		return outcome{permanent: true, err: fmt.Sprintf("SNS is not available locally: on AWS, CodeStar Notifications publishes to %s", t.SNS.ARN)}
	case t.Slack != nil:
		url, err := secrets.Value(ctx, t.Slack.URL)
		if err != nil {
			return outcome{permanent: true, err: "slack URL: " + err.Error()}
		}
		return n.post(ctx, url, d, map[string]string{"Content-Type": "application/json"}, "the Slack webhook URL")
	case t.Webhook != nil:
		h, err := webhookHeaders(ctx, d, t.Webhook, secrets)
		if err != nil {
			return outcome{permanent: true, err: err.Error()}
		}
		return n.post(ctx, t.Webhook.URL, d, h, t.Webhook.URL)
	}
	return outcome{permanent: true, err: "the target has no type"}
}

func webhookHeaders(ctx context.Context, d Delivery, t *manifest.WebhookTarget, secrets Secrets) (map[string]string, error) {
	h := map[string]string{"Content-Type": "application/json", HeaderEvent: d.EventType, HeaderDelivery: fmt.Sprint(d.Seq)}
	if t.Secret != nil {
		secret, err := secrets.Value(ctx, t.Secret)
		if err != nil {
			return nil, fmt.Errorf("webhook secret: %w", err)
		}
		h[HeaderSignature] = Sign([]byte(secret), d.Payload)
	}
	return h, nil
}

// post sends with the attempt's timeout and classifies the answer: 2xx
// delivered; 429 and 5xx worth retrying (after Retry-After); other 4xx refused
// for good. The URL never appears in what is recorded (a Slack URL is a secret).
func (n *Notifier) post(ctx context.Context, url string, d Delivery, h map[string]string, shownAs string) outcome {
	actx, cancel := context.WithTimeout(ctx, n.o.AttemptTimeout)
	defer cancel()
	resp, err := n.o.Poster.Post(actx, url, d.Payload, h)
	switch {
	case err != nil && actx.Err() == context.DeadlineExceeded:
		return outcome{err: fmt.Sprintf("no answer within %s", n.o.AttemptTimeout)}
	case err != nil:
		return outcome{err: withoutURL(err, url, shownAs)}
	case resp.Status >= 200 && resp.Status < 300:
		return outcome{ok: true, status: resp.Status}
	}
	out := outcome{status: resp.Status, err: fmt.Sprintf("answered %d %s", resp.Status, strings.TrimSpace(resp.Body))}
	if resp.Status != 429 && resp.Status < 500 {
		out.permanent = true
	}
	out.retryIn = resp.RetryAfter
	return out
}

// withoutURL is the text of a failed request's error with the URL written as
// shownAs. The client's *url.Error (a failed request, or a URL that does not
// parse) writes the URL its own way: quoted with escapes, its password starred,
// its scheme in lower case, so no replacement of the configured text finds it.
// Its message is rebuilt from its operation and cause instead.
func withoutURL(err error, url, shownAs string) string {
	var uerr *neturl.Error
	if errors.As(err, &uerr) {
		return uerr.Op + " " + shownAs + ": " + strings.ReplaceAll(uerr.Err.Error(), url, shownAs)
	}
	return strings.ReplaceAll(err.Error(), url, shownAs)
}

// record applies an attempt's outcome: succeeded, failed for good, or pending
// again after a backoff.
func (n *Notifier) record(d *Delivery, out outcome) {
	now := n.o.Now().UTC()
	d.Updated, d.LastStatus, d.LastError = now, out.status, out.err
	switch {
	case out.ok:
		d.Status, d.LastError = StatusSucceeded, ""
	case out.permanent:
		d.Status = StatusFailed
	case d.Attempts >= n.o.MaxAttempts:
		d.Status, d.LastError = StatusFailed, fmt.Sprintf("gave up after %d attempts: %s", d.Attempts, out.err)
	default:
		wait := max(Backoff(d.Attempts, n.o.BaseBackoff, n.o.MaxBackoff, n.o.Rand()), min(out.retryIn, n.o.MaxBackoff))
		d.Status, d.NextAttempt = StatusPending, now.Add(wait)
	}
	n.o.Logger.Info("notification attempt", "delivery", d.Seq, "rule", d.Rule, "target", d.Target.String(), "status", d.Status, "attempt", d.Attempts, "error", d.LastError)
}
