package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
)

func testTenants(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	tn := newTenant(t, s, "acme", 10)
	assert.Equal(t, "acme", tn.ID)
	assert.False(t, tn.CreatedAt.IsZero())

	_, err := s.CreateTenant(ctx, store.Tenant{ID: "acme", Plan: "trial"}, store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrConflict, "duplicate tenant id")

	got, err := s.GetTenant(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, tn, got)

	up, err := directory.New(s).UpdateTenant(ctx, "acme", store.ActorAdmin, func(x *store.Tenant) error {
		x.Plan, x.Seats, x.Addons = "enterprise", 12, []string{"hipaa"}
		x.Settings.Overage = true
		x.ID = "hijack" // immutable
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, "acme", up.ID)
	got, err = s.GetTenant(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, "enterprise", got.Plan)
	assert.Equal(t, 12, got.Seats)
	assert.Equal(t, []string{"hipaa"}, got.Addons)
	assert.True(t, got.Settings.Overage)
	assert.Equal(t, "deny", got.Settings.PrivilegedRoles)

	newTenant(t, s, "beta", 1)
	all, err := s.ListTenants(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, []string{"acme", "beta"}, []string{all[0].ID, all[1].ID})

	u := newUser(t, s, "beta", "x@beta.test", true)
	require.NoError(t, s.DeleteTenant(ctx, "beta", store.ActorAdmin))
	_, err = s.GetTenant(ctx, "beta")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetUser(ctx, "beta", u.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, s.DeleteTenant(ctx, "beta", store.ActorAdmin), store.ErrNotFound)
	_, err = directory.New(s).UpdateTenant(ctx, "nope", store.ActorAdmin, func(*store.Tenant) error { return nil })
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.CreateUser(ctx, "nope", store.User{UserName: "a", Active: true}, token)
	assert.ErrorIs(t, err, store.ErrNotFound, "user of an unknown tenant")
}

// TestTenantIsolation proves that every read, update and delete of a record
// through another tenant answers not-found and changes nothing.
func testTenantIsolation(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "a", 10)
	newTenant(t, s, "b", 10)
	u := newUser(t, s, "a", "alice@a.test", true)
	g := newGroup(t, s, "a", "Team A", u.ID)
	tok, err := s.CreateToken(ctx, "a", store.Token{Name: "okta", Hash: []byte("h")}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.CreateRole(ctx, "a", store.Role{Name: "auditor", Permissions: []string{"reporting.view_org"}}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.PutSAMLConfig(ctx, "a", store.SAMLConfig{EntityID: "https://idp.a", SSOURL: "https://idp.a/sso", CertNotAfter: time.Now().Add(time.Hour)}, store.ActorAdmin)
	require.NoError(t, err)

	nf := func(name string, err error) { assert.ErrorIs(t, err, store.ErrNotFound, name) }
	_, err = s.GetUser(ctx, "b", u.ID)
	nf("GetUser", err)
	_, err = s.GetUserByUserName(ctx, "b", u.UserName)
	nf("GetUserByUserName", err)
	_, err = s.UpdateUser(ctx, "b", u.ID, token, func(x *store.User) error { x.Active = false; return nil })
	nf("UpdateUser", err)
	nf("DeleteUser", s.DeleteUser(ctx, "b", u.ID, token))
	_, err = s.UserGroups(ctx, "b", u.ID)
	nf("UserGroups", err)
	_, err = s.GetGroup(ctx, "b", g.ID, true)
	nf("GetGroup", err)
	_, err = s.UpdateGroup(ctx, "b", g.ID, token, func(x *store.GroupUpdate) error { x.Replace(); return nil })
	nf("UpdateGroup", err)
	nf("DeleteGroup", s.DeleteGroup(ctx, "b", g.ID, token))
	_, err = s.GetToken(ctx, "b", tok.ID)
	nf("GetToken", err)
	nf("RevokeToken", s.RevokeToken(ctx, "b", tok.ID, time.Now(), store.ActorAdmin))
	_, err = s.GetRole(ctx, "b", "auditor")
	nf("GetRole", err)
	_, err = directory.New(s).UpdateRole(ctx, "b", "auditor", store.ActorAdmin, func(*store.Role) error { return nil })
	nf("UpdateRole", err)
	nf("DeleteRole", directory.New(s).DeleteRole(ctx, "b", "auditor", "", token))
	_, err = s.GetSAMLConfig(ctx, "b")
	nf("GetSAMLConfig", err)

	// Lists and filters of tenant b never see tenant a's records.
	up, err := s.ListUsers(ctx, "b", store.UserQuery{Filter: store.Compare{Attr: "id", Op: store.OpEq, Value: u.ID}, Count: 10})
	require.NoError(t, err)
	assert.Zero(t, up.Total)
	up, err = s.ListUsers(ctx, "b", store.UserQuery{Count: 10})
	require.NoError(t, err)
	assert.Zero(t, up.Total)
	gp, err := s.ListGroups(ctx, "b", store.GroupQuery{Count: 10})
	require.NoError(t, err)
	assert.Zero(t, gp.Total)
	toks, err := s.ListTokens(ctx, "b")
	require.NoError(t, err)
	assert.Empty(t, toks)

	// Tenant b cannot make tenant a's user a member of its groups.
	gb := newGroup(t, s, "b", "Team B")
	_, err = s.UpdateGroup(ctx, "b", gb.ID, token, func(x *store.GroupUpdate) error { x.Add(u.ID); return nil })
	var unknown *store.UnknownMembersError
	require.ErrorAs(t, err, &unknown)
	assert.Equal(t, []string{u.ID}, unknown.IDs)

	// Nothing of tenant a changed.
	got, err := s.GetUser(ctx, "a", u.ID)
	require.NoError(t, err)
	assert.Equal(t, u, got)
	ga, err := s.GetGroup(ctx, "a", g.ID, true)
	require.NoError(t, err)
	assert.Equal(t, []string{u.ID}, memberIDs(ga))
	tk, err := s.GetToken(ctx, "a", tok.ID)
	require.NoError(t, err)
	assert.Nil(t, tk.RevokedAt)
	_, err = s.GetRole(ctx, "a", "auditor")
	assert.NoError(t, err)
	counts, err := s.SeatCounts(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, 1, counts.Full)

	// The same userName may exist once in each tenant.
	_, err = s.CreateUser(ctx, "b", store.User{UserName: "ALICE@a.test", Active: true}, token)
	assert.NoError(t, err)
}

func testUserNameUnique(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 100)
	first := newUser(t, s, "acme", "alice@example.com", true)
	for _, name := range []string{"alice@example.com", "ALICE@Example.COM", " alice@example.com ", "ａｌｉｃｅ@example.com"} {
		_, err := s.CreateUser(ctx, "acme", store.User{UserName: name, Active: true}, token)
		var conflict *store.ConflictError
		if assert.ErrorAs(t, err, &conflict, "%q", name) {
			assert.Equal(t, "userName", conflict.Field)
		}
	}
	got, err := s.GetUserByUserName(ctx, "acme", "Alice@EXAMPLE.com")
	require.NoError(t, err)
	assert.Equal(t, first.ID, got.ID)

	// Renaming onto a taken name conflicts; renaming to a case variant of one's own is fine.
	bob := newUser(t, s, "acme", "bob@example.com", true)
	_, err = s.UpdateUser(ctx, "acme", bob.ID, token, func(u *store.User) error { u.UserName = "Alice@example.com"; return nil })
	assert.ErrorIs(t, err, store.ErrConflict)
	_, err = s.UpdateUser(ctx, "acme", bob.ID, token, func(u *store.User) error { u.UserName = "Bob@Example.com"; return nil })
	require.NoError(t, err)
	got, err = s.GetUserByUserName(ctx, "acme", "bob@example.com")
	require.NoError(t, err)
	assert.Equal(t, "Bob@Example.com", got.UserName)

	// The old name is free after a rename and after a delete.
	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "bob@example.com", Active: false}, token)
	assert.ErrorIs(t, err, store.ErrConflict, "case variant of the renamed name is still taken")
	require.NoError(t, s.DeleteUser(ctx, "acme", first.ID, token))
	again, err := s.CreateUser(ctx, "acme", store.User{UserName: "alice@example.com", Active: true}, token)
	require.NoError(t, err)
	assert.NotEqual(t, first.ID, again.ID)

	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "  ", Active: true}, token)
	assert.ErrorIs(t, err, store.ErrInvalid, "blank userName")
}

