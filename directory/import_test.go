package directory_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/storetest"
)

// importOne imports one row and answers its result.
func importOne(t *testing.T, d *directory.Directory, tenant string, u store.User, fn func(*store.User) error,
	groupIDs ...string) (store.User, directory.ImportOutcome, error) {
	t.Helper()
	results, err := d.ImportUsers(ctx, tenant, []directory.ImportRow{{User: u, Apply: fn, Groups: groupIDs}}, store.ActorAdmin)
	require.NoError(t, err)
	require.Len(t, results, 1)
	return results[0].User, results[0].Outcome, results[0].Err
}

func memberIDs(g store.Group) []string {
	out := make([]string, 0, len(g.Members))
	for _, m := range g.Members {
		out = append(out, m.UserID)
	}
	return out
}

func emailed(userName, email string) store.User {
	return store.User{UserName: userName, Active: true, Emails: []store.MultiValue{{Value: email, Primary: true}}}
}

// TestImportUser: one import row is one transaction — create or update,
// teams joined, nothing written when nothing changes.
func TestImportUser(t *testing.T) {
	forEachBackend(t, testImportUser)
}

func testImportUser(t *testing.T, open storetest.Factory) {
	s := open(t, storetest.NewClock().Now)
	d := directory.New(s)
	roleTenant(t, s, "acme", 1, "", store.RoleMapping{Group: "Auditors", Role: "auditor"})
	eng := newGroup(t, s, "acme", "Eng")
	aud := newGroup(t, s, "acme", "Auditors")
	set := func(title, role string) func(*store.User) error {
		return func(u *store.User) error { u.Title, u.ExplicitRole = title, role; return nil }
	}
	in := store.User{UserName: "ann@x.com", Title: "Agent", Active: true, ExplicitRole: "supervisor"}
	ann, outcome, err := importOne(t, d, "acme", in, set("Agent", "supervisor"), eng.ID)
	require.NoError(t, err)
	assert.Equal(t, directory.ImportCreated, outcome)
	assert.Equal(t, store.RoleSupervisor, ann.Role)
	g, err := s.GetGroup(ctx, "acme", eng.ID, true)
	require.NoError(t, err)
	assert.Equal(t, []string{ann.ID}, memberIDs(g))
	audits := len(auditActions(t, s, "acme", store.EventQuery{}))

	again, outcome, err := importOne(t, d, "acme", in, set("Agent", "supervisor"), eng.ID)
	require.NoError(t, err)
	assert.Equal(t, directory.ImportUnchanged, outcome, "re-importing changes nothing")
	assert.Equal(t, ann, again)
	assert.Len(t, auditActions(t, s, "acme", store.EventQuery{}), audits, "and writes no audit event")

	upd, outcome, err := importOne(t, d, "acme", in, set("Lead", "agent"), eng.ID)
	require.NoError(t, err)
	assert.Equal(t, directory.ImportUpdated, outcome)
	assert.Equal(t, "Lead", upd.Title)
	assert.Equal(t, store.RoleAgent, upd.Role)
	assert.Equal(t, ann.Version+1, upd.Version)

	// Refusals change nothing: an unknown group, a role group, the seat cap.
	_, _, err = importOne(t, d, "acme", store.User{UserName: "bob@x.com", Active: false}, set("", ""), "nope")
	assert.ErrorIs(t, err, store.ErrInvalid)
	_, _, err = importOne(t, d, "acme", store.User{UserName: "bob@x.com", Active: false}, set("", ""), aud.ID)
	var inv *store.InvalidError
	require.ErrorAs(t, err, &inv)
	assert.Equal(t, "teams", inv.Field)
	assert.Contains(t, inv.Reason, "role group")
	_, _, err = importOne(t, d, "acme", store.User{UserName: "bob@x.com", Active: true}, set("", ""), eng.ID)
	assert.ErrorIs(t, err, store.ErrSeatLimit)
	_, err = s.GetUserByUserName(ctx, "acme", "bob@x.com")
	assert.ErrorIs(t, err, store.ErrNotFound)
	g, err = s.GetGroup(ctx, "acme", eng.ID, true)
	require.NoError(t, err)
	assert.Equal(t, 1, g.MemberCount)
	assert.Equal(t, counts(t, s, "acme"), replay(ledger(t, s, "acme")))

	// An existing user joining a team is an update, even when nothing of
	// the user changes; joining it again is not.
	ops := newGroup(t, s, "acme", "Ops")
	joined, outcome, err := importOne(t, d, "acme", in, set("Lead", "agent"), ops.ID, eng.ID)
	require.NoError(t, err)
	assert.Equal(t, directory.ImportUpdated, outcome)
	assert.Equal(t, upd.Version, joined.Version, "the user is not written")
	_, outcome, err = importOne(t, d, "acme", in, set("Lead", "agent"), ops.ID)
	require.NoError(t, err)
	assert.Equal(t, directory.ImportUnchanged, outcome)
	g, err = s.GetGroup(ctx, "acme", ops.ID, true)
	require.NoError(t, err)
	assert.Equal(t, []string{ann.ID}, memberIDs(g))
}

