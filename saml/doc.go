// Package saml is Roster's per-tenant SAML service provider on
// github.com/crewjam/saml: IdP-metadata validation (the SSO prerequisite of
// SCIM), SP metadata, SP-initiated login and the assertion consumer service.
//
// It depends on store and licensing only. It is built by the tenancy and
// sign-in issues.
package saml
