package directory

// Teams by hand, on every plan. A team is the same object a SCIM Group is
// (store.Group); a group that a role mapping names is a role group, whose
// members get the role, and is changed through the mappings, never as a
// team (*RoleGroupError). A team the IdP pushed keeps the IdP as the owner
// of its name, members and existence (owner.go).

import (
	"context"

	"github.com/roster-dev/roster/store"
)

// CreateTeam creates a manually managed team. A name a role mapping names
// would make a role group: a *RoleGroupError; a taken name a
// *store.ConflictError.
func (d *Directory) CreateTeam(ctx context.Context, tenantID, name string, by store.Actor) (store.Group, error) {
	o, err := d.ownerOf(ctx, tenantID)
	if err != nil {
		return store.Group{}, err
	}
	if role, ok := o.roleOf(name); ok {
		return store.Group{}, &RoleGroupError{Team: name, Role: role}
	}
	return d.st.CreateGroup(ctx, tenantID, store.Group{DisplayName: name, Managed: store.ManagedManual}, by)
}

// RenameTeam renames a team; the new name must not be a role mapping's
// group either.
func (d *Directory) RenameTeam(ctx context.Context, tenantID, id, name string, by store.Actor) (store.Group, error) {
	o, err := d.ownerOf(ctx, tenantID)
	if err != nil {
		return store.Group{}, err
	}
	if role, ok := o.roleOf(name); ok {
		return store.Group{}, &RoleGroupError{Team: name, Role: role}
	}
	return d.st.UpdateGroup(ctx, tenantID, id, by, func(up *store.GroupUpdate) error {
		if up.Group.DisplayName == name {
			return nil
		}
		if err := o.team(up.Group, "name"); err != nil {
			return err
		}
		up.Group.DisplayName = name
		return nil
	})
}

// AddTeamMembers adds users to a team (ids of live users of the tenant,
// else a *store.UnknownMembersError and nothing changes).
func (d *Directory) AddTeamMembers(ctx context.Context, tenantID, id string, userIDs []string, by store.Actor) (store.Group, error) {
	return d.teamMembers(ctx, tenantID, id, by, func(up *store.GroupUpdate) { up.Add(userIDs...) })
}

// RemoveTeamMembers removes users from a team; users not in it are ignored.
func (d *Directory) RemoveTeamMembers(ctx context.Context, tenantID, id string, userIDs []string, by store.Actor) (store.Group, error) {
	return d.teamMembers(ctx, tenantID, id, by, func(up *store.GroupUpdate) { up.Remove(userIDs...) })
}

func (d *Directory) teamMembers(ctx context.Context, tenantID, id string, by store.Actor, op func(*store.GroupUpdate)) (store.Group, error) {
	o, err := d.ownerOf(ctx, tenantID)
	if err != nil {
		return store.Group{}, err
	}
	return d.st.UpdateGroup(ctx, tenantID, id, by, func(up *store.GroupUpdate) error {
		if err := o.team(up.Group, "members"); err != nil {
			return err
		}
		op(up)
		return nil
	})
}

// DeleteTeam deletes a team (its memberships with it; the members stay).
func (d *Directory) DeleteTeam(ctx context.Context, tenantID, id string, by store.Actor) error {
	o, err := d.ownerOf(ctx, tenantID)
	if err != nil {
		return err
	}
	g, err := d.st.GetGroup(ctx, tenantID, id, false)
	if err != nil {
		return err
	}
	if err := o.team(g, "deletion"); err != nil {
		return err
	}
	return d.st.DeleteGroup(ctx, tenantID, id, by)
}
