package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

type (
	cmp = store.Compare
	vp  = store.ValuePath
)

func andOf(l, r store.Filter) store.Filter { return store.And{Left: l, Right: r} }
func orOf(l, r store.Filter) store.Filter  { return store.Or{Left: l, Right: r} }
func notOf(f store.Filter) store.Filter    { return store.Not{Filter: f} }

// filterFixture creates the users every filter case runs against and returns
// their ids by a short name.
func filterFixture(t *testing.T, s store.Store, clock *Clock) map[string]string {
	t.Helper()
	newTenant(t, s, "acme", 100)
	newTenant(t, s, "other", 100)
	seen := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	carolUntil := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	users := []store.User{
		{UserName: "Ann@Example.com", ExternalID: "ext-Ann", DisplayName: "Ann Lee", Title: "Agent", Active: true,
			Name:       store.Name{GivenName: "Ann", FamilyName: "Lee"},
			Emails:     []store.MultiValue{{Value: "ann@example.com", Type: "work", Primary: true}, {Value: "ann@home.test", Type: "home"}},
			Roles:      []store.MultiValue{{Value: "Admin", Primary: true}},
			Enterprise: store.Enterprise{Department: "Support", EmployeeNumber: "100", ManagerID: "mgr-A"},
			Role:       store.RoleAdmin, LastActiveAt: &seen},
		{UserName: "bob@example.com", ExternalID: "ext-bob", DisplayName: "Bob 100% Real_Name", Active: false,
			Name:   store.Name{GivenName: "Bob", FamilyName: "Stone"},
			Emails: []store.MultiValue{{Value: "bob@corp.test", Type: "work"}},
			Roles:  []store.MultiValue{{Value: "User", Primary: false}},
			Role:   store.RoleAgent},
		{UserName: "carol@other.org", DisplayName: "Carol", Title: "Lead", Active: true, UserType: "External",
			AccessExpiresAt: &carolUntil, // External users need one (store.ValidateUser)
			Name:            store.Name{GivenName: "Carol", FamilyName: "Lee"},
			Enterprise:      store.Enterprise{Department: "Sales"},
			Role:            store.RoleSupervisor},
		{UserName: "a'b\"c\\d@example.com", DisplayName: "Quote", Active: true, Role: store.RoleAgent},
	}
	out := map[string]string{}
	short := []string{"ann", "bob", "carol", "quote"}
	for i, u := range users {
		clock.Advance(time.Hour)
		// An operator creates them: admin is privileged, refused over SCIM by default.
		created, err := s.CreateUser(ctx, "acme", u, store.ActorAdmin)
		require.NoError(t, err)
		out[short[i]] = created.ID
		out[short[i]+".created"] = created.CreatedAt.Format(time.RFC3339Nano)
	}
	_, err := s.CreateUser(ctx, "other", store.User{UserName: "Ann@Example.com", Active: true}, token)
	require.NoError(t, err)
	return out
}

