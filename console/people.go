package console

// The people pages: the list (search, filters, pages by keyset), one
// person (what they hold, their history, the forms that change them),
// bulk role changes and deactivations behind a preview, and invitations.
// Every read and write is an admin API call (docs/console.md, "People"
// lists which, per page).

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func init() {
	routes = append(routes,
		route{"GET /console/{tenant}/people", func(c *Console) pageFunc { return c.people }},
		route{"POST /console/{tenant}/people/bulk", func(c *Console) pageFunc { return c.peopleBulk }},
		route{"GET /console/{tenant}/people/invite", func(c *Console) pageFunc { return c.inviteForm }},
		route{"POST /console/{tenant}/people/invite", func(c *Console) pageFunc { return c.invite }},
		route{"GET /console/{tenant}/people/{userID}", func(c *Console) pageFunc { return c.personPage }},
		route{"POST /console/{tenant}/people/{userID}", func(c *Console) pageFunc { return c.changePerson }},
	)
}

// peoplePageSize is the list's page: the admin API's default, read by
// keyset (next_cursor), so that a page costs the same on the first page
// and the two-thousandth.
const peoplePageSize = 50

// member is a person as the admin API answers them.
type member struct {
	ID          string       `json:"id"`
	UserName    string       `json:"userName"`
	DisplayName string       `json:"displayName"`
	Emails      []string     `json:"emails"`
	Role        string       `json:"role"`
	Seat        string       `json:"seat"`
	Active      bool         `json:"active"`
	Teams       []memberTeam `json:"teams"`
	Stores      []string     `json:"stores"`
	Managed     string       `json:"managed"`
	IdP         string       `json:"idp"`
	Drifted     bool         `json:"drifted"`
	DriftedAt   *time.Time   `json:"drifted_at"`
	LastSignIn  *time.Time   `json:"last_sign_in_at"`
	AccessUntil *time.Time   `json:"access_expires_at"`
	CreatedAt   time.Time    `json:"created_at"`
}

type memberTeam struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Name is what a person is called on a page: the display name, else the
// userName.
func (m member) Name() string {
	if m.DisplayName != "" {
		return m.DisplayName
	}
	return m.UserName
}

// Email is the first address ("" none).
func (m member) Email() string {
	if len(m.Emails) > 0 {
		return m.Emails[0]
	}
	return ""
}

// TeamNames are the names of the person's teams.
func (m member) TeamNames() []string {
	out := make([]string, 0, len(m.Teams))
	for _, t := range m.Teams {
		out = append(out, t.Name)
	}
	return out
}

// InTeam reports whether the person is on the team (an id).
func (m member) InTeam(id string) bool {
	return slices.ContainsFunc(m.Teams, func(t memberTeam) bool { return t.ID == id })
}

// HasStore reports whether the person may use the store (an id).
func (m member) HasStore(id string) bool { return slices.Contains(m.Stores, id) }

// IdPManaged is true for a person the IdP pushed.
func (m member) IdPManaged() bool { return m.Managed == "scim" }

type roleOption struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	SeatClass   string `json:"seat_class"`
	BuiltIn     bool   `json:"built_in"`
}

type teamOption struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	Managed     string `json:"managed"`
}

type storeOption struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// apiRead is one GET of a page, made only when the person holds perm
// ("" always). An optional read answered 404 (a SAML configuration that
// is not there) sets absent instead of err.
type apiRead struct {
	perm     string
	path     string
	out      any
	optional bool
	absent   bool
	err      error
}

// readAll makes the reads at once (each is an in-process admin API call)
// and answers when all are back; each read keeps its own error.
func (c *Console) readAll(r *http.Request, p *person, reads ...*apiRead) {
	var wg sync.WaitGroup
	for _, rd := range reads {
		if rd.perm != "" && !p.Can(rd.perm) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rd.err = c.call(r.Context(), r, p, http.MethodGet, rd.path, nil, rd.out)
			var e *apiError
			if rd.optional && errors.As(rd.err, &e) && e.Status == http.StatusNotFound {
				rd.err, rd.absent = nil, true
			}
		}()
	}
	wg.Wait()
}

