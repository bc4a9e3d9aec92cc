package directory

// Bulk deactivation and reactivation by hand: many users' active flag in
// one transaction, all or nothing, under the IdP-ownership rule of a
// person's own change (owner.go).

import (
	"context"
	"fmt"
	"strings"

	"github.com/roster-dev/roster/store"
)

// ActiveChange is one user's part in a bulk deactivation or reactivation:
// active and seat before and after. Refused, when set, is why the user may
// not be changed by hand (an *IdPManagedError); a refused user is answered
// unchanged.
type ActiveChange struct {
	UserID    string
	UserName  string
	Managed   string // store.ManagedOf: scim or manual
	OldActive bool
	NewActive bool
	OldSeat   store.SeatClass
	NewSeat   store.SeatClass
	Refused   error
}

// ManagedUsersError refuses a bulk change that would change what the IdP
// pushes for some of its users: nothing is changed.
type ManagedUsersError struct {
	Attribute string   // active
	UserNames []string // the users refused, in the order asked
}

func (e *ManagedUsersError) Error() string {
	return fmt.Sprintf("%s of %d user(s) is managed by the IdP: %s; change them there, or set the tenant setting manual_overrides to true; nothing was changed",
		e.Attribute, len(e.UserNames), strings.Join(e.UserNames, ", "))
}

// Fault: a Conflict with the IdP's ownership, as a person's own change.
func (e *ManagedUsersError) Fault() store.Fault {
	return store.Fault{Kind: store.KindConflict, Code: store.CodeIdPManaged, Field: e.Attribute}
}

// SetUsersActive deactivates (active false: seats released, sessions ended)
// or reactivates (seats taken again, the cap checked for all together) the
// listed users, all or nothing, each audited as a user.updated event of
// the caller. The IdP-ownership rule is ChangePerson's: a user the IdP
// manages whose active would change is refused unless the tenant allows
// manual overrides (then they are marked drifted); any refusal is a
// *ManagedUsersError naming every refused user, an id that is no live user
// an *store.UnknownMembersError, seats beyond the cap a
// *store.SeatLimitError; each changes nothing. It answers each user once,
// in the order asked; users already in the state asked are unchanged.
func (d *Directory) SetUsersActive(ctx context.Context, tenantID string, userIDs []string, active bool, by store.Actor) ([]ActiveChange, error) {
	return d.usersActive(ctx, tenantID, userIDs, active, by, false)
}

// PreviewUsersActive answers what SetUsersActive would do now and writes
// nothing: refused users are answered with their Refused error (not as an
// error of the call), and the seat cap is not checked (the caller compares
// the seats the changes take with the cap itself). Unknown users are an
// *store.UnknownMembersError, as for the real change.
func (d *Directory) PreviewUsersActive(ctx context.Context, tenantID string, userIDs []string, active bool, by store.Actor) ([]ActiveChange, error) {
	return d.usersActive(ctx, tenantID, userIDs, active, by, true)
}

func (d *Directory) usersActive(ctx context.Context, tenantID string, userIDs []string, active bool, by store.Actor, preview bool) ([]ActiveChange, error) {
	o, err := d.ownerOf(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var out []ActiveChange
	err = d.st.Change(ctx, tenantID, store.Lock{Users: userIDs}, func(v *store.View) (*store.Plan, error) {
		if err := liveUsers(userIDs, v); err != nil {
			return nil, err
		}
		refused := map[string]error{}
		drifted := map[string]bool{}
		var refusedNames []string
		for _, id := range store.LockOrder(userIDs) {
			u := v.Users[id]
			drift := false
			if err := o.user(&u, "active", u.Active != active, &drift); err != nil {
				refused[id] = err
			}
			drifted[id] = drift
		}
		now := v.Now
		moves, err := store.PlanMoves(userIDs, v.Users, v.Groups, v.Roles, by, func(u *store.User) {
			if refused[u.ID] != nil {
				return
			}
			u.Active = active
			if drifted[u.ID] {
				u.DriftedAt = &now
			}
		})
		if err != nil {
			return nil, err
		}
		out = activeChanges(userIDs, v.Users, moves, refused)
		for _, c := range out {
			if c.Refused != nil {
				refusedNames = append(refusedNames, c.UserName)
			}
		}
		if preview {
			return nil, nil
		}
		if len(refusedNames) > 0 {
			return nil, &ManagedUsersError{Attribute: "active", UserNames: refusedNames}
		}
		why := "bulk deactivation"
		if active {
			why = "bulk reactivation"
		}
		return &store.Plan{By: by, Moves: moves, Why: why}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// activeChanges answers a bulk active change in the order asked, each user once.
func activeChanges(ids []string, users map[string]store.User, moves []store.Move, refused map[string]error) []ActiveChange {
	moved := make(map[string]store.Move, len(moves))
	for _, m := range moves {
		moved[m.After.ID] = m
	}
	out := []ActiveChange{}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		u := users[id]
		c := ActiveChange{UserID: id, UserName: u.UserName, Managed: store.ManagedOf(u.Managed), OldActive: u.Active, NewActive: u.Active,
			OldSeat: u.Seat, NewSeat: u.Seat, Refused: refused[id]}
		if m, ok := moved[id]; ok {
			c.NewActive, c.NewSeat = m.After.Active, m.After.Seat
		}
		out = append(out, c)
	}
	return out
}
