package directory

// The CSV import's use case: rows become users — created, or the existing
// user updated — and join teams, each row as if in its own transaction.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/roster-dev/roster/store"
)

// ImportOutcome says what an import did with one row's user.
type ImportOutcome string

const (
	ImportCreated   ImportOutcome = "created"
	ImportUpdated   ImportOutcome = "updated"
	ImportUnchanged ImportOutcome = "unchanged" // nothing written, no audit event
)

// ImportRow is one row of an import: the user to create when no live user
// matches, what to apply to the one that does, and the teams (group ids) to
// join.
type ImportRow struct {
	User   store.User
	Apply  func(*store.User) error
	Groups []string
}

// ImportRowResult is what the import did with one row: the user as written
// (or found unchanged) and the outcome, or Err, the row's refusal.
type ImportRowResult struct {
	User    store.User
	Outcome ImportOutcome
	Err     error
}

// maxRun is the most rows created together in one Change. The first such
// Change of a call looks up the keys of all its rows (one look-up per call,
// which on a users table not yet analysed scans the tenant's users once),
// the later ones those of rows not looked up yet.
const maxRun = 250

// ImportUsers applies the rows in order, each as if in its own transaction:
// the user the row matches (MatchUser: by userName, else the one user
// holding one of its addresses; several holders are an
// *store.AmbiguousEmailError) gets Apply, written only when it changes
// something (store.SameUser); without a match the row's user is created.
// Then the user joins the row's teams they are not in yet; an unknown group,
// or a role group, refuses the row (*store.InvalidError, field teams). Seat
// cap and role resolution are the store's, as for any user write; a refused
// row changes nothing. A creation that loses the race for its userName to a
// concurrent one (the same file imported twice at once) updates the winner,
// as importing the row again would: importing a row twice is a no-op the
// second time.
//
// Rows that only create users (no teams, no stores, no id) and whose keys
// nobody holds — no live user when they were looked up, no row applied
// before — are created together, up to maxRun in one Change, which a
// backend may write as one statement; a run that cannot be written whole
// (the cap reached part-way, a userName taken meanwhile) writes nothing and
// its rows are applied one by one, each with the answer it would get alone.
//
// It stops at the first error that is not a row's (store.ImportErrorFatal)
// and answers it with the results of the rows before.
func (d *Directory) ImportUsers(ctx context.Context, tenantID string, rows []ImportRow, by store.Actor) ([]ImportRowResult, error) {
	im := &importer{d: d, tenantID: tenantID, rows: rows, by: by, held: make([]bool, len(rows)),
		names: map[string]bool{}, emails: map[string]bool{}}
	out := make([]ImportRowResult, 0, len(rows))
	for i := 0; i < len(rows); {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		alone := 1
		if !im.held[i] && createsOnly(rows[i]) {
			done, n, err := im.createRun(ctx, i)
			if err == nil && n > 0 {
				out = append(out, done...)
				i += n
				continue
			}
			if err != nil && store.ImportErrorFatal(err) {
				return out, err
			}
			alone = max(n, 1)
		}
		for _, row := range rows[i : i+alone] {
			res := d.importRow(ctx, tenantID, row, by)
			if res.Err != nil && store.ImportErrorFatal(res.Err) {
				return out, res.Err
			}
			im.applied(res)
			out = append(out, res)
		}
		i += alone
	}
	return out, nil
}

// importer is one ImportUsers call's knowledge of which rows' keys are held.
type importer struct {
	d        *Directory
	tenantID string
	rows     []ImportRow
	by       store.Actor
	// held says which rows a live user matched when their keys were looked
	// up (rows before peeked); those are applied alone, without a run.
	held   []bool
	peeked int
	// names and emails are the keys of the users rows of this call wrote.
	names, emails map[string]bool
}

// applied notes the keys of the user a row wrote.
func (im *importer) applied(res ImportRowResult) {
	if res.Err == nil {
		im.names[store.FoldKey(res.User.UserName)] = true
		im.emails[store.EmailKey(res.User.Emails)] = true
	}
}

