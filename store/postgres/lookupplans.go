package postgres

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// How lookups by userName are sent (plans.go, "A lookup by userName").
//
// pgx prepares every statement, and PostgreSQL keeps a prepared statement's
// generic plan once it has chosen one (at the sixth run). While users is
// nearly empty every index that starts with tenant_id, and every partial
// index with the lookup's "deleted_at is null", costs about the same, and
// the plan PostgreSQL keeps may walk one of them: a new database's first
// lookups would then walk the tenant's users for every later lookup, for
// the life of the connection. So while users is small a lookup by userName
// is planned for each run (pgx's unnamed statement: a parse and a plan, on
// a small table). Once users holds preparedLookupsFrom pages, any plan
// PostgreSQL makes, generic or not, analysed or not, probes the unique
// userName index (TestUserNameLookup_preparedOnlyOnceUsersIsLarge), and the
// lookup is prepared: measured, a lookup with its groups cost the database
// about six times less than planned per run (BENCHMARKS.md), which is most
// of what an IdP's first sync asks. Tables do not shrink, so once prepared,
// lookups stay prepared for the process's life.
type userNamePlans struct {
	prepared atomic.Bool
	checking atomic.Bool
	next     atomic.Int64 // when the size may be read again, Unix nanoseconds
}

// preparedLookupsFrom is the size of users, in pages, from which lookups
// by userName are prepared: 2 MB, some thousands of users. There an index
// walk of a tenant costs the planner dozens of rows against the unique
// index's one, with or without statistics.
const preparedLookupsFrom = 256

// usersSizeEvery is how often the size of users is read while lookups are
// still planned for each run.
const usersSizeEvery = 5 * time.Second

// lookupArgs are the arguments of a lookup of kind op, with the mode that
// sends it planned for each run put first while users is small.
func (s *Store) lookupArgs(op int, args ...any) []any {
	if op != readByUserName || s.userNames.prepared.Load() {
		return args // the pool's own mode (behind a pooler: README "Scale out")
	}
	s.checkUsersSize()
	return append([]any{pgx.QueryExecModeCacheDescribe}, args...)
}

// checkUsersSize reads the size of users in the background, at most every
// usersSizeEvery, and switches lookups to prepared statements once it is
// large enough. A lookup never waits for it.
func (s *Store) checkUsersSize() {
	now := time.Now().UnixNano()
	if now < s.userNames.next.Load() || !s.userNames.checking.CompareAndSwap(false, true) {
		return
	}
	s.userNames.next.Store(now + int64(usersSizeEvery))
	go func() {
		defer s.userNames.checking.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var pages int64
		if err := s.pool.QueryRow(ctx, `select pg_relation_size('users') / current_setting('block_size')::bigint`).Scan(&pages); err != nil {
			return // closed, or the database is away: the next lookup asks again
		}
		if pages >= preparedLookupsFrom && !s.userNames.prepared.Swap(true) {
			s.log.Info().Int64("pages", pages).Msg("postgres: users is past 2 MB; lookups by userName are prepared statements from now on")
		}
	}()
}

// LookupsPrepared says whether lookups by userName are sent as prepared
// statements (tests; rosterd logs the switch once).
func (s *Store) LookupsPrepared() bool { return s.userNames.prepared.Load() }
