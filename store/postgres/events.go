package postgres

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/roster-dev/roster/store"
)

// Outbound events (docs/events.md; the events table and its triggers are
// migration 0020). Changes write narrow events rows through triggers on
// audit_events and seat_events; SequenceEvents numbers them in commit order
// and queues deliveries; an event's JSON is made from its audit event or
// ledger entry whenever it is read.

// eventsLock is the transaction-scoped advisory lock of the sequencer: one
// process sequences at a time, and a pooler in transaction mode keeps it
// (it lives and dies with the transaction).
const eventsLock = 0x726f737465726576 // "rosterev"

// chainsLock serialises the writes that decide which delivery heads its
// chain (deliveries.ready, migration 0020): the sequencer's new deliveries
// and a finished delivery handing the head on. Without it, a delivery
// queued while its chain's last head finished could be seen by neither and
// wait for ever (PurgeEvents repairs such chains too).
const chainsLock = 0x726f737465726368 // "rosterch"

// sequenceBatch is how many rows one pass numbers.
const sequenceBatch = 5000

// eventRow is a row of events: a pointer to an audit event or a ledger entry.
type eventRow struct {
	id       int64
	tx       string
	tenantID string
	source   byte
	srcSeq   int64
	seq      int64
	action   string // the audit action, or seat.consumed / seat.released
	target   string
	at       time.Time
}

// numberEventsSQL gives each row its number. "e.seq is null" changes no
// row (they were all read unnumbered, under the sequencer's lock) but lets
// PostgreSQL join through events_unsequenced_idx, which holds only the rows
// waiting; without it the join walked the whole of events in id order (a
// merge join) or hashed it: 60 ms a pass at 300,000 events and growing with
// the table, several seconds of a first sync's database time.
const numberEventsSQL = `update events e set seq = x.seq from unnest($1::bigint[], $2::bigint[]) x (id, seq)
where e.id = x.id and e.seq is null`

