package admin

// Roles: built-in and custom roles, group → role mappings, teams,
// and the approval queue of privileged grants over SCIM.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// roleView is a role as the admin API shows it.
type roleView struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Permissions []string   `json:"permissions"`
	Privileged  bool       `json:"privileged"`
	SeatClass   string     `json:"seat_class"`
	BuiltIn     bool       `json:"built_in"`
	Users       int        `json:"users"` // live users holding it
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	UpdatedAt   *time.Time `json:"updated_at,omitempty"`
}

func viewRole(r store.Role, builtIn bool, users int) roleView {
	perms, _ := access.Permissions(r.Name, []store.Role{r})
	if builtIn {
		perms, _ = access.Permissions(r.Name, nil)
	}
	v := roleView{Name: r.Name, Description: r.Description, Permissions: perms, Privileged: r.Privileged,
		SeatClass: string(r.SeatClass), BuiltIn: builtIn, Users: users}
	if v.SeatClass == "" {
		v.SeatClass = string(store.SeatFull)
	}
	if !builtIn {
		created, updated := r.CreatedAt, r.UpdatedAt
		v.CreatedAt, v.UpdatedAt = &created, &updated
	}
	return v
}

// roleInput is the body of POST …/roles and PUT …/roles/{role}.
type roleInput struct {
	Name        *string   `json:"name"`
	Description string    `json:"description"`
	Permissions *[]string `json:"permissions"`
	Privileged  bool      `json:"privileged"`
	SeatClass   string    `json:"seat_class"`
}

// role checks the input and returns the role it describes; every fault at once.
func (in roleInput) role(name string) (store.Role, []FieldError) {
	var bad []FieldError
	r := store.Role{Name: name, Description: strings.TrimSpace(in.Description), Privileged: in.Privileged,
		SeatClass: store.SeatClass(in.SeatClass)}
	if len(r.Description) > 500 {
		bad = append(bad, FieldError{"description", "must be at most 500 characters"})
	}
	switch r.SeatClass {
	case "":
		r.SeatClass = store.SeatFull
	case store.SeatFull, store.SeatLight:
	default:
		bad = append(bad, FieldError{"seat_class", fmt.Sprintf("must be %q or %q", store.SeatFull, store.SeatLight)})
	}
	if in.Permissions == nil {
		bad = append(bad, FieldError{"permissions", `is required: a list of flags such as ["conversations.view_all", "reporting.view_org"] (GET …/roles lists the catalogue)`})
	} else {
		perms, err := access.ValidateFlags(*in.Permissions)
		var flags access.FlagErrors
		switch {
		case errors.As(err, &flags):
			for _, f := range flags { // one entry per unknown flag
				bad = append(bad, FieldError{"permissions", f.Error()})
			}
		case err != nil:
			bad = append(bad, FieldError{"permissions", err.Error()})
		}
		r.Permissions = perms
	}
	return r, bad
}

// customRolesAllowed refuses custom roles on plans without them.
func customRolesAllowed(t store.Tenant) error {
	if p, ok := licensing.Lookup(t.Plan); ok && p.Has(licensing.CustomRoles) {
		return nil
	}
	return &Error{Status: http.StatusForbidden, Code: "plan_required", Message: fmt.Sprintf(
		"custom roles need the %s plan; tenant %s is on %s. Change the plan (PATCH /admin/v1/tenants/%s {\"plan\":\"enterprise\"}) or use the built-in roles admin, supervisor, agent",
		strings.Join(licensing.PlansWith(licensing.CustomRoles), ", "), t.ID, t.Plan, t.ID)}
}

// roleError is the admin error of the role errors whose body says more than
// their kind: a role still held (with the holders' count and how to move
// them; status and code from adminAnswers) and unknown permission flags (one
// field each). nil for any other error.
func roleError(err error) error {
	var inUse *store.RoleInUseError
	var flags access.FlagErrors
	var flag *access.FlagError
	switch {
	case errors.As(err, &inUse):
		e := storeError(err)
		return &roleInUse{Status: e.Status, Code: e.Code, Message: fmt.Sprintf(
			"role %q is held by %d user(s); name the role they move to: DELETE …/roles/%s?replacement=agent", inUse.Role, inUse.Users, inUse.Role),
			Users: inUse.Users}
	case errors.As(err, &flags):
		bad := make([]FieldError, 0, len(flags))
		for _, f := range flags {
			bad = append(bad, FieldError{"permissions", f.Error()})
		}
		return invalid(bad...)
	case errors.As(err, &flag):
		return invalid(FieldError{"permissions", flag.Error()})
	}
	return nil
}

