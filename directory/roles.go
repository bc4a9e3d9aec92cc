package directory

// Role use cases of the operator: a bulk role change, and the decision on a
// privileged grant held for approval.

import (
	"context"
	"slices"

	"github.com/roster-dev/roster/store"
)

// RoleChange is one user's move in a bulk role change.
type RoleChange struct {
	UserID   string
	UserName string
	OldRole  string
	NewRole  string
	OldSeat  store.SeatClass
	NewSeat  store.SeatClass
}

// SetUsersRole gives the listed users the role explicitly, all or nothing:
// an unknown role is an *store.UnknownRoleError, an id that is no live user
// an *store.UnknownMembersError naming every such id, and moves that do not
// fit the seat cap together a *store.SeatLimitError; each changes nothing.
// It answers each user's old and new role and seat, once per user, in the
// order asked; users who held the role already are answered unchanged.
func (d *Directory) SetUsersRole(ctx context.Context, tenantID string, userIDs []string, role string, by store.Actor) ([]RoleChange, error) {
	return d.usersRole(ctx, tenantID, userIDs, role, by, false)
}

// PreviewUsersRole answers what SetUsersRole would answer now, under the
// same locks and with the same errors, and writes nothing. The seat cap is
// not checked (the backend checks it as it writes): the caller compares the
// seats the moves take with the tenant's cap itself.
func (d *Directory) PreviewUsersRole(ctx context.Context, tenantID string, userIDs []string, role string, by store.Actor) ([]RoleChange, error) {
	return d.usersRole(ctx, tenantID, userIDs, role, by, true)
}