func testUserFilters(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	id := filterFixture(t, s, clock)
	cases := []struct {
		name string
		f    store.Filter
		want []string
	}{
		{"userName eq, any case", cmp{Attr: "userName", Op: store.OpEq, Value: "ANN@example.COM"}, []string{"ann"}},
		{"attribute name any case", cmp{Attr: "USERNAME", Op: store.OpEq, Value: "bob@example.com"}, []string{"bob"}},
		{"userName ne", cmp{Attr: "userName", Op: store.OpNe, Value: "ann@example.com"}, []string{"bob", "carol", "quote"}},
		{"userName co", cmp{Attr: "userName", Op: store.OpCo, Value: "EXAMPLE"}, []string{"ann", "bob", "quote"}},
		{"userName sw", cmp{Attr: "userName", Op: store.OpSw, Value: "b"}, []string{"bob"}},
		{"userName ew", cmp{Attr: "userName", Op: store.OpEw, Value: ".ORG"}, []string{"carol"}},
		{"injection attempt is a literal", cmp{Attr: "userName", Op: store.OpEq, Value: "a' OR '1'='1"}, nil},
		{"quotes and backslash literal", cmp{Attr: "userName", Op: store.OpEq, Value: "a'b\"c\\d@example.com"}, []string{"quote"}},
		{"co percent is literal", cmp{Attr: "displayName", Op: store.OpCo, Value: "100%"}, []string{"bob"}},
		{"sw percent is literal", cmp{Attr: "displayName", Op: store.OpSw, Value: "%"}, nil},
		{"co underscore is literal", cmp{Attr: "displayName", Op: store.OpCo, Value: "b_b"}, nil},
		{"co underscore match", cmp{Attr: "displayName", Op: store.OpCo, Value: "real_"}, []string{"bob"}},
		{"externalId exact", cmp{Attr: "externalId", Op: store.OpEq, Value: "ext-Ann"}, []string{"ann"}},
		{"externalId is case-exact", cmp{Attr: "externalId", Op: store.OpEq, Value: "EXT-ANN"}, nil},
		{"id eq", cmp{Attr: "id", Op: store.OpEq, Value: id["carol"]}, []string{"carol"}},
		{"id of nobody", cmp{Attr: "id", Op: store.OpEq, Value: "nope"}, nil},
		{"active true", cmp{Attr: "active", Op: store.OpEq, Value: true}, []string{"ann", "carol", "quote"}},
		{"active ne true", cmp{Attr: "active", Op: store.OpNe, Value: true}, []string{"bob"}},
		{"title pr", cmp{Attr: "title", Op: store.OpPr}, []string{"ann", "carol"}},
		{"not title pr", notOf(cmp{Attr: "title", Op: store.OpPr}), []string{"bob", "quote"}},
		{"title eq empty is absent", cmp{Attr: "title", Op: store.OpEq, Value: ""}, []string{"bob", "quote"}},
		{"name.familyName eq", cmp{Attr: "name.familyName", Op: store.OpEq, Value: "lee"}, []string{"ann", "carol"}},
		{"gt on strings", cmp{Attr: "name.givenName", Op: store.OpGt, Value: "b"}, []string{"bob", "carol"}},
		{"le on strings", cmp{Attr: "name.givenName", Op: store.OpLe, Value: "BOB"}, []string{"ann", "bob", "quote"}},
		{"and", andOf(cmp{Attr: "name.familyName", Op: store.OpEq, Value: "Lee"}, cmp{Attr: "active", Op: store.OpEq, Value: true}), []string{"ann", "carol"}},
		{"or", orOf(cmp{Attr: "userName", Op: store.OpSw, Value: "ann"}, cmp{Attr: "title", Op: store.OpEq, Value: "lead"}), []string{"ann", "carol"}},
		{"not and", notOf(andOf(cmp{Attr: "name.familyName", Op: store.OpEq, Value: "Lee"}, cmp{Attr: "title", Op: store.OpEq, Value: "Agent"})), []string{"bob", "carol", "quote"}},
		{"emails shorthand", cmp{Attr: "emails", Op: store.OpEq, Value: "ANN@home.test"}, []string{"ann"}},
		{"emails.value co", cmp{Attr: "emails.value", Op: store.OpCo, Value: "@corp"}, []string{"bob"}},
		{"emails pr", cmp{Attr: "emails", Op: store.OpPr}, []string{"ann", "bob"}},
		{"value path, both on one value", vp{Attr: "emails", Filter: andOf(cmp{Attr: "type", Op: store.OpEq, Value: "work"}, cmp{Attr: "value", Op: store.OpCo, Value: "@example.com"})}, []string{"ann"}},
		{"value path, never across values", vp{Attr: "emails", Filter: andOf(cmp{Attr: "type", Op: store.OpEq, Value: "home"}, cmp{Attr: "value", Op: store.OpCo, Value: "@example.com"})}, nil},
		{"value path primary", vp{Attr: "emails", Filter: cmp{Attr: "primary", Op: store.OpEq, Value: true}}, []string{"ann"}},
		{"not value path", notOf(vp{Attr: "emails", Filter: cmp{Attr: "type", Op: store.OpEq, Value: "work"}}), []string{"carol", "quote"}},
		{"enterprise department", cmp{Attr: "enterprise.department", Op: store.OpEq, Value: "support"}, []string{"ann"}},
		{"enterprise manager", cmp{Attr: "enterprise.manager.value", Op: store.OpEq, Value: "mgr-A"}, []string{"ann"}},
		{"roster role", cmp{Attr: "roster.role", Op: store.OpEq, Value: "Supervisor"}, []string{"carol"}},
		{"userType", cmp{Attr: "userType", Op: store.OpEq, Value: "external"}, []string{"carol"}},
		{"meta.created gt", cmp{Attr: "meta.created", Op: store.OpGt, Value: id["bob.created"]}, []string{"carol", "quote"}},
		{"meta.created ge", cmp{Attr: "meta.created", Op: store.OpGe, Value: id["bob.created"]}, []string{"bob", "carol", "quote"}},
		{"meta.lastModified lt", cmp{Attr: "meta.lastModified", Op: store.OpLt, Value: id["bob.created"]}, []string{"ann"}},
		{"meta.created eq", cmp{Attr: "meta.created", Op: store.OpEq, Value: id["carol.created"]}, []string{"carol"}},
		{"lastActiveAt pr", cmp{Attr: "roster.lastActiveAt", Op: store.OpPr}, []string{"ann"}},
		{"unset time gt is false", cmp{Attr: "roster.lastActiveAt", Op: store.OpGt, Value: "2000-01-01T00:00:00Z"}, []string{"ann"}},
		{"unset time ne is true", cmp{Attr: "roster.lastActiveAt", Op: store.OpNe, Value: "2026-01-10T12:00:00Z"}, []string{"bob", "carol", "quote"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page, err := s.ListUsers(ctx, "acme", store.UserQuery{Filter: tc.f, Count: 100})
			require.NoError(t, err)
			want := make([]string, 0, len(tc.want))
			for _, w := range tc.want {
				want = append(want, id[w])
			}
			assert.Equal(t, want, ids(page.Users), "results in creation order")
			assert.Equal(t, len(want), page.Total)
		})
	}
}

