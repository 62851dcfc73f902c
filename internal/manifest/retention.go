package manifest

import (
	"strconv"
	"strings"
	"time"
)

// Retention says how long greenlight keeps what executions leave in the state
// directory. `greenlight gc` removes what is older; the build folders of a
// project are also pruned after each of its builds. Nothing an execution in
// progress or an active deployment still needs is ever removed.
type Retention struct {
	Builds         int      `json:"builds"`          // build folders kept per build project, newest first
	Artifacts      Duration `json:"artifacts"`       // artifacts of finished executions; 0: forever
	Logs           Duration `json:"logs"`            // action and deployment logs; 0: forever
	Events         Duration `json:"events"`          // rows of the event log; 0: forever
	Cache          Duration `json:"cache"`           // build caches not used for this long; 0: forever
	KeepExecutions int      `json:"keep_executions"` // the newest executions keep artifacts and logs whatever their age
	Pos            Pos      `json:"-"`
}

const day = 24 * time.Hour

// DefaultRetention applies to every setting the retention section leaves out.
var DefaultRetention = Retention{
	Builds:         10,
	Artifacts:      Duration(30 * day),
	Logs:           Duration(30 * day),
	Events:         Duration(90 * day),
	Cache:          Duration(30 * day),
	KeepExecutions: 10,
}

// OrDefault is the retention in force: r, or the defaults when there is no
// retention section.
func (r *Retention) OrDefault() Retention {
	if r == nil {
		return DefaultRetention
	}
	return *r
}

// KeepBuilds is how many build folders of a project stay.
func (r *Retention) KeepBuilds() int { return r.OrDefault().Builds }

func (d *decoder) retention(n *node) *Retention {
	r := DefaultRetention
	r.Pos = n.pos
	d.object(n, "retention", &r,
		opt("builds", func(v *node) { r.Builds, _ = d.intIn(v, "builds", 1, 100000) }),
		opt("artifacts", func(v *node) { r.Artifacts, _ = d.retentionPeriod(v, "artifacts") }),
		opt("logs", func(v *node) { r.Logs, _ = d.retentionPeriod(v, "logs") }),
		opt("events", func(v *node) { r.Events, _ = d.retentionPeriod(v, "events") }),
		opt("cache", func(v *node) { r.Cache, _ = d.retentionPeriod(v, "cache") }),
		opt("keep_executions", func(v *node) { r.KeepExecutions, _ = d.intIn(v, "keep_executions", 0, 100000) }),
	)
	return &r
}

// retentionPeriod decodes a retention period: days ("30d"), a duration of at
// least a minute ("12h", "90m"), or "forever" (0).
func (d *decoder) retentionPeriod(n *node, what string) (Duration, bool) {
	text := strings.TrimSpace(n.text)
	if n.kind != kindString {
		return d.durationIn(n, what, time.Minute, maxDuration)
	}
	if text == "forever" {
		return 0, true
	}
	if days, isDays := strings.CutSuffix(text, "d"); isDays {
		if k, err := strconv.Atoi(days); err == nil && k >= 1 && time.Duration(k)*day <= maxDuration {
			return Duration(time.Duration(k) * day), true
		}
	} else if _, err := time.ParseDuration(text); err == nil {
		return d.durationIn(n, what, time.Minute, maxDuration)
	}
	d.errorf(n.pos, "%sinvalid period %q (write days like 30d, a duration like 12h, or forever)", label(what), clip(n.text))
	return 0, false
}
