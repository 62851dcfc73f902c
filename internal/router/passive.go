package router

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"
)

// Passive health, nginx's max_fails=1 fail_timeout: a target the router could
// not connect to (refused, unreachable, the dial timed out) is passed over by
// picks for a while, or until its next passing health check, whichever comes
// first; the request that found it so goes to another target of its group
// (nothing of it reached the first, so any method may go again). Picks check
// the mark with one atomic load of a deadline; when every target of a group is
// marked, they fail open, as for unhealthy targets.

// DefaultPassiveDownTime is how long a target that refused a connection is
// passed over: nginx's default fail_timeout.
const DefaultPassiveDownTime = 10 * time.Second

// connectFailed reports a dial error by which nothing was sent: the target
// refused the connection or could not be reached in time. The router's own
// shutdown (a cancelled dial) is not one.
func connectFailed(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.As(err, &ne) && ne.Timeout()
}

// passedOver reports whether picks pass t over at now (unix nanoseconds).
func (t *target) passedOver(now int64) bool { return now < t.downUntil.Load() }

// markDown passes t over for its passive down time from now, after a connect
// that failed with err; it counts the failure against t's group and logs when
// t was not passed over already.
func (t *target) markDown(now time.Time, err error) {
	t.group.connectErrors.Add(1)
	reason := failureReason(err)
	t.downReason.Store(&reason)
	until := now.Add(t.downFor).UnixNano()
	for {
		prev := t.downUntil.Load()
		if prev >= until {
			return // marked meanwhile by a later failure
		}
		if t.downUntil.CompareAndSwap(prev, until) {
			if prev <= now.UnixNano() {
				t.log.Warn("target passed over: connect failed", "for", t.downFor, "reason", reason)
			}
			return
		}
	}
}

// clearDown ends a mark made before a health check that started at start and
// passed: the target answers again.
func (t *target) clearDown(start time.Time) {
	until := t.downUntil.Load()
	if until == 0 || until-t.downFor.Nanoseconds() >= start.UnixNano() {
		return // no mark, or one made after the check began
	}
	if t.downUntil.CompareAndSwap(until, 0) && until > time.Now().UnixNano() {
		t.log.Info("target back in rotation: health check passed after a failed connect")
	}
}

// downStatus is t's health reason while it is passed over, or "".
func (t *target) downStatus(now time.Time) string {
	until := t.downUntil.Load()
	if !t.passedOver(now.UnixNano()) {
		return ""
	}
	reason := "connect failed"
	if r := t.downReason.Load(); r != nil {
		reason = *r
	}
	left := time.Duration(until - now.UnixNano()).Round(time.Second)
	return "passed over for " + left.String() + ": " + reason
}

// another picks a target of g other than those passed over, for a request
// whose target could not be connected to, and counts the request against it;
// nil when every target is passed over or none could be taken.
func (g *groupRoute) another(now time.Time) *target {
	at := now.UnixNano()
	for range maxPickAttempts {
		t := g.pick(at)
		if t == nil || t.passedOver(at) {
			return nil
		}
		if t.acquire() {
			return t
		}
	}
	return nil
}

// passOn handles a failed connect to t on the net/http path: t is passed over
// for a while, and a request without a body goes to another target of its
// group (rw.next); it reports whether one was found.
func (t *target) passOn(rw *respWriter, err error) bool {
	now := time.Now()
	t.markDown(now, err)
	if rw == nil || !rw.passOn || rw.route == nil || rw.tries >= maxPickAttempts {
		return false
	}
	if rw.next = rw.route.another(now); rw.next == nil {
		return false
	}
	t.log.Debug("request passed on to another target", "to", rw.next.spec.ID, "err", err)
	return true
}
