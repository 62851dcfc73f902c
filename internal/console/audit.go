package console

import (
	"net/http"
	"strconv"

	"github.com/greenlight-ci/greenlight/internal/access"
)

// auditPageSize is how many records the audit page shows at once.
const auditPageSize = 100

type auditData struct {
	Query   access.AuditQuery
	Records []access.AuditRecord
	Verbs   []access.Verb
	Next    int64 // BeforeSeq of the next page (0: none)
}

// auditPage shows who did what (admin only, as `GET /api/v1/audit`).
func (c *Console) auditPage(w http.ResponseWriter, r *http.Request) {
	if !c.allow(w, r, access.VerbReadAudit) {
		return
	}
	q := access.AuditQuery{Who: r.URL.Query().Get("who"), Action: access.Verb(r.URL.Query().Get("action")), Limit: auditPageSize}
	if b := r.URL.Query().Get("before"); b != "" {
		seq, err := strconv.ParseInt(b, 10, 64)
		if err != nil || seq <= 0 {
			c.refuse(w, r, http.StatusBadRequest, "Bad request", "before must be the sequence number of an audit record")
			return
		}
		q.BeforeSeq = seq
	}
	recs, err := c.opts.Access.Audit(r.Context(), q)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d := auditData{Query: q, Records: recs, Verbs: access.Verbs()}
	if len(recs) == auditPageSize {
		d.Next = recs[len(recs)-1].Seq
	}
	c.render(w, r, http.StatusOK, "audit", &page{Title: "Audit log", Nav: "audit", Data: d})
}