// firstErr is the first error of the reads (nil: all that ran succeeded).
func firstErr(reads ...*apiRead) error {
	for _, rd := range reads {
		if rd.err != nil {
			return rd.err
		}
	}
	return nil
}

// sentence is what a person reads of an admin API refusal shown on a form.
func sentence(err error) (string, int, bool) {
	var e *apiError
	if !errors.As(err, &e) {
		return "", 0, false
	}
	if e.Status == http.StatusForbidden && len(e.Missing) > 0 {
		return "Your role does not include " + strings.Join(e.Missing, ", ") + ". Ask an administrator of your organisation if you need it.", e.Status, true
	}
	return e.Text(), e.Status, true
}

func tenantAPI(p *person) string { return "/admin/v1/tenants/" + url.PathEscape(p.Tenant.ID) }

func consolePath(p *person) string { return "/console/" + url.PathEscape(p.Tenant.ID) }

// ---- the list ----

// peopleFilters are the list's filters, as the search form sends them
// and the admin API takes them.
type peopleFilters struct {
	Q, Role, Team, Active, Managed string
}

func filtersOf(v url.Values) peopleFilters {
	g := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return peopleFilters{Q: g("q"), Role: g("role"), Team: g("team"), Active: g("active"), Managed: g("managed")}
}

func (f peopleFilters) values() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"q": f.Q, "role": f.Role, "team": f.Team, "active": f.Active, "managed": f.Managed} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

// Any reports whether a filter is set.
func (f peopleFilters) Any() bool { return len(f.values()) > 0 }

type peopleData struct {
	Filters peopleFilters
	People  []member
	Roles   []roleOption
	Teams   []teamOption
	Next    string // the next page's URL; "" on the last
	First   string // the first page's URL when this is a later one
	Back    string // this page's query, which the bulk form carries back
	Bulk    bool   // the person may change roles or deactivate
}

// people is GET /console/{tenant}/people: one page of people, newest
// first, over GET …/users (keyset), with the roles and teams of the
// filters; three admin API calls.
func (c *Console) people(w http.ResponseWriter, r *http.Request, p *person) error {
	f := filtersOf(r.URL.Query())
	q := f.values()
	q.Set("limit", strconv.Itoa(peoplePageSize))
	cursor := strings.TrimSpace(r.URL.Query().Get("cursor"))
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var list struct {
		Users []member `json:"users"`
		Next  *string  `json:"next_cursor"`
	}
	var roles struct {
		Roles []roleOption `json:"roles"`
	}
	var teams struct {
		Teams []teamOption `json:"teams"`
	}
	base := tenantAPI(p)
	users := &apiRead{path: base + "/users?" + q.Encode(), out: &list}
	rolesRd := &apiRead{perm: "users.view", path: base + "/roles", out: &roles}
	teamsRd := &apiRead{perm: "teams.view", path: base + "/teams", out: &teams}
	c.readAll(r, p, users, rolesRd, teamsRd)
	if err := firstErr(rolesRd, teamsRd); err != nil {
		return err
	}
	status, problem := http.StatusOK, ""
	if users.err != nil {
		// A bad filter value (or a cursor from elsewhere) is the API's
		// 400 naming it: said on the page, with the form to fix it.
		text, st, ok := sentence(users.err)
		if !ok || st != http.StatusBadRequest {
			return users.err
		}
		status, problem = st, text
	}
	self := consolePath(p) + "/people"
	d := peopleData{Filters: f, People: list.Users, Roles: roles.Roles, Teams: teams.Teams,
		Back: f.values().Encode(), Bulk: p.Can("users.roles") || p.Can("users.manage")}
	if list.Next != nil && *list.Next != "" {
		nq := f.values()
		nq.Set("cursor", *list.Next)
		d.Next = self + "?" + nq.Encode()
	}
	if cursor != "" {
		d.First = self
		if d.Back != "" {
			d.First += "?" + d.Back
		}
	}
	c.renderView(w, r, status, "people", view{P: p, Title: "People", Nav: "people", Data: d, Problem: problem})
	return nil
}

