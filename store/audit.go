package store

import "time"

// OperatorTrail is the tenant id of the operator's own audit trail: events
// that outlive a tenant (tenant.deleted). ListAudit(ctx, OperatorTrail, q)
// reads it; no tenant can have this id.
const OperatorTrail = ""

// The audit views below are what an admin change records as Before and
// After. They are the records themselves minus anything secret (a token's
// hash) or bulky (the IdP metadata document, which the entity id, SSO URL and
// certificate expiry summarise).

// TenantAudit is the audit JSON of a tenant.
func TenantAudit(t Tenant) string { return AuditJSON(t) }

// tokenAudit is a token without its hash.
type tokenAudit struct {
	ID         string
	Name       string
	CreatedAt  time.Time
	LastUsedAt *time.Time `json:",omitempty"`
	RevokedAt  *time.Time `json:",omitempty"`
}

// TokenAudit is the audit JSON of a token: id, name and times, never the hash.
func TokenAudit(t Token) string {
	return AuditJSON(tokenAudit{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt})
}

type samlAudit struct {
	EntityID     string
	SSOURL       string
	CertNotAfter time.Time
	UpdatedAt    time.Time
}

// SAMLAudit is the audit JSON of a SAML configuration, without the metadata document.
func SAMLAudit(c SAMLConfig) string {
	return AuditJSON(samlAudit{EntityID: c.EntityID, SSOURL: c.SSOURL, CertNotAfter: c.CertNotAfter, UpdatedAt: c.UpdatedAt})
}

// RoleAudit is the audit JSON of a custom role.
func RoleAudit(r Role) string { return AuditJSON(r) }

// MappingsAudit is the audit JSON of a tenant's group → role mappings.
func MappingsAudit(m []RoleMapping) string {
	if m == nil {
		m = []RoleMapping{}
	}
	return AuditJSON(m)
}

// Audit actions of admin changes.
const (
	ActionTenantCreated   = "tenant.created"
	ActionTenantUpdated   = "tenant.updated"
	ActionTenantDeleted   = "tenant.deleted"
	ActionTokenCreated    = "token.created"
	ActionTokenRevoked    = "token.revoked"
	ActionSAMLUpdated     = "saml.updated"
	ActionSAMLDeleted     = "saml.deleted"
	ActionRoleCreated     = "role.created"
	ActionRoleUpdated     = "role.updated"
	ActionMappingsUpdated = "role_mappings.updated"
)