// testUserNameOneWinner proves that 20 concurrent creates of one userName (in
// varying case) give exactly one success and 19 conflicts, in each of 100 trials.
func testUserNameOneWinner(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	const trials, racers = 100, 20
	for trial := range trials {
		tenant := tenantID("uniq", trial)
		newTenant(t, s, tenant, racers)
		errs := parallel(racers, func(i int) error {
			name := "Racer@Example.com"
			if i%2 == 1 {
				name = "racer@example.COM"
			}
			_, err := s.CreateUser(ctx, tenant, store.User{UserName: name, Active: true}, token)
			return err
		})
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
				continue
			}
			require.ErrorIs(t, err, store.ErrConflict, "trial %d", trial)
		}
		require.Equal(t, 1, wins, "trial %d", trial)
		page, err := s.ListUsers(ctx, tenant, store.UserQuery{Count: 100})
		require.NoError(t, err)
		require.Equal(t, 1, page.Total, "trial %d", trial)
		counts, err := s.SeatCounts(ctx, tenant)
		require.NoError(t, err)
		require.Equal(t, 1, counts.Full, "losers consumed no seat, trial %d", trial)
	}
}

// testUserStringsRoundTrip: every simple string of the attribute table
// (store.UserStrings) is written and read back into its own field, on
// create and on update, so that a backend that lists its columns from the
// table cannot shift one value into a neighbour's field.
func testUserStringsRoundTrip(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	set := func(u *store.User, prefix string) {
		for _, a := range store.UserStrings {
			*a.Field(u) = prefix + a.Parent + "." + a.Name
		}
		u.UserType = prefix + "Employee" // External would need an expiry
	}
	check := func(u store.User, prefix string) {
		t.Helper()
		for _, a := range store.UserStrings {
			want := prefix + a.Parent + "." + a.Name
			if a.Name == "userType" {
				want = prefix + "Employee"
			}
			assert.Equal(t, want, *a.Field(&u), "%s %s", a.Parent, a.Name)
		}
	}
	in := store.User{Active: true}
	set(&in, "a")
	created, err := s.CreateUser(ctx, "acme", in, token)
	require.NoError(t, err)
	check(created, "a")
	got, err := s.GetUser(ctx, "acme", created.ID)
	require.NoError(t, err)
	check(got, "a")
	up, err := s.UpdateUser(ctx, "acme", created.ID, token, func(u *store.User) error {
		set(u, "b")
		return nil
	})
	require.NoError(t, err)
	check(up, "b")
	got, err = s.GetUser(ctx, "acme", created.ID)
	require.NoError(t, err)
	check(got, "b")
}