// TestImportMatchesEmail: one person, one seat — a row whose email belongs
// to an existing user (any case) updates that user instead of creating a
// second seat holder; an email held by several users is refused, not
// guessed; the userName still wins over the email.
func TestImportMatchesEmail(t *testing.T) {
	forEachBackend(t, testImportMatchesEmail)
}

func testImportMatchesEmail(t *testing.T, open storetest.Factory) {
	s := open(t, storetest.NewClock().Now)
	d := directory.New(s)
	roleTenant(t, s, "acme", 10, "")
	nora, err := s.CreateUser(ctx, "acme", emailed("nora", "Nora@Globex.test"), token)
	require.NoError(t, err)
	title := func(v string) func(*store.User) error { return func(u *store.User) error { u.Title = v; return nil } }
	row := emailed("nora@globex.test", "nora@globex.test")

	got, outcome, err := importOne(t, d, "acme", row, title("Lead"))
	require.NoError(t, err)
	assert.Equal(t, directory.ImportUpdated, outcome)
	assert.Equal(t, nora.ID, got.ID, "the user holding the email is updated")
	assert.Equal(t, "Lead", got.Title)
	_, err = s.GetUserByUserName(ctx, "acme", "nora@globex.test")
	assert.ErrorIs(t, err, store.ErrNotFound, "no second user")
	assert.Equal(t, 1, counts(t, s, "acme").Full, "one person, one seat")

	results, err := d.ImportUsers(ctx, "acme", []directory.ImportRow{{User: row, Apply: title("Lead")}}, store.ActorAdmin)
	require.NoError(t, err)
	require.Len(t, results, 1)
	assert.Equal(t, directory.ImportUnchanged, results[0].Outcome, "a batch matches the same way")
	assert.Equal(t, nora.ID, results[0].User.ID)

	// A second holder of the address (SCIM may create one): which user the
	// row means is no longer clear.
	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "nora2", Active: true,
		Emails: []store.MultiValue{{Value: "nora@globex.TEST"}}}, token)
	require.NoError(t, err)
	_, _, err = importOne(t, d, "acme", row, title("X"))
	var amb *store.AmbiguousEmailError
	require.ErrorAs(t, err, &amb)
	assert.ElementsMatch(t, []string{"nora", "nora2"}, amb.UserNames)
	assert.ErrorIs(t, err, store.ErrInvalid)
	byName := row
	byName.UserName = "nora2"
	got, outcome, err = importOne(t, d, "acme", byName, title("Two"))
	require.NoError(t, err)
	assert.Equal(t, directory.ImportUpdated, outcome)
	assert.Equal(t, "nora2", got.UserName, "the userName decides")
}

// TestImportConcurrentResubmission: the same rows imported by several
// importers at once create each user once; every other import of a row is
// an update or a no-op, never a refusal or a second user.
func TestImportConcurrentResubmission(t *testing.T) {
	forEachBackend(t, testImportConcurrentResubmission)
}

