package serve

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/provider"
	"github.com/greenlight-ci/greenlight/internal/trigger"
	"github.com/greenlight-ci/greenlight/internal/webhook"
)

// Starter starts executions (control.Backend is one).
type Starter interface {
	StartExecution(ctx context.Context, req control.StartRequest) (string, error)
}

// Webhook is the handler of POST /webhooks/github: it verifies a delivery with
// the secrets of the definitions served, asks each pipeline whose source is the
// delivery's repository (and whose secret signed it) whether it starts, starts
// those that do at the pushed commit, and answers with every pipeline's
// decision. The delivery's outcome is recorded in the webhook store.
type Webhook struct {
	Definitions []*manifest.Definition
	Starter     Starter
	Store       webhook.Store
	Files       PullRequestFiles // nil: a pull request's files are not known
	StateDir    string           // where Files keeps the mirrors of URL sources
	Metrics     *Metrics         // nil: not counted
	Logger      *slog.Logger
	Limits      WebhookLimits

	slotsOnce sync.Once
	slots     chan struct{} // a token per body being read
}

// WebhookLimits bound what unauthenticated deliveries can hold of the server:
// a body is read whole (up to GitHub's 25 MB) before its signature can be
// checked, so anyone may send one.
type WebhookLimits struct {
	// ReadTimeout bounds the reading of one body (default 30 s): a stalled
	// upload is answered 408 read_timeout and its connection closed.
	ReadTimeout time.Duration
	// Concurrent bounds the bodies read at once (default 4, so at most about
	// 4 x 25 MB held by unverified payloads).
	Concurrent int
	// Wait is how long a delivery waits for its turn to be read (default 5 s):
	// GitHub retries no delivery by itself, so a burst is queued briefly, and
	// beyond that answered 503 busy with Retry-After.
	Wait time.Duration
}

// The defaults of WebhookLimits.
const (
	DefaultWebhookReadTimeout = 30 * time.Second
	DefaultWebhookConcurrent  = 4
	DefaultWebhookWait        = 5 * time.Second
)

func (l WebhookLimits) readTimeout() time.Duration {
	return cmp.Or(l.ReadTimeout, DefaultWebhookReadTimeout)
}
func (l WebhookLimits) concurrent() int     { return cmp.Or(l.Concurrent, DefaultWebhookConcurrent) }
func (l WebhookLimits) wait() time.Duration { return cmp.Or(l.Wait, DefaultWebhookWait) }

// PipelineDecision is what one pipeline made of a delivery.
type PipelineDecision struct {
	Pipeline    string          `json:"pipeline"`
	Outcome     trigger.Outcome `json:"outcome"`
	Reason      string          `json:"reason"`
	Revision    string          `json:"revision,omitempty"`
	ExecutionID string          `json:"execution_id,omitempty"`
	Error       string          `json:"error,omitempty"` // the start failed
}

// DeliveryAnswer is the body of a 2xx answer.
type DeliveryAnswer struct {
	Delivery string          `json:"delivery"`
	Event    string          `json:"event"`
	Outcome  webhook.Outcome `json:"outcome"`
	Summary  string          `json:"summary"`
	// Reason says why no pipeline took a push or pull request: none reads the
	// delivery's repository, and what each reads instead.
	Reason    string             `json:"reason,omitempty"`
	Pipelines []PipelineDecision `json:"pipelines,omitempty"`
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	secrets, owners := h.secrets(ctx)
	rc := &webhook.Receiver{Secrets: func(context.Context) ([][]byte, error) { return secrets, nil }, Store: h.Store}
	d, err := h.receive(w, r, rc)
	if err != nil {
		h.refuse(w, err)
		return
	}
	ans := DeliveryAnswer{Delivery: d.ID, Event: d.Event, Summary: d.Summary()}
	switch {
	case d.Ping != nil:
		ans.Outcome = webhook.OutcomePing
	case d.Trigger == nil:
		ans.Outcome = webhook.OutcomeIgnored
	default:
		var unread []string
		ans.Pipelines, unread = h.act(ctx, d, owners[d.SecretIndex])
		ans.Outcome = outcomeOf(ans.Pipelines)
		if len(ans.Pipelines) == 0 {
			ans.Reason = "no pipeline here reads this repository: " + strings.Join(unread, "; ")
		}
	}
	h.finish(ctx, w, rc, d, ans)
}