// testUserStringsCapped: every simple string of the attribute table is held
// to store.MaxStringLen by the store itself, whoever the caller: a longer one
// is refused naming the attribute, and nothing is written.
func testUserStringsCapped(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	long := strings.Repeat("x", store.MaxStringLen+1)
	for _, a := range store.UserStrings {
		u := store.User{UserName: "ann@x.com", Active: true}
		*a.Field(&u) = long
		_, err := s.CreateUser(ctx, "acme", u, token)
		var inv *store.InvalidError
		require.ErrorAs(t, err, &inv, a.Path)
		assert.Equal(t, a.Path, inv.Field)
	}
	page, err := s.ListUsers(ctx, "acme", store.UserQuery{})
	require.NoError(t, err)
	assert.Zero(t, page.Total)
}

func testUsersCRUD(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	newOutlets(t, s, "acme", "store-1", "store-2")
	in := store.User{
		ExternalID: "00ujl29u0le5T6Aj10h7", UserName: "ann@x.com",
		Name:        store.Name{GivenName: "Ann", FamilyName: "Lee", Formatted: "Ann Lee"},
		DisplayName: "Ann Lee", Title: "Agent", UserType: "Employee", Locale: "en-US", Timezone: "Europe/Berlin",
		PreferredLanguage: "en", NickName: "Annie", ProfileURL: "https://x.com/ann", Active: true,
		Emails:       []store.MultiValue{{Value: "ann@x.com", Type: "work", Primary: true}, {Value: "ann@home.test", Type: "home"}},
		PhoneNumbers: []store.MultiValue{{Value: "+1 555 0100", Type: "work"}},
		Addresses:    []store.Address{{StreetAddress: "1 Main St", Locality: "Springfield", Country: "US", Type: "work", Primary: true}},
		Roles:        []store.MultiValue{{Value: "Agent", Primary: true, Type: "WindowsAzureActiveDirectoryRole"}},
		Enterprise:   store.Enterprise{EmployeeNumber: "701984", Department: "Support", ManagerID: "mgr-1", CostCenter: "4130"},
		ExplicitRole: store.RoleAgent, Role: store.RoleAgent, Stores: []string{"store-1", "store-2"},
	}
	created, err := s.CreateUser(ctx, "acme", in, token)
	require.NoError(t, err)
	require.NotEmpty(t, created.ID)
	assert.Equal(t, "acme", created.TenantID)
	assert.Equal(t, int64(1), created.Version)
	assert.Equal(t, store.SeatFull, created.Seat)
	assert.Equal(t, store.Timestamp(clock.Now()), created.CreatedAt)
	assert.Equal(t, created.CreatedAt, created.UpdatedAt)
	want := in
	want.ID, want.TenantID, want.Version, want.Seat, want.CreatedAt, want.UpdatedAt = created.ID, "acme", 1, store.SeatFull, created.CreatedAt, created.UpdatedAt
	assert.Equal(t, want, created)

	got, err := s.GetUser(ctx, "acme", created.ID)
	require.NoError(t, err)
	assert.Equal(t, created, got)

	clock.Advance(time.Minute)
	up, err := s.UpdateUser(ctx, "acme", created.ID, token, func(u *store.User) error {
		u.Title = "Lead"
		u.Emails = u.Emails[:1]
		u.ID, u.TenantID, u.Version, u.Seat = "other", "other", 99, store.SeatLight // ignored
		u.CreatedAt = time.Time{}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, created.ID, up.ID)
	assert.Equal(t, "acme", up.TenantID)
	assert.Equal(t, int64(2), up.Version)
	assert.Equal(t, store.SeatFull, up.Seat)
	assert.Equal(t, created.CreatedAt, up.CreatedAt)
	assert.Equal(t, store.Timestamp(clock.Now()), up.UpdatedAt)
	got, err = s.GetUser(ctx, "acme", created.ID)
	require.NoError(t, err)
	assert.Equal(t, up, got)
	assert.Equal(t, "Lead", got.Title)
	assert.Len(t, got.Emails, 1)

	// An explicit id is kept (bulk and import may choose one).
	withID, err := s.CreateUser(ctx, "acme", store.User{ID: "u-fixed", UserName: "fixed@x.com"}, token)
	require.NoError(t, err)
	assert.Equal(t, "u-fixed", withID.ID)
	_, err = s.CreateUser(ctx, "acme", store.User{ID: "u-fixed", UserName: "other@x.com"}, token)
	assert.ErrorIs(t, err, store.ErrConflict)

	require.NoError(t, s.DeleteUser(ctx, "acme", created.ID, token))
	_, err = s.GetUser(ctx, "acme", created.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetUserByUserName(ctx, "acme", "ann@x.com")
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, s.DeleteUser(ctx, "acme", created.ID, token), store.ErrNotFound, "second delete")
	_, err = s.UpdateUser(ctx, "acme", created.ID, token, func(*store.User) error { return nil })
	assert.ErrorIs(t, err, store.ErrNotFound, "update after delete")
	_, err = s.GetUser(ctx, "acme", "no-such-id")
	assert.ErrorIs(t, err, store.ErrNotFound)

	long := make([]byte, store.MaxStringLen+1)
	for i := range long {
		long[i] = 'a'
	}
	_, err = s.CreateUser(ctx, "acme", store.User{UserName: string(long)}, token)
	assert.ErrorIs(t, err, store.ErrInvalid, "over-long userName is refused, never a database error")
	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "nul\x00byte"}, token)
	assert.ErrorIs(t, err, store.ErrInvalid)
}

