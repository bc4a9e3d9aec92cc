package store

// Role resolution: the one rule that gives a user exactly one role,
// applied by every backend inside the transaction of the change.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// BuiltinRoles are the role names every tenant has, most powerful first.
var BuiltinRoles = []string{RoleAdmin, RoleSupervisor, RoleAgent}

// IsBuiltinRole says whether name is a built-in role.
func IsBuiltinRole(name string) bool { return slices.Contains(BuiltinRoles, name) }

// CanonicalRole is the form role names are compared and stored in: trimmed
// and lower-case ("Admin" from Entra is admin).
func CanonicalRole(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// roleNamePattern is what a custom role name may look like.
var roleNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// ValidateRole checks what every backend requires of a custom role.
func ValidateRole(r *Role) error {
	switch {
	case !roleNamePattern.MatchString(r.Name):
		return &InvalidError{Field: "name", Reason: "must be 1 to 63 lower-case letters, digits, '-' or '_', starting with a letter"}
	case IsBuiltinRole(r.Name):
		return &ConflictError{Field: "name", Value: r.Name}
	case r.SeatClass != "" && r.SeatClass != SeatFull && r.SeatClass != SeatLight:
		return &InvalidError{Field: "seatClass", Reason: "must be full or light"}
	}
	return checkString("description", r.Description)
}

// Privileged-role policies (tenant setting privileged_roles).
const (
	PrivilegedDeny    = "deny"
	PrivilegedAllow   = "allow"
	PrivilegedApprove = "approve"
)

// Where a resolved role comes from.
const (
	SourceExplicit = "explicit" // the user's own attribute (or an operator's assignment)
	SourceMapping  = "mapping"  // a group → role mapping
	SourceDefault  = "default"  // the tenant's default role
)

// Resolution is a resolved role and where it comes from.
type Resolution struct {
	Role   string
	Source string
	Group  string // the mapped group, for SourceMapping
}

// ResolveRole is the rule: the explicit role when there is one, else the
// first mapping (in precedence order) whose group the user is in, else the
// tenant's default role (agent when unset). Group names compare as
// displayNames do (FoldKey). It does not check that the role exists.
func ResolveRole(explicit string, groups []string, mappings []RoleMapping, defaultRole string) Resolution {
	if explicit != "" {
		return Resolution{Role: explicit, Source: SourceExplicit}
	}
	if len(groups) > 0 {
		in := make(map[string]bool, len(groups))
		for _, g := range groups {
			in[FoldKey(g)] = true
		}
		for _, m := range mappings {
			if in[FoldKey(m.Group)] {
				return Resolution{Role: m.Role, Source: SourceMapping, Group: m.Group}
			}
		}
	}
	if defaultRole == "" {
		defaultRole = RoleAgent
	}
	return Resolution{Role: defaultRole, Source: SourceDefault}
}

// IsMappedGroup says whether a group of this displayName is the group of a
// role mapping (a role group, not a team).
func IsMappedGroup(displayName string, mappings []RoleMapping) bool {
	k := FoldKey(displayName)
	for _, m := range mappings {
		if FoldKey(m.Group) == k {
			return true
		}
	}
	return false
}

// GroupChangeReach says whose role a change of a group can move. A team's
// changes move nobody (reach false). A change of a role group — before or
// after it (newName "" when it is deleted) — moves, when it renames the
// group to another mapping key, deletes it or replaces its members, every
// member before and after (whole); else only the users its operations name
// (named, each once, sorted).
func GroupChangeReach(rc *RoleContext, oldName, newName string, ops []MemberOp) (reach, whole bool, named []string) {
	deleted := newName == ""
	if !IsMappedGroup(oldName, rc.Mappings) && (deleted || !IsMappedGroup(newName, rc.Mappings)) {
		return false, false, nil
	}
	whole = deleted || FoldKey(oldName) != FoldKey(newName)
	for _, op := range ops {
		whole = whole || op.Kind == MembersReplace
		named = append(named, op.UserIDs...)
	}
	slices.Sort(named)
	return true, whole, slices.Compact(named)
}

// RoleContext is what role resolution reads inside the write transaction.
type RoleContext struct {
	Settings Settings
	Roles    []Role // the tenant's custom roles
	Mappings []RoleMapping
}

// Known lists the tenant's role names: built-in, then custom.
func (rc *RoleContext) Known() []string {
	out := slices.Clone(BuiltinRoles)
	for _, r := range rc.Roles {
		out = append(out, r.Name)
	}
	return out
}

// Lookup returns what the store needs of a role: whether it exists, is
// privileged, and the seat class it costs.
func (rc *RoleContext) Lookup(name string) (privileged bool, class SeatClass, ok bool) {
	if IsBuiltinRole(name) {
		return name == RoleAdmin, SeatFull, true
	}
	for _, r := range rc.Roles {
		if r.Name == name {
			if r.SeatClass == SeatLight {
				return r.Privileged, SeatLight, true
			}
			return r.Privileged, SeatFull, true
		}
	}
	return false, "", false
}

// RoleDecision is the outcome of DecideRole for one user write.
type RoleDecision struct {
	Resolution
	Class      SeatClass // the seat class of the role
	Privileged bool
	// Grant is set when the user newly holds a privileged role: an audit
	// event role.privileged_granted is written in the same transaction.
	Grant bool
	// Pending is set when a privileged grant over SCIM waits for approval
	// (privileged_roles = approve): record it in the same transaction.
	Pending *Approval
}

// ExplicitFrom is the explicit role a write asks for: the caller's
// ExplicitRole when they changed it; else, when they changed Role itself
// (an operator's assignment, a bulk change), that role; else the old one.
// old is nil on creation. The result is canonical.
func ExplicitFrom(old *User, u *User) string {
	if old == nil {
		if u.ExplicitRole != "" {
			return CanonicalRole(u.ExplicitRole)
		}
		return CanonicalRole(u.Role)
	}
	if u.ExplicitRole != old.ExplicitRole {
		return CanonicalRole(u.ExplicitRole)
	}
	if u.Role != old.Role {
		return CanonicalRole(u.Role)
	}
	return CanonicalRole(old.ExplicitRole)
}

// DecideRole resolves the role of a user being written (u, after the
// caller's change; old is nil on creation) who is in the groups named, and
// applies the tenant's rules: an unknown explicit role is an
// *UnknownRoleError; a privileged role newly granted explicitly by anyone but
// the operator or the system (a SCIM token, a tenant's API key or person)
// follows the privileged_roles policy (deny: *PrivilegedRoleError;
// approve: the user gets what they would hold without it and Pending is set).
// A mapping or default naming a role that no longer exists is skipped (the
// admin API refuses to create one). It sets u.ExplicitRole and u.Role.
func DecideRole(rc *RoleContext, old *User, u *User, groups []string, by Actor) (RoleDecision, error) {
	explicit := ExplicitFrom(old, u)
	if explicit != "" {
		if _, _, ok := rc.Lookup(explicit); !ok {
			return RoleDecision{}, &UnknownRoleError{Role: explicit, Known: rc.Known()}
		}
	}
	d := RoleDecision{Resolution: rc.resolve(explicit, groups)}
	d.Privileged, d.Class, _ = rc.Lookup(d.Role)
	oldRole := ""
	if old != nil {
		oldRole = old.Role
	}
	newGrant := d.Privileged && d.Role != oldRole
	if newGrant && d.Source == SourceExplicit && by.Kind != ActorAdmin.Kind && by.Kind != ActorSystem.Kind { // tokens, API keys and people
		switch rc.Settings.PrivilegedRoles {
		case PrivilegedAllow:
		case PrivilegedApprove:
			d.Pending = &Approval{UserID: u.ID, Role: explicit, RequestedBy: by}
			// What they would hold without the privileged attribute.
			explicit = ""
			if old != nil && old.ExplicitRole != "" && old.ExplicitRole != d.Role {
				explicit = old.ExplicitRole
			}
			d.Resolution = rc.resolve(explicit, groups)
			d.Privileged, d.Class, _ = rc.Lookup(d.Role)
			newGrant = d.Privileged && d.Role != oldRole
		default:
			return RoleDecision{}, &PrivilegedRoleError{Role: d.Role, Policy: rc.Settings.PrivilegedRoles, TenantID: u.TenantID}
		}
	}
	d.Grant = newGrant
	u.ExplicitRole, u.Role = explicit, d.Role
	return d, nil
}

// resolve applies ResolveRole, skipping mappings to roles that no longer
// exist and falling back to agent when the default role is gone.
func (rc *RoleContext) resolve(explicit string, groups []string) Resolution {
	mappings := make([]RoleMapping, 0, len(rc.Mappings))
	for _, m := range rc.Mappings {
		if _, _, ok := rc.Lookup(m.Role); ok {
			mappings = append(mappings, m)
		}
	}
	def := rc.Settings.DefaultRole
	if _, _, ok := rc.Lookup(def); !ok {
		def = RoleAgent
	}
	return ResolveRole(explicit, groups, mappings, def)
}

// GrantAudit is the audit event of a privileged grant to a user.
func GrantAudit(d RoleDecision, userID string, by Actor, at time.Time) AuditEvent {
	how := "assigned explicitly"
	switch d.Source {
	case SourceMapping:
		how = "through the role mapping of group " + d.Group
	case SourceDefault:
		how = "as the tenant's default role"
	}
	return AuditEvent{Time: at, Actor: by, Action: "role.privileged_granted", TargetType: "user", TargetID: userID,
		Detail: fmt.Sprintf("privileged role %s granted %s by %s %s", d.Role, how, by.Kind, actorLabel(by))}
}

// PendingAudit is the audit event of a privileged grant held for approval.
func PendingAudit(a Approval, by Actor, at time.Time) AuditEvent {
	return AuditEvent{Time: at, Actor: by, Action: "role.approval_requested", TargetType: "user", TargetID: a.UserID,
		Detail: fmt.Sprintf("privileged role %s requested over SCIM by %s %s; pending approval %s", a.Role, by.Kind, actorLabel(by), a.ID),
		After:  AuditJSON(a)}
}

func actorLabel(by Actor) string {
	if by.Name != "" {
		return by.Name + " (" + by.ID + ")"
	}
	return by.ID
}

// Approval statuses.
const (
	ApprovalPending    = "pending"
	ApprovalApproved   = "approved"
	ApprovalRejected   = "rejected"
	ApprovalSuperseded = "superseded" // the user was deleted or the role is gone
)

// Approval is a privileged role grant over SCIM waiting for an operator
// (tenant setting privileged_roles = approve).
type Approval struct {
	TenantID    string     `json:"tenant_id"`
	ID          string     `json:"id"`
	UserID      string     `json:"user_id"`
	Role        string     `json:"role"`
	Status      string     `json:"status"`
	RequestedBy Actor      `json:"-"`
	CreatedAt   time.Time  `json:"created_at"`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
	DecidedBy   string     `json:"decided_by,omitempty"`
}

// ApprovalDecidedError refuses to decide an approval twice.
type ApprovalDecidedError struct {
	ID     string
	Status string
}

func (e *ApprovalDecidedError) Error() string {
	return fmt.Sprintf("approval %s is already %s", e.ID, e.Status)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ApprovalDecidedError) Is(target error) bool { return target == ErrConflict }

// Fault: a Conflict with the decision already made.
func (e *ApprovalDecidedError) Fault() Fault {
	return Fault{Kind: KindConflict, Code: CodeAlreadyDecided}
}

// ApprovalAudit is the audit event of an operator's decision on an approval.
func ApprovalAudit(a Approval, by Actor, at time.Time) AuditEvent {
	return AuditEvent{Time: at, Actor: by, Action: "role.approval_" + a.Status, TargetType: "user", TargetID: a.UserID,
		Detail: fmt.Sprintf("approval %s of privileged role %s: %s", a.ID, a.Role, a.Status), After: AuditJSON(a)}
}

// SameUser says whether a write of after would change nothing of before that
// a caller can set (Version, timestamps and the derived seat aside). An empty
// list is the same as none, and times compare as instants, as the stores
// keep them. UpdateUser (and Change, for a UserWrite) write nothing — no new version, no
// audit or seat event — for a change that leaves the user the same, so that
// an IdP re-sending what is stored (RFC 7644 §3.5.2.1) does not invalidate
// ETags.
func SameUser(before, after User) bool {
	after.Version, after.CreatedAt, after.UpdatedAt, after.Seat = before.Version, before.CreatedAt, before.UpdatedAt, before.Seat
	return AuditJSON(sameForm(before)) == AuditJSON(sameForm(after))
}

// sameForm is u with empty lists as none and times in UTC at the stores'
// precision, for SameUser.
func sameForm(u User) User {
	u = u.Clone()
	if len(u.Emails) == 0 {
		u.Emails = nil
	}
	if len(u.PhoneNumbers) == 0 {
		u.PhoneNumbers = nil
	}
	if len(u.Addresses) == 0 {
		u.Addresses = nil
	}
	if len(u.Roles) == 0 {
		u.Roles = nil
	}
	if len(u.Stores) == 0 {
		u.Stores = nil
	}
	for _, t := range []*time.Time{u.AccessExpiresAt, u.LastActiveAt, u.DriftedAt} {
		if t != nil {
			*t = Timestamp(*t)
		}
	}
	return u
}

// UnknownRoleError is a role that the tenant does not have. It changes nothing.
type UnknownRoleError struct {
	Role  string
	Known []string // the tenant's roles: built-in, then custom
}

func (e *UnknownRoleError) Error() string {
	return fmt.Sprintf("role %q does not exist in this tenant; roles: %s. Create the custom role in Roster first, or send one of these",
		e.Role, strings.Join(e.Known, ", "))
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *UnknownRoleError) Is(target error) bool { return target == ErrInvalid }

// Fault: the role named is Invalid.
func (e *UnknownRoleError) Fault() Fault {
	return Fault{Kind: KindInvalid, Code: CodeUnknownRole, Field: "role"}
}

// ErrPrivilegedRole is matched by PrivilegedRoleError.
var ErrPrivilegedRole error = newSentinel(KindForbidden, CodePrivilegedRole, "privileged role refused")

// PrivilegedRoleError refuses a privileged role granted over SCIM where the
// tenant does not allow it. It changes nothing.
type PrivilegedRoleError struct {
	Role     string
	Policy   string
	TenantID string
}

func (e *PrivilegedRoleError) Error() string {
	tenant := e.TenantID
	if tenant == "" {
		tenant = "{tenant}"
	}
	return fmt.Sprintf("role %q is privileged and this tenant does not accept privileged role grants over SCIM; "+
		"a Roster administrator must allow them: PATCH /admin/v1/tenants/%s with "+
		`{"settings":{"privileged_roles":"allow"}} (or "approve" to review each grant), or assign the role in Roster`,
		e.Role, tenant)
}

// Is makes errors.Is(err, ErrPrivilegedRole) true.
func (e *PrivilegedRoleError) Is(target error) bool { return target == ErrPrivilegedRole }

// Fault: Forbidden by the tenant's privileged-role policy.
func (e *PrivilegedRoleError) Fault() Fault {
	return Fault{Kind: KindForbidden, Code: CodePrivilegedRole, Field: "role"}
}

// ValidateMappings checks a group → role mapping list against the tenant's
// roles: every group named once, every role known. Both backends call it
// inside the transaction that stores the list.
func ValidateMappings(rc *RoleContext, m []RoleMapping) error {
	seen := map[string]int{}
	for i, x := range m {
		field := fmt.Sprintf("mappings[%d]", i)
		key := FoldKey(x.Group)
		if key == "" {
			return &InvalidError{Field: field + ".group", Reason: "is required: the displayName of the IdP group"}
		}
		if j, dup := seen[key]; dup {
			return &InvalidError{Field: field + ".group", Reason: fmt.Sprintf("group %q is already mapped by mappings[%d]", x.Group, j)}
		}
		seen[key] = i
		if _, _, ok := rc.Lookup(x.Role); !ok {
			return &UnknownRoleError{Role: x.Role, Known: rc.Known()}
		}
	}
	return nil
}

// EmailKeys are the lower-cased addresses of emails, blanks left out: what
// an import matches existing users by.
func EmailKeys(emails []MultiValue) []string {
	var out []string
	for _, e := range emails {
		if k := strings.ToLower(strings.TrimSpace(e.Value)); k != "" && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// EmailKey is the address an import row is matched against for an existing
// user (one person, one seat): the user's primary email, else the first,
// lower-cased. The PostgreSQL store indexes exactly this (emailKeySQL in
// store/postgres/import.go, migration 0013), so both stores match alike.
func EmailKey(emails []MultiValue) string {
	for _, e := range emails {
		if e.Primary {
			return strings.ToLower(e.Value)
		}
	}
	if len(emails) > 0 {
		return strings.ToLower(emails[0].Value)
	}
	return ""
}

// AmbiguousEmailError refuses an import row whose email belongs to several
// users and whose userName belongs to none: which one to update is not the
// importer's guess.
type AmbiguousEmailError struct {
	Email     string
	UserNames []string
}

func (e *AmbiguousEmailError) Error() string {
	return fmt.Sprintf("email %s belongs to %d users (%s); give the userName of the one to update in the userName column",
		e.Email, len(e.UserNames), strings.Join(e.UserNames, ", "))
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *AmbiguousEmailError) Is(target error) bool { return target == ErrInvalid }

// Fault: the row's email is Invalid as a key.
func (e *AmbiguousEmailError) Fault() Fault {
	return Fault{Kind: KindInvalid, Code: CodeAmbiguousEmail, Field: "email"}
}

// ImportErrorFatal says whether an error of an import row is not the row's fault
// (the store is unavailable, the request was cancelled): the import stops
// there instead of recording the row as refused.
func ImportErrorFatal(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
