package scimauth_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

const (
	attacker = "203.0.113.9:40000"
	idp      = "198.51.100.7:443"
)

// madeUp is a well-formed SCIM token that no store holds.
func madeUp(t testing.TB) string {
	t.Helper()
	plain, _, _, err := auth.New(rand.Reader)
	require.NoError(t, err)
	return plain
}

// TestGuard_floodNeverThrottlesValidToken: a flood of made-up tokens for a
// tenant's URL (tenant ids are easy to learn) never turns the tenant's own
// token into a 429 — whether the IdP calls from another address or from the
// very address the flood comes from (a shared NAT or proxy).
func TestGuard_floodNeverThrottlesValidToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		plain, _ := h.ready("acme")
		path := "/scim/v2/acme/Users"
		valid := map[string]int{}
		for i := range 200 {
			h.getFrom(attacker, path, "Bearer "+madeUp(t))
			if i%4 == 0 {
				for _, from := range []string{idp, attacker} {
					valid[fmt.Sprint(h.getFrom(from, path, "Bearer "+plain).Status)]++
				}
			}
		}
		assert.Equal(t, map[string]int{"200": 100}, valid, "every request with the valid token is admitted")
	})
}

// TestGuard_randomTenantSegmentsDoNotMultiplyLookups: made-up tokens sent to
// random tenant URLs from one address cost no more lookups than the failure
// budget of one source allows (burst 10 at 5/s here); on a store that knows
// its tokens, none at all.
func TestGuard_randomTenantSegmentsDoNotMultiplyLookups(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		plain, _ := h.ready("acme")
		before := h.counted.lookups.Load()
		statuses := map[int]int{}
		for i := range 300 {
			statuses[h.getFrom(attacker, fmt.Sprintf("/scim/v2/t%d/Users", i), "Bearer "+madeUp(t)).Status]++
		}
		lookups := h.counted.lookups.Load() - before
		assert.LessOrEqual(t, lookups, int64(10), "lookups for 300 made-up tokens: %v", statuses)
		if !strings.Contains(t.Name(), "unproven") {
			assert.Zero(t, lookups, "a store that knows its tokens answers made-up ones from memory")
		}
		assert.Zero(t, statuses[http.StatusOK])
		assert.Equal(t, http.StatusOK, h.getFrom(attacker, "/scim/v2/acme/Users", "Bearer "+plain).Status,
			"the valid token from the same address")
	})
}

// TestGuard_globalBudgetCapsManySources: made-up tokens from many addresses
// (each with a fresh per-source allowance) are capped by the global budget
// (burst 2 × 50 here), and a correct token is still admitted once that is
// spent: it is recognised before any budget is consulted.
func TestGuard_globalBudgetCapsManySources(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		plain, _ := h.ready("acme")
		before := h.counted.lookups.Load()
		for i := range 600 {
			h.getFrom(fmt.Sprintf("10.%d.%d.%d:5000", i/65536, (i/256)%256, i%256), "/scim/v2/acme/Users", "Bearer "+madeUp(t))
		}
		assert.LessOrEqual(t, h.counted.lookups.Load()-before, int64(100), "the global cap")
		assert.Equal(t, http.StatusOK, h.getFrom("10.200.0.1:5000", "/scim/v2/acme/Users", "Bearer "+plain).Status)
		assert.Equal(t, http.StatusOK, h.getFrom(idp, "/scim/v2/acme/Users", "Bearer "+plain).Status)
	})
}

// TestGuard_wrongSecretOfKnownID: guessing the secret of a token whose id is
// known (ids appear in logs and the admin API) is answered without a lookup
// on a store that holds its hashes, and never throttles the real token.
func TestGuard_wrongSecretOfKnownID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		plain, _ := h.ready("acme")
		before := h.counted.lookups.Load()
		for range 100 {
			guess := madeUp(t)
			guess = plain[:len("rst_")+16] + guess[len("rst_")+16:]
			a := h.getFrom(attacker, "/scim/v2/acme/Users", "Bearer "+guess)
			require.Equal(t, http.StatusUnauthorized, a.Status)
		}
		assert.Zero(t, h.counted.lookups.Load()-before, "a wrong secret of a known id costs no lookup")
		assert.Equal(t, http.StatusOK, h.getFrom(attacker, "/scim/v2/acme/Users", "Bearer "+plain).Status)
	})
}

// TestGuard_tokenOfAnotherProcessWhileUnproven: on a PostgreSQL store that
// is not listening, a token created by another process after this one
// loaded its token set is looked up (under the failure budget) and known
// from then on, so that a flood spending the budget afterwards cannot
// throttle it.
func TestGuard_tokenOfAnotherProcessWhileUnproven(t *testing.T) {
	dsn := pgtest.New(t)
	open := func(noListen bool) *postgres.Store {
		s, err := postgres.Open(context.Background(), dsn, postgres.Options{NoListen: noListen})
		require.NoError(t, err)
		t.Cleanup(s.Close)
		return s
	}
	other := open(false)
	h := newHarness(t, func(testing.TB, func() time.Time) store.Store { return open(true) })
	h.ready("acme")
	plain, id, hash, err := auth.New(rand.Reader)
	require.NoError(t, err)
	_, err = other.CreateToken(context.Background(), "acme", store.Token{ID: id, Name: "entra", Hash: hash}, store.ActorAdmin)
	require.NoError(t, err)
	require.Equal(t, store.TokenUnsure, h.store.CheckToken("acme", id, hash), "not loaded yet")

	assert.Equal(t, http.StatusOK, h.getFrom(idp, "/scim/v2/acme/Users", "Bearer "+plain).Status, "looked up")
	assert.Equal(t, store.TokenMatch, h.store.CheckToken("acme", id, hash), "known from now on")
	for i := range 300 {
		h.getFrom(fmt.Sprintf("10.0.%d.%d:5000", i/256, i%256), "/scim/v2/acme/Users", "Bearer "+madeUp(t))
	}
	assert.Equal(t, http.StatusTooManyRequests, h.getFrom(idp, "/scim/v2/acme/Users", "Bearer "+madeUp(t)).Status,
		"the global budget is spent")
	assert.Equal(t, http.StatusOK, h.getFrom(idp, "/scim/v2/acme/Users", "Bearer "+plain).Status, "yet the token is admitted")
}
