package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/roster-dev/roster/store"
)

// Outbound events (docs/events.md; the outbox and its triggers are migration
// 0020). Changes write outbox rows through triggers on audit_events and
// seat_events; SequenceEvents makes them events.

// outboxLock is the transaction-scoped advisory lock of the sequencer: one
// process sequences at a time, and a pooler in transaction mode keeps it
// (it lives and dies with the transaction).
const outboxLock = 0x726f737465726576 // "rosterev"

// sequenceBatch is how many outbox rows one pass turns into events.
const sequenceBatch = 2000

type outboxRow struct {
	id       int64
	tx       string
	tenantID string
	source   byte
	seq      int64
}

func newEventID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("postgres: event id: " + err.Error())
	}
	return "evt_" + hex.EncodeToString(b[:])
}

func (s *Store) SequenceEvents(ctx context.Context) (int, error) {
	made := 0
	err := s.inTx(ctx, "SequenceEvents", nil, func(tx pgx.Tx) error {
		var got bool
		if err := tx.QueryRow(ctx, `select pg_try_advisory_xact_lock($1)`, int64(outboxLock)).Scan(&got); err != nil || !got {
			return err // another process is sequencing: its pass takes these rows
		}
		rows, err := tx.Query(ctx, `select id, tx::text, tenant_id, source, source_seq from outbox order by id limit $1`, sequenceBatch)
		if err != nil {
			return err
		}
		outbox, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (outboxRow, error) {
			var o outboxRow
			err := r.Scan(&o.id, &o.tx, &o.tenantID, &o.source, &o.seq)
			return o, err
		})
		if err != nil || len(outbox) == 0 {
			return err
		}
		drafts, err := outboxDrafts(ctx, tx, outbox)
		if err != nil {
			return err
		}
		ids := make([]int64, len(outbox))
		for i, o := range outbox {
			ids[i] = o.id
		}
		b := &pgx.Batch{}
		if len(drafts) > 0 {
			var last int64
			if err := tx.QueryRow(ctx, `select setval('events_seq', nextval('events_seq') + $1 - 1)`, len(drafts)).Scan(&last); err != nil {
				return err
			}
			n := len(drafts)
			seqs, tenants, evIDs, types, subjects, ats, bodies := make([]int64, n), make([]string, n), make([]string, n),
				make([]string, n), make([]string, n), make([]time.Time, n), make([]string, n)
			for i, d := range drafts {
				ev := d.Event(last-int64(n-1-i), newEventID())
				seqs[i], tenants[i], evIDs[i], types[i], subjects[i], ats[i], bodies[i] =
					ev.Seq, ev.TenantID, ev.ID, ev.Type, ev.Subject, ev.OccurredAt, string(ev.Body)
			}
			b.Queue(`insert into events (seq, tenant_id, id, type, subject, occurred_at, body)
select * from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[])`,
				seqs, tenants, evIDs, types, subjects, ats, bodies)
			b.Queue(`insert into deliveries (tenant_id, webhook_id, event_seq, subject, next_at, created_at)
select e.tenant_id, w.id, e.seq, e.subject, $5, $5
from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $6::timestamptz[]) e (seq, tenant_id, type, subject, occurred_at)
join webhooks w on w.tenant_id = e.tenant_id and w.disabled_at is null and (cardinality(w.events) = 0 or e.type = any (w.events))
	and w.created_at <= e.occurred_at
order by e.seq, w.id`, seqs, tenants, types, subjects, s.clock(), ats)
		}
		b.Queue(`delete from outbox where id = any ($1::bigint[])`, ids)
		made = len(drafts)
		return tx.SendBatch(ctx, b).Close()
	})
	return made, s.convert("SequenceEvents", err, nil)
}

