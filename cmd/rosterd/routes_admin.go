package main

import (
	"net/http"

	"github.com/roster-dev/roster/admin"
)

// mountAdmin registers the admin API under /admin/v1/ (admin/), behind the
// operator credential ROSTER_ADMIN_TOKEN.
func mountAdmin(mux *http.ServeMux, d handlerDeps) {
	admin.New(admin.Config{Store: d.Store, AdminToken: d.AdminToken, Now: d.Now, Rand: d.Random, Sources: d.Sources}).Register(mux)
}