// receive reads, verifies and claims the delivery within the limits: its turn
// among the bodies read at once, then its read deadline. A declared length over
// GitHub's cap is refused before anything is read.
func (h *Webhook) receive(w http.ResponseWriter, r *http.Request, rc *webhook.Receiver) (*webhook.Delivery, error) {
	if r.ContentLength > webhook.MaxPayloadBytes {
		return nil, webhook.Refuse(webhook.CodeTooLarge, "the payload is over %d MB, GitHub's cap", webhook.MaxPayloadBytes>>20)
	}
	release, err := h.turn(r.Context())
	if err != nil {
		return nil, err
	}
	defer release()
	ctl := http.NewResponseController(w)
	if err := ctl.SetReadDeadline(time.Now().Add(h.Limits.readTimeout())); err != nil {
		return nil, fmt.Errorf("set the delivery's read deadline: %w", err)
	}
	// Read to its end, the body's deadline is lifted by net/http (it reads the
	// connection in the background then); one cut short keeps it, so that what
	// net/http reads of its rest after the answer is bounded too.
	return rc.Receive(r.Context(), r.Header, http.MaxBytesReader(w, r.Body, webhook.MaxPayloadBytes+1))
}

// turn waits up to Limits.Wait for a slot among the bodies read at once; the
// caller releases it.
func (h *Webhook) turn(ctx context.Context) (release func(), err error) {
	h.slotsOnce.Do(func() { h.slots = make(chan struct{}, h.Limits.concurrent()) })
	release = func() { <-h.slots }
	select {
	case h.slots <- struct{}{}:
		return release, nil
	default:
	}
	wait := time.NewTimer(h.Limits.wait())
	defer wait.Stop()
	select {
	case h.slots <- struct{}{}:
		return release, nil
	case <-wait.C:
		return nil, webhook.Refuse(webhook.CodeBusy, "%d deliveries are being received; send this one again later", h.Limits.concurrent())
	case <-ctx.Done():
		return nil, fmt.Errorf("wait to read the delivery: %w", context.Cause(ctx))
	}
}

// secrets returns the distinct webhook secrets of the definitions and, for each,
// the definitions signed with it. A definition without a secret takes no
// deliveries (serve polls its sources instead).
func (h *Webhook) secrets(ctx context.Context) ([][]byte, [][]*manifest.Definition) {
	var secrets [][]byte
	var owners [][]*manifest.Definition
	for _, def := range h.Definitions {
		s, err := provider.Secrets{Def: def}.WebhookSecret(ctx)
		if err != nil {
			if !errors.Is(err, provider.ErrNoWebhookSecret) {
				h.Logger.Error("webhook secret unreadable: the pipeline takes no deliveries", "pipeline", def.Pipeline.Name, "err", err)
			}
			continue
		}
		i := indexOf(secrets, s)
		if i < 0 {
			secrets, owners = append(secrets, []byte(s)), append(owners, nil)
			i = len(secrets) - 1
		}
		owners[i] = append(owners[i], def)
	}
	return secrets, owners
}

func indexOf(secrets [][]byte, s string) int {
	for i, have := range secrets {
		if string(have) == s {
			return i
		}
	}
	return -1
}

// act decides for each pipeline of the repository and starts those that start;
// it returns the decisions, and why each other pipeline does not read the
// repository.
func (h *Webhook) act(ctx context.Context, d *webhook.Delivery, defs []*manifest.Definition) ([]PipelineDecision, []string) {
	out := []PipelineDecision{}
	var unread []string
	found := changedFiles{}
	for _, def := range defs {
		dec := trigger.Decide(def, h.withFiles(ctx, def, *d.Trigger, found))
		if dec.Outcome == trigger.OutcomeNotSource {
			unread = append(unread, dec.Reason)
			continue
		}
		pd := PipelineDecision{Pipeline: def.Pipeline.Name, Outcome: dec.Outcome, Reason: dec.Reason, Revision: dec.Revision}
		if dec.Start() {
			id, err := h.Starter.StartExecution(ctx, control.StartRequest{
				Pipeline: def.Pipeline.Name, Revision: dec.Revision, Ref: dec.Ref(), Trigger: control.TriggerWebhook, Who: who(d),
			})
			pd.ExecutionID = id
			if err != nil {
				pd.Error = fmt.Sprintf("start execution: %v", err)
				h.Logger.Error("webhook: start execution", "delivery", d.ID, "pipeline", def.Pipeline.Name, "err", err)
			}
		}
		out = append(out, pd)
	}
	return out, unread
}