// outboxDrafts reads the audit events and ledger entries the outbox rows
// point at and makes their events: transaction by transaction, in the order
// their first rows were written; within one, the audit events' events
// first, then the ledger's, each in writing order (the order the memory
// store makes them in). A row whose source is gone (its tenant was
// deleted) makes nothing.
func outboxDrafts(ctx context.Context, tx pgx.Tx, outbox []outboxRow) ([]store.EventDraft, error) {
	var aT, sT []string
	var aS, sS []int64
	for _, o := range outbox {
		if o.source == 'a' {
			aT, aS = append(aT, o.tenantID), append(aS, o.seq)
		} else {
			sT, sS = append(sT, o.tenantID), append(sS, o.seq)
		}
	}
	type key struct {
		tenant string
		seq    int64
	}
	audit := map[key]store.AuditEvent{}
	seats := map[key]store.SeatEvent{}
	b := &pgx.Batch{}
	b.Queue(`select a.tenant_id, a.seq, a.at, a.actor_kind, a.actor_id, a.actor_name, a.request_id, a.action, a.target_type,
	a.target_id, a.detail, a.before_json, a.after_json, coalesce(a.members_json, '')
from unnest($1::text[], $2::bigint[]) k (tenant_id, seq)
join audit_events a on a.tenant_id = k.tenant_id and a.seq = k.seq`, aT, aS).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var e store.AuditEvent
			var members string
			if err := rows.Scan(&e.TenantID, &e.Seq, &e.Time, &e.Actor.Kind, &e.Actor.ID, &e.Actor.Name, &e.Actor.RequestID,
				&e.Action, &e.TargetType, &e.TargetID, &e.Detail, &e.Before, &e.After, &members); err != nil {
				return err
			}
			e.Time = store.Timestamp(e.Time)
			e.Members = store.DecodeMemberOps(members)
			audit[key{e.TenantID, e.Seq}] = e
		}
		return rows.Err()
	})
	b.Queue(`select s.tenant_id, s.seq, s.at, s.user_id, s.class, s.delta, s.reason, s.actor_kind, s.actor_id, s.actor_name, s.request_id
from unnest($1::text[], $2::bigint[]) k (tenant_id, seq)
join seat_events s on s.tenant_id = k.tenant_id and s.seq = k.seq`, sT, sS).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var e store.SeatEvent
			var class string
			if err := rows.Scan(&e.TenantID, &e.Seq, &e.Time, &e.UserID, &class, &e.Delta, &e.Reason,
				&e.Actor.Kind, &e.Actor.ID, &e.Actor.Name, &e.Actor.RequestID); err != nil {
				return err
			}
			e.Time, e.Class = store.Timestamp(e.Time), store.SeatClass(class)
			seats[key{e.TenantID, e.Seq}] = e
		}
		return rows.Err()
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}

	// Group by transaction, in the order of each one's first row.
	first := map[string]int{}
	for i, o := range outbox {
		if _, ok := first[o.tx]; !ok {
			first[o.tx] = i
		}
	}
	order := slices.Clone(outbox)
	slices.SortStableFunc(order, func(x, y outboxRow) int {
		if fx, fy := first[x.tx], first[y.tx]; fx != fy {
			return fx - fy
		}
		if x.source != y.source { // 'a' (audit) before 's' (seats)
			return int(x.source) - int(y.source)
		}
		return 0
	})
	var drafts []store.EventDraft
	for _, o := range order {
		k := key{o.tenantID, o.seq}
		if o.source == 'a' {
			if e, ok := audit[k]; ok {
				drafts = append(drafts, store.EventsOfAudit(e)...)
			}
		} else if e, ok := seats[k]; ok {
			drafts = append(drafts, store.EventOfSeat(e))
		}
	}
	return drafts, nil
}

func (s *Store) ListEvents(ctx context.Context, tenantID string, after int64, limit int) ([]store.Event, error) {
	if !keysOK(tenantID) {
		return nil, store.ErrNotFound
	}
	rows, err := s.pool.Query(ctx, `select seq, tenant_id, id, type, subject, occurred_at, body
from events where tenant_id = $1 and seq > $2 order by seq limit $3`, tenantID, after, eventLimit(limit))
	if err != nil {
		return nil, s.convert("ListEvents", err, nil)
	}
	out, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, s.convert("ListEvents", err, nil)
	}
	if len(out) == 0 {
		if err := s.tenantExists(ctx, s.pool, "ListEvents", tenantID); err != nil {
			return nil, err
		}
		out = []store.Event{}
	}
	return out, nil
}