func testGroupFilters(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	a := newUser(t, s, "acme", "a@x.com", true)
	b := newUser(t, s, "acme", "b@x.com", true)
	g1 := newGroup(t, s, "acme", "Support EMEA", a.ID, b.ID)
	g2 := newGroup(t, s, "acme", "Support US", b.ID)
	g3, err := s.CreateGroup(ctx, "acme", store.Group{DisplayName: "Billing", ExternalID: "okta-77"}, token)
	require.NoError(t, err)
	cases := []struct {
		name string
		f    store.Filter
		want []string
	}{
		{"displayName eq any case", cmp{Attr: "displayName", Op: store.OpEq, Value: "support us"}, []string{g2.ID}},
		{"displayName sw", cmp{Attr: "DISPLAYNAME", Op: store.OpSw, Value: "Support"}, []string{g1.ID, g2.ID}},
		{"externalId", cmp{Attr: "externalId", Op: store.OpEq, Value: "okta-77"}, []string{g3.ID}},
		{"members.value", cmp{Attr: "members.value", Op: store.OpEq, Value: a.ID}, []string{g1.ID}},
		{"members shorthand", cmp{Attr: "members", Op: store.OpEq, Value: b.ID}, []string{g1.ID, g2.ID}},
		{"members value path and displayName", andOf(vp{Attr: "members", Filter: cmp{Attr: "value", Op: store.OpEq, Value: b.ID}}, cmp{Attr: "displayName", Op: store.OpEw, Value: "us"}), []string{g2.ID}},
		{"no members", notOf(cmp{Attr: "members", Op: store.OpPr}), []string{g3.ID}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page, err := s.ListGroups(ctx, "acme", store.GroupQuery{Filter: tc.f, Count: 100})
			require.NoError(t, err)
			got := make([]string, 0, len(page.Groups))
			for _, g := range page.Groups {
				got = append(got, g.ID)
				assert.Nil(t, g.Members, "members not loaded unless asked")
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, len(tc.want), page.Total)
		})
	}
	page, err := s.ListGroups(ctx, "acme", store.GroupQuery{Count: 100, WithMembers: true})
	require.NoError(t, err)
	require.Len(t, page.Groups, 3)
	assert.Equal(t, []string{a.ID, b.ID}, memberIDs(page.Groups[0]))
	assert.Equal(t, []string{b.ID}, memberIDs(page.Groups[1]))
	assert.Empty(t, page.Groups[2].Members)
}