// takenBefore says whether a row's keys are those of a user an earlier row
// of this call wrote.
func (im *importer) takenBefore(u store.User) bool {
	if im.names[store.FoldKey(u.UserName)] {
		return true
	}
	for _, k := range store.EmailKeys(u.Emails) {
		if im.emails[k] {
			return true
		}
	}
	return false
}

// createsOnly says whether a row may be created together with others, if
// nobody matches it: it joins no team and names no stores and no id.
func createsOnly(row ImportRow) bool {
	return len(row.Groups) == 0 && row.User.Stores == nil && row.User.ID == ""
}

// createRun looks up (as committed, unlocked: the uniqueness of userNames
// guards the creations) the keys of the rows from i on not looked up yet,
// and creates the rows from i on that nobody holds, up to
// maxRun, in the same Change. It answers their results and how many they
// are; with an error, n rows were planned and none written.
func (im *importer) createRun(ctx context.Context, i int) ([]ImportRowResult, int, error) {
	from, to := max(i, im.peeked), len(im.rows)
	lock := store.Lock{Peek: true}
	for _, row := range im.rows[from:to] {
		lock.UserNames = append(lock.UserNames, row.User.UserName)
		lock.EmailKeys = append(lock.EmailKeys, store.EmailKeys(row.User.Emails)...)
	}
	var p *store.Plan
	err := im.d.st.Change(ctx, im.tenantID, lock, func(v *store.View) (*store.Plan, error) {
		for j := from; j < to; j++ {
			row := im.rows[j]
			im.held[j] = v.NamesHeld[store.FoldKey(row.User.UserName)]
			for _, k := range store.EmailKeys(row.User.Emails) {
				im.held[j] = im.held[j] || v.EmailsHeld[k]
			}
		}
		im.peeked = max(im.peeked, to)
		p = &store.Plan{By: im.by}
		names, emails := map[string]bool{}, map[string]bool{}
	rows:
		for j := i; j < min(i+maxRun, len(im.rows)); j++ {
			row := im.rows[j]
			u := row.User.Clone()
			if im.held[j] || !createsOnly(row) || store.ValidateUser(&u) != nil || im.takenBefore(u) {
				break // applied alone: it updates, joins teams, or is refused with its reason
			}
			key := store.FoldKey(u.UserName)
			if names[key] {
				break
			}
			for _, k := range store.EmailKeys(u.Emails) {
				if emails[k] {
					break rows
				}
			}
			names[key], emails[store.EmailKey(u.Emails)] = true, true
			p.Writes = append(p.Writes, store.UserWrite{After: row.User})
		}
		if len(p.Writes) == 0 {
			p = nil
		}
		return p, nil
	})
	if p == nil {
		return nil, 0, err
	}
	if err != nil {
		return nil, len(p.Writes), err
	}
	out := make([]ImportRowResult, len(p.Writes))
	for k, w := range p.Writes {
		out[k] = ImportRowResult{User: w.Written, Outcome: ImportCreated}
		im.applied(out[k])
	}
	return out, len(out), nil
}

// importRow applies one row in its own Change. A creation that lost the
// race for its userName is applied again: it then finds the winner.
func (d *Directory) importRow(ctx context.Context, tenantID string, row ImportRow, by store.Actor) ImportRowResult {
	res := d.importOnce(ctx, tenantID, row, by)
	var exists *store.UserExistsError
	if errors.As(res.Err, &exists) {
		res = d.importOnce(ctx, tenantID, row, by)
	}
	return res
}

