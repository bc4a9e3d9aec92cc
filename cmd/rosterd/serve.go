package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/internal/activitylog"
	"github.com/roster-dev/roster/internal/authlimit"
	"github.com/roster-dev/roster/internal/metrics"
	"github.com/roster-dev/roster/lifecycle"
	"github.com/roster-dev/roster/scimauth"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
	"github.com/roster-dev/roster/webhooks"
)

// demoTenantID is the tenant seeded into the in-memory store.
const demoTenantID = "demo"

// serve runs the server until ctx is cancelled, then stops accepting, lets
// in-flight requests finish (up to the shutdown timeout) and closes the store.
func serve(ctx context.Context, sys *system, args []string) error {
	cfg, help, err := parseFlags("serve", args, sys)
	if help || err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log := newLogger(sys.stderr, cfg.LogLevel, sys.now)
	// The metrics' registry is this server's own (internal/metrics); the
	// store feeds it from the start (batch sizes, PostgreSQL counters).
	m := metrics.New()

	st, backend, err := openStore(ctx, cfg, sys, log, m)
	if err != nil {
		return err
	}
	if sys.wrapStore != nil {
		st = sys.wrapStore(st)
	}
	defer st.Close()
	// What events still wait: changes not yet numbered, deliveries not yet
	// made (docs/events.md), read at scrape time.
	m.OutboxDepth(func(ctx context.Context) (int, time.Duration, error) {
		o, err := st.OutboxStats(ctx)
		if err != nil || o.Oldest.IsZero() {
			return o.Unsequenced + o.Pending, 0, err
		}
		return o.Unsequenced + o.Pending, sys.now().Sub(o.Oldest), nil
	})
	tuneGC(sys.getenv, backend)
	m.ReadSeats(seatsByPlan(st), sys.now)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close() // closed by Shutdown already unless we fail before serving
	baseURL := cfg.baseURL(ln.Addr())

	adminToken := cfg.AdminToken
	if backend == "memory" {
		generated := adminToken == ""
		if generated {
			if adminToken, err = auth.NewAdminToken(sys.random); err != nil {
				return err
			}
		}
		token, err := seedDemo(ctx, st, sys.random)
		if err != nil {
			return fmt.Errorf("seed demo tenant: %w", err)
		}
		if err := seedDemoSAML(ctx, st, baseURL, sys.now()); err != nil {
			return fmt.Errorf("seed demo tenant SAML: %w", err)
		}
		if err := writeBanner(sys.stdout, baseURL, token, adminToken, generated); err != nil {
			return err
		}
	}

	// The guard is closed after the server has drained (defers run in
	// reverse), so that the last token uses are written before the store
	// closes.
	trusted, _ := authlimit.ParseTrustedProxies(cfg.TrustedProxies) // Validate has checked it
	sources := authlimit.NewSources(trusted)
	// The SCIM activity log (internal/activitylog) buffers what the guard
	// hands it and writes it in batches; closed after the guard, it writes
	// the last requests' entries before the store closes.
	activity := activitylog.New(activitylog.Config{Store: st, Logger: log, Dropped: m.ActivityDropped,
		FlushInterval: sys.activityFlush})
	defer activity.Close()
	guard := scimauth.New(scimauth.Config{Store: st, Now: sys.now, Logger: log, Sources: sources,
		FailedAuthPerSource: cfg.FailedAuthPerSource, FailedAuthGlobal: cfg.FailedAuthGlobal, Metrics: m, Activity: activity})
	defer guard.Close()

	// The access-expiry sweep (lifecycle) stops before the store closes.
	if cfg.SweepInterval > 0 {
		sweepCtx, stopSweep := context.WithCancel(context.WithoutCancel(ctx))
		swept := make(chan struct{})
		go func() {
			defer close(swept)
			(&lifecycle.Sweeper{Store: st, Now: sys.now, Interval: cfg.SweepInterval, Logger: log}).Run(sweepCtx)
		}()
		defer func() { stopSweep(); <-swept }()
	}

	// Background jobs (large CSV imports) run with contexts of their own;
	// at shutdown each records its progress and is handed back for the next
	// claim, before the store closes. Jobs left by a stopped or dead rosterd
	// are resumed from their recorded progress (admin/jobs.go).
	adminAPI := newAdmin(st, adminToken, baseURL, sys.now, sys.random, log, sources, m, cfg.WebhookAllowPrivate)
	jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		adminAPI.RunJobs(jobsCtx)
	}()
	defer func() { stopJobs(); <-jobsDone; adminAPI.Close() }()

	// Events and webhook deliveries (docs/events.md): every process may
	// deliver; they share the work through the store. Stopped before the
	// store closes; a delivery cut short is leased and goes out again.
	if cfg.WebhookDelivery {
		d := webhooks.New(webhooks.Config{Store: st, AllowPrivate: cfg.WebhookAllowPrivate, Timeout: cfg.WebhookTimeout,
			Now: sys.now, Logger: log, Observe: m.WebhookDelivery})
		delivCtx, stopDeliv := context.WithCancel(context.WithoutCancel(ctx))
		delivered := make(chan struct{})
		go func() {
			defer close(delivered)
			d.Run(delivCtx)
		}()
		defer func() { stopDeliv(); <-delivered }()
	}

	srv := newServer(newHandler(handlerDeps{
		Admin:      adminAPI,
		Store:      st,
		Logger:     log,
		Now:        sys.now,
		NewID:      sys.newID,
		Random:     sys.random,
		BaseURL:    baseURL,
		AdminToken: adminToken,
		Sources:    sources,
		Guard:      guard,
		DemoIdP:    backend == "memory",
		Routes:     sys.routes,
		Metrics:    m,

		WebhookAllowPrivate: cfg.WebhookAllowPrivate,
	}), log)
	srv.RegisterOnShutdown(func() { log.Info().Msg("draining in-flight requests") })

	// The open metrics listener (ROSTER_METRICS_ADDR) stops after the main
	// server has drained (defers run in reverse).
	if cfg.MetricsAddr != "" {
		stopMetrics, err := serveMetrics(cfg.MetricsAddr, m, sys, log)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info().Str("version", versionString()).Str("addr", ln.Addr().String()).
		Str("base_url", baseURL).Str("store", backend).Msg("listening")
	if backend == "postgres" && strings.HasPrefix(baseURL, "http://") {
		// A deployment (PostgreSQL) on a plain-http public URL: every SP
		// metadata it hands out names an http ACS, which real IdPs refuse.
		log.Warn().Str("base_url", baseURL).Msg("ROSTER_BASE_URL is plain http: identity providers refuse an http SAML ACS; " +
			"set ROSTER_BASE_URL to the https URL of the proxy in front of rosterd")
	}
	if _, err := fmt.Fprintf(sys.stdout, "listening on %s\n", ln.Addr()); err != nil {
		log.Warn().Err(err).Msg("write to stdout")
	}

	select {
	case err := <-served: // the listener failed; nothing else stops Serve early
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	log.Info().Stringer("timeout", cfg.ShutdownTimeout).Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		log.Error().Err(serr).Msg("serve")
	}
	if err != nil {
		_ = srv.Close() // drop what is still running
		return fmt.Errorf("shutdown: in-flight requests did not finish within %s: %w", cfg.ShutdownTimeout, err)
	}
	log.Info().Msg("stopped")
	return nil
}

