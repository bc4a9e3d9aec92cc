package directory

// Who owns a user or a team, and the one rule that follows: what the IdP
// pushes (a user's userName, emails, displayName and active; a team it
// pushed as a SCIM Group: its name, members and existence) is changed at the
// IdP, not by hand — the IdP's next push would undo it — unless the tenant
// setting manual_overrides allows it; then the change is made, audited, and
// the user is marked drifted until the IdP writes them again.

import (
	"context"
	"fmt"
	"time"

	"github.com/roster-dev/roster/store"
)

// IdPManagedError refuses a manual change of what the IdP pushes.
type IdPManagedError struct {
	Attribute string // userName, emails, displayName, active; a team's name, members or deletion
	IdP       string // the IdP's name (its SCIM token's), "" when unknown
	Team      string // the team's name, for a team
}

func (e *IdPManagedError) Error() string {
	idp := "the IdP"
	if e.IdP != "" {
		idp += " " + e.IdP
	}
	what := e.Attribute + " is"
	if e.Team != "" {
		what = fmt.Sprintf("team %q (%s) is", e.Team, e.Attribute)
	}
	return fmt.Sprintf("%s managed by %s; change it there, or set the tenant setting manual_overrides to true", what, idp)
}

// Fault: a Conflict with the IdP's ownership.
func (e *IdPManagedError) Fault() store.Fault {
	return store.Fault{Kind: store.KindConflict, Code: store.CodeIdPManaged, Field: e.Attribute}
}

// RoleGroupError refuses a team write to the group of a role mapping: its
// members get the role, so it is changed through the mapping.
type RoleGroupError struct {
	Team string
	Role string
}

func (e *RoleGroupError) Error() string {
	return fmt.Sprintf("%q is the group of a role mapping (role %s), not a team: change the role mappings instead", e.Team, e.Role)
}

// Fault: a Conflict with the role mapping.
func (e *RoleGroupError) Fault() store.Fault {
	return store.Fault{Kind: store.KindConflict, Code: store.CodeRoleGroup, Field: "team"}
}

// owner is what the rule needs of the tenant: whether overrides are allowed.
type owner struct {
	overrides bool
	mappings  []store.RoleMapping
}

// ownerOf reads the tenant's setting and role mappings.
func (d *Directory) ownerOf(ctx context.Context, tenantID string) (owner, error) {
	t, err := d.st.GetTenant(ctx, tenantID)
	if err != nil {
		return owner{}, err
	}
	m, err := d.st.GetRoleMappings(ctx, tenantID)
	if err != nil {
		return owner{}, err
	}
	return owner{overrides: t.Settings.ManualOverrides, mappings: m}, nil
}

// user checks a manual change of attr of u: nil when u is not the IdP's,
// when attr does not change, or when overrides are allowed (then *drift is
// set); an *IdPManagedError otherwise.
func (o owner) user(u *store.User, attr string, changed bool, drift *bool) error {
	if !changed || !store.IdPManaged(u.Managed) {
		return nil
	}
	if !o.overrides {
		return &IdPManagedError{Attribute: attr, IdP: u.IdP}
	}
	*drift = true
	return nil
}

// team checks a manual change of attr (name, members, deletion) of g: a
// role group is a *RoleGroupError; a team the IdP pushed an
// *IdPManagedError unless overrides are allowed.
func (o owner) team(g store.Group, attr string) error {
	if role, ok := o.roleOf(g.DisplayName); ok {
		return &RoleGroupError{Team: g.DisplayName, Role: role}
	}
	if store.IdPManaged(g.Managed) && !o.overrides {
		return &IdPManagedError{Attribute: attr, IdP: g.IdP, Team: g.DisplayName}
	}
	return nil
}

// roleOf is the role a mapping gives the group of that name.
func (o owner) roleOf(name string) (string, bool) {
	return RoleOfGroup(name, o.mappings)
}

// RoleOfGroup is the role the first mapping naming the group gives, and
// whether one does (the group is then a role group, not a team).
func RoleOfGroup(name string, mappings []store.RoleMapping) (string, bool) {
	k := store.FoldKey(name)
	for _, m := range mappings {
		if store.FoldKey(m.Group) == k {
			return m.Role, true
		}
	}
	return "", false
}

// clock is the directory's time, for the drift it marks.
func (d *Directory) clock() time.Time {
	if d.now != nil {
		return d.now()
	}
	return time.Now()
}
