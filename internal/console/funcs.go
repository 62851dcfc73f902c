package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
)

// funcs are the helpers every template may call.
var funcs = template.FuncMap{
	"dur":      formatDuration,
	"span":     span,
	"when":     when,
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"short":    shortID,
	"subject":  subject,
	"status":   statusClass,
	"trigger":  triggerLabel,
	"pct":      func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
	"ms":       func(s float64) string { return fmt.Sprintf("%.0f ms", s*1000) },
	"region":   func(regions map[string]template.HTML, id string) template.HTML { return regions[id] },
	"hasRole":  func(u *user, role string) bool { return u != nil && string(u.Role) == role },
	"describe": describeRole,
	"release": func(pipeline, csrf string) map[string]string {
		return map[string]string{"Pipeline": pipeline, "CSRF": csrf}
	},
}

// formatDuration is a duration as people read it: 850ms, 12s, 3m 05s, 2h 10m.
func formatDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
}

// span is the time from start to end, or to now while it runs ("" when it
// did not start).
func span(start, end time.Time) string {
	switch {
	case start.IsZero():
		return ""
	case end.IsZero():
		return formatDuration(time.Since(start).Truncate(time.Second))
	}
	return formatDuration(end.Sub(start))
}

// when is a time as the console shows it: UTC, to the second.
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func shortID(id string) string {
	if len(id) > 8 && !strings.HasPrefix(id, "d-") {
		return id[:8]
	}
	return id
}

// subject is the first line of a commit message.
func subject(msg string) string {
	s, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	return s
}

// statusClass is the CSS class of a status: its name in lower case.
func statusClass(s any) string {
	name := strings.ToLower(fmt.Sprint(s))
	if name == "" {
		return "notstarted"
	}
	return strings.NewReplacer("_", "", " ", "").Replace(name)
}

// triggerLabel says what started an execution: a push (a webhook), a person
// (the CLI, the console), and whether a stage of it was retried.
func triggerLabel(t control.Trigger, retried bool) string {
	label := "manual"
	if t == control.TriggerWebhook {
		label = "push"
	}
	if retried {
		label += ", retry"
	}
	return label
}

// describeRole says what a role may do, for the page header.
func describeRole(role string) string {
	switch role {
	case "viewer":
		return "may look at everything but the audit log"
	case "approver":
		return "may approve and reject"
	case "operator":
		return "may approve, start, stop, retry, continue and roll back"
	case "admin":
		return "may do everything, and read the audit log"
	}
	return ""
}