func testUserClosureError(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	u := newUser(t, s, "acme", "a@x.com", true)
	boom := errors.New("precondition failed")
	_, err := s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error {
		x.Active = false
		x.Title = "changed"
		return boom
	})
	assert.Same(t, boom, err, "the closure's error comes back as is")
	got, err := s.GetUser(ctx, "acme", u.ID)
	require.NoError(t, err)
	assert.Equal(t, u, got)
	counts, err := s.SeatCounts(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, 1, counts.Full)
	events, err := s.ListSeatEvents(ctx, "acme", store.EventQuery{})
	require.NoError(t, err)
	assert.Len(t, events, 1)

	// An invalid result of the closure is refused too.
	_, err = s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error { x.UserName = ""; return nil })
	assert.ErrorIs(t, err, store.ErrInvalid)
	got, err = s.GetUser(ctx, "acme", u.ID)
	require.NoError(t, err)
	assert.Equal(t, u, got)
}

func testCopies(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	newOutlets(t, s, "acme", "s1")
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	inExp := exp
	in := store.User{UserName: "c@x.com", Active: true, Emails: []store.MultiValue{{Value: "c@x.com"}}, Stores: []string{"s1"}, AccessExpiresAt: &inExp}
	u, err := s.CreateUser(ctx, "acme", in, token)
	require.NoError(t, err)

	// Changing what was passed in or what came back changes nothing stored.
	in.Emails[0].Value = "mutated-input"
	in.Stores[0] = "mutated-input"
	*in.AccessExpiresAt = exp.Add(time.Hour)
	u.Emails[0].Value = "mutated-output"
	u.Stores = append(u.Stores[:0], "mutated-output")
	*u.AccessExpiresAt = exp.Add(2 * time.Hour)

	got, err := s.GetUser(ctx, "acme", u.ID)
	require.NoError(t, err)
	assert.Equal(t, "c@x.com", got.Emails[0].Value)
	assert.Equal(t, []string{"s1"}, got.Stores)
	assert.Equal(t, exp, *got.AccessExpiresAt)

	// A closure that keeps a reference cannot write after the update returns.
	var kept *store.User
	_, err = s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error { kept = x; return nil })
	require.NoError(t, err)
	kept.Emails[0].Value = "late-write"
	kept.Title = "late-write"
	got, err = s.GetUser(ctx, "acme", u.ID)
	require.NoError(t, err)
	assert.Equal(t, "c@x.com", got.Emails[0].Value)
	assert.Empty(t, got.Title)

	page, err := s.ListUsers(ctx, "acme", store.UserQuery{Count: 10})
	require.NoError(t, err)
	page.Users[0].Emails[0].Value = "mutated-list"
	got, err = s.GetUser(ctx, "acme", u.ID)
	require.NoError(t, err)
	assert.Equal(t, "c@x.com", got.Emails[0].Value)

	tn, err := s.GetTenant(ctx, "acme")
	require.NoError(t, err)
	tn.Addons = append(tn.Addons, "hipaa")
	tn2, err := s.GetTenant(ctx, "acme")
	require.NoError(t, err)
	assert.Empty(t, tn2.Addons)

	g := newGroup(t, s, "acme", "G", u.ID)
	g.Members[0].UserID = "mutated"
	g2, err := s.GetGroup(ctx, "acme", g.ID, true)
	require.NoError(t, err)
	assert.Equal(t, []string{u.ID}, memberIDs(g2))
}

