package admin

// Bulk onboarding by CSV (issue 6): POST /admin/v1/tenants/{id}/users/import.
//
// The body is text/csv with a header row. Columns (case-insensitive, any
// order): email (required), userName (default: the email), givenName,
// familyName, role, teams (displayNames separated by ";"), stores (store
// ids separated by ";"), userType, accessExpiresAt (RFC 3339 or a date).
// Every row is validated first; with ?dry_run=true nothing else happens.
// Otherwise each valid row is applied in its own transaction (store
// ImportUser: create or update, join teams, seat check), so one refused row
// never undoes another. The answer lists every row's outcome with its line
// number; importing the same file again changes nothing ("unchanged").

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

const (
	maxImportBody = 20 << 20 // bytes
	maxImportRows = 50_000
)

// importColumns are the known CSV columns, lower-case.
var importColumns = []string{"email", "username", "givenname", "familyname", "role", "teams", "stores", "usertype", "accessexpiresat"}

// importRow is one parsed CSV row.
type importRow struct {
	line      int
	email     string
	userName  string
	given     string
	family    string
	role      string
	teams     []string // group ids
	teamNames []string
	stores    []string
	userType  string
	expires   *time.Time
	errs      []string
}

// importResult is one row's outcome.
type importResult struct {
	Line     int      `json:"line"`
	Email    string   `json:"email,omitempty"`
	UserName string   `json:"userName,omitempty"`
	Status   string   `json:"status"` // created, updated, unchanged, failed; dry run: create, update, unchanged, invalid
	ID       string   `json:"id,omitempty"`
	Role     string   `json:"role,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

type importSummary struct {
	DryRun    bool           `json:"dry_run"`
	Rows      int            `json:"rows"`
	Created   int            `json:"created"`
	Updated   int            `json:"updated"`
	Unchanged int            `json:"unchanged"`
	Failed    int            `json:"failed"`
	Seats     *importSeats   `json:"seats,omitempty"` // dry run only
	Results   []importResult `json:"results"`
}

// importSeats is a dry run's seat forecast: the full seats the new users
// would take against those free now. Updates that change a user's seat class
// are not counted; the real import checks every row.
type importSeats struct {
	NeededFull int  `json:"needed_full"`
	Available  int  `json:"available"`
	Overage    bool `json:"overage_allowed"`
	Enough     bool `json:"enough"`
}

// importContext is what row validation checks against, read once.
type importContext struct {
	roles      *store.RoleContext
	teams      map[string]store.Group // by FoldKey(displayName)
	roleGroups map[string]string      // FoldKey(displayName) → role
	stores     map[string]bool
	storeIDs   []string
}

func (a *API) importContext(r *http.Request, t store.Tenant) (*importContext, error) {
	custom, err := a.store.ListRoles(r.Context(), t.ID)
	if err != nil {
		return nil, err
	}
	mappings, err := a.store.GetRoleMappings(r.Context(), t.ID)
	if err != nil {
		return nil, err
	}
	ic := &importContext{roles: &store.RoleContext{Settings: t.Settings, Roles: custom, Mappings: mappings},
		teams: map[string]store.Group{}, roleGroups: map[string]string{}, stores: map[string]bool{}}
	for start := 1; ; start += 1000 {
		page, err := a.store.ListGroups(r.Context(), t.ID, store.GroupQuery{StartIndex: start, Count: 1000})
		if err != nil {
			return nil, err
		}
		for _, g := range page.Groups {
			ic.teams[store.FoldKey(g.DisplayName)] = g
		}
		if len(page.Groups) == 0 || start+len(page.Groups) > page.Total {
			break
		}
	}
	for _, m := range mappings {
		ic.roleGroups[store.FoldKey(m.Group)] = m.Role
	}
	outlets, err := a.store.ListOutlets(r.Context(), t.ID)
	if err != nil {
		return nil, err
	}
	for _, o := range outlets {
		ic.stores[o.ID] = true
		ic.storeIDs = append(ic.storeIDs, o.ID)
	}
	return ic, nil
}

// splitList splits a ";"-separated cell, trimmed, blanks dropped.
func splitList(cell string) []string {
	var out []string
	for _, p := range strings.Split(cell, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseRow reads and checks one row against the tenant.
func (ic *importContext) parseRow(line int, cols map[string]int, rec []string) importRow {
	cell := func(name string) string {
		if i, ok := cols[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	row := importRow{line: line, email: cell("email"), userName: cell("username"), given: cell("givenname"),
		family: cell("familyname"), userType: cell("usertype")}
	switch addr, err := mail.ParseAddress(row.email); {
	case row.email == "":
		row.errs = append(row.errs, "email is required")
	case err != nil || addr.Address != row.email || !strings.Contains(row.email, "@"):
		row.errs = append(row.errs, fmt.Sprintf("email %q is not a valid address (name@example.com)", row.email))
	}
	if row.userName == "" {
		row.userName = row.email
	}
	if role := cell("role"); role != "" {
		row.role = store.CanonicalRole(role)
		if _, _, ok := ic.roles.Lookup(row.role); !ok {
			row.errs = append(row.errs, (&store.UnknownRoleError{Role: row.role, Known: ic.roles.Known()}).Error())
		}
	}
	for _, name := range splitList(cell("teams")) {
		k := store.FoldKey(name)
		g, ok := ic.teams[k]
		switch role, mapped := ic.roleGroups[k]; {
		case !ok:
			row.errs = append(row.errs, fmt.Sprintf("team %q does not exist; create it (or push it from the IdP) first", name))
		case mapped:
			row.errs = append(row.errs, fmt.Sprintf("%q is a role group (mapped to role %s), not a team; use the role column", name, role))
		default:
			if !slices.Contains(row.teams, g.ID) {
				row.teams = append(row.teams, g.ID)
				row.teamNames = append(row.teamNames, g.DisplayName)
			}
		}
	}
	for _, id := range splitList(cell("stores")) {
		if !ic.stores[id] {
			known := "none yet"
			if len(ic.storeIDs) > 0 {
				known = strings.Join(ic.storeIDs, ", ")
			}
			row.errs = append(row.errs, fmt.Sprintf("store %q does not exist; stores: %s", id, known))
			continue
		}
		if !slices.Contains(row.stores, id) {
			row.stores = append(row.stores, id)
		}
	}
	if v := cell("accessexpiresat"); v != "" {
		at, err := parseInstant(v)
		if err != nil {
			row.errs = append(row.errs, fmt.Sprintf("accessExpiresAt %q is not a date or RFC 3339 time (2027-03-31 or 2027-03-31T18:00:00Z)", v))
		} else {
			row.expires = &at
		}
	}
	if len(row.errs) == 0 {
		u := row.newUser()
		if err := store.ValidateUser(&u); err != nil {
			row.errs = append(row.errs, err.Error())
		}
	}
	return row
}

// newUser is the user a row creates: invited, so active.
func (row importRow) newUser() store.User {
	u := store.User{UserName: row.userName, Active: true, UserType: row.userType, ExplicitRole: row.role,
		Name:   store.Name{GivenName: row.given, FamilyName: row.family},
		Emails: []store.MultiValue{{Value: row.email, Type: "work", Primary: true}},
		Stores: row.stores, AccessExpiresAt: row.expires}
	if n := strings.TrimSpace(row.given + " " + row.family); n != "" {
		u.DisplayName = n
	}
	return u
}

// apply sets what a row says on an existing user, leaving what it does not
// say (empty cells, absent columns) as it is. It is deterministic, so that a
// second import of the row finds nothing to change.
func (row importRow) apply(u *store.User) error {
	if row.given != "" {
		u.Name.GivenName = row.given
	}
	if row.family != "" {
		u.Name.FamilyName = row.family
	}
	if !slices.ContainsFunc(u.Emails, func(e store.MultiValue) bool { return strings.EqualFold(e.Value, row.email) }) {
		for i := range u.Emails {
			u.Emails[i].Primary = false
		}
		u.Emails = append([]store.MultiValue{{Value: row.email, Type: "work", Primary: true}}, u.Emails...)
	}
	if row.role != "" {
		u.ExplicitRole = row.role
	}
	if len(row.stores) > 0 && !slices.Equal(u.Stores, row.stores) {
		u.Stores = slices.Clone(row.stores)
	}
	if row.userType != "" {
		u.UserType = row.userType
	}
	if row.expires != nil {
		at := store.Timestamp(*row.expires)
		u.AccessExpiresAt = &at
	}
	return nil
}

func (a *API) importUsers(w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r, "dry_run"); err != nil {
		return err
	}
	dryRun := false
	if v, ok := param(r.URL.Query(), "dry_run"); ok {
		switch strings.ToLower(v) {
		case "true", "1", "":
			dryRun = true
		case "false", "0":
		default:
			return invalid(FieldError{"dry_run", "must be true or false"})
		}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != "text/csv" && mt != "application/csv") {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "send the file as Content-Type: text/csv with a header row (email,userName,givenName,familyName,role,teams,stores,userType,accessExpiresAt)"}
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	body, err := readBody(w, r, maxImportBody)
	if err != nil {
		return err
	}
	rd := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "\uFEFF")))
	rd.FieldsPerRecord = -1
	rd.TrimLeadingSpace = true
	header, err := rd.Read()
	if errors.Is(err, io.EOF) {
		return invalid(FieldError{"body", "is empty; send a header row and one row per user"})
	}
	if err != nil {
		return invalid(FieldError{"body", "is not valid CSV: " + err.Error()})
	}
	cols := map[string]int{}
	var bad []FieldError
	for i, h := range header {
		k := strings.ToLower(strings.TrimSpace(h))
		if _, dup := cols[k]; dup {
			bad = append(bad, FieldError{"header", fmt.Sprintf("column %q appears twice", h)})
			continue
		}
		if !slices.Contains(importColumns, k) {
			bad = append(bad, FieldError{"header", fmt.Sprintf("unknown column %q; columns: email, userName, givenName, familyName, role, teams, stores, userType, accessExpiresAt", h)})
			continue
		}
		cols[k] = i
	}
	if _, ok := cols["email"]; !ok {
		bad = append(bad, FieldError{"header", "the email column is required"})
	}
	if len(bad) > 0 {
		return invalid(bad...)
	}
	ic, err := a.importContext(r, t)
	if err != nil {
		return err
	}

	// Parse and validate every row; duplicates refer to the first line.
	var rows []importRow
	seen := map[string]int{}
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := rd.FieldPos(0)
		if err != nil {
			return invalid(FieldError{"body", fmt.Sprintf("is not valid CSV at line %d: %v", line, err)})
		}
		if len(rows) == maxImportRows {
			return invalid(FieldError{"body", fmt.Sprintf("has more than %d rows; split the file", maxImportRows)})
		}
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue // a blank line
		}
		row := ic.parseRow(line, cols, rec)
		for _, k := range []string{"u:" + store.FoldKey(row.userName), "e:" + strings.ToLower(row.email)} {
			if k == "e:" || k == "u:" {
				continue
			}
			if first, dup := seen[k]; dup {
				row.errs = append(row.errs, fmt.Sprintf("duplicate of line %d (same %s)", first, map[byte]string{'u': "userName", 'e': "email"}[k[0]]))
				break
			}
			seen[k] = line
		}
		rows = append(rows, row)
	}

	sum := importSummary{DryRun: dryRun, Rows: len(rows), Results: make([]importResult, 0, len(rows))}
	needFull := 0
	by := actor(r)
	for _, row := range rows {
		res := importResult{Line: row.line, Email: row.email, UserName: row.userName, Role: row.role}
		switch {
		case len(row.errs) > 0:
			res.Status, res.Errors = "failed", row.errs
			if dryRun {
				res.Status = "invalid"
			}
			sum.Failed++
		case dryRun:
			res.Status = a.wouldImport(r, t.ID, row)
			switch res.Status {
			case "create":
				sum.Created++
				if _, class, ok := ic.roles.Lookup(ic.newRole(row)); ok && class == store.SeatFull {
					needFull++
				}
			case "update":
				sum.Updated++
			default:
				sum.Unchanged++
			}
		default:
			u, outcome, err := a.store.ImportUser(r.Context(), t.ID, row.newUser(), row.apply, row.teams, by)
			if err != nil {
				msg, ok := importError(err)
				if !ok {
					return err
				}
				res.Status, res.Errors = "failed", []string{msg}
				sum.Failed++
				break
			}
			res.Status, res.ID, res.Role = string(outcome), u.ID, u.Role
			switch outcome {
			case store.ImportCreated:
				sum.Created++
			case store.ImportUpdated:
				sum.Updated++
			default:
				sum.Unchanged++
			}
		}
		sum.Results = append(sum.Results, res)
	}
	if dryRun {
		counts, err := a.store.SeatCounts(r.Context(), t.ID)
		if err != nil {
			return err
		}
		plan, _ := licensing.Lookup(t.Plan)
		free := max(licensing.UsableSeats(plan, t.PurchasedAt(a.now()))-counts.Full, 0)
		sum.Seats = &importSeats{NeededFull: needFull, Available: free, Overage: t.Settings.Overage,
			Enough: t.Settings.Overage || needFull <= free}
	}
	writeJSON(w, http.StatusOK, sum)
	return nil
}

// newRole is the role a new user of the row resolves to: the row's, else
// the tenant's default (a new user is in no group yet).
func (ic *importContext) newRole(row importRow) string {
	if row.role != "" {
		return row.role
	}
	return store.ResolveRole("", nil, nil, ic.roles.Settings.DefaultRole).Role
}

// wouldImport says what applying a valid row would do, for a dry run.
func (a *API) wouldImport(r *http.Request, tenantID string, row importRow) string {
	u, err := a.store.GetUserByUserName(r.Context(), tenantID, row.userName)
	if err != nil {
		return "create"
	}
	probe := u.Clone()
	_ = row.apply(&probe)
	if !store.SameUser(u, probe) {
		return "update"
	}
	groups, err := a.store.UserGroups(r.Context(), tenantID, u.ID)
	if err != nil {
		return "update"
	}
	for _, id := range row.teams {
		if !slices.ContainsFunc(groups, func(g store.Group) bool { return g.ID == id }) {
			return "update"
		}
	}
	return "unchanged"
}

// importError is the message of a row the store refused; false for errors
// that are not the row's fault (the request fails then).
func importError(err error) (string, bool) {
	var unknown *store.UnknownRoleError
	var inv *store.InvalidError
	var conflict *store.ConflictError
	var priv *store.PrivilegedRoleError
	switch {
	case errors.Is(err, store.ErrSeatLimit):
		return err.Error(), true
	case errors.As(err, &unknown):
		return unknown.Error(), true
	case errors.As(err, &inv):
		return inv.Field + ": " + inv.Reason, true
	case errors.As(err, &conflict):
		return conflict.Error(), true
	case errors.As(err, &priv):
		return priv.Error(), true
	case errors.Is(err, store.ErrInvalid):
		return err.Error(), true
	}
	return "", false
}
