package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roster-dev/roster/store"
)

// Concurrent creations of users in one tenant are written together.
//
// Every creation locks the tenant's row (its creation sequence and seat
// counters, createUserSQL), so concurrent creations in one tenant queue on
// that row in PostgreSQL anyway, each paying a statement, a lock wait and a
// commit. Instead, while one creation's statement runs for a tenant, the
// creations that arrive for it wait (batcher.go); when it ends, all that waited (up
// to maxCreateBatch) go to PostgreSQL as one statement (createBatchSQL): the
// tenant row is bumped once by their sums, and each user gets its own row,
// ledger entry and audit event, exactly as createUserSQL writes them, with
// consecutive sequence numbers in arrival order. Nothing waits on purpose: a
// creation that finds its tenant idle runs at once, alone.
//
// A batch is all or nothing in PostgreSQL, so when it cannot be written
// whole (a taken userName or id, the seat cap reached part-way, a role
// deleted meanwhile, the default role changed, any error) nothing of it is
// written, and each creation of the batch then runs alone, in arrival order,
// through pendingCreate.exec: the answers, errors and their explanations are
// those of creations made one by one.
type createBatcher = batcher[string, *createReq] // by tenant

type createReq struct {
	ctx context.Context
	c   *pendingCreate
	out store.User
	err error
}

const maxCreateBatch = 64

// create runs c, alone or in a batch with the tenant's other waiting
// creations, and answers as c.exec would.
func (s *Store) create(ctx context.Context, c *pendingCreate) (store.User, error) {
	req := &createReq{ctx: ctx, c: c}
	s.creates.do(c.tenantID, req, maxCreateBatch, s.runCreates, func(r *createReq) {
		if r.err == nil && r.out.ID == "" {
			r.err = errBatchStopped
		}
	})
	return req.out, req.err
}

var errBatchStopped = errors.New("postgres: a batch stopped before this request was answered")

// runCreates writes the batch in one statement when it can, else each
// creation alone, in order.
func (s *Store) runCreates(batch []*createReq) {
	s.batchSize("create", len(batch))
	if len(batch) > 1 && batchable(batch) {
		// The statement is the batch's, not the first client's: it runs to
		// the end even if that client goes away.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), 30*time.Second)
		plans, err := s.execCreateBatch(ctx, s.pool, batch)
		cancel()
		if err == nil {
			s.createBatches.Add(1)
			for i, r := range batch {
				r.out = r.c.u
				r.out.Seat, _ = r.c.plans.pick(plans[i])
			}
			return
		}
		s.log.Debug().Err(err).Int("users", len(batch)).Msg("postgres: batched creation not written; creating one by one")
	}
	for _, r := range batch {
		r.out, r.err = r.c.exec(r.ctx, s.pool)
	}
}

// batchable says whether the creations can be one statement: no two share
// a userName or an id (the statement would fail on its own rows), they
// assume one default role, and none names stores (kept out of the arrays).
func batchable(batch []*createReq) bool {
	names := make(map[string]struct{}, len(batch))
	ids := make(map[string]struct{}, len(batch))
	guard := batch[0].c.guard
	for _, r := range batch {
		c := r.c
		key := store.FoldKey(c.u.UserName)
		if _, dup := names[key]; dup {
			return false
		}
		if _, dup := ids[c.u.ID]; dup {
			return false
		}
		names[key], ids[c.u.ID] = struct{}{}, struct{}{}
		if c.u.Stores != nil || r.ctx.Err() != nil {
			return false
		}
		if c.guard != nil {
			if guard != nil && *guard != *c.guard {
				return false
			}
			guard = c.guard
		}
	}
	return true
}

