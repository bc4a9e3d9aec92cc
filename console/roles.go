package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Roles: which role may do what (the permission catalogue as a matrix of
// flags by area), the custom-role editor, the group → role mappings in
// precedence order, and the queue of privileged grants waiting for
// approval. Everything is read and written through the admin API's
// …/roles, …/role-mappings and …/approvals routes.

func init() {
	// flagLabel shows a flag's name as words (view_all → "view all").
	funcs["flagLabel"] = func(name string) string { return strings.ReplaceAll(name, "_", " ") }
	funcs["list"] = func(s ...string) []string { return s }
	routes = append(routes,
		route{"GET /console/{tenant}/roles", func(c *Console) pageFunc { return c.roles }},
		route{"GET /console/{tenant}/roles/new", func(c *Console) pageFunc { return c.roleNew }},
		route{"POST /console/{tenant}/roles/new", func(c *Console) pageFunc { return c.roleCreate }},
		route{"GET /console/{tenant}/roles/{role}/edit", func(c *Console) pageFunc { return c.roleEdit }},
		route{"POST /console/{tenant}/roles/{role}/edit", func(c *Console) pageFunc { return c.roleSave }},
		route{"POST /console/{tenant}/roles/{role}/delete", func(c *Console) pageFunc { return c.roleDelete }},
		route{"POST /console/{tenant}/roles/mappings", func(c *Console) pageFunc { return c.mappingsChange }},
		route{"POST /console/{tenant}/roles/approvals", func(c *Console) pageFunc { return c.approvalDecide }},
	)
}

// roleEntry is a role as GET …/roles answers it.
type roleEntry struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Permissions []string `json:"permissions"`
	Privileged  bool     `json:"privileged"`
	SeatClass   string   `json:"seat_class"`
	BuiltIn     bool     `json:"built_in"`
	Users       int      `json:"users"`
}

// Has reports whether the role holds a flag.
func (r roleEntry) Has(flag string) bool {
	for _, p := range r.Permissions {
		if p == flag {
			return true
		}
	}
	return false
}

type catalogueArea struct {
	Name  string `json:"name"`
	Flags []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"flags"`
}

type rolesAnswer struct {
	Roles       []roleEntry     `json:"roles"`
	DefaultRole string          `json:"default_role"`
	Catalogue   []catalogueArea `json:"catalogue"`
}

type mappingEntry struct {
	Group   string `json:"group"`
	Role    string `json:"role"`
	GroupID string `json:"group_id"`
	Members *int   `json:"members"`
}

type approvalEntry struct {
	ID          string `json:"id"`
	UserID      string `json:"user_id"`
	UserName    string `json:"user_name"`
	Role        string `json:"role"`
	Status      string `json:"status"`
	RequestedBy struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"requested_by"`
	CreatedAt   time.Time `json:"created_at"`
	CurrentRole string    `json:"current_role"`
}

type rolesData struct {
	Roles       []roleEntry
	DefaultRole string
	Catalogue   []catalogueArea
	Mappings    []mappingEntry
	Groups      []string // the tenant's group names, offered when adding a mapping
	Approvals   []approvalEntry
	Policy      string // privileged_roles
}

// adminBase is the admin API path of the person's tenant.
func adminBase(p *person) string {
	return "/admin/v1/tenants/" + url.PathEscape(p.Tenant.ID)
}

// tenantPage is a console path of the person's tenant.
func tenantPage(p *person, rest string) string {
	return "/console/" + url.PathEscape(p.Tenant.ID) + rest
}