func scanEvent(r pgx.CollectableRow) (store.Event, error) {
	var e store.Event
	var body string
	err := r.Scan(&e.Seq, &e.TenantID, &e.ID, &e.Type, &e.Subject, &e.OccurredAt, &body)
	e.OccurredAt, e.Body = store.Timestamp(e.OccurredAt), []byte(body)
	return e, err
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

const deliveryCols = `d.tenant_id, d.id, d.webhook_id, d.event_seq, coalesce(ev.id, ''), coalesce(ev.type, ''), d.subject, d.status,
	d.attempts, d.next_at, d.created_at, d.last_attempt_at, d.response_code, d.duration_ms, d.last_error`

func scanDelivery(r pgx.CollectableRow) (store.Delivery, error) {
	var d store.Delivery
	err := r.Scan(&d.TenantID, &d.ID, &d.WebhookID, &d.EventSeq, &d.EventID, &d.EventType, &d.Subject, &d.Status,
		&d.Attempts, &d.NextAt, &d.CreatedAt, &d.LastAttemptAt, &d.ResponseCode, &d.DurationMS, &d.LastError)
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
from deliveries d left join events ev on ev.seq = d.event_seq
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
	update deliveries set status = 'pending', next_at = $4, lease_until = null
	where tenant_id = $1 and webhook_id = $2 and id = $3 returning *)
select `+deliveryCols+` from d left join events ev on ev.seq = d.event_seq`, tenantID, webhookID, id, now)
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
	rows, err := s.pool.Query(ctx, `with due as (
	select d.id from deliveries d
	join webhooks w on w.tenant_id = d.tenant_id and w.id = d.webhook_id
	where d.status = 'pending' and d.next_at <= $1 and (d.lease_until is null or d.lease_until <= $1)
	  and w.disabled_at is null
	  and not exists (select 1 from deliveries e
	      where e.tenant_id = d.tenant_id and e.webhook_id = d.webhook_id and e.subject = d.subject
	        and e.status = 'pending' and e.event_seq < d.event_seq)
	order by d.next_at, d.event_seq
	limit $3
	for update of d skip locked)
update deliveries d set lease_until = $2
from due, events ev, webhooks w
where d.id = due.id and ev.seq = d.event_seq and w.tenant_id = d.tenant_id and w.id = d.webhook_id
returning d.tenant_id, d.id, d.webhook_id, d.event_seq, d.subject, d.attempts, d.next_at, d.created_at,
	ev.id, ev.type, ev.occurred_at, ev.body, w.tenant_id, w.id, w.url, w.events, w.secret, w.created_at,
	w.created_by_kind, w.created_by_id, w.created_by_name, w.failing_since, w.disabled_at, w.disabled_reason`, now, now.Add(lease), limit)
	if err != nil {
		return nil, s.convert("ClaimDeliveries", err, nil)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Claim, error) {
		var c store.Claim
		var body string
		d, w := &c.Delivery, &c.Webhook
		err := r.Scan(&d.TenantID, &d.ID, &d.WebhookID, &d.EventSeq, &d.Subject, &d.Attempts, &d.NextAt, &d.CreatedAt,
			&c.Event.ID, &c.Event.Type, &c.Event.OccurredAt, &body,
			&w.TenantID, &w.ID, &w.URL, &w.Events, &w.Secret, &w.CreatedAt, &w.CreatedBy.Kind, &w.CreatedBy.ID,
			&w.CreatedBy.Name, &w.FailingSince, &w.DisabledAt, &w.DisabledReason)
		d.Status, d.EventID, d.EventType = store.DeliveryPending, c.Event.ID, c.Event.Type
		c.Event.Seq, c.Event.TenantID, c.Event.Subject, c.Event.Body = d.EventSeq, d.TenantID, d.Subject, []byte(body)
		return c, err
	})
	if err != nil {
		return nil, s.convert("ClaimDeliveries", err, nil)
	}
	// Deliveries go out oldest event first (the statement's order is lost
	// in the update).
	slices.SortFunc(out, func(a, b store.Claim) int { return int(a.Event.Seq - b.Event.Seq) })
	return out, nil
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
		b := &pgx.Batch{}
		b.Queue(`update deliveries d set attempts = d.attempts + 1, lease_until = null, last_attempt_at = r.at,
	response_code = r.code, duration_ms = r.ms, last_error = r.err,
	status = case when r.ok then 'delivered' when r.next is null then 'failed' else 'pending' end,
	next_at = coalesce(r.next, d.next_at)
from unnest($1::bigint[], $2::timestamptz[], $3::bool[], $4::int[], $5::int[], $6::text[], $7::timestamptz[])
	r (id, at, ok, code, ms, err, next)
where d.id = r.id and d.lease_until is not null`, ids, ats, oks, codes, ms, errs, nexts)
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
		// delivery gave up (it failed for its whole window).
		rows, err := tx.Query(ctx, `select `+webhookCols+` from webhooks
where disabled_at is null and failing_since is not null
  and ((tenant_id, id) in (select * from unnest($1::text[], $2::text[])) and failing_since < $3
    or (tenant_id, id) in (select * from unnest($4::text[], $5::text[])))
for update`, failT, failH, disableBefore, gaveUpT, gaveUpH)
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
		b := &pgx.Batch{}
		b.Queue(`delete from deliveries where created_at < $1`, cutoff)
		b.Queue(`delete from events where occurred_at < $1`, cutoff).Exec(func(ct pgconn.CommandTag) error {
			n = ct.RowsAffected()
			return nil
		})
		return tx.SendBatch(ctx, b).Close()
	})
	return int(n), s.convert("PurgeEvents", err, nil)
}

func (s *Store) OutboxStats(ctx context.Context) (store.OutboxStats, error) {
	var st store.OutboxStats
	var o1, o2 *time.Time
	err := s.pool.QueryRow(ctx, `select (select count(*) from outbox), (select min(created_at) from outbox),
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
