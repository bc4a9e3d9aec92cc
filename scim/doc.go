// Package scim is Roster's SCIM 2.0 endpoint (RFC 7643/7644): Users and
// Groups (teams) with create, get, replace, PATCH, delete and list; filters
// translated to store.Filter; paging, sorting, attributes and
// excludedAttributes; POST .search; ETags; Bulk; and the discovery
// endpoints. New builds the handler for /scim/v2/{tenant}/; the caller
// (tenant, token, actor) comes from scimauth.FromContext, set by scimauth's
// Guard, which authenticates and gates every request before it.
//
// Every IdP quirk (docs/idp-decisions.md) is normalised on
// input here: values.go (string booleans, single-object emails, manager as an
// id, Entra's JSON-encoded role), filter.go (Entra's matching-attribute
// filter), patch.go (case-insensitive ops, dotted and URN keys in pathless
// values, member removal by value list). Answers are always strict RFC form.
// Every error leaves as an RFC 7644 §3.12 body built in errors.go.
//
// It depends on store, access, scimauth and internal/scimwire only; cmd/rosterd wires a backend in.
package scim