// loadRoles reads what the roles page shows; the approvals only for
// those who may read them (users.roles), the group names only for those
// who may see teams.
func (c *Console) loadRoles(r *http.Request, p *person) (rolesData, error) {
	base := adminBase(p)
	var d rolesData
	var roles rolesAnswer
	if err := c.call(r.Context(), r, p, http.MethodGet, base+"/roles", nil, &roles); err != nil {
		return d, err
	}
	d.Roles, d.DefaultRole, d.Catalogue = roles.Roles, roles.DefaultRole, roles.Catalogue
	var m struct {
		Mappings []mappingEntry `json:"mappings"`
	}
	if err := c.call(r.Context(), r, p, http.MethodGet, base+"/role-mappings", nil, &m); err != nil {
		return d, err
	}
	d.Mappings = m.Mappings
	if p.Can("users.roles") {
		var ap struct {
			Approvals []approvalEntry `json:"approvals"`
			Policy    string          `json:"privileged_roles"`
		}
		if err := c.call(r.Context(), r, p, http.MethodGet, base+"/approvals", nil, &ap); err != nil {
			return d, err
		}
		d.Approvals, d.Policy = ap.Approvals, ap.Policy
	}
	if p.Can("teams.view") {
		var t struct {
			Teams      []teamEntry `json:"teams"`
			RoleGroups []teamEntry `json:"role_groups"`
		}
		if err := c.call(r.Context(), r, p, http.MethodGet, base+"/teams", nil, &t); err != nil {
			return d, err
		}
		for _, g := range append(t.RoleGroups, t.Teams...) {
			d.Groups = append(d.Groups, g.DisplayName)
		}
	}
	return d, nil
}

func (c *Console) roles(w http.ResponseWriter, r *http.Request, p *person) error {
	return c.showRoles(w, r, p, http.StatusOK, "")
}

// showRoles renders the roles page, with a refusal of the API inline.
func (c *Console) showRoles(w http.ResponseWriter, r *http.Request, p *person, status int, problem string) error {
	d, err := c.loadRoles(r, p)
	if err != nil {
		return err
	}
	c.renderView(w, r, status, "roles", view{P: p, Title: "Roles", Nav: "roles", Data: d, Problem: problem})
	return nil
}

// ---- the role editor ----

type roleForm struct {
	New       bool
	Role      roleEntry
	Catalogue []catalogueArea
	Others    []roleEntry // the roles a deleted role's holders may move to
}

func (c *Console) roleNew(w http.ResponseWriter, r *http.Request, p *person) error {
	var roles rolesAnswer
	if err := c.call(r.Context(), r, p, http.MethodGet, adminBase(p)+"/roles", nil, &roles); err != nil {
		return err
	}
	c.renderView(w, r, http.StatusOK, "role-edit", view{P: p, Title: "New role", Nav: "roles",
		Data: roleForm{New: true, Role: roleEntry{SeatClass: "full"}, Catalogue: roles.Catalogue}})
	return nil
}

func (c *Console) roleEdit(w http.ResponseWriter, r *http.Request, p *person) error {
	f, err := c.loadRoleForm(r, p, r.PathValue("role"))
	if err != nil {
		return err
	}
	c.renderView(w, r, http.StatusOK, "role-edit", view{P: p, Title: "Role " + f.Role.Name, Nav: "roles", Data: f})
	return nil
}

// loadRoleForm reads one role, the catalogue and the other roles.
func (c *Console) loadRoleForm(r *http.Request, p *person, name string) (roleForm, error) {
	var roles rolesAnswer
	if err := c.call(r.Context(), r, p, http.MethodGet, adminBase(p)+"/roles", nil, &roles); err != nil {
		return roleForm{}, err
	}
	f := roleForm{Catalogue: roles.Catalogue}
	found := false
	for _, x := range roles.Roles {
		if x.Name == name {
			f.Role, found = x, true
		} else {
			f.Others = append(f.Others, x)
		}
	}
	if !found {
		// The API's own answer for a role that does not exist.
		var one roleEntry
		if err := c.call(r.Context(), r, p, http.MethodGet, adminBase(p)+"/roles/"+url.PathEscape(name), nil, &one); err != nil {
			return f, err
		}
		f.Role = one
	}
	return f, nil
}

