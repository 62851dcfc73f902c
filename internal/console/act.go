package console

import (
	"context"
	"errors"
	"net/http"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
)

// errForbidden marks a verb the user's role does not allow.
var errForbidden = errors.New("forbidden")

// allow checks that the user may perform a read; it shows the refusal when not.
func (c *Console) allow(w http.ResponseWriter, r *http.Request, verb access.Verb) bool {
	if err := c.opts.Access.Authorize(userOf(r.Context()).Principal, verb); err != nil {
		c.refuse(w, r, http.StatusForbidden, "Not allowed", err.Error())
		return false
	}
	return true
}

// may reports whether the user's role allows verb (to show or hide a form).
func may(u *user, verb access.Verb) bool { return u != nil && access.Allowed(u.Role, verb) }

// action is one mutating call posted from a form.
type action struct {
	verb    access.Verb
	target  string                          // what it acts on, as the audit log names it
	note    string                          // recorded with a success: the comment of an approval
	back    string                          // the page to return to
	done    string                          // shown there after a success
	do      func(ctx context.Context) error // the call
	then    func() (back, done string)      // back and done known only after the call (nil: those above)
	refused string                          // the heading of a refusal
}

// act runs a posted action as the API runs a mutating call: the form must come
// from this console (CSRF), the role must allow the verb, and the call and its
// result, whatever it is, go to the audit log. A success returns to a.back
// with a.done shown; a refusal is shown with its reason and status.
func (c *Console) act(w http.ResponseWriter, r *http.Request, a action) {
	u := userOf(r.Context())
	heading := a.refused
	if heading == "" {
		heading = "Refused"
	}
	if err := c.checkForm(r, u.session.csrf); err != nil {
		c.audit(r, a, access.ResultForbidden, err.Error())
		c.refuse(w, r, http.StatusForbidden, heading, err.Error())
		return
	}
	if err := c.opts.Access.Authorize(u.Principal, a.verb); err != nil {
		c.audit(r, a, access.ResultForbidden, err.Error())
		c.refuse(w, r, http.StatusForbidden, heading, err.Error())
		return
	}
	if err := a.do(r.Context()); err != nil {
		c.audit(r, a, access.ResultFailed, err.Error())
		status, _ := statusOf(err)
		c.refuse(w, r, status, heading, refusalText(err))
		return
	}
	c.audit(r, a, access.ResultSucceeded, a.note)
	if a.then != nil {
		a.back, a.done = a.then()
	}
	c.sessions.setFlash(u.session, notice{Text: a.done})
	http.Redirect(w, r, a.back, http.StatusSeeOther)
}

// audit records one posted action; a failure to record is logged, as the
// action has already happened (or been refused).
func (c *Console) audit(r *http.Request, a action, result access.Result, message string) {
	u := userOf(r.Context())
	rec := access.AuditRecord{Who: u.Name, TokenID: u.TokenID, Role: u.Role, Action: a.verb, Target: a.target,
		RemoteAddr: r.RemoteAddr, Result: result, Message: message}
	if err := c.opts.Access.Record(context.WithoutCancel(r.Context()), rec); err != nil {
		c.log.Error("console audit record lost", "action", a.verb, "who", u.Name, "err", err)
	}
}

// refusalText says why the control surface refused, in words for people,
// followed by the backend's own message.
func refusalText(err error) string {
	if words, ok := reasonWords[control.ReasonOf(err)]; ok {
		return words + " (" + err.Error() + ")"
	}
	return err.Error()
}

// reasonWords explain each reason of a Conflict.
var reasonWords = map[string]string{
	control.ReasonSuperseded:     "A newer execution superseded this one: nothing waits for this decision any more.",
	control.ReasonFinished:       "The execution has ended.",
	control.ReasonAlreadyDecided: "Someone decided this approval already.",
	control.ReasonNotWaiting:     "Nothing waits for a decision there.",
	control.ReasonNotRetryable:   "Only a failed or stopped stage of a finished execution can be retried.",
	control.ReasonStageLocked:    "Another execution runs in that stage now.",
	control.ReasonOwnedElsewhere: "Another live process drives this execution.",
	control.ReasonServiceBusy:    "The service has another deployment in progress.",
	control.ReasonNotActive:      "The deployment is over: there is nothing to continue, stop or roll back.",
}