func testInvalidFilters(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	newUser(t, s, "acme", "a@x.com", true)
	deep := store.Filter(cmp{Attr: "userName", Op: store.OpPr})
	for range store.MaxFilterDepth + 5 {
		deep = notOf(deep)
	}
	for name, f := range map[string]store.Filter{
		"unknown attribute":     cmp{Attr: "password", Op: store.OpEq, Value: "x"},
		"unknown sub-attribute": vp{Attr: "emails", Filter: cmp{Attr: "secret", Op: store.OpEq, Value: "x"}},
		"value path on scalar":  vp{Attr: "userName", Filter: cmp{Attr: "value", Op: store.OpEq, Value: "x"}},
		"unknown operator":      cmp{Attr: "userName", Op: "regex", Value: "x"},
		"bool with gt":          cmp{Attr: "active", Op: store.OpGt, Value: true},
		"bool with yes":         cmp{Attr: "active", Op: store.OpEq, Value: "yes"},
		// The string booleans IdPs send ("False", roles[primary eq "True"])
		// are read by the SCIM layer (scim/quirks.go); the store takes
		// booleans only, so no backend keeps a reader of its own.
		"bool as a string":            cmp{Attr: "active", Op: store.OpEq, Value: "False"},
		"value path bool as a string": vp{Attr: "roles", Filter: cmp{Attr: "primary", Op: store.OpEq, Value: "True"}},
		"string with number":          cmp{Attr: "userName", Op: store.OpEq, Value: 12.0},
		"bad dateTime":                cmp{Attr: "meta.created", Op: store.OpGt, Value: "yesterday"},
		"co on dateTime":              cmp{Attr: "meta.created", Op: store.OpCo, Value: "2026"},
		"too deep":                    deep,
	} {
		_, err := s.ListUsers(ctx, "acme", store.UserQuery{Filter: f, Count: 10})
		assert.ErrorIs(t, err, store.ErrInvalidFilter, name)
	}
	_, err := s.ListGroups(ctx, "acme", store.GroupQuery{Filter: cmp{Attr: "userName", Op: store.OpEq, Value: "x"}})
	assert.ErrorIs(t, err, store.ErrInvalidFilter, "a user attribute on groups")
	_, err = s.ListUsers(ctx, "acme", store.UserQuery{SortBy: "password"})
	assert.ErrorIs(t, err, store.ErrInvalid, "unknown sortBy")
}

func testSorting(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	id := filterFixture(t, s, clock)
	list := func(q store.UserQuery) []string {
		q.Count = 100
		page, err := s.ListUsers(ctx, "acme", q)
		require.NoError(t, err)
		return ids(page.Users)
	}
	by := func(names ...string) []string {
		out := make([]string, 0, len(names))
		for _, n := range names {
			out = append(out, id[n])
		}
		return out
	}
	assert.Equal(t, by("ann", "bob", "carol", "quote"), list(store.UserQuery{}), "creation order by default")
	assert.Equal(t, by("quote", "ann", "bob", "carol"), list(store.UserQuery{SortBy: "userName"}), "case-insensitive, byte order")
	assert.Equal(t, by("carol", "bob", "ann", "quote"), list(store.UserQuery{SortBy: "userName", Descending: true}))
	assert.Equal(t, by("bob", "quote", "ann", "carol"), list(store.UserQuery{SortBy: "title"}), "empty first, ties in creation order")
	assert.Equal(t, by("bob", "ann", "carol", "quote"), list(store.UserQuery{SortBy: "active"}), "false before true")
	assert.Equal(t, by("quote", "carol", "bob", "ann"), list(store.UserQuery{SortBy: "meta.created", Descending: true}))
	assert.Equal(t, by("bob", "carol", "quote", "ann"), list(store.UserQuery{SortBy: "roster.lastActiveAt"}), "unset first")

	page, err := s.ListUsers(ctx, "acme", store.UserQuery{SortBy: "userName", StartIndex: 2, Count: 2})
	require.NoError(t, err)
	assert.Equal(t, by("ann", "bob"), ids(page.Users), "paging applies after sorting")
	assert.Equal(t, 4, page.Total)
}