// roleInput is the editor's form as the API's role body.
func roleInput(r *http.Request) (map[string]any, roleEntry) {
	_ = r.ParseForm()
	perms := r.PostForm["perm"]
	if perms == nil {
		perms = []string{}
	}
	e := roleEntry{Name: strings.TrimSpace(r.PostFormValue("name")), Description: strings.TrimSpace(r.PostFormValue("description")),
		Permissions: perms, Privileged: r.PostFormValue("privileged") == "on", SeatClass: r.PostFormValue("seat_class")}
	body := map[string]any{"description": e.Description, "permissions": perms, "privileged": e.Privileged, "seat_class": e.SeatClass}
	return body, e
}

func (c *Console) roleCreate(w http.ResponseWriter, r *http.Request, p *person) error {
	body, e := roleInput(r)
	body["name"] = e.Name
	err := c.call(r.Context(), r, p, http.MethodPost, adminBase(p)+"/roles", body, nil)
	if err != nil {
		return c.roleRefused(w, r, p, err, roleForm{New: true, Role: e})
	}
	redirect(w, r, tenantPage(p, "/roles"), fmt.Sprintf("Role %s created with %d permission%s.", e.Name, len(e.Permissions), pluralS(len(e.Permissions))))
	return nil
}

func (c *Console) roleSave(w http.ResponseWriter, r *http.Request, p *person) error {
	name := r.PathValue("role")
	body, e := roleInput(r)
	e.Name = name
	err := c.call(r.Context(), r, p, http.MethodPut, adminBase(p)+"/roles/"+url.PathEscape(name), body, nil)
	if err != nil {
		return c.roleRefused(w, r, p, err, roleForm{Role: e})
	}
	redirect(w, r, tenantPage(p, "/roles"), fmt.Sprintf("Role %s saved.", name))
	return nil
}

// roleRefused shows the editor again with what was sent and the API's
// sentence; an error that is not a refusal is the error page.
func (c *Console) roleRefused(w http.ResponseWriter, r *http.Request, p *person, err error, f roleForm) error {
	var e *apiError
	if !errors.As(err, &e) || e.Status >= 500 {
		return err
	}
	var roles rolesAnswer
	if err := c.call(r.Context(), r, p, http.MethodGet, adminBase(p)+"/roles", nil, &roles); err != nil {
		return err
	}
	f.Catalogue = roles.Catalogue
	for _, x := range roles.Roles {
		if x.Name != f.Role.Name {
			f.Others = append(f.Others, x)
		} else {
			f.Role.Users, f.Role.BuiltIn = x.Users, x.BuiltIn
		}
	}
	title := "New role"
	if !f.New {
		title = "Role " + f.Role.Name
	}
	c.renderView(w, r, e.Status, "role-edit", view{P: p, Title: title, Nav: "roles", Data: f, Problem: e.Text()})
	return nil
}

func (c *Console) roleDelete(w http.ResponseWriter, r *http.Request, p *person) error {
	name := r.PathValue("role")
	replacement := strings.TrimSpace(r.PostFormValue("replacement"))
	path := adminBase(p) + "/roles/" + url.PathEscape(name)
	if replacement != "" {
		path += "?replacement=" + url.QueryEscape(replacement)
	}
	if err := c.call(r.Context(), r, p, http.MethodDelete, path, nil, nil); err != nil {
		var e *apiError
		if !errors.As(err, &e) || e.Status >= 500 {
			return err
		}
		f, lerr := c.loadRoleForm(r, p, name)
		if lerr != nil {
			return lerr
		}
		c.renderView(w, r, e.Status, "role-edit", view{P: p, Title: "Role " + name, Nav: "roles", Data: f, Problem: e.Text()})
		return nil
	}
	done := "Role " + name + " deleted."
	if replacement != "" {
		done = "Role " + name + " deleted; its holders now have the role " + replacement + "."
	}
	redirect(w, r, tenantPage(p, "/roles"), done)
	return nil
}

// ---- group → role mappings ----

