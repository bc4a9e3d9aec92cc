package admin

// People by hand, on every plan: GET/POST /admin/v1/tenants/{id}/users and
// GET/PATCH/DELETE …/users/{userID}. The writes are the directory's use
// cases (directory/people.go), which apply the seat cap, the role rule and
// the IdP's ownership (docs/contract.md "Managing people").

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
)

// Page sizes of the people list.
const (
	defaultPeopleLimit = 50
	maxPeopleLimit     = 200
)

// personView is one person as the admin API shows them.
type personView struct {
	ID          string     `json:"id"`
	UserName    string     `json:"userName"`
	DisplayName string     `json:"displayName"`
	Emails      []string   `json:"emails"`
	Role        string     `json:"role"`
	Seat        string     `json:"seat"` // full, light or none
	Active      bool       `json:"active"`
	Teams       []teamRef  `json:"teams"`
	Stores      []string   `json:"stores"`
	Managed     string     `json:"managed"`       // scim or manual
	IdP         string     `json:"idp,omitempty"` // the IdP's name when managed is scim
	Drifted     bool       `json:"drifted"`
	DriftedAt   *time.Time `json:"drifted_at,omitempty"`
	LastSignIn  *time.Time `json:"last_sign_in_at"`
	// AccessUntil is when an external person's access ends (the IdP's
	// roster accessExpiresAt): the expiry sweep deactivates them then.
	AccessUntil *time.Time `json:"access_expires_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// teamRef names a team a person is on.
type teamRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// personOf is u's view; groups are u's groups, of which the role groups
// (mappings name them) are not teams and are left out.
func personOf(u store.User, groups []store.Group, mappings []store.RoleMapping) personView {
	v := personView{ID: u.ID, UserName: u.UserName, DisplayName: u.DisplayName, Emails: []string{}, Role: u.Role,
		Seat: string(u.Seat), Active: u.Active, Teams: []teamRef{}, Stores: u.Stores, Managed: store.ManagedOf(u.Managed),
		DriftedAt: u.DriftedAt, Drifted: u.DriftedAt != nil, LastSignIn: u.LastActiveAt, AccessUntil: u.AccessExpiresAt, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if v.Stores == nil {
		v.Stores = []string{}
	}
	if v.Managed == store.ManagedSCIM {
		v.IdP = u.IdP
	}
	for _, e := range u.Emails {
		v.Emails = append(v.Emails, e.Value)
	}
	for _, g := range groups {
		if _, role := directory.RoleOfGroup(g.DisplayName, mappings); !role {
			v.Teams = append(v.Teams, teamRef{ID: g.ID, Name: g.DisplayName})
		}
	}
	return v
}

// people renders users with their teams, in one read of their groups.
func (a *API) people(r *http.Request, tenantID string, users []store.User) ([]personView, error) {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	groups, err := a.store.GroupsOfUsers(r.Context(), tenantID, ids)
	if err != nil {
		return nil, err
	}
	mappings, err := a.store.GetRoleMappings(r.Context(), tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]personView, len(users))
	for i, u := range users {
		out[i] = personOf(u, groups[u.ID], mappings)
	}
	return out, nil
}

// listPeople answers a page of people, newest first:
// ?q=&role=&team=&active=&managed=&seat=&cursor=&limit=.
func (a *API) listPeople(w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r, "q", "role", "team", "active", "managed", "seat", "cursor", "limit"); err != nil {
		return err
	}
	q, err := peopleQuery(r)
	if err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	page, err := a.store.ListPeople(r.Context(), t.ID, q)
	if err != nil {
		return err
	}
	out, err := a.people(r, t.ID, page.Users)
	if err != nil {
		return err
	}
	var next *string
	if page.Next != 0 {
		c := encodeCursor(page.Next)
		next = &c
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out, "next_cursor": next})
	return nil
}

// peopleQuery reads the list's parameters; each bad one is a 400 naming it.
func peopleQuery(r *http.Request) (store.PeopleQuery, error) {
	p := r.URL.Query()
	q := store.PeopleQuery{Limit: defaultPeopleLimit}
	var bad []FieldError
	var filters []store.Filter
	if s := strings.TrimSpace(p.Get("q")); s != "" {
		filters = append(filters, store.Or{
			Left: store.Or{
				Left:  store.Compare{Attr: "userName", Op: store.OpCo, Value: s},
				Right: store.Compare{Attr: "displayName", Op: store.OpCo, Value: s},
			},
			Right: store.ValuePath{Attr: "emails", Filter: store.Compare{Attr: "value", Op: store.OpCo, Value: s}},
		})
	}
	if s := strings.TrimSpace(p.Get("role")); s != "" {
		filters = append(filters, store.Compare{Attr: "roster.role", Op: store.OpEq, Value: store.CanonicalRole(s)})
	}
	if s := p.Get("active"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			bad = append(bad, FieldError{"active", "must be true or false"})
		}
		filters = append(filters, store.Compare{Attr: "active", Op: store.OpEq, Value: b})
	}
	for _, f := range filters {
		if q.Filter == nil {
			q.Filter = f
		} else {
			q.Filter = store.And{Left: q.Filter, Right: f}
		}
	}
	q.Team = strings.TrimSpace(p.Get("team"))
	switch m := p.Get("managed"); m {
	case "", store.ManagedSCIM, store.ManagedManual:
		q.Managed = m
	default:
		bad = append(bad, FieldError{"managed", `must be "scim" (pushed by the IdP) or "manual"`})
	}
	switch s := store.SeatClass(p.Get("seat")); s {
	case "", store.SeatFull, store.SeatLight, store.SeatNone:
		q.Seat = s
	default:
		bad = append(bad, FieldError{"seat", `must be "full", "light" or "none"`})
	}
	if s := p.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPeopleLimit {
			bad = append(bad, FieldError{"limit", fmt.Sprintf("must be a number from 1 to %d", maxPeopleLimit)})
		}
		q.Limit = n
	}
	if s := p.Get("cursor"); s != "" {
		pos, ok := decodeCursor(s)
		if !ok {
			bad = append(bad, FieldError{"cursor", "is not a cursor this API gave; pass next_cursor of the previous page as it is"})
		}
		q.Before = pos
	}
	if len(bad) > 0 {
		return q, invalid(bad...)
	}
	return q, nil
}

// The cursor is opaque to callers: the position of the last person of the
// page, so that the next page starts after it whatever was created since.
const cursorPrefix = "u1."

func encodeCursor(p store.UserPos) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(int64(p), 10)))
}

func decodeCursor(s string) (store.UserPos, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !strings.HasPrefix(string(b), cursorPrefix) {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(string(b), cursorPrefix), 10, 64)
	if err != nil || n < 1 {
		return 0, false
	}
	return store.UserPos(n), true
}

// person answers one user of the tenant.
func (a *API) person(w http.ResponseWriter, r *http.Request, status int, tenantID, id string) error {
	u, groups, err := a.store.GetUserWithGroups(r.Context(), tenantID, id)
	if err != nil {
		return userNotFound(err, tenantID, id)
	}
	mappings, err := a.store.GetRoleMappings(r.Context(), tenantID)
	if err != nil {
		return err
	}
	writeJSON(w, status, personOf(u, groups, mappings))
	return nil
}

func userNotFound(err error, tenantID, id string) error {
	if store.FaultOf(err).Kind == store.KindNotFound {
		return notFound("no user %q in tenant %s", id, tenantID)
	}
	return err
}

func (a *API) getPerson(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	return a.person(w, r, http.StatusOK, t.ID, r.PathValue("userID"))
}

// invitePerson adds a person by hand: active at once, consuming a seat.
func (a *API) invitePerson(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		UserName    *string  `json:"userName"`
		Email       string   `json:"email"`
		DisplayName string   `json:"displayName"`
		Role        string   `json:"role"`
		Teams       []string `json:"teams"`
		Stores      []string `json:"stores"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var bad []FieldError
	if in.UserName == nil || strings.TrimSpace(*in.UserName) == "" {
		bad = append(bad, FieldError{"userName", "is required"})
	}
	if in.Email != "" && !strings.Contains(in.Email, "@") {
		bad = append(bad, FieldError{"email", "must be an email address (name@domain)"})
	}
	if len(bad) > 0 {
		return invalid(bad...)
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	if err := a.mayAssign(r, t.ID, in.Role, in.Role != "", len(in.Teams) > 0); err != nil {
		return err
	}
	u, err := a.dir.Invite(r.Context(), t.ID, directory.Invitation{UserName: strings.TrimSpace(*in.UserName), Email: in.Email,
		DisplayName: in.DisplayName, Role: in.Role, Teams: in.Teams, Stores: in.Stores}, actor(r))
	if err != nil {
		return err
	}
	return a.person(w, r, http.StatusCreated, t.ID, u.ID)
}

// patchPerson changes a person: role, teams, stores, displayName, active
// (and userName, email), each only when present.
func (a *API) patchPerson(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		UserName    *string   `json:"userName"`
		Email       *string   `json:"email"`
		DisplayName *string   `json:"displayName"`
		Active      *bool     `json:"active"`
		Role        *string   `json:"role"`
		Teams       *[]string `json:"teams"`
		Stores      *[]string `json:"stores"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	c := directory.PersonChange{UserName: in.UserName, Email: in.Email, DisplayName: in.DisplayName, Active: in.Active,
		Role: in.Role, Teams: in.Teams, Stores: in.Stores}
	if c == (directory.PersonChange{}) {
		return invalid(FieldError{"body", "changes nothing; send any of role, teams, stores, displayName, active, userName, email"})
	}
	if in.UserName != nil && strings.TrimSpace(*in.UserName) == "" {
		return invalid(FieldError{"userName", "must not be empty"})
	}
	if in.Email != nil && *in.Email != "" && !strings.Contains(*in.Email, "@") {
		return invalid(FieldError{"email", "must be an email address (name@domain), or \"\" to remove it"})
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	role := ""
	if in.Role != nil {
		role = *in.Role
	}
	if err := a.mayAssign(r, t.ID, role, in.Role != nil, in.Teams != nil); err != nil {
		return err
	}
	id := r.PathValue("userID")
	if _, err := a.dir.ChangePerson(r.Context(), t.ID, id, c, actor(r)); err != nil {
		return userNotFound(err, t.ID, id)
	}
	return a.person(w, r, http.StatusOK, t.ID, id)
}

// deletePerson deletes a person; their seat is released.
func (a *API) deletePerson(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	id := r.PathValue("userID")
	if err := a.dir.DeletePerson(r.Context(), t.ID, id, actor(r)); err != nil {
		return userNotFound(err, t.ID, id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// mayAssign checks what a person's invite or change asks beyond the
// route's users.manage: giving a role needs users.roles, and only a role
// within the caller's own permissions (mayGive); setting teams needs
// teams.manage.
func (a *API) mayAssign(r *http.Request, tenantID, role string, givesRole, setsTeams bool) error {
	c := callerOf(r)
	var missing []string
	if givesRole && !c.can("users.roles") {
		missing = append(missing, "users.roles")
	}
	if setsTeams && !c.can("teams.manage") {
		missing = append(missing, "teams.manage")
	}
	if len(missing) > 0 {
		return forbidden(c, missing, "giving a role or teams")
	}
	if givesRole && role != "" {
		return a.mayGive(r, tenantID, role)
	}
	return nil
}
