package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roster-dev/roster/licensing"
)

// StoreStats are the PostgreSQL store's counters of its in-memory answers
// (cmd/rosterd copies them from postgres.Store.Stats), read at scrape time.
type StoreStats struct {
	// AuthCacheHits and AuthCacheMisses count Store.Authenticate answered
	// from the cache and read from the database.
	AuthCacheHits, AuthCacheMisses uint64
	// Tokens and APIKeys count CheckToken and CheckAPIKey answers.
	Tokens, APIKeys CredentialChecks
}

// CredentialChecks count the answers of a credential check from memory:
// the hash matched, did not, or the store could not tell without a read.
type CredentialChecks struct{ Match, NoMatch, Unsure uint64 }

// ReadStoreStats registers the store's counters, read from stats at every
// scrape. Call it once.
func (m *Metrics) ReadStoreStats(stats func() StoreStats) {
	if m == nil {
		return
	}
	m.reg.MustRegister(storeCollector(stats))
}

var (
	authCacheDesc = prometheus.NewDesc("roster_auth_cache_requests_total",
		"SCIM authentications (Store.Authenticate) by result: hit (answered from the cache) or miss (read from the database).",
		[]string{"result"}, nil)
	credCheckDesc = prometheus.NewDesc("roster_credential_checks_total",
		"Credentials judged from the in-memory set, by credential (scim_token, api_key) and result (match, no_match, unsure: read from the database under the failure budget).",
		[]string{"credential", "result"}, nil)
)

type storeCollector func() StoreStats

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- authCacheDesc
	ch <- credCheckDesc
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(authCacheDesc, s.AuthCacheHits, "hit")
	counter(authCacheDesc, s.AuthCacheMisses, "miss")
	for _, cr := range []struct {
		name string
		c    CredentialChecks
	}{{"scim_token", s.Tokens}, {"api_key", s.APIKeys}} {
		counter(credCheckDesc, cr.c.Match, cr.name, "match")
		counter(credCheckDesc, cr.c.NoMatch, cr.name, "no_match")
		counter(credCheckDesc, cr.c.Unsure, cr.name, "unsure")
	}
}

// PoolStats are the database connection pool's figures (cmd/rosterd copies
// them from pgxpool.Stat), read at scrape time.
type PoolStats struct {
	Acquired, Idle, Total, Max int32
	// AcquireCount counts acquisitions; EmptyAcquireCount those that had to
	// wait for a connection (none was idle); CanceledAcquireCount those
	// whose context ended while waiting. AcquireDuration is their total time.
	AcquireCount, EmptyAcquireCount, CanceledAcquireCount int64
	AcquireDuration                                       time.Duration
}

// ReadPoolStats registers the connection pool's series, read from stats at
// every scrape. Call it once.
func (m *Metrics) ReadPoolStats(stats func() PoolStats) {
	if m == nil {
		return
	}
	m.reg.MustRegister(poolCollector(stats))
}

var poolDescs = struct {
	acquired, idle, total, max, acquires, empty, canceled, wait *prometheus.Desc
}{
	acquired: prometheus.NewDesc("roster_db_pool_acquired_connections", "Connections of the pool in use now.", nil, nil),
	idle:     prometheus.NewDesc("roster_db_pool_idle_connections", "Idle connections of the pool now.", nil, nil),
	total:    prometheus.NewDesc("roster_db_pool_connections", "Connections of the pool now (acquired, idle and being opened).", nil, nil),
	max:      prometheus.NewDesc("roster_db_pool_max_connections", "The pool's size limit.", nil, nil),
	acquires: prometheus.NewDesc("roster_db_pool_acquires_total", "Connections acquired from the pool.", nil, nil),
	empty: prometheus.NewDesc("roster_db_pool_empty_acquires_total",
		"Acquisitions that found no idle connection and waited for one: a pool too small for the load when it grows.", nil, nil),
	canceled: prometheus.NewDesc("roster_db_pool_canceled_acquires_total", "Acquisitions given up because the request's context ended while waiting.", nil, nil),
	wait:     prometheus.NewDesc("roster_db_pool_acquire_seconds_total", "Total time spent acquiring connections.", nil, nil),
}

type poolCollector func() PoolStats

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	d := poolDescs
	for _, x := range []*prometheus.Desc{d.acquired, d.idle, d.total, d.max, d.acquires, d.empty, d.canceled, d.wait} {
		ch <- x
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	s, d := c(), poolDescs
	gauge := func(desc *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v)
	}
	counter := func(desc *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v)
	}
	gauge(d.acquired, float64(s.Acquired))
	gauge(d.idle, float64(s.Idle))
	gauge(d.total, float64(s.Total))
	gauge(d.max, float64(s.Max))
	counter(d.acquires, float64(s.AcquireCount))
	counter(d.empty, float64(s.EmptyAcquireCount))
	counter(d.canceled, float64(s.CanceledAcquireCount))
	counter(d.wait, s.AcquireDuration.Seconds())
}

// PlanSeats are the seats held in the tenants of one plan.
type PlanSeats struct {
	Plan        string
	Full, Light int64
}

// SeatsCacheFor is how long ReadSeats keeps an answer: scrapes from several
// Prometheus servers within it cost one read.
const SeatsCacheFor = 5 * time.Second

// ReadSeats registers the seats gauge, read from seats (one aggregate over
// the tenants' seat counters on PostgreSQL) at most every SeatsCacheFor;
// now is the clock. Call it once.
func (m *Metrics) ReadSeats(seats func(context.Context) ([]PlanSeats, error), now func() time.Time) {
	if m == nil {
		return
	}
	if now == nil {
		now = time.Now
	}
	m.reg.MustRegister(&seatsCollector{m: m, read: seats, now: now})
}

var seatsDesc = prometheus.NewDesc("roster_seats",
	"Seats held now, by plan and seat class (full: paid and capped; light: read-only, priced apart), summed over the plan's tenants.",
	[]string{"plan", "class"}, nil)

type seatsCollector struct {
	m    *Metrics
	read func(context.Context) ([]PlanSeats, error)
	now  func() time.Time

	mu   sync.Mutex
	at   time.Time
	last []PlanSeats
}

func (c *seatsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- seatsDesc }

func (c *seatsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.last == nil || now.Sub(c.at) >= SeatsCacheFor || now.Before(c.at) {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		got, err := c.read(ctx)
		cancel()
		if err != nil {
			c.m.collect.WithLabelValues("seats").Inc()
			return
		}
		c.last, c.at = bounded(got), now
	}
	for _, p := range c.last {
		ch <- prometheus.MustNewConstMetric(seatsDesc, prometheus.GaugeValue, float64(p.Full), p.Plan, "full")
		ch <- prometheus.MustNewConstMetric(seatsDesc, prometheus.GaugeValue, float64(p.Light), p.Plan, "light")
	}
}

// bounded gives every plan of the price list a row (0 when no tenant has
// it, so that series do not come and go) and sums plans it does not know
// under "other", so that the label stays bounded whatever the store holds.
func bounded(in []PlanSeats) []PlanSeats {
	plans := licensing.Plans()
	out := make([]PlanSeats, 0, len(plans)+1)
	at := map[string]int{}
	for _, p := range plans {
		at[p.ID] = len(out)
		out = append(out, PlanSeats{Plan: p.ID})
	}
	for _, p := range in {
		i, ok := at[p.Plan]
		if !ok {
			i, ok = at["other"]
			if !ok {
				i = len(out)
				at["other"] = i
				out = append(out, PlanSeats{Plan: "other"})
			}
		}
		out[i].Full += p.Full
		out[i].Light += p.Light
	}
	return out
}
