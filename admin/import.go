package admin

// Bulk onboarding by CSV: POST /admin/v1/tenants/{id}/users/import.
//
// The body is text/csv with a header row. Columns (case-insensitive, any
// order): email (required), userName (default: the email), givenName,
// familyName, role, teams (displayNames separated by ";"), stores (store
// ids separated by ";"), userType, accessExpiresAt (RFC 3339 or a date).
// Every row is validated first; with ?dry_run=true nothing is written and
// each row says what would happen. Otherwise the valid rows go to the
// directory's import (directory.ImportUsers: each row as if in its own
// transaction — create or update, join teams, seat check), so one refused
// row never undoes another. A row
// updates the user with its userName, else the one user holding its email
// (one person, one seat); it may change that user's role or drop stores only
// with mode=update. The answer lists every row's outcome with its line
// number; importing the same file again changes nothing ("unchanged").
// More than asyncThreshold rows, or Prefer: respond-async, makes the import
// a background job (jobs.go).

import (
	"context"
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

	"github.com/roster-dev/roster/directory"
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
	Line     int           `json:"line"`
	Email    string        `json:"email,omitempty"`
	UserName string        `json:"userName,omitempty"`
	Status   string        `json:"status"` // created, updated, unchanged, failed; dry run: create, update, unchanged, invalid
	ID       string        `json:"id,omitempty"`
	Role     string        `json:"role,omitempty"`
	Changes  []fieldChange `json:"changes,omitempty"` // what an update changes (dry run: would change)
	Errors   []string      `json:"errors,omitempty"`
}

// fieldChange is one field an update changes, old → new.
type fieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// Row outcomes. A dry run says what would happen, in words of its own, so
// that no answer of a dry run reads as if something was done.
const (
	statusCreated   = "created"
	statusUpdated   = "updated"
	statusUnchanged = "unchanged"
	statusFailed    = "failed"
	statusCreate    = "create"  // dry run: would be created
	statusUpdate    = "update"  // dry run: would be updated
	statusInvalid   = "invalid" // dry run: would fail
)

