package access

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Result is how a call ended, as the audit log records it.
type Result string

// Results of an audited call.
const (
	ResultSucceeded       Result = "succeeded"
	ResultFailed          Result = "failed"          // allowed, but the action failed or was refused (e.g. approving a finished execution)
	ResultForbidden       Result = "forbidden"       // the token's role does not allow it
	ResultUnauthenticated Result = "unauthenticated" // no, unknown, expired or revoked token
)

// AuditRecord is one audited call: who (the token's name), as which role, did
// what to what, from where, when, and how it ended.
type AuditRecord struct {
	Seq        int64     `json:"seq,omitempty"` // assigned by the store
	Time       time.Time `json:"time"`
	Who        string    `json:"who"` // token name; "" when unauthenticated
	TokenID    string    `json:"token_id,omitempty"`
	Role       Role      `json:"role,omitempty"`
	Action     Verb      `json:"action"`
	Target     string    `json:"target,omitempty"` // e.g. orders-service/4f1c.../Approval/ManualApproval
	RemoteAddr string    `json:"remote_addr,omitempty"`
	Result     Result    `json:"result"`
	Message    string    `json:"message,omitempty"` // why it failed, the comment of an approval; never repeats Result
}

// Note is the record's message without a leading "<result>: ", which the
// result beside it says already: records written before Record dropped it
// read "forbidden: forbidden: ..." otherwise.
func (r AuditRecord) Note() string {
	return strings.TrimPrefix(r.Message, string(r.Result)+": ")
}

// AuditQuery selects audit records, newest first; zero fields match everything.
type AuditQuery struct {
	Who       string
	Action    Verb
	Result    Result
	Since     time.Time
	BeforeSeq int64 // paging: records older than this one
	Limit     int   // default 100
}

// Record appends an audit record, timestamped now when r.Time is zero, its
// message without a leading "<result>: " (see Note).
func (s *Service) Record(ctx context.Context, r AuditRecord) error {
	if r.Time.IsZero() {
		r.Time = s.now().UTC()
	}
	// A refusal's error reads "forbidden: ..." or "unauthenticated: ...": the
	// result says that already.
	r.Message = r.Note()
	if err := s.Store.AppendAudit(ctx, r); err != nil {
		return fmt.Errorf("audit %s by %s: %w", r.Action, r.Who, err)
	}
	return nil
}

// Audit returns audit records, newest first.
func (s *Service) Audit(ctx context.Context, q AuditQuery) ([]AuditRecord, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	return s.Store.Audit(ctx, q)
}
