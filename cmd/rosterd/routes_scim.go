package main

import (
	"net/http"

	"github.com/roster-dev/roster/scim"
)

// mountSCIM registers the SCIM API under /scim/v2/{tenant}/: scimauth's Guard
// (bearer token → tenant, plan and SSO gates, rate limit) in front of the
// scim handler.
//
// The scim handler routes the paths below the tenant itself (their names
// case-insensitively, with its own 404 and 405 answers), so one pattern
// would serve them all. The endpoints are registered one by one as well,
// without a method (so that the answers stay the scim handler's), only so
// that each request carries the route template it matched (r.Pattern):
// the metrics count by it, never by the path, which holds the tenant and
// ids.
func mountSCIM(mux *http.ServeMux, d handlerDeps) {
	guard := d.Guard // built by serve, which closes it (writing token last use) at shutdown
	h := guard.Wrap(scim.New(scim.Config{Store: d.Store, BaseURL: d.BaseURL, Now: d.Now, Logger: d.Logger}))
	mux.Handle("/scim/v2/{tenant}/", h)
	for _, p := range scimEndpoints {
		mux.Handle("/scim/v2/{tenant}/"+p, h)
	}
}

// scimEndpoints are the paths below /scim/v2/{tenant}/ that get a route
// template of their own.
var scimEndpoints = []string{
	"Users", "Users/{id}", "Users/.search",
	"Groups", "Groups/{id}", "Groups/.search",
	"Bulk", ".search",
	"ServiceProviderConfig", "ResourceTypes", "ResourceTypes/{id}", "Schemas", "Schemas/{id}",
}
