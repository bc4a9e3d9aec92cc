// Package store holds Roster's domain types, the Store interface every backend
// implements, and the error vocabulary shared by all layers. It does no I/O.
//
// Every method takes the tenant explicitly; a record of another tenant is
// indistinguishable from a missing one (ErrNotFound).
package store

import (
	"context"
	"time"

	"github.com/roster-dev/roster/licensing"
)

// SeatClass is the kind of seat a user holds (licensing's seat classes).
type SeatClass = licensing.SeatClass

const (
	SeatNone  = licensing.SeatNone  // inactive, deleted or expired: consumes nothing
	SeatFull  = licensing.SeatFull  // a paid seat, counted against the purchased seats
	SeatLight = licensing.SeatLight // a light (read-only) seat, priced separately, never capped
)

// Built-in role names. Every tenant has them; custom roles live in the store.
const (
	RoleAdmin      = "admin"
	RoleSupervisor = "supervisor"
	RoleAgent      = "agent"
)

// Settings are a tenant's tunables (docs/contract.md "Tenant settings").
type Settings struct {
	RateLimitPerSecond  int    `json:"rate_limit_per_second"`
	Overage             bool   `json:"overage"`
	PrivilegedRoles     string `json:"privileged_roles"` // deny | allow | approve
	IdPInitiatedSSO     bool   `json:"idp_initiated_sso"`
	LightSeatPriceCents int    `json:"light_seat_price_cents"`
	DefaultRole         string `json:"default_role"`
	// ManualOverrides lets the admin API change what the IdP pushes for
	// an IdP-managed user or team (userName, emails, displayName, active;
	// a team's name, members, deletion); the user is then listed as
	// drifted until the IdP next writes them. Off, such a change is
	// refused (*IdPManagedError in package directory).
	ManualOverrides bool `json:"manual_overrides"`
}

// DefaultSettings are the settings of a new tenant.
func DefaultSettings() Settings {
	return Settings{RateLimitPerSecond: 100, PrivilegedRoles: "deny", DefaultRole: RoleAgent}
}

// Tenant is one customer organisation.
type Tenant struct {
	ID        string
	Name      string
	Plan      string // a licensing plan id: trial, enterprise, enterprise_bundle, ultimate
	Seats     int    // purchased full seats
	Addons    []string
	Settings  Settings
	CreatedAt time.Time
	UpdatedAt time.Time

	// Contract terms (seats; the rules are in package licensing).
	// ContractStart is the first day of the annual contract; renewals fall on
	// its anniversaries. Zero on create: the backends set CreatedAt.
	ContractStart time.Time
	// SeatsAtRenewal is a pending reduction: the purchased seats from the
	// renewal at SeatsAtRenewalFrom on (both nil: none). Until then Seats is
	// what is purchased and capped; from then SeatsAtRenewal is, in every
	// backend, without anything having to run at the renewal
	// (licensing.Contract.SeatsInForce).
	SeatsAtRenewal     *int
	SeatsAtRenewalFrom *time.Time
	// SeatChanges are the changes of the purchased seats, oldest first, for
	// the proration of mid-term additions.
	SeatChanges []SeatChange
}

// SeatChange is one change of a tenant's purchased seats.
type SeatChange = licensing.SeatChange

// ValidateContract checks what every backend requires of a tenant's
// contract terms: a pending reduction has both its count and its date.
func (t Tenant) ValidateContract() error {
	switch {
	case t.Seats < 0:
		return &InvalidError{Field: "seats", Reason: "must not be negative"}
	case (t.SeatsAtRenewal == nil) != (t.SeatsAtRenewalFrom == nil):
		return &InvalidError{Field: "seatsAtRenewal", Reason: "and seatsAtRenewalFrom are set together or not at all"}
	case t.SeatsAtRenewal != nil && *t.SeatsAtRenewal < 0:
		return &InvalidError{Field: "seatsAtRenewal", Reason: "must not be negative"}
	}
	return nil
}

// SeatCounts are the seats a tenant's users hold right now.
type SeatCounts = licensing.SeatCounts

// PlanSeats are the seats held in all tenants of a plan (SeatsByPlan).
type PlanSeats struct {
	Plan    string
	Tenants int
	Seats   SeatCounts
}

