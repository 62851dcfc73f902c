package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// healthConfig is a service's health check, parsed. Health loops load it at every
// check, so a new spec's settings apply from the next check on.
type healthConfig struct {
	HealthCheck
	matcher Matcher
}

func newHealthConfig(hc HealthCheck) (*healthConfig, error) {
	m, err := ParseMatcher(hc.Matcher)
	if err != nil {
		return nil, err
	}
	return &healthConfig{HealthCheck: hc, matcher: m}, nil
}

// checkResult is the outcome of one health check.
type checkResult struct {
	ok     bool
	reason string    // why it failed: "connection refused", "status 500", "timeout"
	start  time.Time // when the check began; zero for a state carried over
}

// healthChecker performs ALB-style health checks: a GET of the path on a fresh
// connection, success when the status matches, redirects not followed.
type healthChecker struct {
	client *http.Client
}

func newHealthChecker() *healthChecker {
	return &healthChecker{client: &http.Client{
		Transport: &http.Transport{
			Proxy:             nil,
			DisableKeepAlives: true,
			DialContext:       (&net.Dialer{}).DialContext,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (hc *healthChecker) check(ctx context.Context, address string, cfg *healthConfig) checkResult {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout.D())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+address+cfg.Path, nil)
	if err != nil {
		return checkResult{reason: fmt.Sprintf("bad request: %v", err)}
	}
	req.Header.Set("User-Agent", "greenlight-HealthChecker/1.0")
	resp, err := hc.client.Do(req)
	if err != nil {
		return checkResult{reason: failureReason(err)}
	}
	defer resp.Body.Close()
	// Drain a bounded amount: the body does not matter, only a clean close.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if !cfg.matcher.Match(resp.StatusCode) {
		return checkResult{reason: fmt.Sprintf("status %d", resp.StatusCode)}
	}
	return checkResult{ok: true}
}

func failureReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset"
	default:
		return err.Error()
	}
}

// runHealth checks t every interval until ctx ends; the first check runs at once
// unless t's state was seeded by a check made before (Restore).
func (s *service) runHealth(ctx context.Context, t *target, checkNow bool) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	if !checkNow {
		timer.Reset(s.health.Load().Interval.D())
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		cfg := s.health.Load()
		start := time.Now()
		res := s.checker.check(ctx, t.spec.Address, cfg)
		res.start = start
		if ctx.Err() != nil {
			return
		}
		s.reportHealth(t, res, cfg)
		timer.Reset(cfg.Interval.D())
	}
}

// reportHealth applies one check result to t's state: HealthyThreshold successes
// in a row make it healthy, UnhealthyThreshold failures in a row unhealthy.
func (s *service) reportHealth(t *target, res checkResult, cfg *healthConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.targets[t.key()] != t {
		return // drained and forgotten meanwhile
	}
	prev := t.health
	applyCheck(t, res, cfg.HealthyThreshold, cfg.UnhealthyThreshold)
	if t.health == prev {
		return
	}
	t.log.Info("target health changed", "from", prev, "to", t.health, "reason", t.reason)
	if !t.removed.Load() {
		s.publish()
	}
}

func applyCheck(t *target, res checkResult, healthyThreshold, unhealthyThreshold int) {
	if res.ok {
		t.clearDown(res.start)
		t.successes++
		t.failures = 0
		t.reason = ""
		if t.successes >= healthyThreshold {
			t.health = TargetHealthy
		}
		return
	}
	t.failures++
	t.successes = 0
	t.reason = res.reason
	if t.failures >= unhealthyThreshold {
		t.health = TargetUnhealthy
	}
}