// testTimestamps proves times come back as they went in, normalised to UTC
// and microseconds (what PostgreSQL keeps), whatever their zone.
func testTimestamps(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	exp := time.Date(2027, 6, 30, 23, 59, 59, 999999999, time.FixedZone("PDT", -7*3600))
	seen := time.Date(2026, 2, 1, 8, 0, 0, 1500, time.FixedZone("IST", 19800))
	u, err := s.CreateUser(ctx, "acme", store.User{UserName: "t@x.com", Active: true, AccessExpiresAt: &exp, LastActiveAt: &seen}, token)
	require.NoError(t, err)
	got, err := s.GetUser(ctx, "acme", u.ID)
	require.NoError(t, err)
	require.NotNil(t, got.AccessExpiresAt)
	require.NotNil(t, got.LastActiveAt)
	assert.Equal(t, store.Timestamp(exp), *got.AccessExpiresAt)
	assert.Equal(t, time.UTC, got.AccessExpiresAt.Location())
	assert.True(t, exp.Truncate(time.Microsecond).Equal(*got.AccessExpiresAt))
	assert.Equal(t, store.Timestamp(seen), *got.LastActiveAt)
	assert.Equal(t, store.Timestamp(clock.Now()), got.CreatedAt)
	assert.Equal(t, time.UTC, got.CreatedAt.Location())
	assert.Equal(t, u, got, "what create returns is what a read returns")

	// Clearing a time round-trips too.
	up, err := s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error { x.LastActiveAt = nil; return nil })
	require.NoError(t, err)
	assert.Nil(t, up.LastActiveAt)
	got, err = s.GetUser(ctx, "acme", u.ID)
	require.NoError(t, err)
	assert.Nil(t, got.LastActiveAt)
	assert.Equal(t, up, got)

	cfg, err := s.PutSAMLConfig(ctx, "acme", store.SAMLConfig{EntityID: "e", SSOURL: "https://idp/sso", CertNotAfter: exp}, store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, store.Timestamp(exp), cfg.CertNotAfter)
	cfg2, err := s.GetSAMLConfig(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, cfg, cfg2)
}