// roleInUse is the 409 of a delete of a role users hold, with their count.
type roleInUse struct {
	Status  int    `json:"-"`
	Code    string `json:"error"`
	Message string `json:"message"`
	Users   int    `json:"users"`
}

func (e *roleInUse) Error() string { return e.Message }

func (a *API) customRoles(r *http.Request, tenantID string) ([]store.Role, error) {
	return a.store.ListRoles(r.Context(), tenantID)
}

// holders counts the live users holding each role.
func (a *API) holders(r *http.Request, tenantID, role string) (int, error) {
	page, err := a.store.ListUsers(r.Context(), tenantID, store.UserQuery{
		Filter: store.Compare{Attr: "roster.role", Op: store.OpEq, Value: role}})
	return page.Total, err
}

func (a *API) listRoles(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	custom, err := a.customRoles(r, t.ID)
	if err != nil {
		return err
	}
	// One count of every role's holders, not one per role: at 100,000
	// people each count is a pass over the tenant's users.
	held, err := a.store.RoleHolders(r.Context(), t.ID)
	if err != nil {
		return err
	}
	out := []roleView{}
	for _, b := range access.BuiltinRoles() {
		out = append(out, viewRole(b, true, held[b.Name]))
	}
	for _, c := range custom {
		out = append(out, viewRole(c, false, held[c.Name]))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"roles":        out,
		"default_role": t.Settings.DefaultRole,
		"catalogue":    access.Catalogue(),
	})
	return nil
}

func (a *API) getRole(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	name := r.PathValue("role")
	if b, ok := access.Builtin(name); ok {
		n, err := a.holders(r, t.ID, name)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, viewRole(b, true, n))
		return nil
	}
	role, err := a.store.GetRole(r.Context(), t.ID, name)
	return a.answerRole(w, r, t.ID, name, role, err)
}

// answerRole writes a custom role read or written with err, with the count
// of its holders.
func (a *API) answerRole(w http.ResponseWriter, r *http.Request, tenantID, name string, role store.Role, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no role %q in tenant %s", name, tenantID)
	}
	if err != nil {
		return err
	}
	n, err := a.holders(r, tenantID, name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewRole(role, false, n))
	return nil
}

func (a *API) createRole(w http.ResponseWriter, r *http.Request) error {
	var in roleInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	if err := customRolesAllowed(t); err != nil {
		return err
	}
	name := ""
	var bad []FieldError
	if in.Name == nil {
		bad = append(bad, FieldError{"name", "is required"})
	} else {
		name = strings.TrimSpace(*in.Name)
		if access.IsBuiltin(store.CanonicalRole(name)) {
			return &Error{Status: http.StatusConflict, Code: "conflict", Message: fmt.Sprintf("%s is a built-in role; choose another name", name)}
		}
	}
	role, more := in.role(name)
	bad = append(bad, more...)
	if in.Name != nil {
		if err := store.ValidateRole(&role); err != nil {
			var inv *store.InvalidError
			if errors.As(err, &inv) {
				bad = append([]FieldError{{inv.Field, inv.Reason}}, bad...)
			}
		}
	}
	if len(bad) > 0 {
		return invalid(bad...)
	}
	if err := mayGrant(callerOf(r), role.Permissions, "a role holding them"); err != nil {
		return err
	}
	created, err := a.store.CreateRole(r.Context(), t.ID, role, actor(r))
	if errors.Is(err, store.ErrConflict) {
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: fmt.Sprintf("role %q already exists in tenant %s", name, t.ID)}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/admin/v1/tenants/"+t.ID+"/roles/"+created.Name)
	writeJSON(w, http.StatusCreated, viewRole(created, false, 0))
	return nil
}

func (a *API) putRole(w http.ResponseWriter, r *http.Request) error {
	var in roleInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	name := r.PathValue("role")
	if access.IsBuiltin(name) {
		return &Error{Status: http.StatusForbidden, Code: "built_in", Message: fmt.Sprintf(
			"%s is a built-in role and cannot be changed; create a custom role (POST /admin/v1/tenants/%s/roles) with the permissions you need", name, t.ID)}
	}
	if err := customRolesAllowed(t); err != nil {
		return err
	}
	role, bad := in.role(name)
	if in.Name != nil && *in.Name != name {
		bad = append(bad, FieldError{"name", "cannot be changed: a role's name is its key; create a new role and move users with DELETE …?replacement="})
	}
	if len(bad) == 0 {
		if err := mayGrant(callerOf(r), role.Permissions, "a role holding them"); err != nil {
			return err
		}
	}
	if len(bad) > 0 {
		return invalid(bad...)
	}
	updated, err := a.dir.UpdateRole(r.Context(), t.ID, name, actor(r), func(x *store.Role) error {
		x.Description, x.Permissions, x.Privileged, x.SeatClass = role.Description, role.Permissions, role.Privileged, role.SeatClass
		return nil
	})
	return a.answerRole(w, r, t.ID, name, updated, err)
}