func (s *Store) SequenceEvents(ctx context.Context) (int, error) {
	made := 0
	err := s.inTx(ctx, "SequenceEvents", nil, func(tx pgx.Tx) error {
		// One sequencer at a time: a second waits for the first's pass (and
		// then finds what it left), so that the pull API, which numbers
		// before it reads, always sees what committed before it asked.
		if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock($1)`, int64(eventsLock)); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `select id, tx::text, tenant_id, source, source_seq, action, target, occurred_at from events
where seq is null order by id limit $1`, sequenceBatch)
		if err != nil {
			return err
		}
		evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (eventRow, error) {
			var e eventRow
			err := r.Scan(&e.id, &e.tx, &e.tenantID, &e.source, &e.srcSeq, &e.action, &e.target, &e.at)
			return e, err
		})
		if err != nil || len(evs) == 0 {
			return err
		}
		// Transaction by transaction, in the order of each one's first
		// row; within one, the audit events before the ledger entries,
		// each in writing order (the order the memory store makes them in).
		first := map[string]int{}
		for i, e := range evs {
			if _, ok := first[e.tx]; !ok {
				first[e.tx] = i
			}
		}
		slices.SortStableFunc(evs, func(x, y eventRow) int {
			if fx, fy := first[x.tx], first[y.tx]; fx != fy {
				return fx - fy
			}
			return int(x.source) - int(y.source) // 'a' before 's'
		})
		var last int64
		if err := tx.QueryRow(ctx, `select setval('events_seq', nextval('events_seq') + $1 - 1)`, len(evs)).Scan(&last); err != nil {
			return err
		}
		ids, seqs := make([]int64, len(evs)), make([]int64, len(evs))
		for i := range evs {
			evs[i].seq = last - int64(len(evs)-1-i)
			ids[i], seqs[i] = evs[i].id, evs[i].seq
		}
		if _, err := tx.Exec(ctx, numberEventsSQL, ids, seqs); err != nil {
			return err
		}
		made = len(evs)
		return s.queueDeliveries(ctx, tx, evs)
	})
	return made, s.convert("SequenceEvents", err, nil)
}

// queueDeliveries queues one delivery per event and enabled endpoint of
// its tenant that wants its type and existed when the change was made.
// Only the events of tenants with endpoints are made here.
func (s *Store) queueDeliveries(ctx context.Context, tx pgx.Tx, evs []eventRow) error {
	tenants := map[string]bool{}
	for _, e := range evs {
		tenants[e.tenantID] = true
	}
	list := make([]string, 0, len(tenants))
	for t := range tenants {
		list = append(list, t)
	}
	rows, err := tx.Query(ctx, `select `+webhookCols+` from webhooks where disabled_at is null and tenant_id = any ($1) order by created_at, id`, list)
	if err != nil {
		return err
	}
	hooks, err := pgx.CollectRows(rows, scanWebhook)
	if err != nil || len(hooks) == 0 {
		return err
	}
	byTenant := map[string][]store.Webhook{}
	for _, h := range hooks {
		byTenant[h.TenantID] = append(byTenant[h.TenantID], h)
	}
	var tenantsC, hooksC, typesC, subjectsC []string
	var seqsC, rowsC []int64
	var partsC []int32
	add := func(e eventRow, part int, typ, subject string, at time.Time) {
		for _, h := range byTenant[e.tenantID] {
			if !h.Wants(typ) || h.CreatedAt.After(at) {
				continue
			}
			tenantsC, hooksC, typesC, subjectsC = append(tenantsC, e.tenantID), append(hooksC, h.ID), append(typesC, typ), append(subjectsC, subject)
			seqsC, rowsC, partsC = append(seqsC, e.seq), append(rowsC, e.id), append(partsC, int32(part))
		}
	}
	// Most changes are routed by their action alone (store.EventRoute);
	// only those that may concern an endpoint and whose events depend on
	// what changed (a user or group update) are read and made.
	var toRender []eventRow
	for _, e := range evs {
		hooks := byTenant[e.tenantID]
		if len(hooks) == 0 {
			continue
		}
		types, subject, exact := store.EventRoute(e.action, e.target)
		wanted := false
		for _, h := range hooks {
			for _, t := range types {
				wanted = wanted || (h.Wants(t) && !h.CreatedAt.After(e.at))
			}
		}
		switch {
		case !wanted:
		case exact:
			add(e, 0, types[0], subject, e.at)
		default:
			toRender = append(toRender, e)
		}
	}
	drafts, err := renderEvents(ctx, tx, toRender)
	if err != nil {
		return err
	}
	for _, e := range toRender {
		for part, d := range drafts[e.id] {
			add(e, part, d.Type, d.Subject, d.OccurredAt)
		}
	}
	if len(tenantsC) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock($1)`, int64(chainsLock)); err != nil {
		return err
	}
	// A delivery heads its chain when it is the chain's first in this pass
	// and the chain has no pending delivery yet.
	_, err = tx.Exec(ctx, `insert into deliveries (tenant_id, webhook_id, event_seq, part, event_type, event_row, subject, next_at, created_at, ready)
select t, w, q, p, y, r, j, $8, $8,
	row_number() over (partition by t, w, j order by q, p) = 1
	and not exists (select 1 from deliveries e where e.tenant_id = x.t and e.webhook_id = x.w and e.subject = x.j and e.status = 'pending')
from unnest($1::text[], $2::text[], $3::bigint[], $4::int[], $5::text[], $6::bigint[], $7::text[]) x (t, w, q, p, y, r, j)`,
		tenantsC, hooksC, seqsC, partsC, typesC, rowsC, subjectsC, s.clock())
	return err
}

// renderEvents reads the audit events and ledger entries that event rows
// point at and makes their events, keyed by the row's id. A row whose source
// is gone (its tenant was deleted) makes nothing.
func renderEvents(ctx context.Context, q querier, evs []eventRow) (map[int64][]store.EventDraft, error) {
	out := make(map[int64][]store.EventDraft, len(evs))
	if len(evs) == 0 {
		return out, nil
	}
	var aT, sT []string
	var aS, sS []int64
	for _, e := range evs {
		if e.source == 'a' {
			aT, aS = append(aT, e.tenantID), append(aS, e.srcSeq)
		} else {
			sT, sS = append(sT, e.tenantID), append(sS, e.srcSeq)
		}
	}
	type key struct {
		tenant string
		seq    int64
	}
	audit := map[key]store.AuditEvent{}
	seats := map[key]store.SeatEvent{}
	if len(aT) > 0 {
		rows, err := q.Query(ctx, `select a.tenant_id, a.seq, a.at, a.actor_kind, a.actor_id, a.actor_name, a.request_id, a.action,
	a.target_type, a.target_id, a.detail, a.before_json, a.after_json, coalesce(a.members_json, '')
from unnest($1::text[], $2::bigint[]) k (tenant_id, seq)
join audit_events a on a.tenant_id = k.tenant_id and a.seq = k.seq`, aT, aS)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var e store.AuditEvent
			var members string
			if err := rows.Scan(&e.TenantID, &e.Seq, &e.Time, &e.Actor.Kind, &e.Actor.ID, &e.Actor.Name, &e.Actor.RequestID,
				&e.Action, &e.TargetType, &e.TargetID, &e.Detail, &e.Before, &e.After, &members); err != nil {
				rows.Close()
				return nil, err
			}
			e.Time = store.Timestamp(e.Time)
			e.Members = store.DecodeMemberOps(members)
			audit[key{e.TenantID, e.Seq}] = e
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if len(sT) > 0 {
		rows, err := q.Query(ctx, `select s.tenant_id, s.seq, s.at, s.user_id, s.class, s.delta, s.reason, s.actor_kind, s.actor_id,
	s.actor_name, s.request_id
from unnest($1::text[], $2::bigint[]) k (tenant_id, seq)
join seat_events s on s.tenant_id = k.tenant_id and s.seq = k.seq`, sT, sS)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var e store.SeatEvent
			var class string
			if err := rows.Scan(&e.TenantID, &e.Seq, &e.Time, &e.UserID, &class, &e.Delta, &e.Reason,
				&e.Actor.Kind, &e.Actor.ID, &e.Actor.Name, &e.Actor.RequestID); err != nil {
				rows.Close()
				return nil, err
			}
			e.Time, e.Class = store.Timestamp(e.Time), store.SeatClass(class)
			seats[key{e.TenantID, e.Seq}] = e
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for _, e := range evs {
		k := key{e.tenantID, e.srcSeq}
		if e.source == 'a' {
			if a, ok := audit[k]; ok {
				out[e.id] = store.EventsOfAudit(a)
			}
		} else if l, ok := seats[k]; ok {
			out[e.id] = []store.EventDraft{store.EventOfSeat(l)}
		}
	}
	return out, nil
}

func (s *Store) WebhooksEnabled(ctx context.Context) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `select exists (select 1 from webhooks where disabled_at is null)`).Scan(&ok)
	return ok, s.convert("WebhooksEnabled", err, nil)
}

func (s *Store) ListEvents(ctx context.Context, tenantID string, after int64, limit int) ([]store.Event, error) {
	if !keysOK(tenantID) {
		return nil, store.ErrNotFound
	}
	limit = eventLimit(limit)
	chunk := max(limit, 100)
	out := []store.Event{}
	for len(out) < limit {
		rows, err := s.pool.Query(ctx, `select id, '', tenant_id, source, source_seq, seq from events
where tenant_id = $1 and seq > $2 and seq is not null order by seq limit $3`, tenantID, after, chunk)
		if err != nil {
			return nil, s.convert("ListEvents", err, nil)
		}
		evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (eventRow, error) {
			var e eventRow
			err := r.Scan(&e.id, &e.tx, &e.tenantID, &e.source, &e.srcSeq, &e.seq)
			return e, err
		})
		if err != nil {
			return nil, s.convert("ListEvents", err, nil)
		}
		drafts, err := renderEvents(ctx, s.pool, evs)
		if err != nil {
			return nil, s.convert("ListEvents", err, nil)
		}
		for _, e := range evs {
			for part, d := range drafts[e.id] {
				out = append(out, d.Event(e.seq, part))
			}
			after = e.seq
			if len(out) >= limit {
				break
			}
		}
		if len(evs) < chunk {
			break
		}
	}
	if len(out) == 0 {
		if err := s.tenantExists(ctx, s.pool, "ListEvents", tenantID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

const webhookCols = `tenant_id, id, url, events, secret, created_at, created_by_kind, created_by_id, created_by_name,
	failing_since, disabled_at, disabled_reason`

func scanWebhook(r pgx.CollectableRow) (store.Webhook, error) {
	var w store.Webhook
	err := r.Scan(&w.TenantID, &w.ID, &w.URL, &w.Events, &w.Secret, &w.CreatedAt, &w.CreatedBy.Kind, &w.CreatedBy.ID,
		&w.CreatedBy.Name, &w.FailingSince, &w.DisabledAt, &w.DisabledReason)
	w.CreatedAt = store.Timestamp(w.CreatedAt)
	w.FailingSince, w.DisabledAt = tsPtr(w.FailingSince), tsPtr(w.DisabledAt)
	if w.Events == nil {
		w.Events = []string{}
	}
	return w, err
}

func (s *Store) CreateWebhook(ctx context.Context, tenantID string, w store.Webhook, by store.Actor) (store.Webhook, error) {
	if !keysOK(tenantID, w.ID, w.URL, w.Secret) {
		return store.Webhook{}, store.ErrNotFound
	}
	w = w.Clone()
	if w.Events == nil {
		w.Events = []string{}
	}
	w.TenantID, w.CreatedAt, w.CreatedBy = tenantID, s.clock(), store.Actor{Kind: by.Kind, ID: by.ID, Name: by.Name}
	w.FailingSince, w.DisabledAt, w.DisabledReason = nil, nil, ""
	err := s.inTx(ctx, "CreateWebhook", vals{"id": w.ID}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `insert into webhooks (tenant_id, id, url, events, secret, created_at, created_by_kind, created_by_id, created_by_name)
select id, $2, $3, $4, $5, $6, $7, $8, $9 from tenants where id = $1 for key share`,
			tenantID, w.ID, w.URL, w.Events, w.Secret, w.CreatedAt, by.Kind, by.ID, by.Name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		_, err = tx.Exec(ctx, auditInsert, auditArgs(tenantID, w.CreatedAt, by, store.ActionWebhookCreated, "webhook", w.ID, "",
			"", store.WebhookAudit(w))...)
		return err
	})
	if err != nil {
		return store.Webhook{}, err
	}
	return w, nil
}

func (s *Store) GetWebhook(ctx context.Context, tenantID, id string) (store.Webhook, error) {
	if !keysOK(tenantID, id) {
		return store.Webhook{}, store.ErrNotFound
	}
	rows, err := s.pool.Query(ctx, `select `+webhookCols+` from webhooks where tenant_id = $1 and id = $2`, tenantID, id)
	if err != nil {
		return store.Webhook{}, s.convert("GetWebhook", err, nil)
	}
	w, err := pgx.CollectExactlyOneRow(rows, scanWebhook)
	if err != nil {
		return store.Webhook{}, s.convert("GetWebhook", err, nil)
	}
	return w, nil
}

func (s *Store) ListWebhooks(ctx context.Context, tenantID string) ([]store.Webhook, error) {
	if !keysOK(tenantID) {
		return nil, store.ErrNotFound
	}
	rows, err := s.pool.Query(ctx, `select `+webhookCols+` from webhooks where tenant_id = $1 order by created_at, id`, tenantID)
	if err != nil {
		return nil, s.convert("ListWebhooks", err, nil)
	}
	out, err := pgx.CollectRows(rows, scanWebhook)
	if err != nil {
		return nil, s.convert("ListWebhooks", err, nil)
	}
	if len(out) == 0 {
		if err := s.tenantExists(ctx, s.pool, "ListWebhooks", tenantID); err != nil {
			return nil, err
		}
		out = []store.Webhook{}
	}
	return out, nil
}

func (s *Store) DeleteWebhook(ctx context.Context, tenantID, id string, by store.Actor) error {
	if !keysOK(tenantID, id) {
		return store.ErrNotFound
	}
	return s.inTx(ctx, "DeleteWebhook", nil, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `delete from webhooks where tenant_id = $1 and id = $2 returning `+webhookCols, tenantID, id)
		if err != nil {
			return err
		}
		w, err := pgx.CollectExactlyOneRow(rows, scanWebhook)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, auditInsert, auditArgs(tenantID, s.clock(), by, store.ActionWebhookDeleted, "webhook", id, "",
			store.WebhookAudit(w), "")...)
		return err
	})
}