// listURL is the list with the filters a form carried back (only the
// list's own parameters survive).
func listURL(p *person, back string) string {
	v, _ := url.ParseQuery(back)
	q := filtersOf(v).values().Encode()
	if q == "" {
		return consolePath(p) + "/people"
	}
	return consolePath(p) + "/people?" + q
}

// ---- bulk changes ----

// bulkRow is one person's part in a bulk change, as the dry run answers.
type bulkRow struct {
	ID        string `json:"id"`
	UserName  string `json:"userName"`
	Managed   string `json:"managed"`
	OldRole   string `json:"old_role"`
	NewRole   string `json:"new_role"`
	OldSeat   string `json:"old_seat"`
	NewSeat   string `json:"new_seat"`
	OldActive bool   `json:"old_active"`
	NewActive bool   `json:"new_active"`
	Changed   bool   `json:"changed"`
	Refused   *struct {
		Code    string `json:"error"`
		Message string `json:"message"`
	} `json:"refused"`
}

// seatEffect is the change's effect on seats and the monthly cost.
type seatEffect struct {
	FullBefore             int   `json:"full_before"`
	FullAfter              int   `json:"full_after"`
	LightBefore            int   `json:"light_before"`
	LightAfter             int   `json:"light_after"`
	BillableBefore         int   `json:"billable_before"`
	BillableAfter          int   `json:"billable_after"`
	MonthlyCostCentsBefore int64 `json:"monthly_cost_cents_before"`
	MonthlyCostCentsAfter  int64 `json:"monthly_cost_cents_after"`
}

type bulkAnswer struct {
	Changed   int        `json:"changed"`
	Users     []bulkRow  `json:"users"`
	Seats     seatEffect `json:"seats"`
	WouldFail *struct {
		Code    string `json:"error"`
		Message string `json:"message"`
	} `json:"would_fail"`
}

type bulkData struct {
	Do       string   // role:<name>, deactivate or reactivate
	Kind     string   // role, deactivate, reactivate
	Role     string   // the role given (Kind role)
	IDs      []string // the selection, carried by the confirm form
	Back     string
	List     string // the list to go back to
	Answer   *bulkAnswer
	Allowed  []string // the selection without the people refused
	Refused  int
	Blocked  string // why the change cannot be confirmed ("" it can)
	Verb     string // "Change the role of" …
	Selected int
}

// bulkRequest is the admin API call a bulk action makes.
func bulkRequest(p *person, do string, ids []string) (kind, role, path string, body map[string]any, ok bool) {
	base := tenantAPI(p) + "/users/"
	switch {
	case strings.HasPrefix(do, "role:") && strings.TrimPrefix(do, "role:") != "":
		role = strings.TrimPrefix(do, "role:")
		return "role", role, base + "role", map[string]any{"users": ids, "role": role}, true
	case do == "deactivate" || do == "reactivate":
		return do, "", base + do, map[string]any{"users": ids}, true
	}
	return "", "", "", nil, false
}