// serveMetrics serves GET /metrics without a credential on its own listener
// (ROSTER_METRICS_ADDR), for a Prometheus on a private network, until the
// function it answers is called (at shutdown, after the main server).
func serveMetrics(addr string, m *metrics.Metrics, sys *system, log zerolog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics (ROSTER_METRICS_ADDR): %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := newServer(mux, log)
	served := make(chan struct{})
	go func() {
		defer close(served)
		// A failing metrics listener is logged, not fatal: SCIM goes on.
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("metrics listener stopped")
		}
	}()
	log.Info().Str("addr", ln.Addr().String()).Msg("serving metrics without a credential")
	if _, err := fmt.Fprintf(sys.stdout, "metrics on %s\n", ln.Addr()); err != nil {
		log.Warn().Err(err).Msg("write to stdout")
	}
	return func() { _ = srv.Close(); <-served }, nil
}

// seatsByPlan is the seats gauge's source: the store's sums by plan.
func seatsByPlan(st store.Store) func(context.Context) ([]metrics.PlanSeats, error) {
	return func(ctx context.Context) ([]metrics.PlanSeats, error) {
		got, err := st.SeatsByPlan(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]metrics.PlanSeats, len(got))
		for i, p := range got {
			out[i] = metrics.PlanSeats{Plan: p.Plan, Full: int64(p.Seats.Full), Light: int64(p.Seats.Light)}
		}
		return out, nil
	}
}

