package main

import (
	"context"
	"io"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/admin"
	"github.com/roster-dev/roster/internal/authlimit"
	"github.com/roster-dev/roster/internal/httpjson"
	"github.com/roster-dev/roster/internal/metrics"
	"github.com/roster-dev/roster/scimauth"
	"github.com/roster-dev/roster/store"
)

// Server timeouts. WriteTimeout bounds a whole response, so it is longer than
// ReadTimeout; IdleTimeout lets IdP clients keep connections between pushes.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 45 * time.Second
	idleTimeout       = 120 * time.Second
	requestTimeout    = 40 * time.Second // each request's context: under writeTimeout, so the 503 still gets out
	maxHeaderBytes    = 64 << 10

	pingTimeout = 2 * time.Second // readiness: how long the store may take to answer
)

// handlerDeps is what the HTTP layer is built from. Transports join it as they
// arrive, each from its own package: the SCIM API under /scim/v2/{tenant}/
// (scim/), the admin API under /admin/v1/ (admin/), SAML under /saml/{tenant}/
// (saml/). The SCIM gates (plan, SAML prerequisite) are scimauth's Guard.
type handlerDeps struct {
	Store  store.Store
	Logger zerolog.Logger
	Now    func() time.Time
	NewID  func() string // request ids
	Random io.Reader     // token secrets (crypto/rand.Reader in production)

	BaseURL    string // public URL, no trailing slash: meta.location, SAML metadata
	AdminToken string // operator credential of the admin API
	// Sources says which client address a request comes from, for the
	// failed-authentication limits (ROSTER_TRUSTED_PROXIES).
	Sources authlimit.Sources

	// Guard authenticates SCIM requests and applies the plan and SSO gates
	// (scimauth). serve builds it and closes it at shutdown, after the
	// server has drained, so that token last-use times are written.
	Guard *scimauth.Guard

	// Admin is the admin API, built and closed by serve so that its
	// background jobs stop before the store closes; nil: built here.
	Admin *admin.API

	// WebhookAllowPrivate lets webhook URLs be http and private
	// (ROSTER_WEBHOOK_ALLOW_PRIVATE).
	WebhookAllowPrivate bool

	// DemoIdP serves the demo tenant's bundled test IdP under
	// /saml/demo/dev-idp/ (demo_idp.go): in-memory store only.
	DemoIdP bool

	// Routes, when set, registers further routes (tests: a slow handler).
	Routes func(*http.ServeMux)

	// Metrics, when set, counts every request (middleware.go) and is served
	// at GET /metrics to the operator token (routes_admin.go); nil: no
	// metrics (tests, and the figures without them in BENCHMARKS.md).
	Metrics *metrics.Metrics
}

// newHandler is rosterd's whole HTTP surface behind the request-id, access-log
// and panic-recovery middleware.
func newHandler(d handlerDeps) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", readyz(d.Store))
	mountAdmin(mux, d)   // routes_admin.go: /admin/v1/
	mountSCIM(mux, d)    // routes_scim.go: /scim/v2/{tenant}/
	mountSAML(mux, d)    // routes_saml.go: /saml/{tenant}/
	mountApp(mux, d)     // routes_app.go: /api/v1/
	mountConsole(mux, d) // routes_console.go: /console/{tenant}/
	if d.Routes != nil {
		d.Routes(mux)
	}
	return observe(d.Logger, d.Now, d.NewID, d.Metrics, mux)
}

// healthz answers while the process runs: liveness.
func healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the store answers a ping in time, else 503:
// readiness, so that a load balancer stops sending traffic during an outage.
func readyz(st store.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), pingTimeout)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			setCause(r, err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) { httpjson.Write(w, status, v) }

// newServer is the http.Server with rosterd's limits. Request contexts do not
// derive from run's context, so a shutdown lets in-flight requests finish.
func newServer(h http.Handler, logger zerolog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.New(serverLog{logger}, "", 0),
	}
}

// serverLog carries net/http's own complaints (TLS handshakes, broken
// connections, superfluous WriteHeader) into the JSON log at warn.
type serverLog struct{ l zerolog.Logger }

func (s serverLog) Write(p []byte) (int, error) {
	s.l.Warn().Str("component", "http.Server").Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}
