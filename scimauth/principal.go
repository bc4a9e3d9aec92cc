// Package scimauth authenticates SCIM requests and applies the gates that guard
// SCIM: the bearer token names exactly one tenant, the tenant's plan must
// include SCIM and its SAML SSO configuration must be valid now; then the
// tenant's rate limit. Handlers behind the middleware read the Principal from
// the request context.
//
//	guard := scimauth.New(scimauth.Config{Store: st, Now: time.Now, Logger: log})
//	defer guard.Close() // writes the last token uses
//	mux.Handle("/scim/v2/{tenant}/", guard.Wrap(scimHandler))
package scimauth

import (
	"context"

	"github.com/roster-dev/roster/store"
)

// Principal is who a SCIM request acts as: the tenant its token belongs to,
// the token, and the actor recorded in seat and audit events.
type Principal struct {
	Tenant store.Tenant
	Token  store.Token
	Actor  store.Actor
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the Principal the middleware stored, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