// Token is a SCIM bearer credential. Only a hash of the secret is stored.
type Token struct {
	TenantID   string
	ID         string
	Name       string
	Hash       []byte
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// SAMLConfig is the validated IdP metadata of a tenant: the SSO prerequisite of SCIM.
type SAMLConfig struct {
	TenantID     string
	MetadataXML  string
	EntityID     string
	SSOURL       string
	CertNotAfter time.Time
	UpdatedAt    time.Time
}

// MultiValue is one value of a SCIM multi-valued attribute (emails, phoneNumbers, roles).
type MultiValue struct {
	Value   string `json:"value,omitempty"`
	Type    string `json:"type,omitempty"`
	Display string `json:"display,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

// Address is one value of the SCIM addresses attribute.
type Address struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"streetAddress,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postalCode,omitempty"`
	Country       string `json:"country,omitempty"`
	Type          string `json:"type,omitempty"`
	Primary       bool   `json:"primary,omitempty"`
}

// Name is the SCIM name complex attribute.
type Name struct {
	Formatted       string `json:"formatted,omitempty"`
	FamilyName      string `json:"familyName,omitempty"`
	GivenName       string `json:"givenName,omitempty"`
	MiddleName      string `json:"middleName,omitempty"`
	HonorificPrefix string `json:"honorificPrefix,omitempty"`
	HonorificSuffix string `json:"honorificSuffix,omitempty"`
}

// Enterprise is the SCIM enterprise user extension.
type Enterprise struct {
	EmployeeNumber string `json:"employeeNumber,omitempty"`
	CostCenter     string `json:"costCenter,omitempty"`
	Organization   string `json:"organization,omitempty"`
	Division       string `json:"division,omitempty"`
	Department     string `json:"department,omitempty"`
	ManagerID      string `json:"managerId,omitempty"`
}

// User is a provisioned person: SCIM core, enterprise and Roster-extension
// attributes, the one role they hold and the seat that role costs.
type User struct {
	TenantID          string
	ID                string
	ExternalID        string
	UserName          string
	Name              Name
	DisplayName       string
	NickName          string
	ProfileURL        string
	Title             string
	UserType          string
	PreferredLanguage string
	Locale            string
	Timezone          string
	Active            bool
	Emails            []MultiValue
	PhoneNumbers      []MultiValue
	Addresses         []Address
	Roles             []MultiValue // the core roles attribute as the IdP sent it
	Enterprise        Enterprise

	// ExplicitRole is the role the user's own attributes name (the Roster
	// extension role, else the core roles attribute), "" when they name none.
	// Role is resolved from it inside the write transaction: explicit role,
	// else a group → role mapping, else the tenant's default role.
	ExplicitRole    string
	Role            string   // the one resolved role
	Stores          []string // stores the user may see
	AccessExpiresAt *time.Time
	LastActiveAt    *time.Time

	// Managed says who owns the user: ManagedSCIM when an IdP pushed them
	// (created or last written over SCIM; IdP is then the name of the
	// SCIM token, for messages), ManagedManual when they were invited,
	// imported or created through the admin API. "" is read as manual.
	Managed string
	IdP     string
	// DriftedAt is when a manual change overrode what the IdP pushes
	// (the tenant setting manual_overrides); nil when the user is as the
	// IdP last wrote them. The IdP's next write clears it.
	DriftedAt *time.Time

	// Seat is derived by the store inside the write transaction from Active and
	// the seat class of Role; whatever a caller sets is ignored.
	Seat SeatClass

	Version   int64 // increases on every change; meta.version is W/"<Version>"
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Who manages a user or a group (User.Managed, Group.Managed).
const (
	ManagedSCIM   = "scim"   // pushed by an IdP over SCIM
	ManagedManual = "manual" // invited, imported or created through the admin API
)

// IdPManaged says whether a user or group's Managed value names the IdP.
func IdPManaged(managed string) bool { return managed == ManagedSCIM }

// ManagedOf is a Managed value as the API shows it: unset is manual.
func ManagedOf(managed string) string {
	if managed == ManagedSCIM {
		return ManagedSCIM
	}
	return ManagedManual
}

// Member is one member of a group.
type Member struct {
	UserID  string
	Display string // the member's displayName, else userName; filled on read
}

// Group is a SCIM group: a team of users.
type Group struct {
	TenantID    string
	ID          string
	DisplayName string
	ExternalID  string
	Members     []Member // nil unless asked for
	MemberCount int
	// Managed and IdP: who owns the team, as for a User.
	Managed   string
	IdP       string
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MemberPos is a position in a group's member order (GroupMembers): 0 is
// before the first member. It is the member's user creation sequence.
type MemberPos int64

// MemberOpKind says what a MemberOp does to a group's members.
type MemberOpKind int

const (
	MembersAdd     MemberOpKind = iota + 1 // add the listed users; present ones stay one row
	MembersRemove                          // remove the listed users; absent ones are ignored
	MembersReplace                         // the listed users become the whole membership
)

// MemberOp is one membership change, applied in the database one row per member.
type MemberOp struct {
	Kind    MemberOpKind
	UserIDs []string
}

// GroupUpdate is what an UpdateGroup closure edits: the group's attributes
// (Members is not loaded) and an ordered list of membership changes.
type GroupUpdate struct {
	Group   Group
	Members []MemberOp
}

// Add records that the users join the group.
func (u *GroupUpdate) Add(userIDs ...string) {
	u.Members = append(u.Members, MemberOp{Kind: MembersAdd, UserIDs: userIDs})
}

// Remove records that the users leave the group.
func (u *GroupUpdate) Remove(userIDs ...string) {
	u.Members = append(u.Members, MemberOp{Kind: MembersRemove, UserIDs: userIDs})
}

// Replace records that the users become the group's whole membership.
func (u *GroupUpdate) Replace(userIDs ...string) {
	u.Members = append(u.Members, MemberOp{Kind: MembersReplace, UserIDs: userIDs})
}

// Role is a custom role: a named set of permission flags.
type Role struct {
	TenantID    string
	Name        string
	Description string
	Permissions []string
	Privileged  bool
	SeatClass   SeatClass // full or light
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// RoleMapping maps an IdP group (by displayName) to a role; a list of them is
// in precedence order, first wins.
type RoleMapping struct {
	Group string `json:"group"`
	Role  string `json:"role"`
}

// Actor is who caused a change: a SCIM token, an operator, the system.
type Actor struct {
	Kind      string // token | admin | system | user
	ID        string // the token id, operator name, user id
	Name      string // a token's name, for the people who read the trail
	RequestID string // the request that made the change, when there was one
}

// Actors used by the system itself.
var (
	ActorSystem = Actor{Kind: "system", ID: "rosterd"}
	ActorAdmin  = Actor{Kind: "admin", ID: "operator"}
)

// Seat-event reasons: licensing's, which SeatTransitions writes.
const (
	ReasonProvisioned = licensing.ReasonProvisioned
	ReasonReactivated = licensing.ReasonReactivated
	ReasonDeactivated = licensing.ReasonDeactivated
	ReasonDeleted     = licensing.ReasonDeleted
	ReasonExpired     = licensing.ReasonExpired
	ReasonRoleChanged = licensing.ReasonRoleChanged
)

// SeatEvent is one entry of the append-only seat ledger: a consumption
// (Delta +1) or a release (Delta -1) of a seat of one class.
type SeatEvent struct {
	TenantID string
	Seq      int64 // ledger order within the tenant
	Time     time.Time
	UserID   string
	Class    SeatClass
	Delta    int
	Reason   string
	Actor    Actor
}

// AuditEvent is one provisioning event, recorded in the transaction of the change.
type AuditEvent struct {
	TenantID   string
	Seq        int64
	Time       time.Time
	Actor      Actor
	Action     string // user.created, user.updated, user.deleted, group.created, …
	TargetType string // user | group | role | tenant | token | saml
	TargetID   string
	Detail     string
	Before     string // JSON of the target before the change ("" on create); never secrets
	After      string // JSON of the target after the change ("" on delete)
	// Members are a group update's membership operations, kept for its
	// events (team.members_added, …; docs/events.md); ListAudit leaves
	// them out.
	Members []MemberOp
}

// SeatHistory is the part of a tenant's seat ledger a usage history reads
// (Store.SeatHistory).
type SeatHistory struct {
	Opening SeatCounts           // the seats held before the range, by the ledger
	Moves   []licensing.SeatMove // the entries in the range, in ledger order
}

// EventQuery pages through seat events or audit events.
type EventQuery struct {
	From, To time.Time // zero: unbounded; From inclusive, To exclusive
	UserID   string    // seat events of the user; audit events whose target is the user
	ActorID  string    // audit only: events of this actor
	Action   string    // audit only: events of this action
	After    int64     // seat events: Seq > After (oldest first); audit: after the event numbered After when > 0 (newest first)
	Limit    int       // 0: 100
	// Newest reads seat events newest first (a person's history); After
	// then means Seq < After when > 0. Audit events are always newest first.
	Newest bool
}

// UserQuery selects a page of users.
type UserQuery struct {
	Filter     Filter // nil: all
	StartIndex int    // 1-based; below 1 is 1
	Count      int    // page size; 0 returns only the total
	SortBy     string // a filterable attribute; empty: creation order
	Descending bool
}

// UserPage is one page of users and the total that match.
type UserPage struct {
	Total int
	Users []User
}

// GroupQuery selects a page of groups.
type GroupQuery struct {
	Filter      Filter
	StartIndex  int
	Count       int
	SortBy      string
	Descending  bool
	WithMembers bool
}

// GroupPage is one page of groups and the total that match.
type GroupPage struct {
	Total  int
	Groups []Group
}

// Store is the persistence contract. Implementations: store/memory (embedded
// default) and store/postgres. Both pass store/storetest.
//
// Values passed in and returned are copies: mutating them never changes the store.
// Update methods run the closure inside one transaction holding the record's
// lock; returning an error from it aborts the change and is returned as is.
type Store interface {
	// Tenants.
	// Every mutating method of tenants, tokens, SAML configuration, custom roles
	// and role mappings writes its audit event (by, action, target, before and
	// after without secrets) in the transaction of the change; a failed change
	// writes none. DeleteTenant records tenant.deleted in the OperatorTrail.
	CreateTenant(ctx context.Context, t Tenant, by Actor) (Tenant, error)
	GetTenant(ctx context.Context, id string) (Tenant, error)
	ListTenants(ctx context.Context) ([]Tenant, error)
	// Updating a tenant can move its users (a new default role): a
	// directory use case, written through Change.
	DeleteTenant(ctx context.Context, id string, by Actor) error
	SeatCounts(ctx context.Context, tenantID string) (SeatCounts, error)
	// SeatsByPlan sums the seats held now in all tenants, by plan, ordered
	// by plan id: plans no tenant has are left out. It reads the tenants'
	// seat counters (one aggregate on PostgreSQL, never the users), so that
	// metrics can ask at every scrape.
	SeatsByPlan(ctx context.Context) ([]PlanSeats, error)

	// Tokens.
	CreateToken(ctx context.Context, tenantID string, t Token, by Actor) (Token, error)
	GetToken(ctx context.Context, tenantID, id string) (Token, error)
	ListTokens(ctx context.Context, tenantID string) ([]Token, error)
	// RevokeToken revokes a token; revoking it again keeps the first time
	// and records nothing.
	RevokeToken(ctx context.Context, tenantID, id string, at time.Time, by Actor) error
	// TouchTokens records last-use times in one write, for batching.
	TouchTokens(ctx context.Context, used map[TokenKey]time.Time) error

	// Tenants' admin API keys (store/apikeys.go).
	APIKeyStore

	// Outbound events and webhook deliveries (store/events.go).
	EventStore

	// The SCIM provisioning activity log (store/activity.go).
	ActivityStore

	// SAML configuration.
	PutSAMLConfig(ctx context.Context, tenantID string, c SAMLConfig, by Actor) (SAMLConfig, error)
	GetSAMLConfig(ctx context.Context, tenantID string) (SAMLConfig, error)
	DeleteSAMLConfig(ctx context.Context, tenantID string, by Actor) error

	// Users.
	CreateUser(ctx context.Context, tenantID string, u User, by Actor) (User, error)
	GetUser(ctx context.Context, tenantID, id string) (User, error)
	GetUserByUserName(ctx context.Context, tenantID, userName string) (User, error)
	ListUsers(ctx context.Context, tenantID string, q UserQuery) (UserPage, error)
	// ListPeople lists live users newest first (people.go), at most
	// q.Limit of them; ErrNotFound for an unknown tenant, an
	// *InvalidError (field filter) for a filter the store cannot evaluate.
	ListPeople(ctx context.Context, tenantID string, q PeopleQuery) (PeoplePage, error)
	// ActiveSeatHolders reads every live active user of the tenant as the
	// seat reports read them (SeatHolders: only those fields), in creation
	// order, in one read; ErrNotFound for an unknown tenant.
	ActiveSeatHolders(ctx context.Context, tenantID string) ([]licensing.SeatHolder, error)
	// RoleHolders counts the tenant's live users (active or not) by the
	// role they hold, in one read: what the role list shows beside each
	// role. A role nobody holds is absent. ErrNotFound for an unknown tenant.
	RoleHolders(ctx context.Context, tenantID string) (map[string]int, error)
	// UpdateUser writes nothing (same Version and UpdatedAt, no audit or
	// seat event) when fn leaves the user as stored (SameUser).
	UpdateUser(ctx context.Context, tenantID, id string, by Actor, fn func(*User) error) (User, error)
	DeleteUser(ctx context.Context, tenantID, id string, by Actor) error

	// Groups. Members are loaded only when asked for. GetGroup and ListGroups
	// with members hold every member in memory at once; an answer whose size
	// must not grow with the group reads them with GroupMembers instead.
	CreateGroup(ctx context.Context, tenantID string, g Group, by Actor) (Group, error)
	GetGroup(ctx context.Context, tenantID, id string, withMembers bool) (Group, error)
	ListGroups(ctx context.Context, tenantID string, q GroupQuery) (GroupPage, error)
	// UpdateGroup writes nothing when the name and externalId stay
	// (GroupUnchanged) and the member operations add only present members
	// and remove only absent ones; unknown member ids are refused all the
	// same.
	UpdateGroup(ctx context.Context, tenantID, id string, by Actor, fn func(*GroupUpdate) error) (Group, error)
	DeleteGroup(ctx context.Context, tenantID, id string, by Actor) error
	UserGroups(ctx context.Context, tenantID, userID string) ([]Group, error)
	// GroupMembers reads one chunk of a group's members, in the order
	// GetGroup lists them (user creation order): at most limit members
	// (limit ≥ 1) after the position after (0: from the first), and the
	// position of the last one returned, which the next call passes as
	// after. A chunk shorter than limit is the last. An unknown group, or
	// one of another tenant, has no members. Each call is its own read: a
	// member who stays in the group while a caller walks it is read
	// exactly once; one who joins or leaves meanwhile may or may not be.
	GroupMembers(ctx context.Context, tenantID, groupID string, after MemberPos, limit int) ([]Member, MemberPos, error)

	// SCIM reads. GetUserWithGroups is GetUser plus the groups the
	// user belongs to, in creation order, in one round trip (a SCIM GET
	// /Users/{id} answers with both); each Group carries TenantID, ID and
	// DisplayName only. ErrNotFound as GetUser.
	GetUserWithGroups(ctx context.Context, tenantID, id string) (User, []Group, error)
	// GetUserByUserNameWithGroups is GetUserByUserName plus the user's groups,
	// as GetUserWithGroups: the lookup every IdP sends before a create,
	// answered with the user's groups in one round trip.
	GetUserByUserNameWithGroups(ctx context.Context, tenantID, userName string) (User, []Group, error)
	// GroupsOfUsers answers, in one round trip, the groups each of the listed
	// users is in (a SCIM list page carries every user's groups), keyed by
	// user id, each user's groups in creation order; each Group carries
	// TenantID, ID and DisplayName only. A user in no group, an id that is no
	// live user of the tenant, or an unknown tenant has no entry.
	GroupsOfUsers(ctx context.Context, tenantID string, userIDs []string) (map[string][]Group, error)

	// Custom roles and group → role mappings.
	CreateRole(ctx context.Context, tenantID string, r Role, by Actor) (Role, error)
	GetRole(ctx context.Context, tenantID, name string) (Role, error)
	ListRoles(ctx context.Context, tenantID string) ([]Role, error)
	// Changing or deleting a role and replacing the mappings re-resolve
	// users: they are directory use cases, written through Change.
	GetRoleMappings(ctx context.Context, tenantID string) ([]RoleMapping, error)

	// Ledger and audit trail.
	ListSeatEvents(ctx context.Context, tenantID string, q EventQuery) ([]SeatEvent, error)
	// SeatHistory reads the ledger as a usage history replays it
	// (licensing.Usage): Opening sums the entries whose time is before from
	// (in the store: one row however long the history), Moves are the
	// entries from from (inclusive) to to (exclusive) in ledger order, both
	// read from one snapshot. A zero to is unbounded.
	SeatHistory(ctx context.Context, tenantID string, from, to time.Time) (SeatHistory, error)
	AppendAudit(ctx context.Context, tenantID string, e AuditEvent) error
	ListAudit(ctx context.Context, tenantID string, q EventQuery) ([]AuditEvent, error)

	// Sign-in and lifecycle (types in lifecycle.go): SAML sign-in,
	// application sessions, the store catalogue, the access-expiry sweep.
	// Deactivating or deleting a user ends their sessions in the same
	// transaction; deleting a user clears their stores. A sign-in itself is
	// a directory use case (directory.SignIn, over Change).
	//
	// PutAuthnRequest remembers an SP-initiated AuthnRequest until its
	// ExpiresAt; TakeAuthnRequest returns and forgets it (once: a second take
	// or an expired one is ErrNotFound), keyed by (tenant, RelayState).
	PutAuthnRequest(ctx context.Context, tenantID string, r AuthnRequest) error
	TakeAuthnRequest(ctx context.Context, tenantID, relayState string) (AuthnRequest, error)
	// GetSession returns a session by id, whatever its tenant; ErrNotFound
	// when it never existed or has ended. Its expiry is the caller's check.
	GetSession(ctx context.Context, id string) (Session, error)
	// DeleteSession ends a session (logout); ErrNotFound when there is none.
	DeleteSession(ctx context.Context, id string) error
	// PurgeExpired removes sessions, AuthnRequests and spent assertions whose
	// expiry is at or before now, and console links a day past their expiry
	// (ConsoleLinkRetention: until then a late click is told the link
	// expired rather than that it never existed), and answers how many it
	// removed.
	PurgeExpired(ctx context.Context, now time.Time) (int, error)
	// DueExpirations lists up to limit users of any tenant who are active and
	// whose access expired at or before now, earliest expiry first. It locks
	// nothing: the sweep deactivates each through UpdateUser, re-checking
	// under the row lock, so that sweepers in several processes are safe.
	DueExpirations(ctx context.Context, now time.Time, limit int) ([]UserRef, error)
	// The store catalogue. Users' Stores are checked against it inside every
	// user write (*UnknownStoresError); DeleteOutlet also removes the store
	// from every user who has it and answers how many did.
	CreateOutlet(ctx context.Context, tenantID string, o Outlet, by Actor) (Outlet, error)
	ListOutlets(ctx context.Context, tenantID string) ([]Outlet, error)
	RenameOutlet(ctx context.Context, tenantID, id, name string, by Actor) (Outlet, error)
	DeleteOutlet(ctx context.Context, tenantID, id string, by Actor) (int, error)

	// Tenancy: the SCIM hot path and the SAML SP key pair.
	//
	// Authenticate loads, in one round trip, what the SCIM guard checks on
	// every request: the tenant, the token tenantID/tokenID (revoked ones
	// included, RevokedAt set) and the tenant's SAML configuration (nil when
	// there is none; MetadataXML is left empty). ErrNotFound when the tenant
	// or the token is not there.
	Authenticate(ctx context.Context, tenantID, tokenID string) (Tenant, Token, *SAMLConfig, error)
	// CheckToken says, from memory and without I/O, whether tokenID is a
	// token of tenantID whose stored hash is hash (compared in constant
	// time; revoked tokens included): TokenMatch, TokenNoMatch, or
	// TokenUnsure when only a database read can tell. The SCIM guard calls
	// it before Authenticate, so that a made-up token never costs a read and
	// a correct one is recognised before any failure budget is consulted.
	CheckToken(tenantID, tokenID string, hash []byte) TokenCheck
	// SPKeyPair returns the tenant's SAML SP key pair, creating it with create
	// on first use. Concurrent first uses (in one process or several) all get
	// the one pair that was stored first; a loser's pair is discarded.
	// ErrNotFound for an unknown tenant. Deleting the tenant deletes its pair.
	SPKeyPair(ctx context.Context, tenantID string, create func() (keyPEM, certPEM []byte, err error)) (keyPEM, certPEM []byte, err error)

	// Roles (rules in roles.go). Every user write resolves the
	// user's Role inside its transaction with DecideRole: ExplicitRole, else
	// the first role mapping (in precedence order) of a group the user is in,
	// else settings.default_role. A caller sets ExplicitRole (or Role itself,
	// which then becomes the explicit role); Role is the store's answer. An
	// unknown explicit role is an *UnknownRoleError, a privileged one granted
	// by a SCIM token where the tenant does not allow it a
	// *PrivilegedRoleError; both change nothing. Group membership changes of
	// a mapped group, deleting it, PutRoleMappings, UpdateRole (seat class)
	// and DeleteRole (replacement) re-resolve the users they move, in the same
	// transaction, with seat moves and audit events. (The CSV import is the
	// directory's use case over Change: directory/import.go.)

	// Jobs (types and the lease rules in jobs.go). CreateJob stores a new
	// queued job (an empty ID is made); GetJob answers it without its Input;
	// JobResults lists its recorded results with N >= from, in order, at
	// most limit of them.
	CreateJob(ctx context.Context, tenantID string, j Job) (Job, error)
	GetJob(ctx context.Context, tenantID, id string) (Job, error)
	JobResults(ctx context.Context, tenantID, id string, from, limit int) ([]JobResult, error)
	// ClaimJob gives c.Owner the lease of a claimable job (c names one, or
	// the oldest of any tenant) until the store's clock plus c.Lease, marks
	// it running and answers it with its Input; ErrNoJob when there is none.
	// Of concurrent claims, in one process or several, exactly one wins.
	ClaimJob(ctx context.Context, c JobClaim) (Job, error)
	// RecordJobProgress appends the results after Processed, replaces the
	// counts and extends the lease, all at once; ErrLeaseLost (nothing
	// recorded) when owner does not hold the lease.
	RecordJobProgress(ctx context.Context, tenantID, id, owner string, p JobProgress) (Job, error)
	// FinishJob ends a job the owner holds as succeeded or failed (with
	// msg) and drops its Input (a done job is never run again); ReleaseJob hands it back, queued, for another runner to resume
	// (a runner that stops early). Both: ErrLeaseLost as above.
	FinishJob(ctx context.Context, tenantID, id, owner string, state JobState, msg string) (Job, error)
	// PurgeJobs deletes the jobs that finished before cutoff, with their
	// results, and answers how many (JobRetention); queued and running
	// jobs stay whatever their age.
	PurgeJobs(ctx context.Context, cutoff time.Time) (int, error)
	ReleaseJob(ctx context.Context, tenantID, id, owner string) error

	// ListApprovals lists privileged grants held for approval, oldest first;
	// status "" lists all.
	ListApprovals(ctx context.Context, tenantID, status string) ([]Approval, error)

	// Change is the transaction of a directory use case (change.go): it
	// locks and reads what lock names, passes it to fn, and writes the plan
	// fn answers (nil: nothing but the spend of lock.Spend), all or
	// nothing. An error from fn is returned as is and nothing is written;
	// ErrNotFound for an unknown tenant.
	Change(ctx context.Context, tenantID string, lock Lock, fn func(*View) (*Plan, error)) error

	// Ping answers nil when the store can serve requests (readiness).
	Ping(ctx context.Context) error
	Close()
}

// TokenKey names one token.
type TokenKey struct{ TenantID, ID string }

// TokenCheck is what Store.CheckToken knows about a presented token.
type TokenCheck int

const (
	// TokenUnsure: the backend cannot tell without a read (the PostgreSQL
	// store while its change listener is not proven, for an id it has not
	// seen).
	TokenUnsure TokenCheck = iota
	// TokenMatch: the token exists with this hash. Whether it is revoked,
	// and the tenant's gates, are still Authenticate's to read.
	TokenMatch
	// TokenNoMatch: no such token for this tenant, or another hash.
	TokenNoMatch
)

func (c TokenCheck) String() string {
	switch c {
	case TokenMatch:
		return "match"
	case TokenNoMatch:
		return "no match"
	default:
		return "unsure"
	}
}