func (a *API) deleteRole(w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r, "replacement"); err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	name := r.PathValue("role")
	if access.IsBuiltin(name) {
		return &Error{Status: http.StatusForbidden, Code: "built_in", Message: fmt.Sprintf("%s is a built-in role and cannot be deleted", name)}
	}
	replacement, _ := param(r.URL.Query(), "replacement")
	if replacement != "" {
		if err := a.mayGive(r, t.ID, replacement); err != nil {
			return err
		}
	}
	err = a.dir.DeleteRole(r.Context(), t.ID, name, store.CanonicalRole(replacement), actor(r))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no role %q in tenant %s", name, t.ID)
	}
	if err != nil {
		return err // fail: a 409 with the holders' count while users hold it
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// mappingView is one group → role mapping with the group it names, when the
// tenant has it.
type mappingView struct {
	Group   string `json:"group"`
	Role    string `json:"role"`
	GroupID string `json:"group_id,omitempty"`
	Members *int   `json:"members,omitempty"`
}

func (a *API) viewMappings(r *http.Request, tenantID string, m []store.RoleMapping) ([]mappingView, error) {
	out := make([]mappingView, 0, len(m))
	for _, x := range m {
		v := mappingView{Group: x.Group, Role: x.Role}
		page, err := a.store.ListGroups(r.Context(), tenantID, store.GroupQuery{Count: 1,
			Filter: store.Compare{Attr: "displayName", Op: store.OpEq, Value: x.Group}})
		if err != nil {
			return nil, err
		}
		if len(page.Groups) == 1 {
			n := page.Groups[0].MemberCount
			v.GroupID, v.Members = page.Groups[0].ID, &n
		}
		out = append(out, v)
	}
	return out, nil
}

func (a *API) getRoleMappings(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	m, err := a.store.GetRoleMappings(r.Context(), t.ID)
	if err != nil {
		return err
	}
	views, err := a.viewMappings(r, t.ID, m)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"mappings": views})
	return nil
}

// putRoleMappings replaces the mappings: a JSON array in precedence order
// (or {"mappings": [...]}). Users the change moves are re-resolved at once.
func (a *API) putRoleMappings(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r, maxJSONBody)
	if err != nil {
		return err
	}
	var m []store.RoleMapping
	trimmed := strings.TrimSpace(string(body))
	dec := json.NewDecoder(strings.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if strings.HasPrefix(trimmed, "{") {
		var wrapped struct {
			Mappings []store.RoleMapping `json:"mappings"`
		}
		err = dec.Decode(&wrapped)
		m = wrapped.Mappings
	} else {
		err = dec.Decode(&m)
	}
	if err != nil {
		return jsonError(err)
	}
	if len(m) > 100 {
		return invalid(FieldError{"mappings", "at most 100 mappings"})
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	if m == nil {
		m = []store.RoleMapping{}
	}
	mapped := make([]string, len(m))
	for i, x := range m {
		mapped[i] = x.Role
	}
	if err := a.mayGive(r, t.ID, mapped...); err != nil {
		return err
	}
	if err := a.dir.PutRoleMappings(r.Context(), t.ID, m, actor(r)); err != nil {
		var inv *store.InvalidError
		if errors.As(err, &inv) {
			return invalid(FieldError{inv.Field, inv.Reason})
		}
		var unknown *store.UnknownRoleError
		if errors.As(err, &unknown) {
			return invalid(FieldError{"role", unknown.Error()})
		}
		return err
	}
	return a.getRoleMappings(w, r)
}

// teamView is a SCIM group as a team or a role group.
type teamView struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	Members     int    `json:"members"`
	Team        bool   `json:"team"`           // false: a role group (a mapping names it)
	Role        string `json:"role,omitempty"` // the role a role group gives
	Managed     string `json:"managed"`        // scim (the IdP pushes it) or manual
	IdP         string `json:"idp,omitempty"`  // the IdP's name when managed is scim
}

