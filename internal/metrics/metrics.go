// Package metrics is Roster's Prometheus instrumentation: it owns every
// collector, on a registry of its own (never the process-wide default one,
// so that no library can add series behind our back and tests can build
// as many as they like), and gives the other packages small typed hooks to
// call. No other package imports Prometheus.
//
// Every hook is a method on *Metrics that does nothing on a nil receiver,
// so that a package built without metrics (tests, the CLI) pays nothing and
// needs no checks.
//
// Labels are bounded by construction: a route is the ServeMux pattern the
// request matched ("other" when none), never its path; methods, status
// classes, operations, IdP kinds, reasons and outcomes come from short
// fixed lists. No tenant, user, token or raw path ever becomes a label.
// README "Metrics" lists the series.
package metrics

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the registry and the collectors fed by hooks.
type Metrics struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	scimOps  *prometheus.CounterVec
	authFail *prometheus.CounterVec
	throttle *prometheus.CounterVec
	batches  *prometheus.HistogramVec
	collect  *prometheus.CounterVec
	webhooks *prometheus.CounterVec
	whTime   prometheus.Histogram
	actDrops prometheus.Counter

	// The series a request counts in, kept by their labels' sources so
	// that a request finds them with one lookup, makes no string and does
	// not validate and hash label values again (http.go). Both are bounded
	// as the labels are.
	reqSeries  sync.Map // reqKey → *reqSeries
	scimSeries sync.Map // scimKey → prometheus.Counter
}

// latencyBuckets cover a SCIM request answered from memory (well under a
// millisecond) to one held by a stuck database until the request deadline
// (40 s).
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 40}

// batchBuckets are powers of two up to the largest batch the PostgreSQL
// store forms (128 lookups; 64 creations).
var batchBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128}

// webhookBuckets cover a delivery from a fast receiver to one cut by a
// delivery timeout.
var webhookBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New makes the registry with the Go runtime and process collectors and
// every hook-fed series. Scrape-time sources (store statistics, the
// connection pool, seats, the outbox) are added with the Read* and
// OutboxDepth methods.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_http_requests_total",
			Help: "HTTP requests answered, by route template (the pattern the request matched, \"other\" for none), method and status class.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "roster_http_request_duration_seconds",
			Help:    "Time from the start of a request to the end of its answer, by route template.",
			Buckets: latencyBuckets,
		}, []string{"route"}),
		scimOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_scim_operations_total",
			Help: "SCIM requests that passed authentication and the gates, by resource, operation, IdP kind (from the request's User-Agent) and status class.",
		}, []string{"resource", "operation", "idp", "code"}),
		authFail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_auth_failures_total",
			Help: "Requests refused with 401 for their credential, by kind (scim, admin, metrics) and reason.",
		}, []string{"kind", "reason"}),
		throttle: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_throttled_requests_total",
			Help: "Requests refused with 429, by kind (scim, admin, metrics) and reason (failed_auth_budget, rate_limit).",
		}, []string{"kind", "reason"}),
		batches: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "roster_store_batch_size",
			Help:    "Requests a PostgreSQL batch answered together, by kind (create: user creations of one tenant; lookup: single-user reads).",
			Buckets: batchBuckets,
		}, []string{"kind"}),
		collect: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_metrics_collect_errors_total",
			Help: "Scrape-time sources that could not be read, by source; their series are left out of that scrape.",
		}, []string{"source"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_webhook_deliveries_total",
			Help: "Webhook delivery attempts, by outcome (delivered, failed, retry, disabled).",
		}, []string{"outcome"}),
		whTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "roster_webhook_delivery_duration_seconds",
			Help:    "Time a webhook delivery attempt took, until the receiver answered or the attempt failed.",
			Buckets: webhookBuckets,
		}),
		actDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_scim_activity_dropped_total",
			Help: "SCIM activity log entries dropped because the in-process buffer was full (the store slower than the requests).",
		}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.scimOps, m.authFail, m.throttle, m.batches, m.collect, m.webhooks, m.whTime, m.actDrops,
	)
	return m
}

// Handler serves the registry in the Prometheus text format (or
// OpenMetrics when asked). A source that fails is left out of the scrape
// and counted; the rest is still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}

// Gatherer is the registry, for tests that read values.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Kinds of caller a refusal is counted for.
const (
	KindSCIM    = "scim"
	KindAdmin   = "admin"
	KindMetrics = "metrics"
)

