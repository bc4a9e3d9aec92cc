package directory

// Manual user management on every plan: invite, change, delete. Each is a
// single-record write of the backend (CreateUser, UpdateUser, DeleteUser),
// which applies the shared rules inside its transaction — role resolution
// and the privileged-role policy, the seat transitions and the cap, the
// audit event — with the team memberships written after it through the
// team use cases' rule (teams.go). What is decided here is what those writes
// do not know: who owns the attributes (owner.go) and which teams may be
// joined.

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/roster-dev/roster/store"
)

// Invitation is a person to add by hand.
type Invitation struct {
	UserName    string
	Email       string // "" none
	DisplayName string
	Role        string   // "" the mapping or default role
	Teams       []string // team (group) ids
	Stores      []string
}

// Invite creates an active, manually managed user (consuming a seat; the
// cap applies as over SCIM: *store.SeatLimitError) and adds them to the
// teams. A taken userName is a *store.UserExistsError naming the role the
// existing user holds; an unknown team an *store.InvalidError (field
// teams), a role group a *RoleGroupError, a team the IdP pushes an
// *IdPManagedError unless overrides are allowed: each checked before
// anything is written.
func (d *Directory) Invite(ctx context.Context, tenantID string, in Invitation, by store.Actor) (store.User, error) {
	o, err := d.ownerOf(ctx, tenantID)
	if err != nil {
		return store.User{}, err
	}
	teams, err := d.teamsToJoin(ctx, tenantID, o, in.Teams)
	if err != nil {
		return store.User{}, err
	}
	u := store.User{UserName: in.UserName, DisplayName: in.DisplayName, Active: true,
		ExplicitRole: store.CanonicalRole(in.Role), Stores: in.Stores, Managed: store.ManagedManual}
	if in.Email != "" {
		u.Emails = []store.MultiValue{{Value: in.Email, Type: "work", Primary: true}}
	}
	created, err := d.st.CreateUser(ctx, tenantID, u, by)
	if err != nil {
		return store.User{}, err
	}
	for _, g := range teams {
		if _, err := d.st.UpdateGroup(ctx, tenantID, g.ID, by, func(up *store.GroupUpdate) error {
			up.Add(created.ID)
			return nil
		}); err != nil {
			return created, err
		}
	}
	return created, nil
}

// PersonChange is a manual change of one user; nil fields stay.
type PersonChange struct {
	UserName    *string
	Email       *string // the primary email; "" removes every email
	DisplayName *string
	Active      *bool // deactivate (seat released) or reactivate (seat consumed, cap checked)
	Role        *string
	Stores      *[]string
	Teams       *[]string // the whole list of team ids; role groups are not teams and stay
}

// ChangePerson changes a user by hand. For a user the IdP manages, a change
// of userName, emails, displayName or active is an *IdPManagedError unless
// the tenant allows overrides; then it is made and the user marked drifted.
// Role, stores and teams the IdP does not push stay editable; a role change
// goes through the shared role rule in the same write (an unknown role is an
// *store.UnknownRoleError; a move beyond the cap a *store.SeatLimitError).
// Everything is checked before anything is written; the user's record is one
// write, the team memberships follow it.
func (d *Directory) ChangePerson(ctx context.Context, tenantID, id string, c PersonChange, by store.Actor) (store.User, error) {
	o, err := d.ownerOf(ctx, tenantID)
	if err != nil {
		return store.User{}, err
	}
	var join, leave []store.Group
	if c.Teams != nil {
		if join, leave, err = d.teamMoves(ctx, tenantID, o, id, *c.Teams); err != nil {
			return store.User{}, err
		}
	}
	u, err := d.st.UpdateUser(ctx, tenantID, id, by, func(u *store.User) error {
		drift := false
		if c.UserName != nil {
			if err := o.user(u, "userName", *c.UserName != u.UserName, &drift); err != nil {
				return err
			}
			u.UserName = *c.UserName
		}
		if c.Email != nil {
			emails := withPrimaryEmail(u.Emails, *c.Email)
			if err := o.user(u, "emails", !slices.Equal(emails, u.Emails), &drift); err != nil {
				return err
			}
			u.Emails = emails
		}
		if c.DisplayName != nil {
			if err := o.user(u, "displayName", *c.DisplayName != u.DisplayName, &drift); err != nil {
				return err
			}
			u.DisplayName = *c.DisplayName
		}
		if c.Active != nil {
			if err := o.user(u, "active", *c.Active != u.Active, &drift); err != nil {
				return err
			}
			u.Active = *c.Active
		}
		if c.Role != nil {
			u.ExplicitRole = store.CanonicalRole(*c.Role)
		}
		if c.Stores != nil {
			u.Stores = slices.Clone(*c.Stores)
		}
		if drift {
			now := store.Timestamp(d.clock())
			u.DriftedAt = &now
		}
		return nil
	})
	if err != nil {
		return store.User{}, err
	}
	for _, g := range join {
		if _, err := d.st.UpdateGroup(ctx, tenantID, g.ID, by, func(up *store.GroupUpdate) error { up.Add(id); return nil }); err != nil {
			return u, err
		}
	}
	for _, g := range leave {
		if _, err := d.st.UpdateGroup(ctx, tenantID, g.ID, by, func(up *store.GroupUpdate) error { up.Remove(id); return nil }); err != nil {
			return u, err
		}
	}
	return u, nil
}