func (d *Directory) importOnce(ctx context.Context, tenantID string, row ImportRow, by store.Actor) ImportRowResult {
	var teams []string
	for _, id := range row.Groups {
		if !slices.Contains(teams, id) {
			teams = append(teams, id)
		}
	}
	lock := store.Lock{UserNames: []string{row.User.UserName}, EmailKeys: store.EmailKeys(row.User.Emails), Teams: teams}
	var res ImportRowResult
	var p *store.Plan
	err := d.st.Change(ctx, tenantID, lock, func(v *store.View) (*store.Plan, error) {
		for _, id := range teams {
			g, ok := v.Teams[id]
			switch {
			case !ok:
				return nil, teamError(id, "", "no such group")
			case store.IsMappedGroup(g.DisplayName, v.Roles.Mappings):
				return nil, teamError(id, g.DisplayName, "is a role group (a role mapping names it), not a team; set the role instead")
			}
		}
		var named *store.User
		if id, ok := v.Named[store.FoldKey(row.User.UserName)]; ok {
			u := v.Users[id]
			named = &u
		}
		m, err := MatchUser(named, func(k string) []store.User {
			out := make([]store.User, len(v.Emailed[k]))
			for i, id := range v.Emailed[k] {
				out[i] = v.Users[id]
			}
			return out
		}, row.User.Emails)
		if err != nil {
			return nil, err
		}
		if m == nil {
			res.Outcome = ImportCreated
			p = &store.Plan{By: by, Writes: []store.UserWrite{{After: row.User, Join: teams}}}
			return p, nil
		}
		probe := m.Clone()
		if row.Apply != nil {
			if err := row.Apply(&probe); err != nil {
				return nil, err
			}
		}
		if err := importOwner(v, m, &probe); err != nil {
			return nil, err
		}
		var join []string
		for _, id := range teams {
			if !slices.Contains(v.InTeams[m.ID], id) {
				join = append(join, id)
			}
		}
		res.User, res.Outcome = *m, ImportUnchanged
		if !store.SameUser(*m, probe) || len(join) > 0 {
			res.Outcome = ImportUpdated
		}
		if res.Outcome == ImportUnchanged {
			return nil, nil
		}
		p = &store.Plan{By: by, Writes: []store.UserWrite{{Before: m, After: probe, Join: join}}}
		return p, nil
	})
	if err != nil {
		return ImportRowResult{Err: err}
	}
	if p != nil {
		res.User = p.Writes[0].Written
	}
	return res
}

// importOwner applies the IdP-ownership rule (owner.go) to a row that
// updates an existing user: what the IdP pushes (userName, emails,
// displayName, active) is refused for a user the IdP manages, unless the
// tenant allows manual overrides — then the user is marked drifted.
func importOwner(v *store.View, old *store.User, u *store.User) error {
	o := owner{overrides: v.Roles.Settings.ManualOverrides}
	drift := false
	for _, c := range []struct {
		attr    string
		changed bool
	}{
		{"userName", u.UserName != old.UserName},
		{"emails", !slices.Equal(u.Emails, old.Emails)},
		{"displayName", u.DisplayName != old.DisplayName},
		{"active", u.Active != old.Active},
	} {
		if err := o.user(old, c.attr, c.changed, &drift); err != nil {
			return err
		}
	}
	if drift {
		now := v.Now
		u.DriftedAt = &now
	}
	return nil
}

// MatchUser is the live user an import row updates: named, the holder of
// its userName, if there is one; else, for the row's addresses in order
// (store.EmailKeys), the one user whose email key (store.EmailKey) is the
// first address anyone holds. Several holders of that address are an
// *store.AmbiguousEmailError: which one the row means is not the
// importer's guess. holders answers the live users whose email key is k.
// Nil, nil when nobody matches.
func MatchUser(named *store.User, holders func(k string) []store.User, emails []store.MultiValue) (*store.User, error) {
	if named != nil {
		return named, nil
	}
	for _, k := range store.EmailKeys(emails) {
		switch hs := holders(k); len(hs) {
		case 0:
			continue
		case 1:
			return &hs[0], nil
		default:
			names := make([]string, len(hs))
			for i, u := range hs {
				names[i] = u.UserName
			}
			return nil, &store.AmbiguousEmailError{Email: k, UserNames: names}
		}
	}
	return nil, nil
}

// teamError refuses an import's team: unknown, or a role group.
func teamError(id, name, reason string) error {
	if name == "" {
		name = id
	}
	return &store.InvalidError{Field: "teams", Reason: fmt.Sprintf("%s: %s", name, reason)}
}