func testPagingStable(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10000)
	const initial = 120
	want := map[string]bool{}
	for i := range initial {
		want[newUser(t, s, "acme", fmt.Sprintf("user%03d@x.com", i), true).ID] = true
	}

	// Writers add users while a reader pages through the list.
	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			if _, err := s.CreateUser(ctx, "acme", store.User{UserName: fmt.Sprintf("late%05d@x.com", i), Active: true}, token); err != nil {
				writerDone <- err
				return
			}
		}
	}()
	seen := map[string]int{}
	for start := 1; ; start += 7 {
		page, err := s.ListUsers(ctx, "acme", store.UserQuery{StartIndex: start, Count: 7})
		require.NoError(t, err)
		for _, u := range page.Users {
			seen[u.ID]++
		}
		if len(page.Users) < 7 || start > 3*initial {
			break
		}
	}
	close(stop)
	require.NoError(t, <-writerDone)
	for id := range want {
		assert.Equal(t, 1, seen[id], "user %s seen once", id)
	}
	for id, n := range seen {
		assert.Equal(t, 1, n, "no user is repeated: %s", id)
	}

	// Edges: count 0 gives the total only; beyond the end is empty; startIndex < 1 is 1.
	total, err := s.ListUsers(ctx, "acme", store.UserQuery{Count: 0})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, total.Total, initial)
	assert.Empty(t, total.Users)
	beyond, err := s.ListUsers(ctx, "acme", store.UserQuery{StartIndex: 1_000_000, Count: 10})
	require.NoError(t, err)
	assert.Empty(t, beyond.Users)
	assert.Equal(t, total.Total, beyond.Total)
	first, err := s.ListUsers(ctx, "acme", store.UserQuery{StartIndex: -5, Count: 2})
	require.NoError(t, err)
	one, err := s.ListUsers(ctx, "acme", store.UserQuery{StartIndex: 1, Count: 2})
	require.NoError(t, err)
	assert.Equal(t, ids(one.Users), ids(first.Users))
}

