package server

import (
	"net/http"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/control"
)

func listDeployments(s *Server, c *call) error {
	limit, err := queryLimit(c.r)
	if err != nil {
		return err
	}
	ds, err := s.opts.Backend.ListDeployments(c.r.Context(), control.DeploymentQuery{Service: c.r.URL.Query().Get("service"), Limit: limit})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, ds)
	return nil
}

func getDeployment(s *Server, c *call) error {
	d, err := s.opts.Backend.GetDeployment(c.r.Context(), c.r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, d)
	return nil
}

// DeploymentBody is the body of POST /api/v1/deployments: paths on the
// server's machine. Who is the token's name.
type DeploymentBody struct {
	Application string `json:"application,omitempty"`
	Group       string `json:"deployment_group,omitempty"`
	TaskDef     string `json:"taskdef"`
	AppSpec     string `json:"appspec"`
	RevisionDir string `json:"revision_dir,omitempty"`
}

func createDeployment(s *Server, c *call) error {
	var b DeploymentBody
	if err := decodeBody(c.w, c.r, &b); err != nil {
		return err
	}
	if b.Application != "" || b.Group != "" {
		c.target = b.Application + "/" + b.Group
	}
	d, err := s.opts.Backend.CreateDeployment(c.r.Context(), control.DeploymentRequest{Application: b.Application, Group: b.Group,
		TaskDef: b.TaskDef, AppSpec: b.AppSpec, RevisionDir: b.RevisionDir, Who: c.p.Name})
	if err != nil {
		return err
	}
	c.target = d.ID
	writeJSON(c.w, http.StatusCreated, d)
	return nil
}

// ActiveDeployment is the id that names the only active deployment in a
// command's path.
const ActiveDeployment = "active"

// CommandBody is the body of a deployment command.
type CommandBody struct {
	Reason string `json:"reason,omitempty"`
}

// commandDeployment continues, stops or rolls back a deployment: the command
// is the path's last segment, as the route's verb says.
func commandDeployment(s *Server, c *call) error {
	var b CommandBody
	if err := decodeBody(c.w, c.r, &b); err != nil {
		return err
	}
	c.note = b.Reason
	id := c.r.PathValue("id")
	if id == ActiveDeployment {
		id = ""
	}
	cmd := control.CommandName(c.r.URL.Path[strings.LastIndexByte(c.r.URL.Path, '/')+1:])
	d, err := s.opts.Backend.CommandDeployment(c.r.Context(), control.DeploymentCommand{DeploymentID: id, Command: cmd, Reason: b.Reason, Who: c.p.Name})
	if err != nil {
		return err
	}
	c.target = d.ID
	writeJSON(c.w, http.StatusOK, d)
	return nil
}

func deploymentMetrics(s *Server, c *call) error {
	since, err := queryTime(c.r, "since")
	if err != nil {
		return err
	}
	ms, err := s.opts.Backend.DeploymentMetrics(c.r.Context(), control.MetricsQuery{DeploymentID: c.r.PathValue("id"), Since: since})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, ms)
	return nil
}

// HookResultBody is the body of PUT .../lifecycle-events/{hookExecutionId}, as
// CodeDeploy's PutLifecycleEventHookExecutionStatus takes the status.
type HookResultBody struct {
	Status control.HookStatus `json:"status"`
}

func putHookResult(s *Server, c *call) error {
	var b HookResultBody
	if err := decodeBody(c.w, c.r, &b); err != nil {
		return err
	}
	if b.Status != control.HookSucceeded && b.Status != control.HookFailed {
		return badRequest("status %q: want %s or %s", b.Status, control.HookSucceeded, control.HookFailed)
	}
	c.note = string(b.Status)
	r := control.HookResult{DeploymentID: c.r.PathValue("id"), HookExecutionID: c.r.PathValue("hookExecutionId"), Status: b.Status}
	if err := s.opts.Backend.PutHookResult(c.r.Context(), r); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func alarms(s *Server, c *call) error {
	as, err := s.opts.Backend.Alarms(c.r.Context())
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, as)
	return nil
}
