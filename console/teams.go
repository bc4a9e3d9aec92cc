package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Teams: the tenant's teams with their member counts and whether the IdP
// pushes them (a SCIM group) or they were made by hand; a team's page with
// its members, to add (found by userName or email) and remove; create,
// rename, delete. All through the admin API's …/teams routes, which refuse
// a change to what the IdP owns (409 idp_managed), and the console shows
// that sentence on the page.

func init() {
	routes = append(routes,
		route{"GET /console/{tenant}/teams", func(c *Console) pageFunc { return c.teams }},
		route{"POST /console/{tenant}/teams", func(c *Console) pageFunc { return c.teamCreate }},
		route{"GET /console/{tenant}/teams/{teamID}", func(c *Console) pageFunc { return c.teamPage }},
		route{"POST /console/{tenant}/teams/{teamID}/rename", func(c *Console) pageFunc { return c.teamRename }},
		route{"POST /console/{tenant}/teams/{teamID}/delete", func(c *Console) pageFunc { return c.teamDelete }},
		route{"POST /console/{tenant}/teams/{teamID}/members", func(c *Console) pageFunc { return c.teamMembers }},
	)
}

// teamEntry is one group of GET …/teams.
type teamEntry struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	Members     int    `json:"members"`
	Team        bool   `json:"team"`
	Role        string `json:"role"`
	Managed     string `json:"managed"`
	IdP         string `json:"idp"`
}

type teamsData struct {
	Teams      []teamEntry
	RoleGroups []teamEntry
	Name       string // the create form's value after a refusal
}

func (c *Console) teams(w http.ResponseWriter, r *http.Request, p *person) error {
	return c.showTeams(w, r, p, http.StatusOK, "", "")
}

func (c *Console) showTeams(w http.ResponseWriter, r *http.Request, p *person, status int, problem, name string) error {
	var d teamsData
	var out struct {
		Teams      []teamEntry `json:"teams"`
		RoleGroups []teamEntry `json:"role_groups"`
	}
	if err := c.call(r.Context(), r, p, http.MethodGet, adminBase(p)+"/teams", nil, &out); err != nil {
		return err
	}
	d.Teams, d.RoleGroups, d.Name = out.Teams, out.RoleGroups, name
	c.renderView(w, r, status, "teams", view{P: p, Title: "Teams", Nav: "teams", Data: d, Problem: problem})
	return nil
}

func (c *Console) teamCreate(w http.ResponseWriter, r *http.Request, p *person) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	var t teamDetail
	if err := c.call(r.Context(), r, p, http.MethodPost, adminBase(p)+"/teams", map[string]string{"name": name}, &t); err != nil {
		if e, ok := refusal(err); ok {
			return c.showTeams(w, r, p, e.Status, e.Text(), name)
		}
		return err
	}
	redirect(w, r, tenantPage(p, "/teams/"+url.PathEscape(t.ID)), fmt.Sprintf("Team %s created. Add its members below.", t.Name))
	return nil
}

