package serve

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/greenlight-ci/greenlight/internal/notify"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// MetricsSource is what the metrics read from the state file at scrape time.
type MetricsSource interface {
	ExecutionCounts(ctx context.Context) ([]store.ExecutionCount, error)
	RunDurations(ctx context.Context) ([]store.RunDuration, error)
}

// Metrics is the server's Prometheus registry (its own, not the global one):
// executions by pipeline and status, stage and action durations and the
// notification queue are read from the state file at each scrape, so they count
// what every process recorded; webhook deliveries are counted as this server
// answers them (refused ones are recorded nowhere else).
type Metrics struct {
	registry *prometheus.Registry
	webhooks *prometheus.CounterVec
}

// durationBuckets span a second-long action to an hour-long stage.
var durationBuckets = []float64{1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}

// NewMetrics registers the server's metrics.
func NewMetrics(src MetricsSource, queue notify.Store, log *slog.Logger) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "greenlight_webhook_deliveries_total",
			Help: "GitHub webhook deliveries answered, by outcome (started, ignored, ping, failed, refused_<code>, error).",
		}, []string{"outcome"}),
	}
	m.registry.MustRegister(m.webhooks, &stateCollector{src: src, queue: queue, log: log})
	return m
}

// Handler serves the Prometheus text exposition.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

func (m *Metrics) webhook(outcome string) {
	if m != nil {
		m.webhooks.WithLabelValues(outcome).Inc()
	}
}

var (
	descExecutions = prometheus.NewDesc("greenlight_pipeline_executions",
		"Executions recorded, by pipeline and status.", []string{"pipeline", "status"}, nil)
	descStage = prometheus.NewDesc("greenlight_stage_duration_seconds",
		"Duration of ended stage runs, by pipeline, stage and status.", []string{"pipeline", "stage", "status"}, nil)
	descAction = prometheus.NewDesc("greenlight_action_duration_seconds",
		"Duration of ended action attempts, by pipeline, stage, action and status.", []string{"pipeline", "stage", "action", "status"}, nil)
	descNotifications = prometheus.NewDesc("greenlight_notification_deliveries",
		"Notification deliveries, by status (succeeded, failed, pending).", []string{"status"}, nil)
	descQueue = prometheus.NewDesc("greenlight_notification_queue_depth",
		"Notification deliveries waiting to be sent.", nil, nil)
)

// stateCollector reads the state file at scrape time.
type stateCollector struct {
	src   MetricsSource
	queue notify.Store
	log   *slog.Logger
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descExecutions, descStage, descAction, descNotifications, descQueue} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if counts, err := c.src.ExecutionCounts(ctx); err != nil {
		c.fail(ch, descExecutions, err)
	} else {
		for _, n := range counts {
			ch <- prometheus.MustNewConstMetric(descExecutions, prometheus.GaugeValue, float64(n.Count), n.Pipeline, n.Status)
		}
	}
	if runs, err := c.src.RunDurations(ctx); err != nil {
		c.fail(ch, descStage, err)
	} else {
		collectDurations(ch, runs)
	}
	c.collectQueue(ctx, ch)
}

func (c *stateCollector) collectQueue(ctx context.Context, ch chan<- prometheus.Metric) {
	counts, err := c.queue.DeliveryCounts(ctx)
	if err != nil {
		c.fail(ch, descNotifications, err)
		return
	}
	for _, st := range []notify.Status{notify.StatusSucceeded, notify.StatusFailed, notify.StatusPending} {
		ch <- prometheus.MustNewConstMetric(descNotifications, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(counts[notify.StatusPending]))
}

// fail reports a scrape error (the scrape answers 500 with it) and logs it.
func (c *stateCollector) fail(ch chan<- prometheus.Metric, d *prometheus.Desc, err error) {
	c.log.Error("metrics: read state", "err", err)
	ch <- prometheus.NewInvalidMetric(d, err)
}

// histogram accumulates one series' observations.
type histogram struct {
	labels  []string
	count   uint64
	sum     float64
	buckets map[float64]uint64
}

func (h *histogram) observe(v float64) {
	h.count++
	h.sum += v
	for _, b := range durationBuckets {
		if v <= b {
			h.buckets[b]++
		}
	}
}

func collectDurations(ch chan<- prometheus.Metric, runs []store.RunDuration) {
	series := map[string]*histogram{}
	var order []string
	for _, r := range runs {
		labels := []string{r.Pipeline, r.Stage, r.Status}
		if r.Action != "" {
			labels = []string{r.Pipeline, r.Stage, r.Action, r.Status}
		}
		key := fmtKey(labels)
		h, ok := series[key]
		if !ok {
			h = &histogram{labels: labels, buckets: map[float64]uint64{}}
			series[key] = h
			order = append(order, key)
		}
		h.observe(max(r.Duration, 0).Seconds())
	}
	for _, key := range order {
		h := series[key]
		d := descStage
		if len(h.labels) == 4 {
			d = descAction
		}
		ch <- prometheus.MustNewConstHistogram(d, h.count, h.sum, h.buckets, h.labels...)
	}
}

func fmtKey(labels []string) string {
	key := ""
	for _, l := range labels {
		key += l + "\x00"
	}
	return key
}
