// Package notifyhttp is the HTTP side of notifications: it POSTs what
// internal/notify built to Slack and webhook endpoints and reports their answer.
package notifyhttp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/greenlight-ci/greenlight/internal/notify"
)

// Poster implements notify.Poster with its own client: no proxy surprises from
// the environment's defaults, no redirects followed (a webhook that redirects is
// misconfigured, and following would resend the body elsewhere), bounded dials.
type Poster struct{ client *http.Client }

// New returns a Poster; the caller's context bounds each request.
func New() *Poster {
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &Poster{client: &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

var _ notify.Poster = (*Poster)(nil)

// Post sends body to url with header and returns the answer.
func (p *Poster) Post(ctx context.Context, url string, body []byte, header map[string]string) (notify.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return notify.Response{}, fmt.Errorf("notification request: %w", err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	req.Header.Set("User-Agent", "greenlight-notify")
	resp, err := p.client.Do(req)
	if err != nil {
		return notify.Response{}, err
	}
	defer resp.Body.Close()
	start, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused; a failed drain only costs it
	return notify.Response{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After")), Body: string(start)}, nil
}

// retryAfter reads Retry-After in seconds (Slack's form); dates count as none.
func retryAfter(v string) time.Duration {
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}