// batchArgs are the positions in pendingCreate.args (createUserNames) that
// become one array each, with the array's element type; "?" marks elements
// that may be null. Position 0 is the tenant, the last the default-role guard.
var batchArgs = func() []batchArg {
	types := map[string]string{
		"id": "text", "now": "timestamptz",
		"akind": "text", "aid": "text", "aname": "text", "areq": "text",
		"seat1": "text", "seat2": "text", "dfull1": "int", "dfull2": "int", "dlight1": "int", "dlight2": "int",
		"nev1": "int", "nev2": "int", "audit": "text",
		"evclass1": "text?", "evclass2": "text?", "evdelta1": "int?", "evdelta2": "int?", "evreason1": "text?", "evreason2": "text?",
		"c_active": "bool", "c_emails": "jsonb", "c_phone_numbers": "jsonb", "c_addresses": "jsonb", "c_scim_roles": "jsonb",
		"c_access_expires_at": "timestamptz?", "c_last_active_at": "timestamptz?", "c_drifted_at": "timestamptz?",
	}
	var out []batchArg
	for i, name := range createUserNames {
		if name == "tenant" || name == "defguard" || name == "c_stores" {
			continue
		}
		typ, ok := types[name]
		if !ok {
			if !strings.HasPrefix(name, "c_") {
				panic("postgres: no batch type for " + name)
			}
			typ = "text"
		}
		out = append(out, batchArg{pos: i, name: name, typ: typ})
	}
	return out
}()

type batchArg struct {
	pos       int
	name, typ string
}

func (a batchArg) sqlType() string {
	t := strings.TrimSuffix(a.typ, "?")
	if t == "jsonb" {
		return "text" // sent as text, cast per element
	}
	return t
}

// column is the SQL of the argument in the batch row w (jsonb cast back).
func (a batchArg) column() string {
	if a.typ == "jsonb" {
		return "w." + a.name + "::jsonb"
	}
	return "w." + a.name
}

// createBatchSQL is createUserSQL for many users: $1 the tenant, $2 the
// default-role guard, then one array per batchArgs entry, in order.
var createBatchSQL = func() string {
	var unnest, names []string
	byName := map[string]batchArg{}
	for i, a := range batchArgs {
		unnest = append(unnest, fmt.Sprintf("$%d::%s[]", i+3, a.sqlType()))
		names = append(names, a.name)
		byName[a.name] = a
	}
	var cols []string
	for _, c := range userWriteCols {
		if c == "stores" {
			cols = append(cols, "null")
			continue
		}
		cols = append(cols, byName["c_"+c].column())
	}
	pick := func(name, p string) string {
		return "case when " + p + " = 1 then v." + name + "1 else v." + name + "2 end"
	}
	return `with v as (
	select * from unnest(` + strings.Join(unnest, ", ") + `) with ordinality as v (` + strings.Join(names, ", ") + `, n)
), r as materialized (
	select v.n, case when x.seat_class = 'light' then 2 else 1 end as p
	from v
	left join lateral (
		select seat_class from roles where tenant_id = $1 and name = v.c_role for key share
	) x on true
	where v.c_role in ('admin', 'supervisor', 'agent') or x.seat_class is not null
), w as materialized (
	select v.*, r.p,
		` + pick("seat", "r.p") + ` as seat, ` + pick("dfull", "r.p") + ` as dfull, ` + pick("dlight", "r.p") + ` as dlight,
		` + pick("nev", "r.p") + ` as nev, ` + pick("evclass", "r.p") + ` as evclass,
		` + pick("evdelta", "r.p") + ` as evdelta, ` + pick("evreason", "r.p") + ` as evreason
	from v join r on r.n = v.n
), agg as (
	select count(*) as c, coalesce(sum(dfull), 0) as df, coalesce(sum(dlight), 0) as dl, coalesce(sum(nev), 0) as ne,
		max(now) as at
	from w
), t as (
	update tenants tn
	set user_seq = tn.user_seq + agg.c,
	    seats_full = tn.seats_full + agg.df,
	    seats_light = tn.seats_light + agg.dl,
	    seat_seq = tn.seat_seq + agg.ne
	from agg
	where tn.id = $1
	  and agg.c = cardinality($3::text[])
	  and ` + capSQL("tn", "agg.df", "agg.at") + `
	  and ($2::text is null or coalesce(nullif(tn.settings ->> 'default_role', ''), 'agent') = $2::text)
	returning tn.user_seq - agg.c as useq0, tn.seat_seq - agg.ne as sseq0
), u as (
	insert into users (tenant_id, id, seq, seat, version, created_at, updated_at, ` + strings.Join(userWriteCols, ", ") + `)
	select $1, w.id, t.useq0 + w.n, w.seat, 1, w.now, w.now, ` + strings.Join(cols, ", ") + `
	from t, w
), se as (
	insert into seat_events ` + seatEventCols + `
	select $1, t.sseq0 + e.k, e.now, e.id, e.evclass, e.evdelta, e.evreason, e.akind, e.aid, e.aname, e.areq
	from t, (select w.*, sum(w.nev) over (order by w.n) as k from w) e
	where e.nev = 1
), a as (
	insert into audit_events ` + auditCols + `
	select $1, w.now, w.akind, w.aid, w.aname, w.areq, 'user.created', 'user', w.id, '',
		` + auditSeatSQL("w.audit", "w.seat1", "w.seat") + `
	from t, w
	order by w.n
)
select w.n, w.p from t, w order by w.n`
}()