// mappingsChange applies one change to the mappings — move a mapping up or
// down, remove it, or add one at the end — and puts the whole list back
// (the API takes the list in precedence order). A move or removal names
// the mapping by position and group: when the list changed since the page
// was read, nothing is sent and the page says so.
func (c *Console) mappingsChange(w http.ResponseWriter, r *http.Request, p *person) error {
	base := adminBase(p)
	var cur struct {
		Mappings []mappingEntry `json:"mappings"`
	}
	if err := c.call(r.Context(), r, p, http.MethodGet, base+"/role-mappings", nil, &cur); err != nil {
		return err
	}
	list := make([]map[string]string, len(cur.Mappings))
	for i, m := range cur.Mappings {
		list[i] = map[string]string{"group": m.Group, "role": m.Role}
	}
	op := r.PostFormValue("op")
	var done string
	if op == "add" {
		group, role := strings.TrimSpace(r.PostFormValue("group")), strings.TrimSpace(r.PostFormValue("role"))
		list = append(list, map[string]string{"group": group, "role": role})
		done = fmt.Sprintf("Members of %s now get the role %s, unless a mapping above it applies.", group, role)
	} else {
		i, err := strconv.Atoi(r.PostFormValue("index"))
		if err != nil || i < 0 || i >= len(list) || list[i]["group"] != r.PostFormValue("group") {
			return c.showRoles(w, r, p, http.StatusConflict, "The mappings changed since this page was loaded; nothing was changed. Here they are as they are now.")
		}
		g := list[i]["group"]
		switch op {
		case "up", "down":
			j := i - 1
			if op == "down" {
				j = i + 1
			}
			if j < 0 || j >= len(list) {
				redirectAnchor(w, r, tenantPage(p, "/roles"), "mappings", "")
				return nil
			}
			list[i], list[j] = list[j], list[i]
			done = fmt.Sprintf("The mapping of %s moved to position %d.", g, j+1)
		case "remove":
			list = append(list[:i], list[i+1:]...)
			done = fmt.Sprintf("The mapping of %s was removed.", g)
		default:
			return c.showRoles(w, r, p, http.StatusBadRequest, "Unknown change to the mappings; use the buttons of this page.")
		}
	}
	if err := c.call(r.Context(), r, p, http.MethodPut, base+"/role-mappings", list, nil); err != nil {
		var e *apiError
		if errors.As(err, &e) && e.Status < 500 {
			return c.showRoles(w, r, p, e.Status, e.Text())
		}
		return err
	}
	redirectAnchor(w, r, tenantPage(p, "/roles"), "mappings", done)
	return nil
}

// ---- approvals ----

func (c *Console) approvalDecide(w http.ResponseWriter, r *http.Request, p *person) error {
	id := r.PostFormValue("id")
	decision := r.PostFormValue("decision")
	if decision != "approve" && decision != "reject" {
		return c.showRoles(w, r, p, http.StatusBadRequest, "Choose Approve or Deny.")
	}
	var out approvalEntry
	err := c.call(r.Context(), r, p, http.MethodPost, adminBase(p)+"/approvals/"+url.PathEscape(id), map[string]string{"decision": decision}, &out)
	if err != nil {
		var e *apiError
		if errors.As(err, &e) && e.Status < 500 {
			return c.showRoles(w, r, p, e.Status, e.Text())
		}
		return err
	}
	who := out.UserName
	if who == "" {
		who = out.UserID
	}
	done := fmt.Sprintf("Approved: %s now has the role %s.", who, out.Role)
	if decision == "reject" {
		done = fmt.Sprintf("Denied: %s keeps the role %s.", who, out.CurrentRole)
	}
	redirectAnchor(w, r, tenantPage(p, "/roles"), "approvals", done)
	return nil
}

// redirectAnchor is redirect landing on a part of the page (the notice is
// in the query, which must come before the fragment).
func redirectAnchor(w http.ResponseWriter, r *http.Request, path, anchor, done string) {
	if done != "" {
		path += "?done=" + url.QueryEscape(done)
	}
	http.Redirect(w, r, path+"#"+anchor, http.StatusSeeOther)
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
