package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestSeed_readableByTheStore seeds a small data set and reads it back
// through postgres.Store: the rows the bulk statements write are rows the
// store understands (ids, seq order, userName keys, member counts, gates).
// Then it drives the bare baseline over the seeded data.
func TestSeed_readableByTheStore(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.New(t)
	st, err := seed(ctx, seedOptions{DB: dsn, Tenant: "load", Users: 2500, PageTenant: "loadpage", PageUsers: 1500,
		BigMembers: 2000, MetadataPath: "../../testdata/saml/okta.xml"})
	require.NoError(t, err)
	require.NotEmpty(t, st.Token)
	require.NotEqual(t, st.Token, st.PageToken)

	s, err := postgres.Open(ctx, dsn, postgres.Options{})
	require.NoError(t, err)
	defer s.Close()

	tn, err := s.GetTenant(ctx, "load")
	require.NoError(t, err)
	assert.Equal(t, "ultimate", tn.Plan)
	assert.Equal(t, 0, tn.Settings.RateLimitPerSecond, "no rate limit under load")
	_, err = s.GetSAMLConfig(ctx, "load")
	require.NoError(t, err, "the SSO gate has a configuration")

	u, err := s.GetUserByUserName(ctx, "load", "USER000001234@example.com")
	require.NoError(t, err)
	assert.Equal(t, "user000001234@example.com", u.UserName)
	assert.Equal(t, "Seed User1234", u.DisplayName)
	assert.Equal(t, []store.MultiValue{{Value: "user000001234@example.com", Type: "work", Primary: true}}, u.Emails)
	assert.Equal(t, store.SeatNone, u.Seat)
	byID, err := s.GetUser(ctx, "load", u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.UserName, byID.UserName)

	page, err := s.ListUsers(ctx, "load", store.UserQuery{StartIndex: 1, Count: 3})
	require.NoError(t, err)
	assert.Equal(t, 2500, page.Total)
	require.Len(t, page.Users, 3)
	assert.Equal(t, []string{seededUserName(0), seededUserName(1), seededUserName(2)},
		[]string{page.Users[0].UserName, page.Users[1].UserName, page.Users[2].UserName}, "creation order is seed order")

	big, err := s.GetGroup(ctx, "load", st.BigGroup, false)
	require.NoError(t, err)
	assert.Equal(t, 2000, big.MemberCount)
	empty, err := s.GetGroup(ctx, "load", st.EmptyGroup, true)
	require.NoError(t, err)
	assert.Equal(t, 0, empty.MemberCount)
	counts, err := s.SeatCounts(ctx, "load")
	require.NoError(t, err)
	assert.Equal(t, store.SeatCounts{}, counts, "seeded users hold no seat, so the counters stay true")

	// A user created through the store after seeding comes after the seeded ones.
	nu, err := s.CreateUser(ctx, "load", store.User{UserName: "after@example.com", Active: true}, store.ActorSystem)
	require.NoError(t, err)
	page, err = s.ListUsers(ctx, "load", store.UserQuery{StartIndex: 2501, Count: 5})
	require.NoError(t, err)
	require.Len(t, page.Users, 1)
	assert.Equal(t, nu.ID, page.Users[0].ID)

	// The bare baseline on the same data.
	pool := s.Pool()
	require.NoError(t, prepareBare(ctx, pool))
	srv, base, err := serveLocal((&bareServer{pool: pool, tenant: "load"}).handler())
	require.NoError(t, err)
	defer srv.Close()
	c := newClient(base, "", 4)
	defer c.close()

	body, err := c.check(ctx, filterUser("/bare", "User000000042@Example.com"))
	require.NoError(t, err)
	var lr listResponse
	require.NoError(t, jsonUnmarshal(body, &lr))
	require.Equal(t, 1, lr.TotalResults)
	assert.Equal(t, seededUserName(42), lr.Resources[0].UserName)

	body, err = c.check(ctx, getUser("/bare", u.ID))
	require.NoError(t, err)
	id, err := resourceID(body)
	require.NoError(t, err)
	assert.Equal(t, u.ID, id)
	_, err = c.check(ctx, request{Method: http.MethodGet, Path: "/bare/Users/nope", Want: http.StatusNotFound})
	require.NoError(t, err)

	body, err = c.check(ctx, createUser("/bare", "t", 1))
	require.NoError(t, err)
	_, err = resourceID(body)
	require.NoError(t, err)

	ids, err := userIDs(ctx, pool, "load", 100, 50)
	require.NoError(t, err)
	require.Len(t, ids, 50)
	_, err = c.check(ctx, addMembers("/bare", "g-1", ids))
	require.NoError(t, err)
	var n int
	require.NoError(t, pool.QueryRow(ctx, `select count(*) from bare_members where group_id = 'g-1'`).Scan(&n))
	assert.Equal(t, 50, n)

	sample, err := sampleIDs(ctx, pool, "load", 100)
	require.NoError(t, err)
	assert.Len(t, sample, 100)

	pageSrv, pageBase, err := serveLocal((&bareServer{pool: pool, tenant: "loadpage"}).handler())
	require.NoError(t, err)
	defer pageSrv.Close()
	pc := newClient(pageBase, "", 1)
	defer pc.close()
	res, err := pageAll(ctx, pc, "/bare", 1500)
	require.NoError(t, err)
	assert.Equal(t, 2, res.Requests)
}

// TestMemServer_createAndGet drives the bare in-memory baseline once.
func TestMemServer_createAndGet(t *testing.T) {
	ctx := context.Background()
	h, err := newMemServer()
	require.NoError(t, err)
	srv, base, err := serveLocal(h)
	require.NoError(t, err)
	defer srv.Close()
	c := newClient(base, "", 1)
	defer c.close()
	ids, err := preloadUsers(ctx, c, "/mem", "t", 3)
	require.NoError(t, err)
	require.Len(t, ids, 3)
	body, err := c.check(ctx, getUser("/mem", ids[1]))
	require.NoError(t, err)
	assert.Contains(t, string(body), "load-t-1@example.com")
	_, err = c.check(ctx, request{Method: http.MethodPost, Path: "/mem/Users", Body: createUserBody("LOAD-T-1@example.com", 9),
		Want: http.StatusConflict})
	require.NoError(t, err, "userName is unique case-insensitively")
}