type importSummary struct {
	DryRun    bool           `json:"dry_run"`
	Mode      string         `json:"mode"`
	Rows      int            `json:"rows"`
	Created   int            `json:"created"`         // dry run: would be created
	Updated   int            `json:"updated"`         // dry run: would be updated
	Unchanged int            `json:"unchanged"`       // nothing to change
	Failed    int            `json:"failed"`          // dry run: would fail
	Counts    map[string]int `json:"counts"`          // by status, in the words of the results
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

func (a *API) importContext(ctx context.Context, t store.Tenant) (*importContext, error) {
	custom, err := a.store.ListRoles(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	mappings, err := a.store.GetRoleMappings(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	ic := &importContext{roles: &store.RoleContext{Settings: t.Settings, Roles: custom, Mappings: mappings},
		teams: map[string]store.Group{}, roleGroups: map[string]string{}, stores: map[string]bool{}}
	for start := 1; ; start += 1000 {
		page, err := a.store.ListGroups(ctx, t.ID, store.GroupQuery{StartIndex: start, Count: 1000})
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
	outlets, err := a.store.ListOutlets(ctx, t.ID)
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

// Import modes: what a row may do to an existing user.
const (
	modeCreate = "create" // the default: create, fill in and add; never take a role or a store away
	modeUpdate = "update" // also change roles and replace stores
)

// refusedChange is a row that would change an existing user's role or drop
// their stores outside mode=update: refused per row, as SCIM refuses an
// invitation that names another role.
type refusedChange struct{ msg string }

func (e *refusedChange) Error() string { return e.msg }

// apply sets what a row says on an existing user, leaving what it does not
// say (empty cells, absent columns) as it is. It is deterministic, so that a
// second import of the row finds nothing to change. Outside mode=update a
// row that would change the user's role or drop one of their stores is
// refused.
func (row importRow) apply(mode string) func(u *store.User) error {
	return func(u *store.User) error {
		if mode != modeUpdate {
			if row.role != "" && u.Role != "" && row.role != u.Role {
				return &refusedChange{fmt.Sprintf("%s already holds role %s (stores: %s); this row would make them %s. "+
					"One role covers all of a user's stores: to change it, import with mode=update (rosterd users import --mode update)",
					u.UserName, u.Role, orNone(u.Stores), row.role)}
			}
			if dropped := missing(u.Stores, row.stores); len(row.stores) > 0 && len(dropped) > 0 {
				return &refusedChange{fmt.Sprintf("%s has stores %s; this row would drop %s. List every store the user keeps, "+
					"or import with mode=update (rosterd users import --mode update) to replace them",
					u.UserName, strings.Join(u.Stores, ";"), strings.Join(dropped, ";"))}
			}
		}
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
}

// changes lists what applying the row to u changes, old → new, and the
// teams it joins (inTeams: the ids of the teams u is on).
func (row importRow) changes(u store.User, inTeams []string) []fieldChange {
	after := u.Clone()
	if err := row.apply(modeUpdate)(&after); err != nil {
		return nil
	}
	var out []fieldChange
	add := func(field, old, new string) {
		if old != new {
			out = append(out, fieldChange{field, old, new})
		}
	}
	add("givenName", u.Name.GivenName, after.Name.GivenName)
	add("familyName", u.Name.FamilyName, after.Name.FamilyName)
	add("email", primaryEmail(u), primaryEmail(after))
	if row.role != "" {
		add("role", u.Role, row.role)
	}
	add("stores", strings.Join(u.Stores, ";"), strings.Join(after.Stores, ";"))
	add("userType", u.UserType, after.UserType)
	add("accessExpiresAt", instant(u.AccessExpiresAt), instant(after.AccessExpiresAt))
	var joined []string
	for i, id := range row.teams {
		if !slices.Contains(inTeams, id) {
			joined = append(joined, row.teamNames[i])
		}
	}
	if len(joined) > 0 {
		add("teams", "", "+"+strings.Join(joined, ";+"))
	}
	return out
}

func primaryEmail(u store.User) string {
	for _, e := range u.Emails {
		if e.Primary {
			return e.Value
		}
	}
	if len(u.Emails) > 0 {
		return u.Emails[0].Value
	}
	return ""
}

func instant(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ";")
}

// missing lists the entries of have that want lacks.
func missing(have, want []string) []string {
	var out []string
	for _, v := range have {
		if !slices.Contains(want, v) {
			out = append(out, v)
		}
	}
	return out
}

// importRequest is an import as asked: options and the file.
type importRequest struct {
	dryRun bool
	mode   string
	body   []byte
}

// importOptions reads the query parameters and the body's type.
func importOptions(r *http.Request) (dryRun bool, mode string, err error) {
	if err := onlyParams(r, "dry_run", "mode"); err != nil {
		return false, "", err
	}
	if v, ok := param(r.URL.Query(), "dry_run"); ok {
		switch strings.ToLower(v) {
		case "true", "1", "":
			dryRun = true
		case "false", "0":
		default:
			return false, "", invalid(FieldError{"dry_run", "must be true or false"})
		}
	}
	mode = modeCreate
	if v, ok := param(r.URL.Query(), "mode"); ok {
		switch strings.ToLower(v) {
		case modeCreate, "":
		case modeUpdate:
			mode = modeUpdate
		default:
			return false, "", invalid(FieldError{"mode", "must be create (the default: never change an existing user's role or drop their stores) or update"})
		}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != "text/csv" && mt != "application/csv") {
		return false, "", &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "send the file as Content-Type: text/csv with a header row (email,userName,givenName,familyName,role,teams,stores,userType,accessExpiresAt)"}
	}
	return dryRun, mode, nil
}

// parsedImport is a file read: its rows, checked against the tenant.
type parsedImport struct {
	ic   *importContext
	rows []importRow
}

// parseImport reads and checks every row of the file. Errors of the file
// as a whole (not CSV, bad header, too many rows) are *Error 400s.
func (a *API) parseImport(ctx context.Context, t store.Tenant, body []byte) (*parsedImport, error) {
	rd := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "\uFEFF")))
	rd.FieldsPerRecord = -1
	rd.TrimLeadingSpace = true
	header, err := rd.Read()
	if errors.Is(err, io.EOF) {
		return nil, invalid(FieldError{"body", "is empty; send a header row and one row per user"})
	}
	if err != nil {
		return nil, invalid(FieldError{"body", "is not valid CSV: " + err.Error()})
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
		return nil, invalid(bad...)
	}
	ic, err := a.importContext(ctx, t)
	if err != nil {
		return nil, err
	}

	// Parse and validate every row; duplicates refer to the first line.
	p := &parsedImport{ic: ic}
	seen := map[string]int{}
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := rd.FieldPos(0)
		if err != nil {
			return nil, invalid(FieldError{"body", fmt.Sprintf("is not valid CSV at line %d: %v", line, err)})
		}
		if len(p.rows) == maxImportRows {
			return nil, invalid(FieldError{"body", fmt.Sprintf("has more than %d rows; split the file", maxImportRows)})
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
		p.rows = append(p.rows, row)
	}
	return p, nil
}

// importChunk is how many rows are applied (and, in a job, recorded) at once.
const importChunk = 500

// importRun applies (or, in a dry run, checks) rows from start on, a chunk
// at a time, calling done with each chunk's results in order. It stops at
// the first error that is not a row's (the store is unavailable, ctx ended)
// and answers it; the results handed to done are then all there are.
func (a *API) importRun(ctx context.Context, t store.Tenant, p *parsedImport, req importRequest, by store.Actor, start int,
	done func([]importResult) error) error {
	var idx *userIndex
	if req.dryRun && start < len(p.rows) {
		// A dry run writes nothing: the users it matches rows against are
		// read once for the whole file.
		var err error
		if idx, err = a.userIndex(ctx, t.ID); err != nil {
			return err
		}
	}
	for from := start; from < len(p.rows); from += importChunk {
		rows := p.rows[from:min(from+importChunk, len(p.rows))]
		var results []importResult
		var err error
		if req.dryRun {
			results, err = a.checkRows(ctx, t, p.ic, idx, rows, req.mode)
		} else {
			results, err = a.applyRows(ctx, t, rows, req.mode, by)
		}
		if len(results) > 0 {
			if derr := done(results); derr != nil {
				return derr
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// applyRows applies the valid rows through the directory, in order.
func (a *API) applyRows(ctx context.Context, t store.Tenant, rows []importRow, mode string, by store.Actor) ([]importResult, error) {
	var batch []directory.ImportRow
	var at []int
	changes := make([][]fieldChange, len(rows))
	for i, row := range rows {
		if len(row.errs) > 0 {
			continue
		}
		apply := row.apply(mode)
		batch = append(batch, directory.ImportRow{User: row.newUser(), Groups: row.teams, Apply: func(u *store.User) error {
			before := u.Clone()
			if err := apply(u); err != nil {
				return err
			}
			changes[i] = row.changes(before, row.teams) // teams joined are not known here
			return nil
		}})
		at = append(at, i)
	}
	done, err := a.dir.ImportUsers(ctx, t.ID, batch, by)
	// The results run up to the last row the import answered (all of them
	// unless err); a row it stopped before has none.
	n := len(rows)
	if len(done) < len(at) {
		n = at[len(done)]
	}
	out := make([]importResult, 0, n)
	k := 0
	for i, row := range rows[:n] {
		res := importResult{Line: row.line, Email: row.email, UserName: row.userName, Role: row.role}
		if len(row.errs) > 0 {
			res.Status, res.Errors = statusFailed, row.errs
			out = append(out, res)
			continue
		}
		r := done[k]
		k++
		if r.Err != nil {
			msg, ok := importError(r.Err)
			if !ok {
				return out, r.Err
			}
			res.Status, res.Errors = statusFailed, []string{msg}
			out = append(out, res)
			continue
		}
		res.Status, res.ID, res.Role, res.UserName = string(r.Outcome), r.User.ID, r.User.Role, r.User.UserName
		if r.Outcome == directory.ImportUpdated {
			res.Changes = changes[i]
		}
		out = append(out, res)
	}
	return out, err
}

// checkRows says, for a dry run, what applying the rows would do: the users
// they match are read in one pass (by userName, else by email, as the
// import matches them), and any store error is the run's error — never a
// guess that the row would create a user.
func (a *API) checkRows(ctx context.Context, t store.Tenant, ic *importContext, idx *userIndex, rows []importRow, mode string) ([]importResult, error) {
	var matched []string
	match := make([]*store.User, len(rows))
	var ambiguous = make([]error, len(rows))
	for i, row := range rows {
		if len(row.errs) > 0 {
			continue
		}
		u, err := idx.match(row)
		if err != nil {
			ambiguous[i] = err
			continue
		}
		if u != nil {
			match[i] = u
			matched = append(matched, u.ID)
		}
	}
	teams, err := a.store.GroupsOfUsers(ctx, t.ID, matched)
	if err != nil {
		return nil, err
	}
	out := make([]importResult, 0, len(rows))
	for i, row := range rows {
		res := importResult{Line: row.line, Email: row.email, UserName: row.userName, Role: row.role}
		u := match[i]
		switch {
		case len(row.errs) > 0:
			res.Status, res.Errors = statusInvalid, row.errs
		case ambiguous[i] != nil:
			res.Status, res.Errors = statusInvalid, []string{ambiguous[i].Error()}
		case u == nil:
			res.Status = statusCreate
			res.Role = ic.newRole(row)
		default:
			res.ID, res.UserName, res.Role = u.ID, u.UserName, u.Role
			probe := u.Clone()
			if err := row.apply(mode)(&probe); err != nil {
				res.Status, res.Errors = statusInvalid, []string{err.Error()}
				break
			}
			var in []string
			for _, g := range teams[u.ID] {
				in = append(in, g.ID)
			}
			res.Changes = row.changes(*u, in)
			res.Status = statusUnchanged
			if len(res.Changes) > 0 || !store.SameUser(*u, probe) {
				res.Status = statusUpdate
			}
			if row.role != "" {
				res.Role = row.role
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// userIndex is the tenant's live users by userName and by email address,
// read once per dry run.
type userIndex struct {
	byName  map[string]*store.User
	byEmail map[string][]*store.User
}

func (a *API) userIndex(ctx context.Context, tenantID string) (*userIndex, error) {
	idx := &userIndex{byName: map[string]*store.User{}, byEmail: map[string][]*store.User{}}
	for start := 1; ; start += 1000 {
		page, err := a.store.ListUsers(ctx, tenantID, store.UserQuery{StartIndex: start, Count: 1000})
		if err != nil {
			return nil, err
		}
		for i := range page.Users {
			u := &page.Users[i]
			idx.byName[store.FoldKey(u.UserName)] = u
			if k := store.EmailKey(u.Emails); k != "" {
				idx.byEmail[k] = append(idx.byEmail[k], u)
			}
		}
		if len(page.Users) == 0 || start+len(page.Users) > page.Total {
			return idx, nil
		}
	}
}

// match is the user a row would update, as the import matches it
// (directory.MatchUser).
func (idx *userIndex) match(row importRow) (*store.User, error) {
	return directory.MatchUser(idx.byName[store.FoldKey(row.userName)], func(k string) []store.User {
		out := make([]store.User, len(idx.byEmail[k]))
		for i, u := range idx.byEmail[k] {
			out[i] = *u
		}
		return out
	}, []store.MultiValue{{Value: row.email}})
}

// summarize totals results into the answer of an import.
func summarize(req importRequest, results []importResult) importSummary {
	if results == nil {
		results = []importResult{} // a file of no rows answers "results": [], not null
	}
	sum := importSummary{DryRun: req.dryRun, Mode: req.mode, Rows: len(results), Results: results, Counts: map[string]int{}}
	for _, res := range results {
		sum.Counts[res.Status]++
		switch res.Status {
		case statusCreated, statusCreate:
			sum.Created++
		case statusUpdated, statusUpdate:
			sum.Updated++
		case statusUnchanged:
			sum.Unchanged++
		default:
			sum.Failed++
		}
	}
	return sum
}

// seatForecast is a dry run's seat forecast for the full seats its new
// users would take.
func (a *API) seatForecast(ctx context.Context, t store.Tenant, neededFull int) (*importSeats, error) {
	counts, err := a.store.SeatCounts(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	c := t.Contract()
	usable := c.UsableAt(a.now())
	return &importSeats{NeededFull: neededFull, Available: max(usable-counts.Full, 0), Overage: c.Overage,
		Enough: licensing.CapAllows(counts.Full, neededFull, usable, c.Overage)}, nil
}

// neededFull counts the full seats the dry run's new users would take.
func (ic *importContext) neededFull(results []importResult) int {
	n := 0
	for _, res := range results {
		if res.Status == statusCreate {
			if _, class, ok := ic.roles.Lookup(res.Role); ok && class == store.SeatFull {
				n++
			}
		}
	}
	return n
}

// asyncThreshold is the largest import answered in the request; a larger
// one (or any sent with Prefer: respond-async) is a job.
const asyncThreshold = 1000

func (a *API) importUsers(w http.ResponseWriter, r *http.Request) error {
	dryRun, mode, err := importOptions(r)
	if err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	body, err := readBody(w, r, maxImportBody)
	if err != nil {
		return err
	}
	req := importRequest{dryRun: dryRun, mode: mode, body: body}
	p, err := a.parseImport(r.Context(), t, body)
	if err != nil {
		return err
	}
	if len(p.rows) > asyncThreshold || preferAsync(r) {
		return a.startImportJob(w, r, t, req, len(p.rows))
	}
	var results []importResult
	err = a.importRun(r.Context(), t, p, req, actor(r), 0, func(rs []importResult) error {
		results = append(results, rs...)
		return nil
	})
	if err != nil && !dryRun && len(results) > 0 {
		return &partialImport{err: err, sum: summarize(req, results), total: len(p.rows)}
	}
	if err != nil {
		return err
	}
	sum := summarize(req, results)
	if dryRun {
		if sum.Seats, err = a.seatForecast(r.Context(), t, p.ic.neededFull(results)); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, sum)
	return nil
}

// preferAsync says whether the request asks to be answered with a job
// (RFC 7240 Prefer: respond-async).
func preferAsync(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(v, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(name), "respond-async") {
				return true
			}
		}
	}
	return false
}

// newRole is the role a new user of the row resolves to: the row's, else
// the tenant's default (a new user is in no group yet).
func (ic *importContext) newRole(row importRow) string {
	if row.role != "" {
		return row.role
	}
	return store.ResolveRole("", nil, nil, ic.roles.Settings.DefaultRole).Role
}

// importError is the message of a row the store refused: a change of its
// own (refusedChange), or a store error of a kind that is the row's fault
// (invalid, conflicting, forbidden). false for errors that are not the
// row's fault (the import stops then).
func importError(err error) (string, bool) {
	var refused *refusedChange
	switch {
	case store.ImportErrorFatal(err):
		return "", false
	case errors.As(err, &refused):
		return refused.Error(), true
	}
	switch f := store.FaultOf(err); f.Kind {
	case store.KindInvalid, store.KindConflict, store.KindForbidden:
		if f.Message != "" {
			return f.Message, true
		}
		return err.Error(), true
	}
	return "", false
}

// partialImport is an import the store stopped part-way (it became
// unavailable): the answer is the error, with the results of the rows
// applied before, so that no request ends half-applied without them.
type partialImport struct {
	err   error
	sum   importSummary
	total int
}

func (e *partialImport) Error() string { return e.err.Error() }
func (e *partialImport) Unwrap() error { return e.err }
