package main

import (
	"net/http"

	"github.com/roster-dev/roster/scim"
)

// mountSCIM registers the SCIM API under /scim/v2/{tenant}/: scimauth's Guard
// (bearer token → tenant, plan and SSO gates, rate limit) in front of the
// scim handler.
func mountSCIM(mux *http.ServeMux, d handlerDeps) {
	guard := d.Guard // built by serve, which closes it (writing token last use) at shutdown
	h := scim.New(scim.Config{Store: d.Store, BaseURL: d.BaseURL, Now: d.Now, Logger: d.Logger})
	mux.Handle("/scim/v2/{tenant}/", guard.Wrap(h))
}
