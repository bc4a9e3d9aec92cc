package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// testAPIKeys: tenants' admin API keys are found by id whatever the tenant,
// listed per tenant, revoked once (idempotently, audited once), touched in
// batches that never move last use back, and deleted with their tenant;
// their audit events never carry the hash.
func testAPIKeys(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	newTenant(t, s, "globex", 10)
	by := store.Actor{Kind: "admin", ID: "operator", RequestID: "req-1"}
	hash := []byte{0xde, 0xad, 0xbe, 0xef}

	a, err := s.CreateAPIKey(ctx, "acme", store.APIKey{ID: "00000000000000aa", Name: "hr-sync",
		Permissions: []string{"users.view", "users.manage"}, Hash: hash}, by)
	require.NoError(t, err)
	assert.Equal(t, "acme", a.TenantID)
	assert.Equal(t, store.Timestamp(clock.Now()), a.CreatedAt)
	assert.Equal(t, store.Actor{Kind: "admin", ID: "operator"}, a.CreatedBy, "the creator, without the request id")
	assert.Nil(t, a.LastUsedAt)
	assert.Nil(t, a.RevokedAt)
	hash[0] = 0 // the store keeps its own copy
	clock.Advance(time.Second)
	key := store.Actor{Kind: "key", ID: a.ID, Name: a.Name}
	b, err := s.CreateAPIKey(ctx, "acme", store.APIKey{ID: "00000000000000bb", Name: "reader", Hash: []byte{1}}, key)
	require.NoError(t, err)
	assert.Equal(t, []string{}, b.Permissions, "no permissions is an empty list")
	g, err := s.CreateAPIKey(ctx, "globex", store.APIKey{ID: "00000000000000cc", Name: "g", Permissions: []string{"billing.view"}, Hash: []byte{2}}, by)
	require.NoError(t, err)

	_, err = s.CreateAPIKey(ctx, "globex", store.APIKey{ID: a.ID, Name: "dup", Hash: []byte{3}}, by)
	assert.ErrorIs(t, err, store.ErrConflict, "ids are unique across tenants")
	_, err = s.CreateAPIKey(ctx, "nope", store.APIKey{ID: "00000000000000dd", Name: "x", Hash: []byte{3}}, by)
	assert.ErrorIs(t, err, store.ErrNotFound)

	got, err := s.GetAPIKey(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, a, got)
	assert.Equal(t, []byte{0xde, 0xad, 0xbe, 0xef}, got.Hash)
	got.Permissions[0] = "changed"
	again, err := s.GetAPIKey(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, "users.view", again.Permissions[0], "answers are copies")
	_, err = s.GetAPIKey(ctx, "00000000000000ff")
	assert.ErrorIs(t, err, store.ErrNotFound)

	list, err := s.ListAPIKeys(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []string{a.ID, b.ID}, []string{list[0].ID, list[1].ID})
	assert.Equal(t, key.Kind, list[1].CreatedBy.Kind)
	_, err = s.ListAPIKeys(ctx, "nope")
	assert.ErrorIs(t, err, store.ErrNotFound)

	t1, t2 := clock.Now().Add(time.Minute), clock.Now().Add(2*time.Minute)
	require.NoError(t, s.TouchAPIKeys(ctx, map[string]time.Time{a.ID: t2, b.ID: t1, "00000000000000ff": t1}))
	require.NoError(t, s.TouchAPIKeys(ctx, map[string]time.Time{a.ID: t1}), "an older time never moves last use back")
	got, err = s.GetAPIKey(ctx, a.ID)
	require.NoError(t, err)
	require.NotNil(t, got.LastUsedAt)
	assert.Equal(t, store.Timestamp(t2), *got.LastUsedAt)

	_, err = s.RevokeAPIKey(ctx, "globex", a.ID, t2, by)
	assert.ErrorIs(t, err, store.ErrNotFound, "another tenant's key is not found")
	r, err := s.RevokeAPIKey(ctx, "acme", a.ID, t2, by)
	require.NoError(t, err)
	require.NotNil(t, r.RevokedAt)
	assert.Equal(t, store.Timestamp(t2), *r.RevokedAt)
	r, err = s.RevokeAPIKey(ctx, "acme", a.ID, t2.Add(time.Hour), by)
	require.NoError(t, err, "revoking again is no error")
	assert.Equal(t, store.Timestamp(t2), *r.RevokedAt, "and keeps the first time")
	got, err = s.GetAPIKey(ctx, a.ID)
	require.NoError(t, err, "a revoked key is still found, marked revoked")
	require.NotNil(t, got.RevokedAt)
	_, err = s.RevokeAPIKey(ctx, "acme", "00000000000000ff", t2, by)
	assert.ErrorIs(t, err, store.ErrNotFound)

	events, err := s.ListAudit(ctx, "acme", store.EventQuery{Limit: 100})
	require.NoError(t, err)
	var actions []string
	for _, e := range events {
		if e.TargetType != "api_key" {
			continue
		}
		actions = append(actions, e.Action+" "+e.TargetID+" by "+e.Actor.Kind)
		assert.NotContains(t, e.Before+e.After, "hash")
		assert.NotContains(t, e.After, "3q2+7w", "no hash, in any encoding") // base64 of deadbeef
	}
	assert.Equal(t, []string{
		"api_key.revoked " + a.ID + " by admin",
		"api_key.created " + b.ID + " by key",
		"api_key.created " + a.ID + " by admin",
	}, actions, "newest first; the second revocation recorded nothing")

	require.NoError(t, s.DeleteTenant(ctx, "acme", by))
	for _, id := range []string{a.ID, b.ID} {
		_, err = s.GetAPIKey(ctx, id)
		assert.ErrorIs(t, err, store.ErrNotFound, "deleting the tenant deletes its keys")
	}
	got, err = s.GetAPIKey(ctx, g.ID)
	require.NoError(t, err, "another tenant's keys stay")
	assert.Equal(t, "globex", got.TenantID)
	_, err = s.CreateAPIKey(ctx, "globex", store.APIKey{ID: a.ID, Name: "reused", Hash: []byte{4}}, by)
	assert.NoError(t, err, "a deleted key's id is free again")
}

// testCheckAPIKey: the store judges a key from memory — a created key
// matches at once, a wrong hash never does, revoked keys still match (the
// admin API reads and explains them), a deleted tenant's keys never match.
func testCheckAPIKey(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	hash := []byte("0123456789abcdef0123456789abcdef")
	k, err := s.CreateAPIKey(ctx, "acme", store.APIKey{ID: "00000000000000aa", Name: "ci", Hash: hash}, store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, store.TokenMatch, s.CheckAPIKey(k.ID, hash), "the next call after the creation")
	assert.Equal(t, store.TokenNoMatch, s.CheckAPIKey(k.ID, []byte("0123456789abcdef0123456789abcdeX")), "a wrong hash of a known id")
	assert.Equal(t, store.TokenNoMatch, s.CheckAPIKey(k.ID, hash[:8]), "a prefix of the hash")
	assert.NotEqual(t, store.TokenMatch, s.CheckAPIKey("00000000000000ff", hash), "an unknown id")
	assert.NotEqual(t, store.TokenMatch, s.CheckAPIKey("", nil))

	_, err = s.RevokeAPIKey(ctx, "acme", k.ID, clock.Now(), store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, store.TokenMatch, s.CheckAPIKey(k.ID, hash), "revoked: still the admin API's to read and explain")

	require.NoError(t, s.DeleteTenant(ctx, "acme", store.ActorAdmin))
	assert.NotEqual(t, store.TokenMatch, s.CheckAPIKey(k.ID, hash), "the tenant is gone")
}
