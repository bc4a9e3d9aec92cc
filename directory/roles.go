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
	role = store.CanonicalRole(role)
	var out []RoleChange
	err := d.st.Change(ctx, tenantID, store.Lock{Users: userIDs}, func(v *store.View) (*store.Plan, error) {
		if _, _, ok := v.Roles.Lookup(role); !ok {
			return nil, &store.UnknownRoleError{Role: role, Known: v.Roles.Known()}
		}
		var missing []string
		for _, id := range userIDs {
			if _, ok := v.Users[id]; !ok && !slices.Contains(missing, id) {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return nil, &store.UnknownMembersError{IDs: missing}
		}
		moves, err := store.PlanMoves(userIDs, v.Users, v.Groups, v.Roles, by, func(u *store.User) { u.ExplicitRole = role })
		if err != nil {
			return nil, err
		}
		out = roleChanges(userIDs, v.Users, moves)
		return &store.Plan{By: by, Moves: moves, Why: "bulk role change"}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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
			moves, err := store.PlanMoves([]string{a.UserID}, v.Users, v.Groups, v.Roles, by, func(u *store.User) { u.ExplicitRole = a.Role })
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