func (s *Store) EnableWebhook(ctx context.Context, tenantID, id string, by store.Actor) (store.Webhook, error) {
	if !keysOK(tenantID, id) {
		return store.Webhook{}, store.ErrNotFound
	}
	var out store.Webhook
	err := s.inTx(ctx, "EnableWebhook", nil, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `select `+webhookCols+` from webhooks where tenant_id = $1 and id = $2 for update`, tenantID, id)
		if err != nil {
			return err
		}
		before, err := pgx.CollectExactlyOneRow(rows, scanWebhook)
		if err != nil {
			return err
		}
		out = before.Clone()
		if before.DisabledAt == nil && before.FailingSince == nil {
			return nil
		}
		out.DisabledAt, out.DisabledReason, out.FailingSince = nil, "", nil
		b := &pgx.Batch{}
		b.Queue(`update webhooks set disabled_at = null, disabled_reason = '', failing_since = null where tenant_id = $1 and id = $2`, tenantID, id)
		b.Queue(auditInsert, auditArgs(tenantID, s.clock(), by, store.ActionWebhookEnabled, "webhook", id, "",
			store.WebhookAudit(before), store.WebhookAudit(out))...)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return store.Webhook{}, err
	}
	return out, nil
}

const deliveryCols = `d.tenant_id, d.id, d.webhook_id, d.event_seq, d.part, d.event_type, d.subject, d.status,
	d.attempts, d.next_at, d.created_at, d.last_attempt_at, d.response_code, d.duration_ms, d.last_error`