// testUserNoOpUpdate: an UpdateUser whose closure changes nothing a caller
// can set (an IdP re-sending what is stored; RFC 7644 §3.5.2.1) writes
// nothing: the same version and UpdatedAt, no audit event, no seat event.
// An empty list and an absent one are the same. Any real change still writes.
func testUserNoOpUpdate(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	exp := clock.Now().Add(48 * time.Hour)
	u, err := s.CreateUser(ctx, "acme", store.User{UserName: "a@x.com", Active: true, DisplayName: "Ann",
		Emails: []store.MultiValue{{Value: "a@x.com", Type: "work", Primary: true}}, UserType: "External",
		AccessExpiresAt: &exp}, token)
	require.NoError(t, err)
	counts := func() (int, int) {
		audit, err := s.ListAudit(ctx, "acme", store.EventQuery{Limit: 1000})
		require.NoError(t, err)
		seats, err := s.ListSeatEvents(ctx, "acme", store.EventQuery{Limit: 1000})
		require.NoError(t, err)
		return len(audit), len(seats)
	}
	audit, seats := counts()
	clock.Advance(time.Hour)
	for name, fn := range map[string]func(*store.User) error{
		"nothing":          func(*store.User) error { return nil },
		"the same values":  func(x *store.User) error { x.DisplayName, x.Active = "Ann", true; return nil },
		"empty for absent": func(x *store.User) error { x.PhoneNumbers, x.Stores = []store.MultiValue{}, []string{}; return nil },
		"the same role":    func(x *store.User) error { x.Role = store.RoleAgent; return nil },
		"a copy of a time": func(x *store.User) error { e := exp.UTC(); x.AccessExpiresAt = &e; return nil },
		"a rebuilt list": func(x *store.User) error {
			x.Emails = []store.MultiValue{{Value: "a@x.com", Type: "work", Primary: true}}
			return nil
		},
	} {
		got, err := s.UpdateUser(ctx, "acme", u.ID, token, fn)
		require.NoError(t, err, name)
		assert.Equal(t, u.Version, got.Version, name)
		assert.Equal(t, u.UpdatedAt, got.UpdatedAt, name)
		assert.Equal(t, u.Role, got.Role, name)
		assert.Equal(t, u.Seat, got.Seat, name)
	}
	a, se := counts()
	assert.Equal(t, audit, a, "no audit event")
	assert.Equal(t, seats, se, "no seat event")
	stored, err := s.GetUser(ctx, "acme", u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.Version, stored.Version)

	got, err := s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error { x.DisplayName = "ann"; return nil })
	require.NoError(t, err)
	assert.Equal(t, u.Version+1, got.Version, "a change of case is a change")
	assert.Equal(t, store.Timestamp(clock.Now()), got.UpdatedAt)
	a, _ = counts()
	assert.Equal(t, audit+1, a)
}
