package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// TestReadBatch_answersEachLookupAsAloneWould reads a batch of ids and of
// userNames — found, missing, repeated, in groups or not, another tenant's —
// and compares every answer with the lone lookup's.
func TestReadBatch_answersEachLookupAsAloneWould(t *testing.T) {
	ctx := context.Background()
	s := batchStore(t, 100)
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "beta", Name: "Beta", Plan: "ultimate", Seats: 10}, store.ActorAdmin)
	require.NoError(t, err)
	by := store.Actor{Kind: "token", ID: "tok"}
	var ids, names []string
	for i := range 5 {
		u, err := s.CreateUser(ctx, "acme", newUser(fmt.Sprintf("u%d@x.com", i), true), by)
		require.NoError(t, err)
		ids, names = append(ids, u.ID), append(names, u.UserName)
	}
	other, err := s.CreateUser(ctx, "beta", newUser("other@x.com", true), by)
	require.NoError(t, err)
	g, err := s.CreateGroup(ctx, "acme", store.Group{DisplayName: "Sales"}, by)
	require.NoError(t, err)
	_, err = s.UpdateGroup(ctx, "acme", g.ID, by, func(u *store.GroupUpdate) error { u.Add(ids[1], ids[3]); return nil })
	require.NoError(t, err)

	idKeys := []string{ids[0], "missing", ids[1], other.ID, ids[1], ids[4], ids[3]}
	nameKeys := []string{"U2@X.COM", "nobody@x.com", names[3], "other@x.com", names[0]}
	for _, tc := range []struct {
		byName bool
		keys   []string
		alone  func(string) (store.User, []store.Group, error)
	}{
		{false, idKeys, func(k string) (store.User, []store.Group, error) { return s.GetUserWithGroups(ctx, "acme", k) }},
		{true, nameKeys, func(k string) (store.User, []store.Group, error) {
			return s.GetUserByUserNameWithGroups(ctx, "acme", k)
		}},
	} {
		users, groups, errs := s.ReadUsersTogether(ctx, "acme", tc.byName, tc.keys)
		for i, k := range tc.keys {
			u, gs, err := tc.alone(k)
			if err != nil {
				assert.ErrorIs(t, errs[i], store.ErrNotFound, k)
				assert.ErrorIs(t, err, store.ErrNotFound, k)
				continue
			}
			require.NoError(t, errs[i], k)
			assert.Equal(t, u, users[i], k)
			assert.Equal(t, gs, groups[i], k)
		}
	}
	_, groups, _ := s.ReadUsersTogether(ctx, "acme", false, []string{ids[1], ids[2]})
	assert.Equal(t, []store.Group{{TenantID: "acme", ID: g.ID, DisplayName: "Sales"}}, groups[0])
	assert.Equal(t, []store.Group{}, groups[1])
}

// TestReadBatch_concurrentLookups drives concurrent lookups through the
// store's methods (batches form on their own): every
// answer is a user's own, never another lookup's.
func TestReadBatch_concurrentLookups(t *testing.T) {
	ctx := context.Background()
	s := batchStore(t, 100)
	by := store.Actor{Kind: "token", ID: "tok"}
	users := make([]store.User, 20)
	for i := range users {
		u, err := s.CreateUser(ctx, "acme", newUser(fmt.Sprintf("c%d@x.com", i), true), by)
		require.NoError(t, err)
		users[i] = u
	}
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				want := users[(w*7+i)%len(users)]
				if i%2 == 0 {
					got, _, err := s.GetUserWithGroups(ctx, "acme", want.ID)
					if assert.NoError(t, err) {
						assert.Equal(t, want.ID, got.ID)
						assert.Equal(t, want.UserName, got.UserName)
					}
				} else {
					got, _, err := s.GetUserByUserNameWithGroups(ctx, "acme", want.UserName)
					if assert.NoError(t, err) {
						assert.Equal(t, want.ID, got.ID)
					}
				}
				if i%10 == 0 {
					_, _, err := s.GetUserWithGroups(ctx, "acme", fmt.Sprintf("missing-%d", i))
					assert.ErrorIs(t, err, store.ErrNotFound)
				}
			}
		}()
	}
	wg.Wait()
}
