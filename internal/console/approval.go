package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// maxComment bounds an approval's comment (CodePipeline allows 512 characters).
const maxComment = 512

type approvalData struct {
	Ex        *control.Execution
	Stage     string
	Action    control.Action
	Changes   control.ChangeSet
	ChangeErr string // why the commits could not be listed
	CanDecide bool
	Roles     []access.Role // the roles that may decide
	Approvers []string      // active tokens that may decide (shown to admins)
}

// approvalPage shows what an approval asks and lets an approver decide.
func (c *Console) approvalPage(w http.ResponseWriter, r *http.Request) {
	if !c.allow(w, r, access.VerbGetExecution) {
		return
	}
	ref := actionRef(r)
	v, err := c.opts.Backend.GetExecution(r.Context(), ref.ExecutionID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	a := v.Action(ref.Stage, ref.Action)
	if a == nil || a.Category != manifest.CategoryApproval {
		c.fail(w, r, control.Errorf(control.CodeNotFound, "execution %s has no approval %s/%s", ref.ExecutionID, ref.Stage, ref.Action))
		return
	}
	u := userOf(r.Context())
	d := approvalData{Ex: v, Stage: ref.Stage, Action: *a, Roles: rolesAllowed(access.VerbApprove),
		CanDecide: may(u, access.VerbApprove) && a.Approval != nil && a.Approval.Status == control.ApprovalNeeded}
	if d.Changes, err = c.opts.Backend.ChangesSinceProduction(r.Context(), v.ID); err != nil {
		d.ChangeErr = err.Error()
	}
	if u.Role == access.RoleAdmin {
		d.Approvers = c.approvers(r.Context())
	}
	c.render(w, r, http.StatusOK, "approval", &page{Title: "Approval " + ref.Stage + "/" + ref.Action, Nav: "pipelines", Data: d})
}

// rolesAllowed lists the roles that may perform verb.
func rolesAllowed(verb access.Verb) []access.Role {
	return slices.DeleteFunc(slices.Clone(access.Roles), func(r access.Role) bool { return !access.Allowed(r, verb) })
}

// approvers names the active tokens whose role may approve.
func (c *Console) approvers(ctx context.Context) []string {
	tokens, err := c.opts.Access.Tokens(ctx)
	if err != nil {
		c.log.Warn("console: list tokens", "err", err)
		return nil
	}
	var names []string
	for _, t := range tokens {
		if t.Status(time.Now()) == access.TokenActive && access.Allowed(t.Role, access.VerbApprove) {
			names = append(names, t.Name+" ("+string(t.Role)+")")
		}
	}
	return names
}

// decide approves or rejects with a comment, as the token's name.
func (c *Console) decide(w http.ResponseWriter, r *http.Request) {
	ref := actionRef(r)
	_ = readForm(r)
	approve := r.PostForm.Get("decision") == "approve"
	verb, done := access.VerbReject, "Rejected"
	if approve {
		verb, done = access.VerbApprove, "Approved"
	}
	comment := strings.TrimSpace(r.PostForm.Get("comment"))
	a := action{verb: verb, target: ref.ExecutionID + "/" + ref.Stage + "/" + ref.Action, note: comment,
		refused: "Decision refused", back: "/executions/" + url.PathEscape(ref.ExecutionID)}
	switch {
	case r.PostForm.Get("decision") != "approve" && r.PostForm.Get("decision") != "reject":
		a.do = func(context.Context) error {
			return control.Errorf(control.CodeBadRequest, "decision must be approve or reject")
		}
	case len(comment) > maxComment:
		a.do = func(context.Context) error {
			return control.Errorf(control.CodeBadRequest, "the comment has %d characters; at most %d are kept", len(comment), maxComment)
		}
	default:
		a.do = func(ctx context.Context) error {
			return c.opts.Backend.Decide(ctx, control.Decision{ExecutionID: ref.ExecutionID, Stage: ref.Stage, Action: ref.Action,
				Approve: approve, Who: userOf(ctx).Name, Comment: comment})
		}
	}
	a.done = done + " by " + userOf(r.Context()).Name + quoteComment(comment) + "."
	c.act(w, r, a)
}

func quoteComment(comment string) string {
	if comment == "" {
		return ""
	}
	return `: "` + comment + `"`
}