// execCreateBatch writes the batch in one statement through q (the pool, or
// a transaction) and answers the plan each user got (as pendingCreate.exec
// reads it), or an error when nothing was written (errNotTogether when the
// statement wrote nothing: the cap, a role or the default role).
func (s *Store) execCreateBatch(ctx context.Context, q querier, batch []*createReq) ([]int32, error) {
	args := make([]any, 0, len(batchArgs)+2)
	args = append(args, batch[0].c.tenantID, (*string)(nil))
	for _, r := range batch {
		if r.c.guard != nil {
			args[1] = r.c.guard
			break
		}
	}
	for _, a := range batchArgs {
		arr, err := column(batch, a)
		if err != nil {
			return nil, err
		}
		args = append(args, arr)
	}
	rows, err := q.Query(ctx, createBatchSQL, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	plans := make([]int32, 0, len(batch))
	for rows.Next() {
		var n int64
		var p int32
		if err := rows.Scan(&n, &p); err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(plans) != len(batch) {
		return nil, fmt.Errorf("batch of %d creations: %w", len(batch), errNotTogether)
	}
	return plans, nil
}

// column gathers argument a of every creation into one typed array.
func column(batch []*createReq, a batchArg) (any, error) {
	switch a.typ {
	case "text":
		return gather[string](batch, a)
	case "text?":
		return gather[*string](batch, a)
	case "int":
		return gather[int32](batch, a)
	case "int?":
		return gather[*int32](batch, a)
	case "bool":
		return gather[bool](batch, a)
	case "timestamptz":
		return gather[time.Time](batch, a)
	case "timestamptz?":
		return gather[*time.Time](batch, a)
	case "jsonb": // nil or the encoded bytes (jsonArg), sent as text
		out := make([]*string, len(batch))
		for i, r := range batch {
			switch v := r.c.args[a.pos].(type) {
			case nil:
			case []byte:
				s := string(v)
				out[i] = &s
			default:
				return nil, fmt.Errorf("postgres: batch argument %s is %T, not %s", a.name, v, a.typ)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("postgres: unknown batch type %s", a.typ)
}

func gather[T any](batch []*createReq, a batchArg) ([]T, error) {
	out := make([]T, len(batch))
	for i, r := range batch {
		v, ok := r.c.args[a.pos].(T)
		if !ok {
			return nil, fmt.Errorf("postgres: batch argument %s is %T, not %s", a.name, r.c.args[a.pos], a.typ)
		}
		out[i] = v
	}
	return out, nil
}