func testImportConcurrentResubmission(t *testing.T, open storetest.Factory) {
	s := open(t, storetest.NewClock().Now)
	d := directory.New(s)
	roleTenant(t, s, "acme", 100, "")
	const users, importers = 20, 4
	rows := make([]directory.ImportRow, users)
	for i := range rows {
		email := fmt.Sprintf("u%02d@x.test", i)
		rows[i] = directory.ImportRow{User: emailed(email, email), Apply: func(u *store.User) error { u.Title = "Agent"; return nil }}
	}
	outcomes := make([][]directory.ImportRowResult, importers)
	errs := make([]error, importers)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range importers {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			outcomes[i], errs[i] = d.ImportUsers(ctx, "acme", rows, store.ActorAdmin)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	created := map[string]int{}
	for i, err := range errs {
		require.NoError(t, err)
		require.Len(t, outcomes[i], users)
		for _, r := range outcomes[i] {
			require.NoError(t, r.Err)
			if r.Outcome == directory.ImportCreated {
				created[r.User.UserName]++
			}
		}
	}
	assert.Len(t, created, users)
	for name, n := range created {
		assert.Equal(t, 1, n, "%s created once", name)
	}
	assert.Equal(t, users, counts(t, s, "acme").Full)
}

// TestImportUsers_runs: rows that only create users are written together,
// and a run that cannot be written whole gives each row the answer it gets
// alone: the seat cap refuses exactly the rows past it, a row matching an
// earlier row of the file updates the user it created, and a row that is
// refused alone is refused with its reason.
func TestImportUsers_runs(t *testing.T) {
	forEachBackend(t, testImportUsersRuns)
}

func testImportUsersRuns(t *testing.T, open storetest.Factory) {
	s := open(t, storetest.NewClock().Now)
	d := directory.New(s)
	roleTenant(t, s, "acme", 5, "")
	title := func(v string) func(*store.User) error { return func(u *store.User) error { u.Title = v; return nil } }
	var rows []directory.ImportRow
	row := func(email string) directory.ImportRow {
		u := emailed(email, email)
		u.Title = "Agent"
		return directory.ImportRow{User: u, Apply: title("Agent")}
	}
	for i := range 4 {
		rows = append(rows, row(fmt.Sprintf("u%d@x.test", i)))
	}
	// The same address as row 0 under another userName: that user.
	rows = append(rows, directory.ImportRow{User: emailed("other", "U0@x.test"), Apply: func(u *store.User) error {
		u.Title, u.DisplayName = "Agent", "Other"
		return nil
	}})
	rows = append(rows, directory.ImportRow{User: store.User{UserName: "", Active: true}, Apply: title("X")})
	for i := 4; i < 7; i++ {
		rows = append(rows, row(fmt.Sprintf("u%d@x.test", i)))
	}
	results, err := d.ImportUsers(ctx, "acme", rows, store.ActorAdmin)
	require.NoError(t, err)
	require.Len(t, results, len(rows))
	var outcomes []string
	for _, r := range results {
		if r.Err != nil {
			outcomes = append(outcomes, "refused")
			continue
		}
		outcomes = append(outcomes, string(r.Outcome))
	}
	assert.Equal(t, []string{"created", "created", "created", "created", "updated", "refused", "created", "refused", "refused"}, outcomes)
	assert.Equal(t, results[0].User.ID, results[4].User.ID, "the earlier row's user")
	assert.Equal(t, "Other", results[4].User.DisplayName)
	assert.ErrorIs(t, results[5].Err, store.ErrInvalid)
	assert.ErrorIs(t, results[7].Err, store.ErrSeatLimit)
	assert.ErrorIs(t, results[8].Err, store.ErrSeatLimit)
	assert.Equal(t, store.SeatCounts{Full: 5}, counts(t, s, "acme"))
	assert.Equal(t, counts(t, s, "acme"), replay(ledger(t, s, "acme")))

	// Importing the file again changes nothing.
	again, err := d.ImportUsers(ctx, "acme", rows[:5], store.ActorAdmin)
	require.NoError(t, err)
	for i, r := range again {
		require.NoError(t, r.Err)
		assert.Equal(t, directory.ImportUnchanged, r.Outcome, "row %d", i)
	}
}

// TestImport_idpOwnership: an import row updating a user the IdP pushed
// follows the rule of manual changes (owner.go): a new displayName is the
// row's idp_managed refusal, and nothing is written; what the IdP does not
// push (the title) is updated; with manual_overrides the change is made and
// the user marked drifted.
func TestImport_idpOwnership(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open storetest.Factory) {
		clock := storetest.NewClock()
		s := open(t, clock.Now)
		roleTenant(t, s, "acme", 10, "")
		d := directory.New(s)
		u := pushedUser(t, s, "acme", "bo@x.com")
		set := func(f func(*store.User)) func(*store.User) error {
			return func(x *store.User) error { f(x); return nil }
		}
		row := store.User{UserName: "bo@x.com", Active: true}

		_, _, err := importOne(t, d, "acme", row, set(func(x *store.User) { x.DisplayName = "Bo by CSV" }))
		var owned *directory.IdPManagedError
		require.ErrorAs(t, err, &owned)
		assert.Equal(t, "displayName", owned.Attribute)
		assert.Equal(t, "okta", owned.IdP)
		got, err := s.GetUser(ctx, "acme", u.ID)
		require.NoError(t, err)
		assert.Equal(t, u.Version, got.Version, "nothing written")

		_, outcome, err := importOne(t, d, "acme", row, set(func(x *store.User) { x.Title = "Lead" }))
		require.NoError(t, err)
		assert.Equal(t, directory.ImportUpdated, outcome, "what the IdP does not push stays editable")

		allowOverrides(t, s, "acme")
		_, outcome, err = importOne(t, d, "acme", row, set(func(x *store.User) { x.DisplayName = "Bo by CSV" }))
		require.NoError(t, err)
		assert.Equal(t, directory.ImportUpdated, outcome)
		got, err = s.GetUser(ctx, "acme", u.ID)
		require.NoError(t, err)
		assert.Equal(t, "Bo by CSV", got.DisplayName)
		require.NotNil(t, got.DriftedAt, "listed as drifted")
		assert.Equal(t, store.ManagedSCIM, got.Managed)
	})
}