func scanDelivery(r pgx.CollectableRow) (store.Delivery, error) {
	var d store.Delivery
	var part int
	err := r.Scan(&d.TenantID, &d.ID, &d.WebhookID, &d.EventSeq, &part, &d.EventType, &d.Subject, &d.Status,
		&d.Attempts, &d.NextAt, &d.CreatedAt, &d.LastAttemptAt, &d.ResponseCode, &d.DurationMS, &d.LastError)
	d.EventID = store.EventID(d.EventSeq, part)
	d.NextAt, d.CreatedAt, d.LastAttemptAt = store.Timestamp(d.NextAt), store.Timestamp(d.CreatedAt), tsPtr(d.LastAttemptAt)
	return d, err
}

func (s *Store) ListDeliveries(ctx context.Context, tenantID, webhookID string, q store.DeliveryQuery) ([]store.Delivery, error) {
	if !keysOK(tenantID, webhookID, q.Status) {
		return nil, store.ErrNotFound
	}
	before := q.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.pool.Query(ctx, `select `+deliveryCols+`
from deliveries d
where d.tenant_id = $1 and d.webhook_id = $2 and d.id < $3 and ($4 = '' or d.status = $4)
order by d.id desc limit $5`, tenantID, webhookID, before, q.Status, eventLimit(q.Limit))
	if err != nil {
		return nil, s.convert("ListDeliveries", err, nil)
	}
	out, err := pgx.CollectRows(rows, scanDelivery)
	if err != nil {
		return nil, s.convert("ListDeliveries", err, nil)
	}
	if len(out) == 0 {
		if _, err := s.GetWebhook(ctx, tenantID, webhookID); err != nil {
			return nil, err
		}
		out = []store.Delivery{}
	}
	return out, nil
}