// teamDetail is GET …/teams/{teamID}.
type teamDetail struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	MemberCount int    `json:"member_count"`
	Members     []struct {
		ID      string `json:"id"`
		Display string `json:"display"`
	} `json:"members"`
	// MembersComplete is false when Members holds only the first 1,000.
	MembersComplete bool      `json:"members_complete"`
	Managed         string    `json:"managed"`
	IdP             string    `json:"idp"`
	Role            string    `json:"role"`
	Team            bool      `json:"team"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// personHit is one person of a search (GET …/users?q=).
type personHit struct {
	ID          string   `json:"id"`
	UserName    string   `json:"userName"`
	DisplayName string   `json:"displayName"`
	Emails      []string `json:"emails"`
	Role        string   `json:"role"`
	Active      bool     `json:"active"`
}

type teamData struct {
	Team      teamDetail
	Query     string
	Searched  bool
	Hits      []personHit
	MemberOf  map[string]bool
	CanSearch bool
}

func (c *Console) teamPage(w http.ResponseWriter, r *http.Request, p *person) error {
	return c.showTeam(w, r, p, http.StatusOK, "")
}

// showTeam renders a team's page; ?q= searches people to add.
func (c *Console) showTeam(w http.ResponseWriter, r *http.Request, p *person, status int, problem string) error {
	id := r.PathValue("teamID")
	var d teamData
	if err := c.call(r.Context(), r, p, http.MethodGet, adminBase(p)+"/teams/"+url.PathEscape(id), nil, &d.Team); err != nil {
		return err
	}
	d.MemberOf = map[string]bool{}
	for _, m := range d.Team.Members {
		d.MemberOf[m.ID] = true
	}
	d.CanSearch = p.Can("users.view")
	d.Query = strings.TrimSpace(r.URL.Query().Get("q"))
	if d.Query != "" && d.CanSearch {
		var out struct {
			Users []personHit `json:"users"`
		}
		if err := c.call(r.Context(), r, p, http.MethodGet, adminBase(p)+"/users?limit=20&q="+url.QueryEscape(d.Query), nil, &out); err != nil {
			return err
		}
		d.Searched, d.Hits = true, out.Users
	}
	c.renderView(w, r, status, "team", view{P: p, Title: d.Team.Name, Nav: "teams", Data: d, Problem: problem})
	return nil
}

// refusal is err as an admin API refusal to show on the page (not a
// server fault, which is the error page).
func refusal(err error) (*apiError, bool) {
	var e *apiError
	if errors.As(err, &e) && e.Status < 500 && e.Status != http.StatusNotFound {
		return e, true
	}
	return nil, false
}

func (c *Console) teamRename(w http.ResponseWriter, r *http.Request, p *person) error {
	id := r.PathValue("teamID")
	name := strings.TrimSpace(r.PostFormValue("name"))
	var t teamDetail
	if err := c.call(r.Context(), r, p, http.MethodPatch, adminBase(p)+"/teams/"+url.PathEscape(id), map[string]string{"name": name}, &t); err != nil {
		if e, ok := refusal(err); ok {
			return c.showTeam(w, r, p, e.Status, e.Text())
		}
		return err
	}
	redirect(w, r, tenantPage(p, "/teams/"+url.PathEscape(id)), "Team renamed to "+t.Name+".")
	return nil
}

func (c *Console) teamDelete(w http.ResponseWriter, r *http.Request, p *person) error {
	id := r.PathValue("teamID")
	name := r.PostFormValue("name")
	if err := c.call(r.Context(), r, p, http.MethodDelete, adminBase(p)+"/teams/"+url.PathEscape(id), nil, nil); err != nil {
		if e, ok := refusal(err); ok {
			return c.showTeam(w, r, p, e.Status, e.Text())
		}
		return err
	}
	redirect(w, r, tenantPage(p, "/teams"), "Team "+name+" deleted; its members keep their accounts and roles.")
	return nil
}

// teamMembers adds (op=add) or removes (op=remove) one person.
func (c *Console) teamMembers(w http.ResponseWriter, r *http.Request, p *person) error {
	id := r.PathValue("teamID")
	user, who := r.PostFormValue("user"), r.PostFormValue("who")
	if who == "" {
		who = user
	}
	method, done := http.MethodPost, who+" added to the team."
	switch r.PostFormValue("op") {
	case "add":
	case "remove":
		method, done = http.MethodDelete, who+" removed from the team."
	default:
		return c.showTeam(w, r, p, http.StatusBadRequest, "Unknown change to the members; use the buttons of this page.")
	}
	var t teamDetail
	err := c.call(r.Context(), r, p, method, adminBase(p)+"/teams/"+url.PathEscape(id)+"/members", map[string][]string{"users": {user}}, &t)
	if err != nil {
		if e, ok := refusal(err); ok {
			return c.showTeam(w, r, p, e.Status, e.Text())
		}
		return err
	}
	back := tenantPage(p, "/teams/"+url.PathEscape(id))
	if q := r.PostFormValue("q"); q != "" && method == http.MethodPost {
		back += "?q=" + url.QueryEscape(q)
	}
	redirect(w, r, back, done)
	return nil
}