// who names the delivery and its sender, as the execution's trigger detail.
func who(d *webhook.Delivery) string {
	s := fmt.Sprintf("GitHub delivery %s (%s)", d.ID, d.Summary())
	if d.Trigger.Sender != "" {
		s += " by " + d.Trigger.Sender
	}
	return s
}

// outcomeOf is a delivery's outcome: started when any pipeline started, failed
// when a start failed and none did, else ignored.
func outcomeOf(ds []PipelineDecision) webhook.Outcome {
	out := webhook.OutcomeIgnored
	for _, d := range ds {
		switch {
		case d.ExecutionID != "":
			return webhook.OutcomeStarted
		case d.Error != "":
			out = webhook.OutcomeFailed
		}
	}
	return out
}

// finish records the outcome and answers. A delivery whose starts all failed is
// released, so that GitHub's redelivery tries again, and answered 500.
func (h *Webhook) finish(ctx context.Context, w http.ResponseWriter, rc *webhook.Receiver, d *webhook.Delivery, ans DeliveryAnswer) {
	ctx = context.WithoutCancel(ctx)
	if ans.Outcome == webhook.OutcomeFailed {
		if err := rc.Release(ctx, d); err != nil {
			h.Logger.Error("webhook: release delivery", "delivery", d.ID, "err", err)
		}
		h.Metrics.webhook(string(ans.Outcome))
		writeJSON(w, http.StatusInternalServerError, ans)
		return
	}
	if err := rc.Finish(ctx, d, ans.Outcome, detail(ans)); err != nil {
		h.Logger.Error("webhook: record delivery", "delivery", d.ID, "err", err)
	}
	h.Metrics.webhook(string(ans.Outcome))
	h.Logger.Info("webhook delivery", "delivery", d.ID, "event", d.Event, "outcome", ans.Outcome, "detail", detail(ans))
	status := http.StatusOK
	if ans.Outcome == webhook.OutcomeStarted {
		status = http.StatusAccepted
	}
	writeJSON(w, status, ans)
}

// detail is the one line recorded with the delivery.
func detail(ans DeliveryAnswer) string {
	if len(ans.Pipelines) == 0 {
		if ans.Reason != "" {
			return ans.Summary + ": " + ans.Reason
		}
		return ans.Summary
	}
	parts := make([]string, len(ans.Pipelines))
	for i, p := range ans.Pipelines {
		switch {
		case p.ExecutionID != "":
			parts[i] = fmt.Sprintf("%s: started %s", p.Pipeline, p.ExecutionID)
		case p.Error != "":
			parts[i] = fmt.Sprintf("%s: %s", p.Pipeline, p.Error)
		default:
			parts[i] = fmt.Sprintf("%s: %s (%s)", p.Pipeline, p.Outcome, p.Reason)
		}
	}
	return ans.Summary + ": " + strings.Join(parts, "; ")
}

// retryAfter is the Retry-After of a busy answer, in seconds.
const retryAfter = 10

// refuse answers a delivery that was not accepted.
func (h *Webhook) refuse(w http.ResponseWriter, err error) {
	var we *webhook.Error
	if errors.Is(err, context.Canceled) {
		h.Logger.Debug("webhook delivery abandoned by its sender", "err", err)
		return
	}
	if !errors.As(err, &we) {
		h.Logger.Error("webhook delivery", "err", err)
		h.Metrics.webhook("error")
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	h.Metrics.webhook("refused_" + string(we.Code))
	h.Logger.Warn("webhook delivery refused", "code", we.Code, "reason", we.Msg)
	if we.Code == webhook.CodeBusy {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	writeError(w, we.Status(), string(we.Code), we.Msg)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	type body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	writeJSON(w, status, map[string]body{"error": {Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