func (d *Directory) usersRole(ctx context.Context, tenantID string, userIDs []string, role string, by store.Actor, preview bool) ([]RoleChange, error) {
	role = store.CanonicalRole(role)
	var out []RoleChange
	err := d.st.Change(ctx, tenantID, store.Lock{Users: userIDs}, func(v *store.View) (*store.Plan, error) {
		if _, _, ok := v.Roles.Lookup(role); !ok {
			return nil, &store.UnknownRoleError{Role: role, Known: v.Roles.Known()}
		}
		if err := liveUsers(userIDs, v); err != nil {
			return nil, err
		}
		moves, err := store.PlanMoves(userIDs, v.Users, v.Groups, v.Roles, by, func(u *store.User) { u.ExplicitRole = role })
		if err != nil {
			return nil, err
		}
		out = roleChanges(userIDs, v.Users, moves)
		if preview {
			return nil, nil
		}
		return &store.Plan{By: by, Moves: moves, Why: "bulk role change"}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// liveUsers refuses ids that name no live user of the view, naming each
// once (*store.UnknownMembersError).
func liveUsers(ids []string, v *store.View) error {
	var missing []string
	for _, id := range ids {
		if _, ok := v.Users[id]; !ok && !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return &store.UnknownMembersError{IDs: missing}
	}
	return nil
}

// roleChanges answers a bulk change in the order asked, each user once.
func roleChanges(ids []string, users map[string]store.User, moves []store.Move) []RoleChange {
	moved := make(map[string]store.Move, len(moves))
	for _, m := range moves {
		moved[m.After.ID] = m
	}
	out := []RoleChange{}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		u := users[id]
		c := RoleChange{UserID: id, UserName: u.UserName, OldRole: u.Role, NewRole: u.Role, OldSeat: u.Seat, NewSeat: u.Seat}
		if m, ok := moved[id]; ok {
			c.NewRole, c.NewSeat = m.After.Role, m.After.Seat
		}
		out = append(out, c)
	}
	return out
}

// DecideApproval approves (the user gets the role explicitly, in the same
// transaction, seat cap and all) or rejects a pending approval; one decided
// already is an *store.ApprovalDecidedError, an unknown one ErrNotFound. When
// the user or the role is gone the approval ends superseded.
func (d *Directory) DecideApproval(ctx context.Context, tenantID, id string, approve bool, by store.Actor) (store.Approval, error) {
	var out store.Approval
	err := d.st.Change(ctx, tenantID, store.Lock{Approval: id}, func(v *store.View) (*store.Plan, error) {
		a := *v.Approval
		if a.Status != store.ApprovalPending {
			return nil, &store.ApprovalDecidedError{ID: id, Status: a.Status}
		}
		_, _, roleOK := v.Roles.Lookup(a.Role)
		_, userOK := v.Users[a.UserID]
		p := &store.Plan{By: by, Why: "approval " + a.ID}
		switch {
		case !approve:
			a.Status = store.ApprovalRejected
		case !roleOK || !userOK:
			a.Status = store.ApprovalSuperseded
		default:
			// Approving is the privileged-role policy's consent: the grant is
			// planned as allowed, whoever approves (a tenant's key or person
			// is otherwise held to the policy, which would queue it again).
			rc := *v.Roles
			rc.Settings.PrivilegedRoles = store.PrivilegedAllow
			moves, err := store.PlanMoves([]string{a.UserID}, v.Users, v.Groups, &rc, by, func(u *store.User) { u.ExplicitRole = a.Role })
			if err != nil {
				return nil, err
			}
			p.Moves = moves
			a.Status = store.ApprovalApproved
		}
		now := v.Now
		a.DecidedAt, a.DecidedBy = &now, by.Kind+":"+by.ID
		p.Approval, out = &a, a
		return p, nil
	})
	if err != nil {
		return store.Approval{}, err
	}
	return out, nil
}

// PutRoleMappings replaces the tenant's group → role mappings (in
// precedence order; role names canonical) and re-resolves, in the same
// transaction, the users it can move: members without an explicit role of
// a group the old or the new list names. A list naming a group twice or an
// unknown role is refused (*store.InvalidError, *store.UnknownRoleError), as
// are moves that do not fit the seat cap; each changes nothing.
func (d *Directory) PutRoleMappings(ctx context.Context, tenantID string, m []store.RoleMapping, by store.Actor) error {
	m = slices.Clone(m)
	if m == nil {
		m = []store.RoleMapping{}
	}
	groups := make([]string, len(m))
	for i := range m {
		m[i].Role = store.CanonicalRole(m[i].Role)
		groups[i] = m[i].Group
	}
	return d.st.Change(ctx, tenantID, store.Lock{Mappings: true, Remap: groups}, func(v *store.View) (*store.Plan, error) {
		rc := *v.Roles
		rc.Mappings = m
		if err := store.ValidateMappings(&rc, m); err != nil {
			return nil, err
		}
		moves, err := store.PlanMoves(v.Remapped, v.Users, v.Groups, &rc, by, nil)
		if err != nil {
			return nil, err
		}
		return &store.Plan{By: by, Mappings: m, Moves: moves, Why: "role mappings changed"}, nil
	})
}

// DeleteRole deletes a custom role. Users holding it (or naming it
// explicitly) block the delete (*store.RoleInUseError) unless a replacement
// is named; then their explicit role becomes the replacement, mappings to
// the role follow it (or go, without a replacement), and every holder
// re-resolves in the same transaction, with seat moves checked against the
// cap. The tenant's default role cannot be deleted; pending approvals of the
// role end superseded.
func (d *Directory) DeleteRole(ctx context.Context, tenantID, name, replacement string, by store.Actor) error {
	lock := store.Lock{Mappings: true, Holders: name, Role: name}
	return d.st.Change(ctx, tenantID, lock, func(v *store.View) (*store.Plan, error) {
		if len(v.Holders) > 0 && replacement == "" {
			return nil, &store.RoleInUseError{Role: name, Users: len(v.Holders)}
		}
		if v.Roles.Settings.DefaultRole == name {
			return nil, &store.InvalidError{Field: "role",
				Reason: name + " is the tenant's default role; change settings.default_role first"}
		}
		rc := *v.Roles
		rc.Roles = slices.DeleteFunc(slices.Clone(rc.Roles), func(r store.Role) bool { return r.Name == name })
		if replacement != "" {
			if _, _, ok := rc.Lookup(replacement); !ok || replacement == name {
				return nil, &store.UnknownRoleError{Role: replacement, Known: rc.Known()}
			}
		}
		mappings := []store.RoleMapping{}
		for _, m := range v.Roles.Mappings {
			if m.Role == name {
				if replacement == "" {
					continue
				}
				m.Role = replacement
			}
			mappings = append(mappings, m)
		}
		rc.Mappings = mappings
		moves, err := store.PlanMoves(v.Holders, v.Users, v.Groups, &rc, by, func(u *store.User) {
			if u.ExplicitRole == name {
				u.ExplicitRole = replacement
			}
		})
		if err != nil {
			return nil, err
		}
		p := &store.Plan{By: by, DeleteRole: name, Moves: moves, Why: "role " + name + " deleted"}
		if !slices.Equal(mappings, v.Roles.Mappings) {
			p.Mappings = mappings
		}
		return p, nil
	})
}

// UpdateRole changes a custom role through fn (its name stays). A change of
// seat class moves the holders' seats in the same transaction, checked
// against the cap together; an invalid role or moves beyond the cap change
// nothing. The holders are locked before the role, as every user write
// locks its user before it reads the role.
func (d *Directory) UpdateRole(ctx context.Context, tenantID, name string, by store.Actor, fn func(*store.Role) error) (store.Role, error) {
	var out store.Role
	err := d.st.Change(ctx, tenantID, store.Lock{Holders: name, Role: name}, func(v *store.View) (*store.Plan, error) {
		old := *v.Role
		r := old.Clone()
		if err := fn(&r); err != nil {
			return nil, err
		}
		r.TenantID, r.Name, r.CreatedAt, r.UpdatedAt = old.TenantID, old.Name, old.CreatedAt, v.Now
		if err := store.ValidateRole(&r); err != nil {
			return nil, err
		}
		if r.SeatClass == "" {
			r.SeatClass = store.SeatFull
		}
		p := &store.Plan{By: by, Role: &r}
		if r.SeatClass != old.SeatClass {
			rc := *v.Roles
			rc.Roles = slices.Clone(rc.Roles)
			for i := range rc.Roles {
				if rc.Roles[i].Name == name {
					rc.Roles[i] = r.Clone()
				}
			}
			moves, err := store.PlanMoves(v.Holders, v.Users, v.Groups, &rc, by, nil)
			if err != nil {
				return nil, err
			}
			p.Moves, p.Why = moves, "seat class of role "+name+" changed"
		}
		out = r
		return p, nil
	})
	if err != nil {
		return store.Role{}, err
	}
	return out, nil
}
