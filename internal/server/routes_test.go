package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/server"
)

// wantRoutes is the route table written out here rather than read from the
// package: a change of a route's verb (so of its role) must change this test.
// The value's second part names the control.Backend method the route serves.
var wantRoutes = map[string]struct {
	verb   access.Verb
	method string
}{
	"GET /api/v1/pipelines":                                               {access.VerbListPipelines, "ListPipelines"},
	"GET /api/v1/executions":                                              {access.VerbListExecutions, "ListExecutions"},
	"POST /api/v1/executions":                                             {access.VerbStartExecution, "StartExecution"},
	"POST /api/v1/executions/resume":                                      {access.VerbResumeExecution, "ResumeExecutions"},
	"GET /api/v1/executions/{id}":                                         {access.VerbGetExecution, "GetExecution"},
	"POST /api/v1/executions/{id}/stop":                                   {access.VerbStopExecution, "StopExecution"},
	"POST /api/v1/executions/{id}/retry":                                  {access.VerbRetryStage, "RetryStage"},
	"POST /api/v1/executions/{id}/approve":                                {access.VerbApprove, "Decide"},
	"POST /api/v1/executions/{id}/reject":                                 {access.VerbReject, "Decide"},
	"GET /api/v1/executions/{id}/changes":                                 {access.VerbGetExecution, "ChangesSinceProduction"},
	"GET /api/v1/executions/{id}/stages/{stage}/actions/{action}/log":     {access.VerbReadLogs, "ReadLog"},
	"GET /api/v1/executions/{id}/stages/{stage}/actions/{action}/reports": {access.VerbReadReports, "Reports"},
	"GET /api/v1/deployments":                                             {access.VerbListDeployments, "ListDeployments"},
	"POST /api/v1/deployments":                                            {access.VerbCreateDeployment, "CreateDeployment"},
	"GET /api/v1/deployments/{id}":                                        {access.VerbGetDeployment, "GetDeployment"},
	"GET /api/v1/deployments/{id}/metrics":                                {access.VerbGetDeployment, "DeploymentMetrics"},
	"POST /api/v1/deployments/{id}/continue":                              {access.VerbContinueDeploy, "CommandDeployment"},
	"POST /api/v1/deployments/{id}/stop":                                  {access.VerbStopDeployment, "CommandDeployment"},
	"POST /api/v1/deployments/{id}/rollback":                              {access.VerbRollback, "CommandDeployment"},
	"PUT /api/v1/deployments/{id}/lifecycle-events/{hookExecutionId}":     {access.VerbHookResult, "PutHookResult"},
	"GET /api/v1/alarms":                                                  {access.VerbReadAlarms, "Alarms"},
	"GET /api/v1/events":                                                  {access.VerbReadEvents, "Events"},
	"GET /api/v1/notifications":                                           {access.VerbListDeliveries, ""},
	"GET /api/v1/audit":                                                   {access.VerbReadAudit, ""},
	"GET /api/v1/tokens":                                                  {access.VerbListTokens, ""},
	"POST /api/v1/tokens":                                                 {access.VerbCreateToken, ""},
	"DELETE /api/v1/tokens/{name}":                                        {access.VerbRevokeToken, ""},
	"GET /metrics":                                                        {access.VerbListPipelines, ""},
}

func TestEveryBackendMethodHasARouteWithTheWrittenVerb(t *testing.T) {
	served := map[string]bool{}
	got := map[string]bool{}
	for _, rt := range server.Routes() {
		key := rt.Method + " " + rt.Pattern
		got[key] = true
		want, ok := wantRoutes[key]
		if !ok {
			t.Errorf("route %s is not in the test's table", key)
			continue
		}
		if rt.Verb != want.verb {
			t.Errorf("%s: verb %s, want %s", key, rt.Verb, want.verb)
		}
		served[want.method] = true
	}
	for key := range wantRoutes {
		if !got[key] {
			t.Errorf("route %s is missing", key)
		}
	}
	backend := reflect.TypeFor[control.Backend]()
	for i := range backend.NumMethod() {
		if m := backend.Method(i).Name; m != "Close" && !served[m] {
			t.Errorf("control.Backend.%s has no route", m)
		}
	}
}