func (s *Store) RetryDelivery(ctx context.Context, tenantID, webhookID string, id int64, by store.Actor) (store.Delivery, error) {
	if !keysOK(tenantID, webhookID) {
		return store.Delivery{}, store.ErrNotFound
	}
	var out store.Delivery
	err := s.inTx(ctx, "RetryDelivery", nil, func(tx pgx.Tx) error {
		now := s.clock()
		rows, err := tx.Query(ctx, `with d as (
	update deliveries set status = 'pending', next_at = $4, lease_until = null, ready = true
	where tenant_id = $1 and webhook_id = $2 and id = $3 returning *)
select `+deliveryCols+` from d`, tenantID, webhookID, id, now)
		if err != nil {
			return err
		}
		if out, err = pgx.CollectExactlyOneRow(rows, scanDelivery); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, auditInsert, auditArgs(tenantID, now, by, store.ActionDeliveryRetried, "webhook", webhookID,
			"delivery "+strconv.FormatInt(id, 10)+" of event "+out.EventID+" queued again", "", "")...)
		return err
	})
	if err != nil {
		return store.Delivery{}, err
	}
	return out, nil
}

func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Claim, error) {
	// Only chains' heads are ever claimed (deliveries.ready): a user's
	// deliveries go out in order, and a claim reads no more rows than it
	// takes, however long the backlog.
	rows, err := s.pool.Query(ctx, `with due as (
	select d.id from deliveries d
	where d.ready and d.status = 'pending' and d.next_at <= $1 and (d.lease_until is null or d.lease_until <= $1)
	  and exists (select 1 from webhooks w where w.tenant_id = d.tenant_id and w.id = d.webhook_id and w.disabled_at is null)
	order by d.next_at
	limit $3
	for update of d skip locked)
update deliveries d set lease_until = $2
from due, events ev, webhooks w
where d.id = due.id and ev.id = d.event_row and w.tenant_id = d.tenant_id and w.id = d.webhook_id
returning d.tenant_id, d.id, d.webhook_id, d.event_seq, d.part, d.event_type, d.subject, d.attempts, d.next_at, d.created_at,
	ev.id, ev.source, ev.source_seq, w.tenant_id, w.id, w.url, w.events, w.secret, w.created_at,
	w.created_by_kind, w.created_by_id, w.created_by_name, w.failing_since, w.disabled_at, w.disabled_reason`, now, now.Add(lease), limit)
	if err != nil {
		return nil, s.convert("ClaimDeliveries", err, nil)
	}
	var evs []eventRow
	parts := map[int64]int{}
	claims, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Claim, error) {
		var c store.Claim
		var e eventRow
		var part int
		d, w := &c.Delivery, &c.Webhook
		err := r.Scan(&d.TenantID, &d.ID, &d.WebhookID, &d.EventSeq, &part, &d.EventType, &d.Subject, &d.Attempts, &d.NextAt, &d.CreatedAt,
			&e.id, &e.source, &e.srcSeq,
			&w.TenantID, &w.ID, &w.URL, &w.Events, &w.Secret, &w.CreatedAt, &w.CreatedBy.Kind, &w.CreatedBy.ID,
			&w.CreatedBy.Name, &w.FailingSince, &w.DisabledAt, &w.DisabledReason)
		e.tenantID, e.seq = d.TenantID, d.EventSeq
		d.Status, d.EventID = store.DeliveryPending, store.EventID(d.EventSeq, part)
		c.Event.Seq, c.Event.Part, c.Event.ID = d.EventSeq, part, d.EventID
		evs = append(evs, e)
		parts[d.ID] = part
		return c, err
	})
	if err != nil {
		return nil, s.convert("ClaimDeliveries", err, nil)
	}
	drafts, err := renderEvents(ctx, s.pool, evs)
	if err != nil {
		return nil, s.convert("ClaimDeliveries", err, nil)
	}
	out := claims[:0]
	var gone []int64
	for i, c := range claims {
		ds := drafts[evs[i].id]
		part := parts[c.Delivery.ID]
		if part >= len(ds) { // its change is gone (a deleted tenant)
			gone = append(gone, c.Delivery.ID)
			continue
		}
		c.Event = ds[part].Event(c.Delivery.EventSeq, part)
		out = append(out, c)
	}
	if len(gone) > 0 {
		err := s.inTx(ctx, "ClaimDeliveries", nil, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock($1)`, int64(chainsLock)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `update deliveries set status = 'failed', lease_until = null,
	last_error = 'the change this event was made from no longer exists' where id = any ($1)`, gone); err != nil {
				return err
			}
			return promoteHeads(ctx, tx)
		})
		if err != nil {
			return nil, s.convert("ClaimDeliveries", err, nil)
		}
	}
	// Deliveries go out oldest event first (the statement's order is lost
	// in the update).
	slices.SortFunc(out, func(a, b store.Claim) int {
		if a.Event.Seq != b.Event.Seq {
			return int(a.Event.Seq - b.Event.Seq)
		}
		return a.Event.Part - b.Event.Part
	})
	return out, nil
}

// promoteHeads makes the earliest pending delivery of every chain that has
// no head its head. It reads every pending delivery: for the rare paths
// (a vanished event, the purge), not for each finished delivery.
func promoteHeads(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `update deliveries d set ready = true
from (select distinct on (tenant_id, webhook_id, subject) id, ready from deliveries
      where status = 'pending' order by tenant_id, webhook_id, subject, event_seq, part) h
where d.id = h.id and not h.ready`)
	return err
}

func (s *Store) FinishDeliveries(ctx context.Context, results []store.DeliveryResult, disableBefore time.Time) error {
	if len(results) == 0 {
		return nil
	}
	n := len(results)
	ids, ats, oks, codes, ms, errs, nexts := make([]int64, n), make([]time.Time, n), make([]bool, n), make([]int32, n),
		make([]int32, n), make([]string, n), make([]*time.Time, n)
	var failT, failH, okT, okH, gaveUpT, gaveUpH []string
	var failAt []time.Time
	for i, r := range results {
		ids[i], ats[i], oks[i], codes[i], ms[i], errs[i] = r.ID, store.Timestamp(r.At), r.Delivered, int32(r.ResponseCode),
			int32(r.DurationMS), textOrEmpty(r.Error)
		if !r.Delivered && !r.NextAt.IsZero() {
			next := store.Timestamp(r.NextAt)
			nexts[i] = &next
		}
		if r.Delivered {
			okT, okH = append(okT, r.TenantID), append(okH, r.WebhookID)
		} else {
			failT, failH, failAt = append(failT, r.TenantID), append(failH, r.WebhookID), append(failAt, store.Timestamp(r.At))
			if r.NextAt.IsZero() {
				gaveUpT, gaveUpH = append(gaveUpT, r.TenantID), append(gaveUpH, r.WebhookID)
			}
		}
	}
	return s.inTx(ctx, "FinishDeliveries", nil, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock($1)`, int64(chainsLock)); err != nil {
			return err
		}
		b := &pgx.Batch{}
		// A delivery that is done (delivered, or failed for good) hands
		// its chain's head to the chain's next pending delivery.
		b.Queue(`update deliveries d set attempts = d.attempts + 1, lease_until = null, last_attempt_at = r.at,
	response_code = r.code, duration_ms = r.ms, last_error = r.err, ready = false,
	status = case when r.ok then 'delivered' else 'failed' end
from unnest($1::bigint[], $2::timestamptz[], $3::bool[], $4::int[], $5::int[], $6::text[], $7::timestamptz[])
	r (id, at, ok, code, ms, err, next)
where d.id = r.id and d.lease_until is not null and (r.ok or r.next is null)`, ids, ats, oks, codes, ms, errs, nexts)
		// A delivery that is done (delivered, or failed for good) hands its
		// chain's head to the chain's next pending delivery.
		b.Queue(`update deliveries d set ready = true
from (select distinct on (e.tenant_id, e.webhook_id, e.subject) e.id, e.ready
      from deliveries e
      join (select distinct f.tenant_id, f.webhook_id, f.subject from deliveries f
            where f.id = any ($1) and f.status <> 'pending') x
        on e.tenant_id = x.tenant_id and e.webhook_id = x.webhook_id and e.subject = x.subject
      where e.status = 'pending'
      order by e.tenant_id, e.webhook_id, e.subject, e.event_seq, e.part) h
where d.id = h.id and not h.ready`, ids)
		b.Queue(`update deliveries d set attempts = d.attempts + 1, lease_until = null, last_attempt_at = r.at,
	response_code = r.code, duration_ms = r.ms, last_error = r.err, next_at = r.next
from unnest($1::bigint[], $2::timestamptz[], $3::bool[], $4::int[], $5::int[], $6::text[], $7::timestamptz[])
	r (id, at, ok, code, ms, err, next)
where d.id = r.id and d.lease_until is not null and not r.ok and r.next is not null`, ids, ats, oks, codes, ms, errs, nexts)
		// The failure streaks: a failure starts one, a success ends it.
		b.Queue(`update webhooks w set failing_since = f.at
from (select tenant_id, webhook_id, min(at) as at from unnest($1::text[], $2::text[], $3::timestamptz[]) x (tenant_id, webhook_id, at)
      group by tenant_id, webhook_id) f
where w.tenant_id = f.tenant_id and w.id = f.webhook_id and w.failing_since is null`, failT, failH, failAt)
		b.Queue(`update webhooks w set failing_since = null
from unnest($1::text[], $2::text[]) x (tenant_id, webhook_id)
where w.tenant_id = x.tenant_id and w.id = x.webhook_id and w.failing_since is not null`, okT, okH)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if len(failT) == 0 {
			return nil
		}
		// Disabled once it has failed for the whole window, or when a
		// delivery gave up after a long streak (store.GaveUpStreak).
		rows, err := tx.Query(ctx, `select `+webhookCols+` from webhooks
where disabled_at is null and failing_since is not null
  and ((tenant_id, id) in (select * from unnest($1::text[], $2::text[])) and failing_since < $3
    or (tenant_id, id) in (select * from unnest($4::text[], $5::text[])) and failing_since < $6)
for update`, failT, failH, disableBefore, gaveUpT, gaveUpH, store.GaveUpBefore(disableBefore))
		if err != nil {
			return err
		}
		hooks, err := pgx.CollectRows(rows, scanWebhook)
		if err != nil || len(hooks) == 0 {
			return err
		}
		now := s.clock()
		b = &pgx.Batch{}
		for _, h := range hooks {
			after := h.Clone()
			after.DisabledAt, after.DisabledReason = &now, store.DisabledReason(*h.FailingSince)
			b.Queue(`update webhooks set disabled_at = $3, disabled_reason = $4 where tenant_id = $1 and id = $2`,
				h.TenantID, h.ID, now, after.DisabledReason)
			b.Queue(auditInsert, auditArgs(h.TenantID, now, store.ActorSystem, store.ActionWebhookDisabled, "webhook", h.ID,
				after.DisabledReason, store.WebhookAudit(h), store.WebhookAudit(after))...)
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// textOrEmpty keeps a receiver's error text storable: PostgreSQL text holds
// no NUL byte and no invalid UTF-8.
func textOrEmpty(s string) string {
	if !textOK(s) {
		return "(unreadable error text)"
	}
	if len(s) > 1000 {
		s = s[:1000]
	}
	return s
}

func (s *Store) PurgeEvents(ctx context.Context, cutoff time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, "PurgeEvents", nil, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock($1)`, int64(chainsLock)); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`delete from deliveries where created_at < $1`, cutoff)
		b.Queue(`delete from events where occurred_at < $1`, cutoff).Exec(func(ct pgconn.CommandTag) error {
			n = ct.RowsAffected()
			return nil
		})
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		// A chain whose head was purged gets its next one; this also
		// repairs any chain left without a head.
		return promoteHeads(ctx, tx)
	})
	return int(n), s.convert("PurgeEvents", err, nil)
}

func (s *Store) OutboxStats(ctx context.Context) (store.OutboxStats, error) {
	var st store.OutboxStats
	var o1, o2 *time.Time
	err := s.pool.QueryRow(ctx, `select (select count(*) from events where seq is null),
	(select min(occurred_at) from events where seq is null),
	(select count(*) from deliveries d join webhooks w on w.tenant_id = d.tenant_id and w.id = d.webhook_id
	  where d.status = 'pending' and w.disabled_at is null),
	(select min(d.created_at) from deliveries d join webhooks w on w.tenant_id = d.tenant_id and w.id = d.webhook_id
	  where d.status = 'pending' and w.disabled_at is null)`).Scan(&st.Unsequenced, &o1, &st.Pending, &o2)
	if err != nil {
		return st, s.convert("OutboxStats", err, nil)
	}
	for _, t := range []*time.Time{o1, o2} {
		if t != nil && (st.Oldest.IsZero() || t.Before(st.Oldest)) {
			st.Oldest = store.Timestamp(*t)
		}
	}
	return st, nil
}

// memberOpsJSON is a group update's membership operations for the audit
// row's members_json (nil: none).
func memberOpsJSON(ops []store.MemberOp) *string {
	if len(ops) == 0 {
		return nil
	}
	s := store.EncodeMemberOps(ops)
	return &s
}
