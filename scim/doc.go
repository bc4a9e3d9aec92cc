// Package scim is Roster's SCIM 2.0 HTTP layer (RFC 7643/7644) on
// github.com/elimity-com/scim: per-tenant routing under /scim/v2/{tenant}/,
// bearer authentication, the plan and SSO gates, Users and Groups handlers,
// SCIM filter to store.Filter translation, PATCH application, IdP quirk
// normalisation and RFC 7644 §3.12 error bodies.
//
// It depends on store and licensing only; cmd/rosterd wires a backend in.
// The endpoint is built by the SCIM issue; until then rosterd serves the
// store, health and readiness only.
package scim