// openStore opens the store the configuration names: PostgreSQL (migrated
// first) when a database URL is set, else the in-memory store.
func openStore(ctx context.Context, cfg Config, sys *system, log zerolog.Logger, m *metrics.Metrics) (store.Store, string, error) {
	if cfg.DatabaseURL == "" {
		return memory.New(memory.Options{Now: sys.now, NewID: sys.newID}), "memory", nil
	}
	log.Info().Msg("migrating database")
	if err := sys.migrate(ctx, cfg.DatabaseURL); err != nil {
		return nil, "", fmt.Errorf("migrate database: %w", err)
	}
	st, err := sys.openPostgres(ctx, cfg.DatabaseURL, cfg.DatabaseListenURL, sys.now, sys.newID, log, m)
	if err != nil {
		return nil, "", fmt.Errorf("open database: %w", err)
	}
	return st, "postgres", nil
}

// seedDemo creates the demo tenant and a SCIM token for it, and returns the
// token's plaintext (its only appearance: the store keeps the hash).
//
// The demo tenant is on the Ultimate plan, the one that includes SCIM; the
// second SCIM gate, validated SAML IdP metadata, is met by seedDemoSAML
// (demo_saml.go) with the bundled test IdP.
func seedDemo(ctx context.Context, st store.Store, random io.Reader) (string, error) {
	_, err := st.CreateTenant(ctx, store.Tenant{
		ID: demoTenantID, Name: "Demo", Plan: "ultimate", Seats: 20, Settings: store.DefaultSettings(),
	}, store.ActorSystem)
	if err != nil {
		return "", err
	}
	plain, id, hash, err := auth.New(random)
	if err != nil {
		return "", err
	}
	if _, err := st.CreateToken(ctx, demoTenantID, store.Token{ID: id, Name: "demo", Hash: hash}, store.ActorSystem); err != nil {
		return "", err
	}
	return plain, nil
}

// writeBanner tells a newcomer how to reach the demo tenant. It goes to
// stdout, never to the log: it carries secrets on purpose.
func writeBanner(w io.Writer, baseURL, scimToken, adminToken string, adminGenerated bool) error {
	scimURL := baseURL + "/scim/v2/" + demoTenantID + "/"
	admin := "(from ROSTER_ADMIN_TOKEN)"
	if adminGenerated {
		admin = adminToken + "  (generated for this run; set ROSTER_ADMIN_TOKEN to choose one)"
	}
	_, err := fmt.Fprintf(w, `
Roster is running on the in-memory store: its data lasts as long as this process.
Demo tenant %q (Ultimate plan, 20 seats, SAML SSO from the bundled test IdP):

  SCIM base URL:  %s
  SCIM token:     %s
  Admin token:    %s

Try it:

  curl -H "Authorization: Bearer %s" %sUsers

`, demoTenantID, scimURL, scimToken, admin, scimToken, scimURL)
	return err
}

// gcPercent is the collector's target by store (GOGC in the environment
// wins). On PostgreSQL the live heap is small and bounded (nothing per user
// is cached), so collecting at 5× it instead of Go's 2× saves most of the
// collector's CPU on the SCIM hot paths for a few tens of MB (BENCHMARKS.md).
// The in-memory store keeps every record on the heap, which the collector
// marks again each cycle: 3× is a middle way between its CPU and the memory.
var gcPercent = map[string]int{"postgres": 400, "memory": 200}

func tuneGC(getenv func(string) string, backend string) {
	if p, ok := gcPercent[backend]; ok && getenv("GOGC") == "" {
		debug.SetGCPercent(p)
	}
}
