package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

// roundTrips counts the round trips to PostgreSQL (each query alone, each
// batch) of the connection a transaction began on: the store's
// background work (the auth cache) runs on other connections meanwhile.
type roundTrips struct {
	mu    sync.Mutex
	trips []*pgx.Conn // the connection of each round trip, in order
	txOn  *pgx.Conn   // the connection "begin" was sent on
}

func (r *roundTrips) add(c *pgx.Conn) {
	r.mu.Lock()
	r.trips = append(r.trips, c)
	r.mu.Unlock()
}

// take answers the round trips of the transaction's connection since the
// last take.
func (r *roundTrips) take() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.trips {
		if c == r.txOn {
			n++
		}
	}
	r.trips, r.txOn = nil, nil
	return n
}

func (r *roundTrips) TraceQueryStart(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.add(c)
	r.began(c, d.SQL)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, c *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.add(c)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(_ context.Context, c *pgx.Conn, d pgx.TraceBatchQueryData) {
	r.began(c, d.SQL)
}

func (r *roundTrips) began(c *pgx.Conn, sql string) {
	if sql == "begin" {
		r.mu.Lock()
		r.txOn = c
		r.mu.Unlock()
	}
}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TestUpdateGroup_addToTeamTwoRoundTrips proves that a PATCH adding new
// members to a team — an IdP's push of a group, 100 members a request — is
// two round trips: the begin with the group's lock and what its roles
// resolve from, then the group's update, the add, the counter, the audit
// event and the commit (a transaction begun by pgx, its statements and its
// commit were four). An add that meets a present member or an unknown id
// still answers as before, from the checks it then runs.
func TestUpdateGroup_addToTeamTwoRoundTrips(t *testing.T) {
	rt := &roundTrips{}
	s, err := postgres.Open(ctx, pgtest.New(t), postgres.Options{Tracer: rt})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	_, err = s.CreateTenant(ctx, store.Tenant{ID: "t", Plan: "ultimate", Seats: 1000, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	seedUsers(t, s.Pool(), "t", 300)
	ids := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf("seed-t-%d", i))
		}
		return out
	}
	team, err := s.CreateGroup(ctx, "t", store.Group{DisplayName: "Team"}, store.ActorAdmin)
	require.NoError(t, err)
	add := func(members ...string) (store.Group, int, error) {
		rt.take()
		g, err := s.UpdateGroup(ctx, "t", team.ID, store.ActorAdmin, func(u *store.GroupUpdate) error {
			u.Add(members...)
			return nil
		})
		return g, rt.take(), err
	}

	for chunk := range 2 {
		g, trips, err := add(ids(chunk*100, chunk*100+100)...)
		require.NoError(t, err)
		assert.Equal(t, 2, trips, "round trips of an add of 100 new members, chunk %d", chunk)
		assert.Equal(t, (chunk+1)*100, g.MemberCount)
		assert.Equal(t, team.Version+int64(chunk)+1, g.Version)
	}

	// Ten present members among new ones: the new ones are added.
	g, _, err := add(ids(190, 250)...)
	require.NoError(t, err)
	assert.Equal(t, 250, g.MemberCount)
	// An unknown id: refused, nothing added, no new version.
	_, _, err = add(append(ids(250, 260), "nobody")...)
	var unknown *store.UnknownMembersError
	require.True(t, errors.As(err, &unknown), "%v", err)
	assert.Equal(t, []string{"nobody"}, unknown.IDs)
	// Only present members: nothing written.
	again, _, err := add(ids(0, 10)...)
	require.NoError(t, err)
	assert.Equal(t, g.Version, again.Version)
	got, err := s.GetGroup(ctx, "t", team.ID, true)
	require.NoError(t, err)
	assert.Equal(t, 250, got.MemberCount)
	assert.Len(t, got.Members, 250)
	assert.Equal(t, g.Version, got.Version)
	var counted int
	require.NoError(t, s.Pool().QueryRow(ctx, `select members from group_member_counts where tenant_id = 't' and group_id = $1`, team.ID).Scan(&counted))
	assert.Equal(t, 250, counted)
	var audits int
	require.NoError(t, s.Pool().QueryRow(ctx, `select count(*) from audit_events where tenant_id = 't' and action = 'group.updated' and target_id = $1`, team.ID).Scan(&audits))
	assert.Equal(t, 3, audits, "one audit event per add that changed the group")
}
