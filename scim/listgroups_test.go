package scim_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// resourceByID finds a list answer's resource by id.
func resourceByID(t *testing.T, r response, id string) map[string]any {
	t.Helper()
	for _, res := range r.Body["Resources"].([]any) {
		if m := res.(map[string]any); m["id"] == id {
			return m
		}
	}
	t.Fatalf("no resource %s in %s", id, r.Raw)
	return nil
}

// TestUsers_listCarriesGroups: groups is returned by default (RFC 7643
// §4.1.2), so every list and search answer carries each user's groups in
// the very shape GET /Users/{id} does; a user in no group has none;
// excludedAttributes=groups, or attributes not naming it, leaves it out.
func TestUsers_listCarriesGroups(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		u := e.createUser("member@x.com")
		loner := e.createUser("loner@x.com")
		gEng := e.createGroup("Engineering", u)
		e.createGroup(`Sales & \"Ops\" <b>`, u)
		e.createGroup("Empty")
		single := e.must(200, "GET", "/Users/"+u, "")
		want := single.Body["groups"]
		require.Len(t, want, 2)
		assert.Equal(t, map[string]any{"value": gEng, "$ref": base + "/Groups/" + gEng, "display": "Engineering", "type": "direct"},
			get(single.Body, "groups.0"))
		search := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]`

		for _, req := range []struct{ method, path, body string }{
			{"GET", "/Users", ""},
			{"GET", "/Users?filter=" + url.QueryEscape(`userName eq "MEMBER@x.com"`), ""},
			{"GET", "/Users?filter=" + url.QueryEscape(`userName sw "member"`), ""},
			{"GET", "/Users?attributes=userName,groups", ""},
			{"POST", "/Users/.search", search + `}`},
			{"POST", "/.search", search + `}`},
		} {
			r := e.must(200, req.method, req.path, req.body)
			got := resourceByID(t, r, u)
			assert.Equal(t, want, got["groups"], "%s %s", req.method, req.path)
			if r.Body["totalResults"].(float64) > 1 {
				_, has := resourceByID(t, r, loner)["groups"]
				assert.False(t, has, "%s %s: a user in no group has no groups", req.method, req.path)
			}
		}

		for _, req := range []struct{ method, path, body string }{
			{"GET", "/Users?excludedAttributes=groups", ""},
			{"GET", "/Users?excludedAttributes=groups,members&filter=" + url.QueryEscape(`userName eq "member@x.com"`), ""},
			{"GET", "/Users?attributes=userName", ""},
			{"POST", "/Users/.search", search + `,"excludedAttributes":["groups"]}`},
			{"POST", "/.search", search + `,"excludedAttributes":["groups"]}`},
		} {
			r := e.must(200, req.method, req.path, req.body)
			_, has := resourceByID(t, r, u)["groups"]
			assert.False(t, has, "%s %s", req.method, req.path)
		}
	})
}

// countingStore counts the group reads of a SCIM list answer and can fail
// GroupsOfUsers.
type countingStore struct {
	store.Store
	groupsOfUsers, perUser, lookups atomic.Int64
	fail                            error
}

// GetUserByUserNameWithGroups is the userName lookup that carries the
// user's groups in its own round trip.
func (s *countingStore) GetUserByUserNameWithGroups(ctx context.Context, tenantID, name string) (store.User, []store.Group, error) {
	s.lookups.Add(1)
	return s.Store.GetUserByUserNameWithGroups(ctx, tenantID, name)
}

func (s *countingStore) GroupsOfUsers(ctx context.Context, tenantID string, ids []string) (map[string][]store.Group, error) {
	s.groupsOfUsers.Add(1)
	if s.fail != nil {
		return nil, s.fail
	}
	return s.Store.GroupsOfUsers(ctx, tenantID, ids)
}

func (s *countingStore) GetUserWithGroups(ctx context.Context, tenantID, id string) (store.User, []store.Group, error) {
	s.perUser.Add(1)
	return s.Store.GetUserWithGroups(ctx, tenantID, id)
}

func (s *countingStore) UserGroups(ctx context.Context, tenantID, id string) ([]store.Group, error) {
	s.perUser.Add(1)
	return s.Store.UserGroups(ctx, tenantID, id)
}

// TestUsers_listLoadsGroupsOncePerPage: a page of users costs one group read
// whatever its size, none when groups is left out or the page is empty, and
// a failed read is the answer's error, not a page without groups.
func TestUsers_listLoadsGroupsOncePerPage(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			var cs *countingStore
			e := newEnv(t, func(tb testing.TB, now func() time.Time) store.Store {
				cs = &countingStore{Store: b.open(tb, now)}
				return cs
			}, 1000)
			ids := make([]string, 30)
			for i := range ids {
				ids[i] = e.createUser(fmt.Sprintf("p%02d@x.com", i))
			}
			e.createGroup("Evens", ids[0], ids[2], ids[4])
			e.createGroup("All", ids...)

			for _, tc := range []struct {
				method, path, body string
				reads              int64 // GroupsOfUsers calls: one per page
				lookups            int64 // userName lookups that carry the groups themselves
			}{
				{"GET", "/Users?count=25", "", 1, 0},
				{"GET", "/Users?startIndex=26&count=25", "", 1, 0},
				{"GET", "/Users?filter=" + url.QueryEscape(`userName eq "p03@x.com"`), "", 0, 1},
				{"POST", "/.search", `{"count":100}`, 1, 0},
				{"GET", "/Users?excludedAttributes=groups", "", 0, 0},
				{"GET", "/Users?attributes=userName", "", 0, 0},
				{"GET", "/Users?count=0", "", 0, 0},
				{"GET", "/Users?startIndex=500", "", 0, 0},
				{"GET", "/Users?filter=" + url.QueryEscape(`userName eq "nobody@x.com"`), "", 0, 1},
				{"GET", "/Users?excludedAttributes=groups&filter=" + url.QueryEscape(`userName eq "p03@x.com"`), "", 0, 0},
				{"POST", "/Users/.search", `{"filter":"title pr"}`, 0, 0},
			} {
				cs.groupsOfUsers.Store(0)
				cs.perUser.Store(0)
				cs.lookups.Store(0)
				r := e.must(200, tc.method, tc.path, tc.body)
				assert.Equal(t, tc.reads, cs.groupsOfUsers.Load(), "%s %s", tc.method, tc.path)
				assert.Equal(t, tc.lookups, cs.lookups.Load(), "%s %s", tc.method, tc.path)
				assert.Zero(t, cs.perUser.Load(), "%s %s: no per-user group read", tc.method, tc.path)
				if tc.reads+tc.lookups == 1 && !strings.Contains(tc.path, "nobody") {
					first := r.Body["Resources"].([]any)[0].(map[string]any)
					assert.NotEmpty(t, first["groups"], "%s %s", tc.method, tc.path)
				}
			}

			cs.fail = fmt.Errorf("list: %w", store.ErrUnavailable)
			r := e.do("GET", "/Users", "")
			assert.Equal(t, 503, r.Status, r.Raw)
			assert.NotContains(t, r.Raw, "Resources")
		})
	}
}

// List benchmarks: a page of 100 users, each in 3 of 10 groups, with their
// groups (one extra read per page) and without (excludedAttributes=groups,
// the read skipped); the userName lookup likewise, its user in 3 groups.
func seedGrouped(b *testing.B, e *env, n int) {
	ids := seedUsers(b, e, n)
	for g := range 10 {
		var members []store.Member
		for i, id := range ids {
			if i%10 == g || (i+1)%10 == g || (i+2)%10 == g {
				members = append(members, store.Member{UserID: id})
			}
		}
		if _, err := e.st.CreateGroup(b.Context(), tenantID, store.Group{DisplayName: fmt.Sprintf("Team %d", g), Members: members}, tokenActor); err != nil {
			b.Fatal(err)
		}
	}
}

func benchList(b *testing.B, path func(i int) string) {
	forEachBench(b, func(b *testing.B, e *env) {
		seedGrouped(b, e, 1000)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if s := serve(b, e, "GET", path(i), ""); s != 200 {
				b.Fatal(s)
			}
		}
	})
}

func BenchmarkListUsersPage100(b *testing.B) {
	benchList(b, func(i int) string { return fmt.Sprintf("/Users?startIndex=%d&count=100", 1+100*(i%10)) })
}

func BenchmarkListUsersPage100NoGroups(b *testing.B) {
	benchList(b, func(i int) string {
		return fmt.Sprintf("/Users?startIndex=%d&count=100&excludedAttributes=groups", 1+100*(i%10))
	})
}

func BenchmarkUserNameFilterGrouped(b *testing.B) {
	benchList(b, func(i int) string {
		return "/Users?filter=" + url.QueryEscape(fmt.Sprintf(`userName eq "seed%d@x.com"`, i%1000))
	})
}

func BenchmarkUserNameFilterGroupedNoGroups(b *testing.B) {
	benchList(b, func(i int) string {
		return "/Users?excludedAttributes=groups&filter=" + url.QueryEscape(fmt.Sprintf(`userName eq "seed%d@x.com"`, i%1000))
	})
}
