package console

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
)

// Chart geometry, in the SVG's own units; the SVG scales to its box.
const (
	chartWidth   = 600
	chartHeight  = 150
	chartLeft    = 56               // room for the y labels
	chartBottom  = 20               // room for the x labels
	chartWindow  = 2 * time.Minute  // the longest span a chart shows
	chartMinimum = 30 * time.Second // the shortest
)

// chart is one SVG line chart: a metric of every target group over a span
// of time ending now.
type chart struct {
	ID, Title, Desc string
	Lines           []chartLine
	YMax            string // the y axis label at the top
	XStart, XEnd    string
	Width, Height   int
	PlotLeft        int
	PlotBottom      int
}

// chartLine is one target group's line.
type chartLine struct {
	Label  string // the target group and its role
	Class  string // original, replacement or other: its colour and dash
	Points string // "x,y x,y ..." in SVG units
	Latest string // the newest value, formatted
}

// metricOf picks one value of a point, and formats it.
type metricOf struct {
	id, title string
	value     func(control.MetricsPoint) float64
	format    func(float64) string
}

// chartMetrics are the charts of a deployment's page.
var chartMetrics = []metricOf{
	{"requests", "Requests per second", func(p control.MetricsPoint) float64 { return p.Requests },
		func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "/s" }},
	{"errors", "5xx rate", func(p control.MetricsPoint) float64 { return p.ErrorRate },
		func(v float64) string { return fmt.Sprintf("%.1f%%", v*100) }},
	{"p99", "p99 latency", func(p control.MetricsPoint) float64 { return p.P99 },
		func(v float64) string { return fmt.Sprintf("%.0f ms", v*1000) }},
}

// chartSpan is the time a deployment's charts show: from shortly before it
// started, at most chartWindow and at least chartMinimum back from end.
func chartSpan(created, end time.Time) time.Duration {
	return min(max(end.Sub(created)+10*time.Second, chartMinimum), chartWindow).Truncate(time.Second)
}

// charts draws each metric of groups over the span ending at end.
func charts(groups []control.TargetGroupMetrics, span time.Duration, end time.Time) []chart {
	out := make([]chart, 0, len(chartMetrics))
	for _, m := range chartMetrics {
		out = append(out, drawChart(m, groups, span, end))
	}
	return out
}

func drawChart(m metricOf, groups []control.TargetGroupMetrics, span time.Duration, end time.Time) chart {
	start := end.Add(-span)
	top := niceCeiling(maxValue(m, groups, start))
	c := chart{ID: "chart-" + m.id, Title: m.title, YMax: m.format(top),
		XStart: formatDuration(span) + " ago", XEnd: "now", Width: chartWidth, Height: chartHeight,
		PlotLeft: chartLeft, PlotBottom: chartHeight - chartBottom}
	var desc []string
	for _, g := range groups {
		line := chartLine{Label: groupLabel(g), Class: roleClass(g.Role)}
		var pts []string
		for _, p := range g.Points {
			if p.Time.Before(start) {
				continue
			}
			x := chartLeft + float64(chartWidth-chartLeft)*p.Time.Sub(start).Seconds()/span.Seconds()
			y := float64(c.PlotBottom) - float64(c.PlotBottom-4)*m.value(p)/top
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
			line.Latest = m.format(m.value(p))
		}
		line.Points = strings.Join(pts, " ")
		if line.Latest != "" {
			desc = append(desc, line.Label+": "+line.Latest)
		}
		c.Lines = append(c.Lines, line)
	}
	c.Desc = "Latest: " + strings.Join(desc, "; ")
	if len(desc) == 0 {
		c.Desc = "No traffic measured in the last " + formatDuration(span) + "."
	}
	return c
}

func maxValue(m metricOf, groups []control.TargetGroupMetrics, start time.Time) float64 {
	top := 0.0
	for _, g := range groups {
		for _, p := range g.Points {
			if !p.Time.Before(start) {
				top = math.Max(top, m.value(p))
			}
		}
	}
	return top
}

// niceCeiling rounds a chart's top up to 1, 2 or 5 times a power of ten, so
// that axis labels are round numbers; an empty chart gets 1.
func niceCeiling(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	pow := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{1, 2, 5, 10} {
		if v <= f*pow*(1+1e-9) {
			return f * pow
		}
	}
	return 10 * pow
}

func groupLabel(g control.TargetGroupMetrics) string {
	if g.Role == "" {
		return g.TargetGroup
	}
	return g.TargetGroup + " (" + g.Role + ")"
}

func roleClass(role string) string {
	switch role {
	case control.RoleOriginal, control.RoleReplacement:
		return role
	}
	return "other"
}