// peopleBulk is POST /console/{tenant}/people/bulk: with step=preview (the
// list's form) a dry run of the change on the selected people, shown as
// each person's old → new and the effect on seats and cost; with
// step=confirm (the preview's form, carrying the same selection) the
// change itself, then back to the list saying what was done. One admin
// API call each (two when a confirmed change is refused: the preview is
// shown again with the refusal).
func (c *Console) peopleBulk(w http.ResponseWriter, r *http.Request, p *person) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	ids := []string{}
	for _, id := range r.PostForm["user"] {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	do := r.PostFormValue("do")
	back := r.PostFormValue("back")
	d := bulkData{Do: do, IDs: ids, Back: back, List: listURL(p, back), Selected: len(ids)}
	kind, role, path, body, ok := bulkRequest(p, do, ids)
	d.Kind, d.Role = kind, role
	render := func(status int, problem string) error {
		title := "Preview a change"
		switch kind {
		case "role":
			title, d.Verb = "Preview: change the role to "+role, "Change the role of"
		case "deactivate":
			title, d.Verb = "Preview: deactivate", "Deactivate"
		case "reactivate":
			title, d.Verb = "Preview: reactivate", "Reactivate"
		}
		c.renderView(w, r, status, "people-bulk", view{P: p, Title: title, Nav: "people", Data: d, Problem: problem})
		return nil
	}
	switch {
	case len(ids) == 0:
		return render(http.StatusBadRequest, "No one was selected. Go back to the list, tick the people to change, and choose the change again.")
	case !ok:
		return render(http.StatusBadRequest, "Choose what to do with the selected people: a role to give them, or deactivate.")
	}
	preview := func() error {
		var a bulkAnswer
		if err := c.call(r.Context(), r, p, http.MethodPost, path+"?dry_run=true", body, &a); err != nil {
			return err
		}
		d.Answer = &a
		for _, u := range a.Users {
			if u.Refused != nil {
				d.Refused++
			} else {
				d.Allowed = append(d.Allowed, u.ID)
			}
		}
		if a.WouldFail != nil {
			d.Blocked = a.WouldFail.Message
		}
		return nil
	}
	if r.PostFormValue("step") == "confirm" {
		var a bulkAnswer
		err := c.call(r.Context(), r, p, http.MethodPost, path, body, &a)
		if err == nil {
			redirect(w, r, d.List, bulkDone(kind, role, a.Changed))
			return nil
		}
		text, status, isAPI := sentence(err)
		if !isAPI {
			return err
		}
		// Refused (the seats or a person changed since the preview): the
		// preview again, as things are now, with the API's sentence.
		if perr := preview(); perr != nil {
			ptext, _, _ := sentence(perr)
			text += " " + ptext
		}
		return render(status, text)
	}
	if err := preview(); err != nil {
		text, status, isAPI := sentence(err)
		if !isAPI {
			return err
		}
		return render(status, text)
	}
	return render(http.StatusOK, "")
}

func bulkDone(kind, role string, n int) string {
	people := "people"
	if n == 1 {
		people = "person"
	}
	switch kind {
	case "role":
		return fmt.Sprintf("Changed the role of %d %s to %s.", n, people, role)
	case "deactivate":
		return fmt.Sprintf("Deactivated %d %s.", n, people)
	}
	return fmt.Sprintf("Reactivated %d %s.", n, people)
}

// ---- one person ----

type personData struct {
	M        member
	Roles    []roleOption
	Teams    []teamOption
	Stores   []storeOption
	History  []historyEntry
	More     bool // the history has older entries than are shown
	Problems map[string]string
	Values   map[string]string // what a refused form sent, shown again
}

// historyEntry is one line of a person's history: an audit event or a
// seat ledger entry, in words.
type historyEntry struct {
	At     time.Time
	What   string
	Actor  string
	Source string // "audit" or "seat"
}

