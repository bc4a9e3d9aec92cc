package main

import (
	"io"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/admin"
	"github.com/roster-dev/roster/internal/authlimit"
	"github.com/roster-dev/roster/internal/metrics"
	"github.com/roster-dev/roster/store"
)

// mountAdmin registers the admin API under /admin/v1/ (admin/), behind the
// operator credential ROSTER_ADMIN_TOKEN, the redemption of console links,
// GET /console/{tenant}/enter (admin/consolelinks.go), and, with metrics,
// GET /metrics behind the operator token alone (the admin API's check and
// failure budget: README "Metrics").
func mountAdmin(mux *http.ServeMux, d handlerDeps) {
	a := d.Admin
	if a == nil {
		a = newAdmin(d.Store, d.AdminToken, d.BaseURL, d.Now, d.Random, d.Logger, d.Sources, d.Metrics, d.WebhookAllowPrivate)
	}
	a.Register(mux)
	a.RegisterConsole(mux)
	if d.Metrics != nil {
		mux.Handle("GET /metrics", a.Operator(metrics.KindMetrics, d.Metrics.Handler()))
	}
}

func newAdmin(st store.Store, token, baseURL string, now func() time.Time, random io.Reader, log zerolog.Logger,
	sources authlimit.Sources, m *metrics.Metrics, webhookAllowPrivate bool) *admin.API {
	return admin.New(admin.Config{Store: st, AdminToken: token, Now: now, Rand: random, Logger: log, Sources: sources,
		BaseURL: baseURL, Metrics: m, WebhookAllowPrivate: webhookAllowPrivate})
}
