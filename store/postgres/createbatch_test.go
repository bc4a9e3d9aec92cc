package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

func batchStore(t *testing.T, seats int) *postgres.Store {
	t.Helper()
	s := pgtest.Store(t, nil)
	_, err := s.CreateTenant(context.Background(), store.Tenant{ID: "acme", Name: "Acme", Plan: "ultimate", Seats: seats}, store.ActorAdmin)
	require.NoError(t, err)
	return s
}

func newUser(name string, active bool) store.User {
	return store.User{UserName: name, Active: active, Name: store.Name{GivenName: "G", FamilyName: "F"},
		Emails: []store.MultiValue{{Value: name, Type: "work", Primary: true}}, ExternalID: "ext-" + name}
}

// checkLedger proves the tenant's books balance: the seat counter equals the
// users holding a full seat and the ledger's sum; user and ledger sequences
// have no gap and no repeat; every user has its creation audit event.
func checkLedger(t *testing.T, s *postgres.Store, tenant string) {
	t.Helper()
	ctx := context.Background()
	var full, holding, ledger, users, maxSeq, distinctSeq, events, maxEv, audits int
	require.NoError(t, s.Pool().QueryRow(ctx, `select
	(select seats_full from tenants where id = $1),
	(select count(*) from users where tenant_id = $1 and seat = 'full' and deleted_at is null),
	(select coalesce(sum(delta), 0) from seat_events where tenant_id = $1 and class = 'full'),
	(select count(*) from users where tenant_id = $1),
	(select coalesce(max(seq), 0) from users where tenant_id = $1),
	(select count(distinct seq) from users where tenant_id = $1),
	(select count(*) from seat_events where tenant_id = $1),
	(select coalesce(max(seq), 0) from seat_events where tenant_id = $1),
	(select count(*) from audit_events where tenant_id = $1 and action = 'user.created')`, tenant).
		Scan(&full, &holding, &ledger, &users, &maxSeq, &distinctSeq, &events, &maxEv, &audits))
	assert.Equal(t, holding, full, "seat counter = users holding a full seat")
	assert.Equal(t, full, ledger, "seat counter = the ledger's sum")
	assert.Equal(t, users, maxSeq, "user sequence without gaps")
	assert.Equal(t, users, distinctSeq, "user sequence without repeats")
	assert.Equal(t, events, maxEv, "ledger sequence without gaps")
	assert.Equal(t, users, audits, "one creation audit event per user")
}

func TestCreateBatch_writesEachUserAsAloneWould(t *testing.T) {
	ctx := context.Background()
	s := batchStore(t, 100)
	_, err := s.CreateRole(ctx, "acme", store.Role{Name: "viewer", SeatClass: store.SeatLight, Permissions: []string{"view_own"}}, store.ActorAdmin)
	require.NoError(t, err)
	users := []store.User{newUser("a@x.com", true), newUser("b@x.com", false), newUser("c@x.com", true), newUser("d@x.com", true)}
	users[2].Role = "viewer"
	by := store.Actor{Kind: "token", ID: "tok", Name: "okta", RequestID: "req"}
	before := s.BatchWrites()
	out, errs := s.CreateUsersTogether(ctx, "acme", users, by)
	for i := range errs {
		require.NoError(t, errs[i], users[i].UserName)
	}
	assert.Equal(t, before+1, s.BatchWrites(), "written as one statement")

	assert.Equal(t, store.SeatFull, out[0].Seat)
	assert.Equal(t, store.SeatNone, out[1].Seat, "inactive: no seat")
	assert.Equal(t, store.SeatLight, out[2].Seat, "a light custom role")
	assert.Equal(t, "viewer", out[2].Role)
	for i, u := range out {
		got, err := s.GetUser(ctx, "acme", u.ID)
		require.NoError(t, err)
		assert.Equal(t, u, got, "what the batch answered is what was stored (%d)", i)
	}
	c, err := s.SeatCounts(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, store.SeatCounts{Full: 2, Light: 1}, c)
	checkLedger(t, s, "acme")

	// Paging order is arrival order.
	page, err := s.ListUsers(ctx, "acme", store.UserQuery{StartIndex: 1, Count: 10})
	require.NoError(t, err)
	require.Len(t, page.Users, 4)
	for i := range users {
		assert.Equal(t, users[i].UserName, page.Users[i].UserName)
	}
	// Each user has its own audit event with its own actor.
	evs, err := s.ListAudit(ctx, "acme", store.EventQuery{Action: "user.created"})
	require.NoError(t, err)
	created := 0
	for _, e := range evs {
		if e.Action == "user.created" {
			created++
			assert.Equal(t, "req", e.Actor.RequestID)
		}
	}
	assert.Equal(t, 4, created)
}