// Reasons of a 401 (AuthFailed) and of a 429 (Throttled).
const (
	ReasonMissing      = "missing"       // no credential, or another scheme
	ReasonMalformed    = "malformed"     // not the shape of any credential
	ReasonInvalid      = "invalid"       // unknown, wrong secret, another tenant's
	ReasonRevoked      = "revoked"       // a revoked SCIM token or API key
	ReasonSessionEnded = "session_ended" // an application session that ended
	ReasonFailedBudget = "failed_auth_budget"
	ReasonRateLimit    = "rate_limit" // the tenant's SCIM requests per second
)

// AuthFailed counts a request refused with 401; kind is one of the Kind
// constants and reason one of the Reason constants.
func (m *Metrics) AuthFailed(kind, reason string) {
	if m == nil {
		return
	}
	m.authFail.WithLabelValues(kind, reason).Inc()
}

// Throttled counts a request refused with 429.
func (m *Metrics) Throttled(kind, reason string) {
	if m == nil {
		return
	}
	m.throttle.WithLabelValues(kind, reason).Inc()
}

// Batch kinds of BatchSize.
const (
	BatchCreate = "create"
	BatchLookup = "lookup"
)

// BatchSize records the size of a batch the PostgreSQL store ran. It is the
// hook the store is given (postgres.Options.BatchSize): the store imports
// nothing of this package.
func (m *Metrics) BatchSize(kind string, n int) {
	if m == nil {
		return
	}
	m.batches.WithLabelValues(kind).Observe(float64(n))
}

// ActivityDropped counts a SCIM activity log entry dropped (the hook
// activitylog.Config.Dropped).
func (m *Metrics) ActivityDropped() {
	if m == nil {
		return
	}
	m.actDrops.Inc()
}

// Webhook delivery outcomes.
const (
	WebhookDelivered = "delivered" // the receiver answered 2xx
	WebhookFailed    = "failed"    // the attempt failed and no retry is left
	WebhookRetry     = "retry"     // the attempt failed; another is scheduled
	WebhookDisabled  = "disabled"  // the endpoint was disabled after repeated failures
)

// WebhookDelivery records one webhook delivery attempt: its outcome (one of
// the Webhook constants; anything else counts as "failed", so that the
// label stays bounded) and how long it took.
func (m *Metrics) WebhookDelivery(outcome string, took time.Duration) {
	if m == nil {
		return
	}
	switch outcome {
	case WebhookDelivered, WebhookFailed, WebhookRetry, WebhookDisabled:
	default:
		outcome = WebhookFailed
	}
	m.webhooks.WithLabelValues(outcome).Inc()
	m.whTime.Observe(took.Seconds())
}

// OutboxDepth registers the outbox gauges, read at scrape time from
// depth: the events not yet delivered and the age of the oldest of them
// (0 when there is none). An error leaves both out of that scrape. Call it
// once.
func (m *Metrics) OutboxDepth(depth func(ctx context.Context) (pending int, oldest time.Duration, err error)) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&outboxCollector{m: m, read: depth})
}

var (
	outboxDepthDesc = prometheus.NewDesc("roster_outbox_depth",
		"Events in the outbox not yet delivered.", nil, nil)
	outboxAgeDesc = prometheus.NewDesc("roster_outbox_oldest_age_seconds",
		"Age of the oldest event in the outbox not yet delivered; 0 when none.", nil, nil)
)

type outboxCollector struct {
	m    *Metrics
	read func(context.Context) (int, time.Duration, error)
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepthDesc
	ch <- outboxAgeDesc
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	n, age, err := c.read(ctx)
	if err != nil {
		c.m.collect.WithLabelValues("outbox").Inc()
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, max(age, 0).Seconds())
}

// scrapeTimeout bounds a scrape-time read of the store.
const scrapeTimeout = 2 * time.Second

// statusClass is "2xx", "3xx", "4xx" or "5xx" (1xx and nonsense: "other").
func statusClass(code int) string {
	switch {
	case code >= 200 && code < 300:
		return "2xx"
	case code >= 300 && code < 400:
		return "3xx"
	case code >= 400 && code < 500:
		return "4xx"
	case code >= 500 && code < 600:
		return "5xx"
	}
	return "other"
}

// method is the request method when it is a standard one, else "OTHER":
// a client can send any token as a method.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// route is the route template of a served request: the pattern of the
// ServeMux route it matched, prefixed with the method when the pattern has
// none ("GET /scim/v2/{tenant}/Users/{id}"), or "other" when it matched
// none (404, 405, a redirect).
func route(pattern, meth string) string {
	if pattern == "" {
		return "other"
	}
	if i := strings.IndexByte(pattern, ' '); i > 0 {
		return pattern // "GET /admin/v1/tenants/{id}"
	}
	return meth + " " + pattern
}