// concrete fills a route pattern's wildcards.
func concrete(pattern string) string {
	return strings.NewReplacer("{id}", "00000000-0000-0000-0000-000000000000", "{stage}", "Build", "{action}", "Build",
		"{hookExecutionId}", "h-1", "{name}", "victim").Replace(pattern)
}

// bodyFor is a well-formed body for a mutating route.
func bodyFor(rt server.Route, n int) string {
	switch {
	case rt.Method == http.MethodGet:
		return ""
	case rt.Verb == access.VerbHookResult:
		return `{"status":"Succeeded"}`
	case rt.Verb == access.VerbCreateToken:
		return fmt.Sprintf(`{"name":"made-%d","role":"viewer"}`, n)
	case rt.Verb == access.VerbApprove || rt.Verb == access.VerbReject:
		return `{"comment":"looks good"}`
	}
	return "{}"
}

// TestRoleTable calls every route as every principal: no, revoked or expired
// token is 401 with WWW-Authenticate, a role below the verb's is 403, the
// rest reach the backend; every mutating call leaves exactly one audit record
// saying who, as what, and how it ended.
func TestRoleTable(t *testing.T) {
	h := newHarness(t, nil)
	n := 0
	for _, rt := range server.Routes() {
		for _, who := range principals {
			n++
			t.Run(rt.Method+" "+rt.Pattern+" as "+who, func(t *testing.T) {
				before := len(h.auditLog(t))
				resp, body := h.do(t, who, rt.Method, concrete(rt.Pattern), bodyFor(rt, n))
				result := checkStatus(t, who, rt, resp, body)
				recs := h.auditLog(t)
				if !rt.Verb.Mutating() {
					if len(recs) != before {
						t.Fatalf("a read wrote %d audit records", len(recs)-before)
					}
					return
				}
				if len(recs) != before+1 {
					t.Fatalf("%d audit records written, want 1", len(recs)-before)
				}
				checkRecord(t, who, rt, result, recs[0])
			})
		}
	}
}

// checkStatus checks the answer's status for the principal and returns the
// audit result it implies.
func checkStatus(t *testing.T, who string, rt server.Route, resp *http.Response, body string) access.Result {
	t.Helper()
	var e server.ErrorBody
	_ = json.Unmarshal([]byte(body), &e)
	switch {
	case who == "none" || who == "revoked" || who == "expired":
		if resp.StatusCode != http.StatusUnauthorized || e.Error.Code != "unauthorized" || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("status %d, WWW-Authenticate %q, body %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
		if who != "none" && !strings.Contains(e.Error.Message, who) {
			t.Errorf("message %q does not say the token was %s", e.Error.Message, who)
		}
		return access.ResultUnauthenticated
	case !access.Role(who).AtLeast(rt.Verb.Required()):
		if resp.StatusCode != http.StatusForbidden || e.Error.Code != "forbidden" || !strings.Contains(e.Error.Message, string(rt.Verb.Required())) {
			t.Fatalf("status %d, body %s; want 403 naming the role %s", resp.StatusCode, body, rt.Verb.Required())
		}
		return access.ResultForbidden
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented && resp.StatusCode != http.StatusServiceUnavailable:
		t.Fatalf("status %d for an allowed call: %s", resp.StatusCode, body)
	case resp.StatusCode >= 300:
		return access.ResultFailed
	}
	return access.ResultSucceeded
}

func checkRecord(t *testing.T, who string, rt server.Route, result access.Result, r access.AuditRecord) {
	t.Helper()
	wantWho := who
	if result == access.ResultUnauthenticated {
		wantWho = ""
	}
	if r.Who != wantWho || r.Action != rt.Verb || r.Result != result || r.RemoteAddr == "" || r.Message == "" && result != access.ResultSucceeded {
		t.Errorf("audit record %+v; want who %q action %s result %s", r, wantWho, rt.Verb, result)
	}
	if result != access.ResultUnauthenticated && (r.Role != access.Role(who) || r.TokenID == "") {
		t.Errorf("audit record %+v: want role %s and the token id", r, who)
	}
	if strings.Contains(r.Target, "{") {
		t.Errorf("audit target %q", r.Target)
	}
}
