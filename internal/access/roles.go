// Package access owns who may do what through `greenlight serve`: API tokens
// (created from crypto/rand, shown once, stored as SHA-256 hashes), the four roles
// and the permission of each control-surface verb, and the audit log of every
// mutating call. Its storage is behind Store (internal/store implements it); the
// server authenticates each request with Service.Authenticate, checks
// Service.Authorize and writes Service.Record.
package access

import (
	"fmt"
	"slices"
	"strings"
)

// Role is what a token may do; each role may do everything the ones below it may.
type Role string

// Roles, each allowed what the one before it is and more.
const (
	RoleViewer   Role = "viewer"   // reads everything but the audit log and tokens
	RoleApprover Role = "approver" // + approves or rejects manual approvals
	RoleOperator Role = "operator" // + starts, stops, retries executions; continues, stops, rolls back deployments
	RoleAdmin    Role = "admin"    // + manages tokens, reads the audit log
)

// Roles lists the roles from least to most privileged.
var Roles = []Role{RoleViewer, RoleApprover, RoleOperator, RoleAdmin}

// ParseRole accepts a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Roles, r) {
		return "", fmt.Errorf("unknown role %q (allowed: viewer, approver, operator, admin)", s)
	}
	return r, nil
}

func (r Role) rank() int { return slices.Index(Roles, r) }

// AtLeast reports whether r holds every permission of min.
func (r Role) AtLeast(min Role) bool { return r.rank() >= 0 && r.rank() >= min.rank() }

// Verb is one thing a person does through the control surface.
type Verb string

// Every verb of the control surface, with the role it needs (permissions).
const (
	VerbListPipelines    Verb = "pipelines.list"
	VerbListExecutions   Verb = "executions.list"
	VerbGetExecution     Verb = "executions.get"
	VerbReadLogs         Verb = "logs.read"
	VerbReadReports      Verb = "reports.read"
	VerbListDeployments  Verb = "deployments.list"
	VerbGetDeployment    Verb = "deployments.get"
	VerbReadAlarms       Verb = "alarms.read"
	VerbReadEvents       Verb = "events.read"
	VerbListDeliveries   Verb = "notifications.list"
	VerbApprove          Verb = "approvals.approve"
	VerbReject           Verb = "approvals.reject"
	VerbStartExecution   Verb = "executions.start"
	VerbStopExecution    Verb = "executions.stop"
	VerbRetryStage       Verb = "executions.retry"
	VerbResumeExecution  Verb = "executions.resume"
	VerbCreateDeployment Verb = "deployments.create"
	VerbContinueDeploy   Verb = "deployments.continue"
	VerbStopDeployment   Verb = "deployments.stop"
	VerbRollback         Verb = "deployments.rollback"
	VerbHookResult       Verb = "deployments.hook-result" // PutLifecycleEventHookExecutionStatus
	VerbCreateToken      Verb = "tokens.create"
	VerbListTokens       Verb = "tokens.list"
	VerbRevokeToken      Verb = "tokens.revoke"
	VerbReadAudit        Verb = "audit.read"
)

// permissions is the role each verb needs. Reads are the viewer's; approvals the
// approver's; what changes executions and traffic the operator's; tokens and the
// audit log the admin's.
var permissions = map[Verb]Role{
	VerbListPipelines: RoleViewer, VerbListExecutions: RoleViewer, VerbGetExecution: RoleViewer,
	VerbReadLogs: RoleViewer, VerbReadReports: RoleViewer, VerbListDeployments: RoleViewer,
	VerbGetDeployment: RoleViewer, VerbReadAlarms: RoleViewer, VerbReadEvents: RoleViewer,
	VerbListDeliveries: RoleViewer,
	VerbApprove:        RoleApprover, VerbReject: RoleApprover,
	VerbStartExecution: RoleOperator, VerbStopExecution: RoleOperator, VerbRetryStage: RoleOperator,
	VerbResumeExecution: RoleOperator, VerbCreateDeployment: RoleOperator, VerbContinueDeploy: RoleOperator,
	VerbStopDeployment: RoleOperator, VerbRollback: RoleOperator, VerbHookResult: RoleOperator,
	VerbCreateToken: RoleAdmin, VerbListTokens: RoleAdmin, VerbRevokeToken: RoleAdmin, VerbReadAudit: RoleAdmin,
}

// mutating lists the verbs that change state: each call is written to the audit
// log, whatever its result.
var mutating = []Verb{
	VerbApprove, VerbReject, VerbStartExecution, VerbStopExecution, VerbRetryStage, VerbResumeExecution,
	VerbCreateDeployment, VerbContinueDeploy, VerbStopDeployment, VerbRollback, VerbHookResult,
	VerbCreateToken, VerbRevokeToken,
}

// Verbs returns every verb, sorted.
func Verbs() []Verb {
	out := make([]Verb, 0, len(permissions))
	for v := range permissions {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// Required is the role a verb needs; unknown verbs need admin (deny by default).
func (v Verb) Required() Role {
	if r, ok := permissions[v]; ok {
		return r
	}
	return RoleAdmin
}

// Mutating reports whether the verb changes state (and is audited).
func (v Verb) Mutating() bool { return slices.Contains(mutating, v) }

// Allowed reports whether role may perform verb.
func Allowed(role Role, verb Verb) bool { return role.AtLeast(verb.Required()) }
