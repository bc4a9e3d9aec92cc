package admin

// Teams by hand, on every plan: POST /admin/v1/tenants/{id}/teams,
// GET/PATCH/DELETE …/teams/{teamID}, POST/DELETE …/teams/{teamID}/members.
// The list (GET …/teams) is admin/roles.go's. The writes are the
// directory's use cases (directory/teams.go).

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
)

// maxTeamMembersPerRequest bounds one members change.
const maxTeamMembersPerRequest = 1000

// teamDetail is one team (or role group) as the admin API shows it.
type teamDetail struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	MemberCount int            `json:"member_count"`
	Members     []teamMemberAt `json:"members,omitempty"`
	// MembersComplete says Members holds every member; else it holds the
	// first teamMembersShown, and GET …/users?team= pages through all.
	MembersComplete bool   `json:"members_complete"`
	Managed         string `json:"managed"`
	IdP             string `json:"idp,omitempty"`
	// Role is set for a role group: the role a mapping gives its members.
	// A role group is not a team and is changed through the mappings.
	Role      string    `json:"role,omitempty"`
	Team      bool      `json:"team"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type teamMemberAt struct {
	ID      string `json:"id"`
	Display string `json:"display"`
}

// teamMembersShown is how many members a team's answer lists at most, in
// member order. An IdP's "everyone" group can hold every user of a tenant,
// and an answer (and a console page) with all of them grew with it; the
// whole list is GET …/users?team=, page by page (docs/contract.md
// "Managing people and teams").
const teamMembersShown = 1000

// team answers one group of the tenant, with its first members.
func (a *API) team(w http.ResponseWriter, r *http.Request, status int, tenantID, id string) error {
	g, err := a.store.GetGroup(r.Context(), tenantID, id, false)
	if err != nil {
		return teamNotFound(err, tenantID, id)
	}
	members, _, err := a.store.GroupMembers(r.Context(), tenantID, id, 0, teamMembersShown+1)
	if err != nil {
		return err
	}
	complete := len(members) <= teamMembersShown
	if !complete {
		members = members[:teamMembersShown]
	}
	mappings, err := a.store.GetRoleMappings(r.Context(), tenantID)
	if err != nil {
		return err
	}
	v := teamDetail{ID: g.ID, Name: g.DisplayName, MemberCount: g.MemberCount, Members: []teamMemberAt{},
		MembersComplete: complete, Managed: store.ManagedOf(g.Managed), CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
	if v.Managed == store.ManagedSCIM {
		v.IdP = g.IdP
	}
	v.Role, _ = directory.RoleOfGroup(g.DisplayName, mappings)
	v.Team = v.Role == ""
	for _, m := range members {
		v.Members = append(v.Members, teamMemberAt{ID: m.UserID, Display: m.Display})
	}
	writeJSON(w, status, v)
	return nil
}

func teamNotFound(err error, tenantID, id string) error {
	if store.FaultOf(err).Kind == store.KindNotFound {
		return notFound("no team %q in tenant %s", id, tenantID)
	}
	return err
}

func (a *API) getTeam(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	return a.team(w, r, http.StatusOK, t.ID, r.PathValue("teamID"))
}

// teamName reads {"name": "…"}.
func teamName(w http.ResponseWriter, r *http.Request) (string, error) {
	var in struct {
		Name *string `json:"name"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return "", err
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return "", invalid(FieldError{"name", "is required"})
	}
	return strings.TrimSpace(*in.Name), nil
}

func (a *API) createTeam(w http.ResponseWriter, r *http.Request) error {
	name, err := teamName(w, r)
	if err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	g, err := a.dir.CreateTeam(r.Context(), t.ID, name, actor(r))
	if err != nil {
		return err
	}
	return a.team(w, r, http.StatusCreated, t.ID, g.ID)
}

func (a *API) renameTeam(w http.ResponseWriter, r *http.Request) error {
	name, err := teamName(w, r)
	if err != nil {
		return err
	}
	return a.writeTeam(w, r, func(ctx context.Context, tenantID, id string, by store.Actor) error {
		_, err := a.dir.RenameTeam(ctx, tenantID, id, name, by)
		return err
	})
}

// writeTeam runs write on the team the path names and answers the team.
func (a *API) writeTeam(w http.ResponseWriter, r *http.Request, write func(ctx context.Context, tenantID, id string, by store.Actor) error) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	id := r.PathValue("teamID")
	if err := write(r.Context(), t.ID, id, actor(r)); err != nil {
		return teamNotFound(err, t.ID, id)
	}
	return a.team(w, r, http.StatusOK, t.ID, id)
}

func (a *API) deleteTeam(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	id := r.PathValue("teamID")
	if err := a.dir.DeleteTeam(r.Context(), t.ID, id, actor(r)); err != nil {
		return teamNotFound(err, t.ID, id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// teamUsers reads {"users": ["<id>", …]}.
func teamUsers(w http.ResponseWriter, r *http.Request) ([]string, error) {
	var in struct {
		Users *[]string `json:"users"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return nil, err
	}
	switch {
	case in.Users == nil || len(*in.Users) == 0:
		return nil, invalid(FieldError{"users", "is required: a list of user ids"})
	case len(*in.Users) > maxTeamMembersPerRequest:
		return nil, invalid(FieldError{"users", fmt.Sprintf("at most %d users per request", maxTeamMembersPerRequest)})
	}
	return *in.Users, nil
}

func (a *API) addTeamMembers(w http.ResponseWriter, r *http.Request) error {
	return a.teamMembers(w, r, a.dir.AddTeamMembers)
}

func (a *API) removeTeamMembers(w http.ResponseWriter, r *http.Request) error {
	return a.teamMembers(w, r, a.dir.RemoveTeamMembers)
}

func (a *API) teamMembers(w http.ResponseWriter, r *http.Request,
	change func(ctx context.Context, tenantID, id string, users []string, by store.Actor) (store.Group, error)) error {
	users, err := teamUsers(w, r)
	if err != nil {
		return err
	}
	return a.writeTeam(w, r, func(ctx context.Context, tenantID, id string, by store.Actor) error {
		_, err := change(ctx, tenantID, id, users, by)
		return err
	})
}