func TestCreateBatch_fallsBackToOneByOne(t *testing.T) {
	ctx := context.Background()
	by := store.Actor{Kind: "token", ID: "tok"}

	t.Run("a taken userName fails alone", func(t *testing.T) {
		s := batchStore(t, 100)
		_, err := s.CreateUser(ctx, "acme", newUser("taken@x.com", true), by)
		require.NoError(t, err)
		before := s.BatchWrites()
		_, errs := s.CreateUsersTogether(ctx, "acme",
			[]store.User{newUser("a@x.com", true), newUser("TAKEN@x.com", true), newUser("c@x.com", true)}, by)
		assert.NoError(t, errs[0])
		var conflict *store.ConflictError
		assert.ErrorAs(t, errs[1], &conflict)
		assert.NoError(t, errs[2])
		assert.Equal(t, before, s.BatchWrites(), "the batch was not written whole")
		checkLedger(t, s, "acme")
	})

	t.Run("the same userName twice in one batch", func(t *testing.T) {
		s := batchStore(t, 100)
		_, errs := s.CreateUsersTogether(ctx, "acme", []store.User{newUser("x@x.com", true), newUser("X@x.com", true)}, by)
		assert.NoError(t, errs[0])
		var conflict *store.ConflictError
		assert.ErrorAs(t, errs[1], &conflict)
		checkLedger(t, s, "acme")
	})

	t.Run("the seat cap reached part-way", func(t *testing.T) {
		// 9 purchased (above the minimum of 8), 7 held: two seats left.
		s := batchStore(t, 9)
		for i := range 7 {
			_, err := s.CreateUser(ctx, "acme", newUser(fmt.Sprintf("first%d@x.com", i), true), by)
			require.NoError(t, err)
		}
		users := []store.User{newUser("a@x.com", true), newUser("idle@x.com", false), newUser("b@x.com", true), newUser("c@x.com", true)}
		out, errs := s.CreateUsersTogether(ctx, "acme", users, by)
		assert.NoError(t, errs[0])
		assert.NoError(t, errs[1], "an inactive user needs no seat")
		assert.NoError(t, errs[2])
		var limit *store.SeatLimitError
		assert.ErrorAs(t, errs[3], &limit, "the tenth full seat of nine is refused")
		assert.Equal(t, store.SeatFull, out[2].Seat)
		c, err := s.SeatCounts(ctx, "acme")
		require.NoError(t, err)
		assert.Equal(t, 9, c.Full)
		checkLedger(t, s, "acme")
	})

	t.Run("an unknown role fails alone", func(t *testing.T) {
		s := batchStore(t, 100)
		users := []store.User{newUser("a@x.com", true), newUser("b@x.com", true)}
		users[1].Role = "nope"
		_, errs := s.CreateUsersTogether(ctx, "acme", users, by)
		assert.NoError(t, errs[0])
		var unknown *store.UnknownRoleError
		assert.ErrorAs(t, errs[1], &unknown)
		checkLedger(t, s, "acme")
	})
}

// TestCreateBatch_concurrentCreations drives real concurrency through
// CreateUser: batches form on their own; every creation is answered, none is
// lost or doubled, the cap holds, the books balance.
func TestCreateBatch_concurrentCreations(t *testing.T) {
	ctx := context.Background()
	const workers, each, seats = 16, 25, 300
	s := batchStore(t, seats)
	by := store.Actor{Kind: "token", ID: "tok"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, refused := 0, 0
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				u := newUser(fmt.Sprintf("u%d-%d@x.com", w, i), true)
				if i%5 == 0 {
					u = newUser(fmt.Sprintf("dup-%d@x.com", i), true) // every worker tries these: one wins
				}
				_, err := s.CreateUser(ctx, "acme", u, by)
				mu.Lock()
				switch {
				case err == nil:
					created++
				default:
					var conflict *store.ConflictError
					var limit *store.SeatLimitError
					if !assert.True(t, errorsAs(err, &conflict) || errorsAs(err, &limit), "unexpected: %v", err) {
						mu.Unlock()
						return
					}
					refused++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("%d created, %d refused in %s, %d batches written whole", created, refused, time.Since(start), s.BatchWrites())
	assert.Equal(t, workers*each, created+refused, "every creation answered")
	assert.Equal(t, seats, created, "the cap filled exactly")
	c, err := s.SeatCounts(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, seats, c.Full)
	var dupRows int
	require.NoError(t, s.Pool().QueryRow(ctx, `select count(*) from users where tenant_id = 'acme' and user_name like 'dup-%'`).Scan(&dupRows))
	assert.LessOrEqual(t, dupRows, each/5, "each contested userName created at most once")
	checkLedger(t, s, "acme")
}

func errorsAs[T error](err error, target *T) bool { return errors.As(err, target) }