// listTeams lists the tenant's SCIM groups: teams, and the role groups that
// a mapping names (which are not teams).
func (a *API) listTeams(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	m, err := a.store.GetRoleMappings(r.Context(), t.ID)
	if err != nil {
		return err
	}
	teams, roleGroups := []teamView{}, []teamView{}
	for start := 1; ; start += 1000 {
		page, err := a.store.ListGroups(r.Context(), t.ID, store.GroupQuery{StartIndex: start, Count: 1000})
		if err != nil {
			return err
		}
		for _, g := range page.Groups {
			v := teamView{ID: g.ID, DisplayName: g.DisplayName, Members: g.MemberCount, Team: true, Managed: store.ManagedOf(g.Managed)}
			if v.Managed == store.ManagedSCIM {
				v.IdP = g.IdP
			}
			if role, ok := directory.RoleOfGroup(g.DisplayName, m); ok {
				v.Team, v.Role = false, role
			}
			if v.Team {
				teams = append(teams, v)
			} else {
				roleGroups = append(roleGroups, v)
			}
		}
		if start+len(page.Groups) > page.Total || len(page.Groups) == 0 {
			break
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"teams": teams, "role_groups": roleGroups})
	return nil
}

// approvalView is a privileged grant held for approval.
type approvalView struct {
	ID          string     `json:"id"`
	UserID      string     `json:"user_id"`
	UserName    string     `json:"user_name,omitempty"`
	Role        string     `json:"role"`
	Status      string     `json:"status"`
	RequestedBy actorView  `json:"requested_by"`
	CreatedAt   time.Time  `json:"created_at"`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
	DecidedBy   string     `json:"decided_by,omitempty"`
	CurrentRole string     `json:"current_role,omitempty"`
}

func (a *API) viewApproval(r *http.Request, ap store.Approval) approvalView {
	v := approvalView{ID: ap.ID, UserID: ap.UserID, Role: ap.Role, Status: ap.Status,
		RequestedBy: actorView{ap.RequestedBy.Kind, ap.RequestedBy.ID, ap.RequestedBy.Name, ap.RequestedBy.RequestID},
		CreatedAt:   ap.CreatedAt, DecidedAt: ap.DecidedAt, DecidedBy: ap.DecidedBy}
	if u, err := a.store.GetUser(r.Context(), ap.TenantID, ap.UserID); err == nil {
		v.UserName, v.CurrentRole = u.UserName, u.Role
	}
	return v
}

func (a *API) listApprovals(w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r, "status"); err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	status, given := param(r.URL.Query(), "status")
	switch {
	case !given:
		status = store.ApprovalPending
	case status == "all":
		status = ""
	case status != store.ApprovalPending && status != store.ApprovalApproved && status != store.ApprovalRejected && status != store.ApprovalSuperseded:
		return invalid(FieldError{"status", "must be pending (the default), approved, rejected, superseded or all"})
	}
	list, err := a.store.ListApprovals(r.Context(), t.ID, status)
	if err != nil {
		return err
	}
	out := make([]approvalView, 0, len(list))
	for _, ap := range list {
		out = append(out, a.viewApproval(r, ap))
	}
	writeJSON(w, http.StatusOK, map[string]any{"approvals": out, "privileged_roles": t.Settings.PrivilegedRoles})
	return nil
}

// decideApproval approves a pending grant (the default, or
// {"decision":"approve"}) or rejects it ({"decision":"reject"}).
func (a *API) decideApproval(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Decision string `json:"decision"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in); err != nil {
			var e *Error
			if !(errors.As(err, &e) && strings.Contains(e.Message, "is empty")) {
				return err
			}
		}
	}
	approve := true
	switch in.Decision {
	case "", "approve", "approved":
	case "reject", "rejected":
		approve = false
	default:
		return invalid(FieldError{"decision", `must be "approve" or "reject"`})
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	id := r.PathValue("aid")
	if approve && !callerOf(r).operator() {
		// Approving gives the role: within the approver's own permissions.
		pending, err := a.store.ListApprovals(r.Context(), t.ID, store.ApprovalPending)
		if err != nil {
			return err
		}
		for _, p := range pending {
			if p.ID != id {
				continue
			}
			if err := a.mayGive(r, t.ID, p.Role); err != nil {
				return err
			}
		}
	}
	ap, err := a.dir.DecideApproval(r.Context(), t.ID, id, approve, actor(r))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no approval %q in tenant %s", id, t.ID)
	}
	if err != nil {
		return err
	}
	if ap.Status == store.ApprovalSuperseded {
		return &Error{Status: http.StatusConflict, Code: "superseded", Message: fmt.Sprintf(
			"approval %s can no longer apply: the user or the role %s is gone; it is closed as superseded", id, ap.Role)}
	}
	writeJSON(w, http.StatusOK, a.viewApproval(r, ap))
	return nil
}
