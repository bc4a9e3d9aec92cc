package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/store"
)

// Concurrent reads of single users (by id, by userName) are read together.
//
// An IdP's sync sends many such lookups at once; each alone costs a
// statement in PostgreSQL and a round trip here. While one lookup of a kind
// (by id or by userName, in one tenant) runs, those of that kind that arrive
// wait (batcher.go); when
// it ends, all that waited (up to maxReadBatch) are read by one statement
// that takes the keys as an array. Nothing waits on purpose: a lookup that
// finds its kind idle runs at once, alone, with its own statement. Every
// statement starts after each lookup it answers arrived, so a lookup sees
// every write committed before it was made, as a lone one would.
type readBatcher = batcher[readKind, *readReq]

type readKind struct {
	op     int // one of the readOps
	tenant string
}

const (
	readByID = iota
	readByUserName
)

// readOps are the lone and the batched statement of each kind. The batched
// one answers, for each key's 1-based position n, the rows of that key.
var readOps = [...]struct {
	name, one, many string
}{
	readByID: {"GetUserWithGroups", getUserWithGroupsSQL, userWithGroupsBatchSQL("u.id = k.key and " + liveByKey)},
	readByUserName: {"GetUserByUserNameWithGroups", getByUserNameWithGroupsSQL,
		userWithGroupsBatchSQL("u.user_name_key = k.key and u.deleted_at is null")},
}

// userWithGroupsBatchSQL probes users once per key ("offset 0" keeps each
// a probe rather than a join whose plan would depend on statistics; see
// plans.go).
func userWithGroupsBatchSQL(match string) string {
	return `select k.n, ` + strings.TrimSuffix(userWithGroupsCols[len("select "):], " from users u") + `
from unnest($2::text[]) with ordinality as k (key, n)
cross join lateral (select * from users u where u.tenant_id = $1 and ` + match + ` offset 0) as u`
}

type readReq struct {
	ctx    context.Context
	key    string
	user   store.User
	groups []store.Group
	err    error
}

const maxReadBatch = 128

// readUser answers the user (and groups) of key, alone or with the other
// lookups of its kind waiting at the time.
func (s *Store) readUser(ctx context.Context, kind readKind, key string) (store.User, []store.Group, error) {
	req := &readReq{ctx: ctx, key: key}
	s.reads.do(kind, req, maxReadBatch, func(batch []*readReq) { s.runReads(kind, batch) }, func(r *readReq) {
		if r.err == nil && r.user.ID == "" {
			r.err = errBatchStopped
		}
	})
	return req.user, req.groups, req.err
}

// runReads answers every lookup of the batch: together when there are
// several, else (or when the statement fails) each alone.
func (s *Store) runReads(kind readKind, batch []*readReq) {
	op := readOps[kind.op]
	s.batchSize("lookup", len(batch))
	if len(batch) > 1 {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), 30*time.Second)
		err := s.readMany(ctx, kind, batch)
		cancel()
		if err == nil {
			return
		}
		s.log.Debug().Err(err).Int("lookups", len(batch)).Msg("postgres: batched lookup failed; reading one by one")
	}
	for _, r := range batch {
		r.user, r.groups, r.err = s.userWithGroups(r.ctx, op.name, op.one, kind.op, kind.tenant, r.key)
	}
}

func (s *Store) readMany(ctx context.Context, kind readKind, batch []*readReq) error {
	keys := make([]string, len(batch))
	for i, r := range batch {
		keys[i] = r.key
	}
	rows, err := s.pool.Query(ctx, readOps[kind.op].many, s.lookupArgs(kind.op, kind.tenant, keys)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	found := make([]bool, len(batch))
	for rows.Next() {
		var n int64
		u, groups, err := scanUserWithGroups(rows, kind.tenant, &n)
		if err != nil {
			return err
		}
		if n < 1 || int(n) > len(batch) || found[n-1] {
			continue // not possible: one row per key at most (unique keys)
		}
		found[n-1] = true
		batch[n-1].user, batch[n-1].groups = u, groups
	}
	if err := rows.Err(); err != nil {
		for i := range batch {
			batch[i].user, batch[i].groups = store.User{}, nil
		}
		return err
	}
	for i, r := range batch {
		if !found[i] {
			r.err = store.ErrNotFound
		}
	}
	return nil
}

// scanUserWithGroups reads a row of userWithGroupsCols after extra.
func scanUserWithGroups(row pgx.Row, tenantID string, extra ...any) (store.User, []store.Group, error) {
	var raw []byte
	u, err := scanUser(row, append(extra, &raw)...)
	if err != nil {
		return store.User{}, nil, err
	}
	groups, err := decodeGroupRefs(tenantID, raw)
	if err != nil {
		return store.User{}, nil, err
	}
	return u, groups, nil
}
