package store

import (
	"fmt"
	"reflect"
	"strconv"
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
		return userAuditOf(&x)
	case *User:
		return userAuditOf(x)
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

// userAudit is the audit view of a user: its attributes under their SCIM
// names, in the order of the attribute table (the core ones, the enterprise
// extension when the user has any of it, the Roster extension, meta). Every
// field a caller can set is here: SameUser compares users through it, so an
// attribute missing from it would make a change of that attribute look like
// none. Its struct type is made once from UserSchema (reflect.StructOf), so
// that encoding/json encodes it as a plain struct, in the names and order
// the audit trail has always had: a simple string (UserStrings) is a string
// field under the attribute's name, omitted when empty unless required;
// every other attribute has its field in userAuditFields.
var userAudit = func() *auditType {
	ent := newAuditType(SchemaEnterprise, "", map[string]*auditField{
		"manager": {typ: reflect.TypeFor[*managerAudit](), omitempty: true, set: func(v reflect.Value, u *User) {
			if u.Enterprise.ManagerID != "" {
				*v.Addr().Interface().(**managerAudit) = &managerAudit{Value: u.Enterprise.ManagerID}
			}
		}},
	})
	name := newAuditType(SchemaCore, "name", nil)
	return newAuditType(SchemaCore, "", userAuditFields(name),
		trailing{enterpriseUserURN, &auditField{typ: reflect.PointerTo(ent.typ), omitempty: true, set: func(v reflect.Value, u *User) {
			if u.Enterprise != (Enterprise{}) {
				v.Set(ent.fill(u))
			}
		}}},
		trailing{rosterUserURN, &auditField{typ: reflect.TypeFor[rosterUserAudit](), set: func(v reflect.Value, u *User) {
			*v.Addr().Interface().(*rosterUserAudit) = rosterUserAudit{Role: u.Role, ExplicitRole: u.ExplicitRole, Stores: u.Stores,
				AccessExpiresAt: u.AccessExpiresAt, LastActiveAt: u.LastActiveAt, Seat: SCIMSeat(u.Seat)}
		}}},
		trailing{"meta", &auditField{typ: reflect.TypeFor[metaAudit](), set: func(v reflect.Value, u *User) {
			*v.Addr().Interface().(*metaAudit) = metaAudit{Created: u.CreatedAt, LastModified: u.UpdatedAt, Version: fmt.Sprintf(`W/"%d"`, u.Version)}
		}}})
}()

// userAuditFields are the core attributes of UserSchema that are not simple
// strings, with their JSON type and how a user sets them; nil marks one that
// is not audited (password is never stored, groups are the groups' own).
func userAuditFields(name *auditType) map[string]*auditField {
	return map[string]*auditField{
		"id": {typ: reflect.TypeFor[string](), set: func(v reflect.Value, u *User) { v.SetString(u.ID) }},
		"name": {typ: reflect.PointerTo(name.typ), omitempty: true, set: func(v reflect.Value, u *User) {
			if u.Name != (Name{}) {
				v.Set(name.fill(u))
			}
		}},
		"active": {typ: reflect.TypeFor[bool](), set: func(v reflect.Value, u *User) { v.SetBool(u.Active) }},
		"emails": {typ: reflect.TypeFor[[]MultiValue](), omitempty: true, set: func(v reflect.Value, u *User) {
			*v.Addr().Interface().(*[]MultiValue) = u.Emails
		}},
		"phoneNumbers": {typ: reflect.TypeFor[[]MultiValue](), omitempty: true, set: func(v reflect.Value, u *User) {
			*v.Addr().Interface().(*[]MultiValue) = u.PhoneNumbers
		}},
		"addresses": {typ: reflect.TypeFor[[]Address](), omitempty: true, set: func(v reflect.Value, u *User) {
			*v.Addr().Interface().(*[]Address) = u.Addresses
		}},
		"roles": {typ: reflect.TypeFor[[]MultiValue](), omitempty: true, set: func(v reflect.Value, u *User) {
			*v.Addr().Interface().(*[]MultiValue) = u.Roles
		}},
		"password": nil,
		"groups":   nil,
	}
}

type managerAudit struct {
	Value string `json:"value"`
}

// auditType is the struct type of an audit view and how a user fills it,
// field by field.
type auditType struct {
	typ    reflect.Type
	fields []*auditField
}

// auditField is a field of an audit view: a simple string (str), or any
// other attribute, of type typ, that set fills.
type auditField struct {
	typ       reflect.Type
	omitempty bool
	str       func(*User) *string
	set       func(v reflect.Value, u *User)
}

// trailing is a field an audit view has after the table's attributes.
type trailing struct {
	name string
	f    *auditField
}

// newAuditType makes the audit view of the attributes of one schema of
// UserSchema in the table's order (of the simple strings of parent, when
// given), then the trailing fields. others are the attributes that are not
// simple strings, by name; one that is neither panics: the table and the
// audit would disagree.
func newAuditType(schema, parent string, others map[string]*auditField, after ...trailing) *auditType {
	t := &auditType{}
	var fields []reflect.StructField
	add := func(name string, f *auditField) {
		tag := `json:"` + name
		if f.omitempty {
			tag += ",omitempty"
		}
		fields = append(fields, reflect.StructField{Name: "F" + strconv.Itoa(len(fields)), Type: f.typ, Tag: reflect.StructTag(tag + `"`)})
		t.fields = append(t.fields, f)
	}
	str := func(a AttrDef[User]) *auditField {
		return &auditField{typ: reflect.TypeFor[string](), omitempty: !a.Required, str: a.Field}
	}
	if parent != "" {
		for _, a := range UserStrings {
			if a.Schema == schema && a.Parent == parent {
				add(a.Name, str(a.AttrDef))
			}
		}
	}
	for _, a := range UserSchema {
		switch {
		case parent != "" || a.Schema != schema || a.Common:
		case a.Field != nil:
			add(a.Name, str(a))
		default:
			f, ok := others[a.Name]
			if !ok {
				panic("store: the audit view has no field for the user attribute " + filterName(schema, "", a.Name))
			}
			if f != nil {
				add(a.Name, f)
			}
		}
	}
	for _, tr := range after {
		add(tr.name, tr.f)
	}
	t.typ = reflect.StructOf(fields)
	return t
}

// fill is a new value of the type (a pointer) holding u's attributes.
func (t *auditType) fill(u *User) reflect.Value {
	p := reflect.New(t.typ)
	v := p.Elem()
	for i, f := range t.fields {
		if f.str != nil {
			v.Field(i).SetString(*f.str(u))
		} else {
			f.set(v.Field(i), u)
		}
	}
	return p
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

func userAuditOf(u *User) any { return userAudit.fill(u).Interface() }

// groupAudit is a group under its SCIM names; memberCount (not a SCIM
// attribute) is kept because group events are recorded without the member
// list.
type groupAudit struct {
	ID          string        `json:"id"`
	ExternalID  string        `json:"externalId,omitempty"`
	DisplayName string        `json:"displayName"`
	Members     []memberAudit `json:"members,omitempty"`
	MemberCount int           `json:"memberCount"`
	Meta        metaAudit     `json:"meta"`
}

type memberAudit struct {
	Value   string `json:"value"`
	Display string `json:"display,omitempty"`
}

func groupAuditOf(g Group) groupAudit {
	a := groupAudit{ID: g.ID, ExternalID: g.ExternalID, DisplayName: g.DisplayName, MemberCount: g.MemberCount,
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