// apiHistoryEntry is one entry of GET …/users/{id}/history: an audit event
// (kind audit) or a seat ledger entry (kind seat, action its reason).
type apiHistoryEntry struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
	Action string    `json:"action"`
	Detail string    `json:"detail"`
	Actor  struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"actor"`
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
	Seat   string          `json:"seat"`
	Delta  int             `json:"delta"`
}

// auditEvent is what the history says of an audit event.
type auditEvent struct {
	Action string
	Detail string
	Before json.RawMessage
	After  json.RawMessage
}

// seatEvent is what the history says of a seat ledger entry.
type seatEvent struct {
	Seat   string
	Delta  int
	Reason string
}

// historyLimit is how many entries of a person's history the page shows.
const historyLimit = 100

// personPage is GET /console/{tenant}/people/{userID}.
func (c *Console) personPage(w http.ResponseWriter, r *http.Request, p *person) error {
	return c.showPerson(w, r, p, r.PathValue("userID"), http.StatusOK, nil, nil)
}

// showPerson reads and renders one person: the person, the options of
// the forms the viewer may use (roles, teams, stores) and their history
// (the trail's events about them and their seat ledger, merged newest
// first by the API): at most five admin API calls, made at once.
func (c *Console) showPerson(w http.ResponseWriter, r *http.Request, p *person, id string, status int, problems, values map[string]string) error {
	base := tenantAPI(p)
	user := base + "/users/" + url.PathEscape(id)
	var d personData
	var roles struct {
		Roles []roleOption `json:"roles"`
	}
	var teams struct {
		Teams []teamOption `json:"teams"`
	}
	var stores struct {
		Stores []storeOption `json:"stores"`
	}
	var history struct {
		Entries []apiHistoryEntry `json:"entries"`
		More    bool              `json:"more"`
	}
	reads := []*apiRead{
		{path: user, out: &d.M},
		{perm: "users.roles", path: base + "/roles", out: &roles},
		{perm: "teams.manage", path: base + "/teams", out: &teams},
		{perm: "users.manage", path: base + "/stores", out: &stores},
		{path: user + "/history?limit=" + strconv.Itoa(historyLimit), out: &history},
	}
	c.readAll(r, p, reads...)
	if err := firstErr(reads...); err != nil {
		return err
	}
	d.Roles, d.Teams, d.Stores, d.More = roles.Roles, teams.Teams, stores.Stores, history.More
	for _, e := range history.Entries {
		h := historyEntry{At: e.At, Actor: actorName(e.Actor.Kind, e.Actor.ID, e.Actor.Name), Source: e.Kind}
		if e.Kind == "seat" {
			h.What = describeSeat(seatEvent{Seat: e.Seat, Delta: e.Delta, Reason: e.Action})
		} else {
			h.What = describeAudit(auditEvent{Action: e.Action, Detail: e.Detail, Before: e.Before, After: e.After})
		}
		d.History = append(d.History, h)
	}
	d.Problems, d.Values = problems, values
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	c.renderView(w, r, status, "person", view{P: p, Title: d.M.Name(), Nav: "people", Data: d})
	return nil
}

// actorName is who did something, as the trail names them.
func actorName(kind, id, name string) string {
	switch {
	case kind == "admin" && id == "operator":
		return "the operator"
	case name != "":
		return name
	case kind != "" && id != "":
		return kind + " " + id
	}
	return kind
}

// auditUser is what the history reads of a user record the trail kept.
type auditUser struct {
	UserName    string `json:"userName"`
	DisplayName string `json:"displayName"`
	Active      *bool  `json:"active"`
	Roster      struct {
		Role   string   `json:"role"`
		Stores []string `json:"stores"`
	} `json:"urn:ietf:params:scim:schemas:extension:roster:2.0:User"`
}

// describeAudit says in words what an audit event of a person did.
func describeAudit(e auditEvent) string {
	var before, after auditUser
	hasBefore := len(e.Before) > 0 && string(e.Before) != "null" && json.Unmarshal(e.Before, &before) == nil
	hasAfter := len(e.After) > 0 && string(e.After) != "null" && json.Unmarshal(e.After, &after) == nil
	var parts []string
	switch e.Action {
	case "user.created":
		s := "Created"
		if hasAfter && after.Roster.Role != "" {
			s += " with the role " + after.Roster.Role
		}
		parts = append(parts, s)
	case "user.deleted":
		parts = append(parts, "Deleted")
	case "user.signed_in":
		parts = append(parts, "Signed in")
	case "user.updated":
		if hasBefore && hasAfter {
			if before.Roster.Role != after.Roster.Role {
				parts = append(parts, "Role "+orNone(before.Roster.Role)+" → "+orNone(after.Roster.Role))
			}
			if before.Active != nil && after.Active != nil && *before.Active != *after.Active {
				if *after.Active {
					parts = append(parts, "Reactivated")
				} else {
					parts = append(parts, "Deactivated")
				}
			}
			if before.DisplayName != after.DisplayName {
				parts = append(parts, "Display name "+orNone(before.DisplayName)+" → "+orNone(after.DisplayName))
			}
			if before.UserName != after.UserName {
				parts = append(parts, "userName "+before.UserName+" → "+after.UserName)
			}
			if !slices.Equal(before.Roster.Stores, after.Roster.Stores) {
				parts = append(parts, "Stores "+orNone(strings.Join(before.Roster.Stores, ", "))+" → "+orNone(strings.Join(after.Roster.Stores, ", ")))
			}
		}
		if len(parts) == 0 {
			// Nothing the page names changed: the trail's own words.
			parts = append(parts, "Updated")
		} else {
			e.Detail = "" // the changes said, the detail ("deactivated (bulk deactivation)") repeats them
		}
	default:
		parts = append(parts, e.Action)
	}
	s := strings.Join(parts, "; ")
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// describeSeat says in words what a seat ledger entry did.
func describeSeat(e seatEvent) string {
	seat := e.Seat
	if seat == "" {
		seat = "full"
	}
	verb := "taken"
	if e.Delta < 0 {
		verb = "released"
	}
	return fmt.Sprintf("%s%s seat %s (%s)", strings.ToUpper(seat[:1]), seat[1:], verb, strings.ReplaceAll(e.Reason, "_", " "))
}

// changePerson is POST /console/{tenant}/people/{userID}: one of the
// person page's forms (form=role, teams, stores, profile, active) as a
// PATCH of that attribute only. A refusal (an IdP-managed attribute, the
// seat cap, a missing permission) is shown in the form, with the API's
// sentence.
func (c *Console) changePerson(w http.ResponseWriter, r *http.Request, p *person) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	id := r.PathValue("userID")
	form := r.PostFormValue("form")
	body := map[string]any{}
	var done string
	values := map[string]string{}
	switch form {
	case "role":
		role := strings.TrimSpace(r.PostFormValue("role"))
		body["role"] = role
		done = "Role changed to " + role + "."
		if role == "" {
			done = "Role set back to what the role mappings or the default role give."
		}
	case "teams":
		teams := []string{}
		for _, t := range r.PostForm["team"] {
			if t != "" {
				teams = append(teams, t)
			}
		}
		body["teams"] = teams
		done = "Teams saved."
	case "stores":
		stores := []string{}
		for _, s := range r.PostForm["store"] {
			if s != "" {
				stores = append(stores, s)
			}
		}
		body["stores"] = stores
		done = "Stores saved."
	case "profile":
		name := strings.TrimSpace(r.PostFormValue("displayName"))
		body["displayName"] = name
		values["displayName"] = name
		done = "Display name saved."
	case "active":
		active := r.PostFormValue("active") == "true"
		body["active"] = active
		done = "Deactivated; their seat is released."
		if active {
			done = "Reactivated; they hold a seat again."
		}
	default:
		return c.showPerson(w, r, p, id, http.StatusBadRequest, map[string]string{"": "The form sent was not one of this page's."}, nil)
	}
	var m member
	err := c.call(r.Context(), r, p, http.MethodPatch, tenantAPI(p)+"/users/"+url.PathEscape(id), body, &m)
	if err != nil {
		text, status, isAPI := sentence(err)
		if !isAPI || status == http.StatusNotFound {
			return err
		}
		return c.showPerson(w, r, p, id, status, map[string]string{form: text}, values)
	}
	if form == "role" && r.PostFormValue("role") != "" && m.Role != strings.TrimSpace(r.PostFormValue("role")) {
		// A privileged role may be held for approval: the answer says
		// what the person holds now.
		done = "The role " + strings.TrimSpace(r.PostFormValue("role")) + " was asked for; they hold " + m.Role + " until it is approved."
	}
	redirect(w, r, consolePath(p)+"/people/"+url.PathEscape(id), done)
	return nil
}

// ---- invitations ----

type inviteData struct {
	Roles  []roleOption
	Teams  []teamOption
	Values map[string]string
	Team   map[string]bool
	Fields map[string]string // the API's field errors, by field
}

// inviteForm is GET /console/{tenant}/people/invite.
func (c *Console) inviteForm(w http.ResponseWriter, r *http.Request, p *person) error {
	return c.showInvite(w, r, p, http.StatusOK, inviteData{Values: map[string]string{}, Team: map[string]bool{}}, "")
}

// showInvite renders the invitation form with the roles and teams the
// person may give: two admin API calls.
func (c *Console) showInvite(w http.ResponseWriter, r *http.Request, p *person, status int, d inviteData, problem string) error {
	if !p.Can("users.manage") {
		return &apiError{Status: http.StatusForbidden, Code: "forbidden", Missing: []string{"users.manage"}}
	}
	var roles struct {
		Roles []roleOption `json:"roles"`
	}
	var teams struct {
		Teams []teamOption `json:"teams"`
	}
	reads := []*apiRead{
		{perm: "users.roles", path: tenantAPI(p) + "/roles", out: &roles},
		{perm: "teams.manage", path: tenantAPI(p) + "/teams", out: &teams},
	}
	c.readAll(r, p, reads...)
	if err := firstErr(reads...); err != nil {
		return err
	}
	d.Roles = roles.Roles
	for _, t := range teams.Teams {
		if t.Managed != "scim" { // the IdP's teams take members from the IdP only
			d.Teams = append(d.Teams, t)
		}
	}
	c.renderView(w, r, status, "people-invite", view{P: p, Title: "Invite a person", Nav: "people", Data: d, Problem: problem})
	return nil
}

// invite is POST /console/{tenant}/people/invite: POST …/users; the API's
// field errors are shown by their fields, any other refusal (the seat
// cap) with its sentence.
func (c *Console) invite(w http.ResponseWriter, r *http.Request, p *person) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	d := inviteData{Values: map[string]string{}, Team: map[string]bool{}, Fields: map[string]string{}}
	for _, k := range []string{"userName", "email", "displayName", "role"} {
		d.Values[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	body := map[string]any{"userName": d.Values["userName"]}
	for _, k := range []string{"email", "displayName", "role"} {
		if d.Values[k] != "" {
			body[k] = d.Values[k]
		}
	}
	var teams []string
	for _, t := range r.PostForm["team"] {
		if t != "" {
			teams = append(teams, t)
			d.Team[t] = true
		}
	}
	if len(teams) > 0 {
		body["teams"] = teams
	}
	var m member
	err := c.call(r.Context(), r, p, http.MethodPost, tenantAPI(p)+"/users", body, &m)
	if err == nil {
		redirect(w, r, consolePath(p)+"/people/"+url.PathEscape(m.ID), "Invited "+m.UserName+".")
		return nil
	}
	var e *apiError
	if !errors.As(err, &e) {
		return err
	}
	problem, status, _ := sentence(err)
	if len(e.Fields) > 0 {
		for _, f := range e.Fields {
			d.Fields[f.Field] = f.Message
		}
		problem = "Nothing was created: correct the fields marked below."
	}
	return c.showInvite(w, r, p, status, d, problem)
}
