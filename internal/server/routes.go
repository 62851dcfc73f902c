package server

import (
	"net/http"
	"slices"

	"github.com/greenlight-ci/greenlight/internal/access"
)

// Route is one route of the API: what it answers, the verb its caller's role
// must allow (access.Verb.Required) and whether it is audited
// (access.Verb.Mutating). Every role check comes from this table.
type Route struct {
	Method  string
	Pattern string // net/http ServeMux pattern, without the method
	Verb    access.Verb
	Summary string // what it does, for docs/api.md

	handle func(s *Server, c *call) error
	target func(r *http.Request) string // the audit record's target, from the path (nil: none)
}

// Routes returns the route table, in the order docs/api.md lists it.
func Routes() []Route { return slices.Clone(routes) }

// The path prefix of the API.
const api = "/api/v1"

func pathValue(name string) func(r *http.Request) string {
	return func(r *http.Request) string { return r.PathValue(name) }
}

func joinPath(names ...string) func(r *http.Request) string {
	return func(r *http.Request) string {
		out := ""
		for i, n := range names {
			if i > 0 {
				out += "/"
			}
			out += r.PathValue(n)
		}
		return out
	}
}

var routes = []Route{
	{"GET", api + "/pipelines", access.VerbListPipelines, "the pipelines with their latest execution", listPipelines, nil},
	{"GET", api + "/executions", access.VerbListExecutions, "executions newest first (?pipeline=&limit=&page_token=)", listExecutions, nil},
	{"POST", api + "/executions", access.VerbStartExecution, "start an execution ({pipeline, revision, variables, trigger})", startExecution, nil},
	{"POST", api + "/executions/resume", access.VerbResumeExecution, "take over the executions whose driver is gone", resumeExecutions, nil},
	{"GET", api + "/executions/{id}", access.VerbGetExecution, "one execution with its stages, actions and approvals", getExecution, nil},
	{"POST", api + "/executions/{id}/stop", access.VerbStopExecution, "stop an execution ({abandon, reason})", stopExecution, pathValue("id")},
	{"POST", api + "/executions/{id}/retry", access.VerbRetryStage, "rerun a failed or stopped stage ({stage, all})", retryStage, pathValue("id")},
	{"POST", api + "/executions/{id}/approve", access.VerbApprove, "approve what the execution waits for ({stage, action, comment})", approve, pathValue("id")},
	{"POST", api + "/executions/{id}/reject", access.VerbReject, "reject what the execution waits for ({stage, action, comment})", reject, pathValue("id")},
	{"GET", api + "/executions/{id}/changes", access.VerbGetExecution, "the commits the execution's revision brings to production", changesSinceProduction, nil},
	{"GET", api + "/executions/{id}/stages/{stage}/actions/{action}/log", access.VerbReadLogs, "an action's log (?offset=&limit=; ?follow=1 streams text/plain)", readLog, nil},
	{"GET", api + "/executions/{id}/stages/{stage}/actions/{action}/reports", access.VerbReadReports, "an action's test and coverage reports", reports, nil},
	{"GET", api + "/deployments", access.VerbListDeployments, "deployments newest first (?service=&limit=)", listDeployments, nil},
	{"POST", api + "/deployments", access.VerbCreateDeployment, "create a blue-green deployment ({application, deployment_group, taskdef, appspec, revision_dir})", createDeployment, nil},
	{"GET", api + "/deployments/{id}", access.VerbGetDeployment, "one deployment with its lifecycle events", getDeployment, nil},
	{"GET", api + "/deployments/{id}/metrics", access.VerbGetDeployment, "a deployment's target groups and their traffic (?since=)", deploymentMetrics, nil},
	{"POST", api + "/deployments/{id}/continue", access.VerbContinueDeploy, "shift traffic now (ready option STOP_DEPLOYMENT) ({reason}); id \"active\": the only active one", commandDeployment, pathValue("id")},
	{"POST", api + "/deployments/{id}/stop", access.VerbStopDeployment, "stop a deployment ({reason}); id \"active\": the only active one", commandDeployment, pathValue("id")},
	{"POST", api + "/deployments/{id}/rollback", access.VerbRollback, "roll a deployment back ({reason}); id \"active\": the only active one", commandDeployment, pathValue("id")},
	{"PUT", api + "/deployments/{id}/lifecycle-events/{hookExecutionId}", access.VerbHookResult, "an asynchronous hook's result ({status: Succeeded|Failed})", putHookResult, joinPath("id", "hookExecutionId")},
	{"GET", api + "/alarms", access.VerbReadAlarms, "every alarm evaluated now", alarms, nil},
	{"GET", api + "/events", access.VerbReadEvents, "events in order (?after=&execution_id=&deployment_id=&kind=&limit=); Accept: text/event-stream streams them", events, nil},
	{"GET", api + "/notifications", access.VerbListDeliveries, "recent notification deliveries (?limit=)", deliveries, nil},
	{"GET", api + "/audit", access.VerbReadAudit, "audit records newest first (?who=&action=&result=&since=&before=&limit=)", audit, nil},
	{"GET", api + "/tokens", access.VerbListTokens, "every token (never the token itself)", listTokens, nil},
	{"POST", api + "/tokens", access.VerbCreateToken, "create a token ({name, role, expires_in}); the answer shows it once", createToken, nil},
	{"DELETE", api + "/tokens/{name}", access.VerbRevokeToken, "revoke a token", revokeToken, pathValue("name")},
	{"GET", "/metrics", access.VerbListPipelines, "Prometheus metrics", metrics, nil},
}
