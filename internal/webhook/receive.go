// Package webhook receives GitHub webhook deliveries for `greenlight serve`: it
// checks the content type, reads the body within GitHub's 25 MB cap, verifies
// X-Hub-Signature-256 in constant time, parses push, pull_request and ping events
// into what internal/trigger decides on, and remembers X-GitHub-Delivery ids so a
// redelivery starts nothing twice, and the signed payloads of pushes and pull
// requests so that one replayed under a new id starts nothing either. It knows nothing of HTTP servers: the server
// hands it the headers and the body, and maps a refusal (*Error) to its status.
package webhook

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/trigger"
)

// MaxPayloadBytes is GitHub's cap on a webhook payload; larger ones are refused
// before being read whole.
const MaxPayloadBytes = 25 << 20

// Headers GitHub sends with every delivery.
const (
	HeaderSignature = "X-Hub-Signature-256"
	HeaderEvent     = "X-GitHub-Event"
	HeaderDelivery  = "X-GitHub-Delivery"
)

// deliveryID bounds what a delivery id may be (GitHub sends a GUID).
var deliveryID = regexp.MustCompile(`^[A-Za-z0-9-]{1,100}$`)

// Delivery is a verified, parsed delivery, claimed in the store: Finish it with
// what came of it, or Release it when acting on it failed so a redelivery can try
// again.
type Delivery struct {
	ID       string
	Event    string // X-GitHub-Event
	Received time.Time
	// SecretIndex is which of the receiver's secrets signed the delivery: a server
	// with several pipelines routes it only to those sharing that secret.
	SecretIndex int
	Ping        *Ping          // a ping event
	Trigger     *trigger.Event // a push or pull_request event
	// Ignored says why an event is accepted but acted upon by nobody (an event
	// type greenlight does not handle).
	Ignored string

	mac []byte // the verified HMAC of the payload: names the payload (claimPayload)
}

// Summary is one line saying what the delivery is.
func (d *Delivery) Summary() string {
	switch {
	case d.Trigger != nil:
		return describe(d.Trigger)
	case d.Ping != nil:
		return "ping: " + d.Ping.Zen
	}
	return d.Ignored
}

// Receiver turns requests into deliveries. Secrets lists the secrets deliveries
// may be signed with (called per delivery, so a rotated secret applies at once).
// Safe for concurrent use.
type Receiver struct {
	Secrets func(ctx context.Context) ([][]byte, error)
	Store   Store
	Now     func() time.Time // default time.Now
	// ClaimTimeout is how long an unfinished claim blocks a redelivery: a server
	// that crashed while acting on a delivery must not refuse its redelivery
	// forever. Default 10 minutes.
	ClaimTimeout time.Duration
}

// Receive verifies, parses and claims one delivery. Every refusal is an *Error
// (see Status); any other error is the store's or the secrets' (a 500).
func (r *Receiver) Receive(ctx context.Context, h http.Header, body io.Reader) (*Delivery, error) {
	isForm, err := contentType(h.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	raw, err := readBounded(body)
	if err != nil {
		return nil, err
	}
	d, err := r.verify(ctx, h, raw)
	if err != nil {
		return nil, err
	}
	payload, err := jsonPayload(raw, isForm)
	if err != nil {
		return nil, err
	}
	if err := d.parse(payload); err != nil {
		return nil, err
	}
	return d, r.claim(ctx, d)
}

// contentType accepts the two content types a GitHub webhook can be set to.
func contentType(v string) (isForm bool, err error) {
	mt, _, perr := mime.ParseMediaType(v)
	switch {
	case perr == nil && mt == "application/json":
		return false, nil
	case perr == nil && mt == "application/x-www-form-urlencoded":
		return true, nil
	}
	return false, refuse(CodeUnsupportedMediaType, "content type %q is not accepted (allowed: application/json, application/x-www-form-urlencoded)", v)
}

// readBounded reads the body, refusing it as soon as it exceeds the cap.
func readBounded(body io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(body, MaxPayloadBytes+1))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, refuse(CodeReadTimeout, "the payload did not arrive within the server's deadline (%d bytes received)", len(raw))
	}
	if err != nil {
		return nil, fmt.Errorf("read delivery: %w", err)
	}
	if len(raw) > MaxPayloadBytes {
		return nil, refuse(CodeTooLarge, "the payload is over %d MB, GitHub's cap", MaxPayloadBytes>>20)
	}
	return raw, nil
}

// verify checks the signature first: nothing about an unverified body is
// trusted, not even its headers' meaning.
func (r *Receiver) verify(ctx context.Context, h http.Header, raw []byte) (*Delivery, error) {
	secrets, err := r.Secrets(ctx)
	if err != nil {
		return nil, fmt.Errorf("webhook secrets: %w", err)
	}
	idx, err := Verify(h.Get(HeaderSignature), raw, secrets...)
	if err != nil {
		return nil, err
	}
	mac, _ := hex.DecodeString(strings.TrimPrefix(h.Get(HeaderSignature), signaturePrefix)) // Verify read it
	d := &Delivery{ID: h.Get(HeaderDelivery), Event: h.Get(HeaderEvent), Received: r.now(), SecretIndex: idx, mac: mac}
	switch {
	case d.Event == "":
		return nil, refuse(CodeMissingHeader, "no %s header: which event is this?", HeaderEvent)
	case !deliveryID.MatchString(d.ID):
		return nil, refuse(CodeMissingHeader, "%s is missing or not an id (letters, digits and -, at most 100)", HeaderDelivery)
	}
	return d, nil
}

// jsonPayload is the JSON document: the body, or its payload= form field.
func jsonPayload(raw []byte, isForm bool) ([]byte, error) {
	if !isForm {
		return raw, nil
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil || !form.Has("payload") {
		return nil, refuse(CodeMalformed, "a form-encoded delivery needs a payload= field holding the JSON")
	}
	return []byte(form.Get("payload")), nil
}

func (d *Delivery) parse(payload []byte) error {
	var err error
	switch d.Event {
	case "ping":
		d.Ping, err = parsePing(payload)
	case "push":
		d.Trigger, err = parsePush(payload)
	case "pull_request":
		d.Trigger, err = parsePullRequest(payload)
	default:
		d.Ignored = fmt.Sprintf("event %q is not one greenlight acts on (push, pull_request, ping)", d.Event)
	}
	if d.Trigger != nil {
		d.Trigger.Delivery = d.ID
	}
	return err
}

func (r *Receiver) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
