// Package saml is Roster's per-tenant SAML service provider on
// github.com/crewjam/saml: IdP-metadata validation (the SSO prerequisite of
// SCIM), SP metadata, SP-initiated login and the assertion consumer service.
//
// What is here so far:
//
//   - ValidateMetadata checks IdP metadata at upload (PUT
//     /admin/v1/tenants/{id}/saml) and returns the IdP Roster keeps, or a
//     *MetadataError naming the first fault for the admin;
//   - CheckPrerequisite re-checks the stored certificate date on every SCIM
//     request, since a certificate can expire after upload;
//   - SP builds one *saml.ServiceProvider per tenant (never samlsp's
//     single-SP middleware) and the tenant's SP metadata, served by
//     MetadataHandler at GET /saml/{tenant}/metadata;
//   - NewKeyPair and ParseKeyPair make and read the SP key pair.
//
// Library settings Roster relies on, and the checks the library does not
// make, are in docs/libraries.md. go.mod pins
// github.com/russellhaering/goxmldsig at v1.6.1 or later (CVE-2026-33487);
// crewjam/saml v0.5.1 alone would select v1.4.0.
//
// The package depends on neither store nor licensing: callers pass dates and
// resolve tenants themselves.
package saml
