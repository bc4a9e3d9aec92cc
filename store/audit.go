package store

import (
	"fmt"
	"time"
)

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

// tokenAudit is a token without its hash, in the admin API's names.
type tokenAudit struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// TokenAudit is the audit JSON of a token: id, name and times, never the hash.
func TokenAudit(t Token) string {
	return AuditJSON(tokenAudit{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt})
}

// samlAudit is a SAML configuration in the names of the admin API's answer.
type samlAudit struct {
	EntityID     string    `json:"entity_id"`
	SSOURL       string    `json:"sso_url"`
	CertNotAfter time.Time `json:"certificate_not_after"`
	UpdatedAt    time.Time `json:"updated_at"`
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

// auditView is what AuditJSON marshals for a record: the record in the names
// the API shows it under, so that a trail reads like the answers an operator
// already knows — a user or group as SCIM shows it (camelCase attribute
// names, the extensions under their schema URNs, meta), a tenant, role or
// store as the admin API answers it (snake_case). Anything else (approvals,
// role mappings, the token and SAML summaries above) carries its own JSON
// names. Audit rows written before these views keep the Go field names they
// were written with; nothing rewrites them.
func auditView(v any) any {
	switch x := v.(type) {
	case User:
		return userAuditOf(x)
	case *User:
		return userAuditOf(*x)
	case Group:
		return groupAuditOf(x)
	case *Group:
		return groupAuditOf(*x)
	case Tenant:
		return tenantAuditOf(x)
	case Role:
		return roleAudit{Name: x.Name, Description: x.Description, Permissions: nonNil(x.Permissions), Privileged: x.Privileged,
			SeatClass: string(x.SeatClass), CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt}
	case Outlet:
		return outletAudit{ID: x.ID, Name: x.Name, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt}
	}
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// SCIM schema URNs of the user extensions, as the SCIM answers name them.
const (
	enterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	rosterUserURN     = "urn:ietf:params:scim:schemas:extension:roster:2.0:User"
)

// userAudit is a user under its SCIM attribute names. Every field a caller
// can set is here (SameUser compares users through it: a field missing here
// would make a change of it look like none).
//
// It mirrors the attribute table by hand, unlike the SCIM decoder and
// encoder. Its JSON is a stored contract that is not the SCIM answer
// (explicitRole, a manager without $ref, no groups, schemas or location),
// and every user write encodes it, up to three times (the audit event and
// SameUser's two sides): a struct type made from the table and filled
// through reflection was tried, and filling it took a fifth of AuditJSON's
// CPU profile. Two tests hold the mirror instead: TestUserAudit_followsTheTable (every simple
// string of UserStrings under its name and in its place) and
// TestUserAudit_namesAndOrder (the bytes).
type userAudit struct {
	ID                string           `json:"id"`
	ExternalID        string           `json:"externalId,omitempty"`
	UserName          string           `json:"userName"`
	Name              *Name            `json:"name,omitempty"`
	DisplayName       string           `json:"displayName,omitempty"`
	NickName          string           `json:"nickName,omitempty"`
	ProfileURL        string           `json:"profileUrl,omitempty"`
	Title             string           `json:"title,omitempty"`
	UserType          string           `json:"userType,omitempty"`
	PreferredLanguage string           `json:"preferredLanguage,omitempty"`
	Locale            string           `json:"locale,omitempty"`
	Timezone          string           `json:"timezone,omitempty"`
	Active            bool             `json:"active"`
	Emails            []MultiValue     `json:"emails,omitempty"`
	PhoneNumbers      []MultiValue     `json:"phoneNumbers,omitempty"`
	Addresses         []Address        `json:"addresses,omitempty"`
	Roles             []MultiValue     `json:"roles,omitempty"`
	Enterprise        *enterpriseAudit `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User,omitempty"`
	Roster            rosterUserAudit  `json:"urn:ietf:params:scim:schemas:extension:roster:2.0:User"`
	Meta              metaAudit        `json:"meta"`
}

type enterpriseAudit struct {
	EmployeeNumber string        `json:"employeeNumber,omitempty"`
	CostCenter     string        `json:"costCenter,omitempty"`
	Organization   string        `json:"organization,omitempty"`
	Division       string        `json:"division,omitempty"`
	Department     string        `json:"department,omitempty"`
	Manager        *managerAudit `json:"manager,omitempty"`
}

type managerAudit struct {
	Value string `json:"value"`
}

// rosterUserAudit is the Roster extension; explicitRole (the role the
// user's own attributes named, before group mappings and the default) is not
// a SCIM attribute, but the trail needs it to say why a role was resolved.
type rosterUserAudit struct {
	Role            string     `json:"role"`
	ExplicitRole    string     `json:"explicitRole,omitempty"`
	Stores          []string   `json:"stores,omitempty"`
	AccessExpiresAt *time.Time `json:"accessExpiresAt,omitempty"`
	LastActiveAt    *time.Time `json:"lastActiveAt,omitempty"`
	Seat            string     `json:"seat"` // consumed, light or none, as SCIM shows it
	// Who owns the user (not SCIM attributes; the admin API shows them).
	Managed   string     `json:"managed,omitempty"`
	IdP       string     `json:"idp,omitempty"`
	DriftedAt *time.Time `json:"driftedAt,omitempty"`
}

type metaAudit struct {
	Created      time.Time `json:"created"`
	LastModified time.Time `json:"lastModified"`
	Version      string    `json:"version"`
}

// SCIMSeat is the SCIM value of a seat class: a full seat is "consumed".
func SCIMSeat(c SeatClass) string {
	if c == SeatFull {
		return "consumed"
	}
	return string(c)
}

func userAuditOf(u User) userAudit {
	a := userAudit{ID: u.ID, ExternalID: u.ExternalID, UserName: u.UserName, DisplayName: u.DisplayName,
		NickName: u.NickName, ProfileURL: u.ProfileURL, Title: u.Title, UserType: u.UserType,
		PreferredLanguage: u.PreferredLanguage, Locale: u.Locale, Timezone: u.Timezone, Active: u.Active,
		Emails: u.Emails, PhoneNumbers: u.PhoneNumbers, Addresses: u.Addresses, Roles: u.Roles,
		Roster: rosterUserAudit{Role: u.Role, ExplicitRole: u.ExplicitRole, Stores: u.Stores,
			AccessExpiresAt: u.AccessExpiresAt, LastActiveAt: u.LastActiveAt, Seat: SCIMSeat(u.Seat),
			Managed: u.Managed, IdP: u.IdP, DriftedAt: u.DriftedAt},
		Meta: metaAudit{Created: u.CreatedAt, LastModified: u.UpdatedAt, Version: fmt.Sprintf(`W/"%d"`, u.Version)}}
	if u.Name != (Name{}) {
		n := u.Name
		a.Name = &n
	}
	if e := u.Enterprise; e != (Enterprise{}) {
		a.Enterprise = &enterpriseAudit{EmployeeNumber: e.EmployeeNumber, CostCenter: e.CostCenter,
			Organization: e.Organization, Division: e.Division, Department: e.Department}
		if e.ManagerID != "" {
			a.Enterprise.Manager = &managerAudit{Value: e.ManagerID}
		}
	}
	return a
}

// groupAudit is a group under its SCIM names; memberCount (not a SCIM
// attribute) is kept because group events are recorded without the member
// list.
type groupAudit struct {
	ID          string        `json:"id"`
	ExternalID  string        `json:"externalId,omitempty"`
	DisplayName string        `json:"displayName"`
	Members     []memberAudit `json:"members,omitempty"`
	MemberCount int           `json:"memberCount"`
	Managed     string        `json:"managed,omitempty"`
	IdP         string        `json:"idp,omitempty"`
	Meta        metaAudit     `json:"meta"`
}

type memberAudit struct {
	Value   string `json:"value"`
	Display string `json:"display,omitempty"`
}

func groupAuditOf(g Group) groupAudit {
	a := groupAudit{ID: g.ID, ExternalID: g.ExternalID, DisplayName: g.DisplayName, MemberCount: g.MemberCount,
		Managed: g.Managed, IdP: g.IdP,
		Meta: metaAudit{Created: g.CreatedAt, LastModified: g.UpdatedAt, Version: fmt.Sprintf(`W/"%d"`, g.Version)}}
	for _, m := range g.Members {
		a.Members = append(a.Members, memberAudit{Value: m.UserID, Display: m.Display})
	}
	return a
}

// tenantAudit is a tenant as the admin API answers it (GET
// /admin/v1/tenants/{id}), with the contract's seat changes that the answer
// leaves to the seat report.
type tenantAudit struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	Plan      string        `json:"plan"`
	Seats     int           `json:"seats"`
	Addons    []string      `json:"addons"`
	Settings  Settings      `json:"settings"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
	Contract  contractAudit `json:"contract"`
}

type contractAudit struct {
	Start            time.Time     `json:"start"`
	PendingReduction *pendingAudit `json:"pending_reduction"`
	SeatChanges      []SeatChange  `json:"seat_changes,omitempty"`
}

type pendingAudit struct {
	Seats       int       `json:"seats"`
	EffectiveAt time.Time `json:"effective_at"`
}

func tenantAuditOf(t Tenant) tenantAudit {
	a := tenantAudit{ID: t.ID, Name: t.Name, Plan: t.Plan, Seats: t.Seats, Addons: nonNil(t.Addons), Settings: t.Settings,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
		Contract: contractAudit{Start: t.ContractStart, SeatChanges: t.SeatChanges}}
	if t.ContractStart.IsZero() {
		a.Contract.Start = t.CreatedAt
	}
	if t.SeatsAtRenewal != nil && t.SeatsAtRenewalFrom != nil {
		a.Contract.PendingReduction = &pendingAudit{Seats: *t.SeatsAtRenewal, EffectiveAt: *t.SeatsAtRenewalFrom}
	}
	return a
}

// roleAudit is a custom role as the admin API answers it.
type roleAudit struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Permissions []string  `json:"permissions"`
	Privileged  bool      `json:"privileged"`
	SeatClass   string    `json:"seat_class"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// outletAudit is a store of the tenant's catalogue as the admin API answers it.
type outletAudit struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
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