// DeletePerson deletes a user (seat released, memberships and stores
// removed, sessions ended, audited); ErrNotFound when there is none.
func (d *Directory) DeletePerson(ctx context.Context, tenantID, id string, by store.Actor) error {
	return d.st.DeleteUser(ctx, tenantID, id, by)
}

// withPrimaryEmail is emails with email as the primary work address in
// place of the current primary (or first) one; "" removes them all.
func withPrimaryEmail(emails []store.MultiValue, email string) []store.MultiValue {
	if email == "" {
		return nil
	}
	out := slices.Clone(emails)
	for i := range out {
		if out[i].Primary || len(out) == 1 {
			out[i].Value = email
			return out
		}
	}
	return append([]store.MultiValue{{Value: email, Type: "work", Primary: true}}, out...)
}

// teamsToJoin checks the teams a user is to join: each exists, is a team
// (not a role group) and may be changed by hand.
func (d *Directory) teamsToJoin(ctx context.Context, tenantID string, o owner, ids []string) ([]store.Group, error) {
	var out []store.Group
	var missing []string
	for _, id := range ids {
		if slices.ContainsFunc(out, func(g store.Group) bool { return g.ID == id }) {
			continue
		}
		g, err := d.st.GetGroup(ctx, tenantID, id, false)
		if errors.Is(err, store.ErrNotFound) {
			missing = append(missing, id)
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := o.team(g, "members"); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	if len(missing) > 0 {
		return nil, &store.InvalidError{Field: "teams", Reason: "no such team: " + strings.Join(missing, ", ")}
	}
	return out, nil
}

// teamMoves splits a user's new team list into the teams to join and those
// to leave; the role groups the user is in are not teams and stay.
func (d *Directory) teamMoves(ctx context.Context, tenantID string, o owner, userID string, want []string) (join, leave []store.Group, err error) {
	if _, err := d.st.GetUser(ctx, tenantID, userID); err != nil {
		return nil, nil, err
	}
	current, err := d.st.UserGroups(ctx, tenantID, userID)
	if err != nil {
		return nil, nil, err
	}
	wanted, err := d.teamsToJoin(ctx, tenantID, o, want)
	if err != nil {
		return nil, nil, err
	}
	in := func(gs []store.Group, id string) bool {
		return slices.ContainsFunc(gs, func(g store.Group) bool { return g.ID == id })
	}
	for _, g := range wanted {
		if !in(current, g.ID) {
			join = append(join, g)
		}
	}
	for _, g := range current {
		if _, role := o.roleOf(g.DisplayName); role || in(wanted, g.ID) {
			continue
		}
		if err := o.team(g, "members"); err != nil {
			return nil, nil, err
		}
		leave = append(leave, g)
	}
	return join, leave, nil
}
