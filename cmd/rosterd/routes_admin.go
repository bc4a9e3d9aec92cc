package main

import (
	"io"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/admin"
	"github.com/roster-dev/roster/internal/authlimit"
	"github.com/roster-dev/roster/store"
)

// mountAdmin registers the admin API under /admin/v1/ (admin/), behind the
// operator credential ROSTER_ADMIN_TOKEN, and the redemption of console
// links, GET /console/{tenant}/enter (admin/consolelinks.go).
func mountAdmin(mux *http.ServeMux, d handlerDeps) {
	a := d.Admin
	if a == nil {
		a = newAdmin(d.Store, d.AdminToken, d.BaseURL, d.Now, d.Random, d.Logger, d.Sources, d.WebhookAllowPrivate)
	}
	a.Register(mux)
	a.RegisterConsole(mux)
}

func newAdmin(st store.Store, token, baseURL string, now func() time.Time, random io.Reader, log zerolog.Logger,
	sources authlimit.Sources, webhookAllowPrivate bool) *admin.API {
	return admin.New(admin.Config{Store: st, AdminToken: token, Now: now, Rand: random, Logger: log, Sources: sources,
		BaseURL: baseURL, WebhookAllowPrivate: webhookAllowPrivate})
}
