package memory

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/roster-dev/roster/store"
)

// Outbound events (docs/events.md). The memory store commits a change when
// it appends its audit event under the store's one mutex, so it makes the
// change's events right then: a change that fails before that makes none,
// and Seq is commit order.

// eventHub is what all tenants share: the sequence of events and of
// deliveries.
type eventHub struct {
	seq        int64
	deliveryID int64
}

// tenantEvents is a tenant's events, endpoints and deliveries.
type tenantEvents struct {
	hub        *eventHub
	seatDrafts []store.EventDraft // a change's ledger entries until its audit event
	events     []store.Event
	hooks      map[string]*hookRec
	hookOrder  []string
}

type hookRec struct {
	w          store.Webhook
	deliveries []*deliveryRec // creation order
	byID       map[int64]*deliveryRec
}

type deliveryRec struct {
	d          store.Delivery
	ev         store.Event
	leaseUntil time.Time
}

// emit numbers the events one audit event or ledger entry made (one Seq,
// one Part each) and queues their deliveries.
func (te *tenantEvents) emit(drafts ...store.EventDraft) {
	if len(drafts) == 0 {
		return
	}
	te.hub.seq++
	for part, d := range drafts {
		ev := d.Event(te.hub.seq, part)
		te.events = append(te.events, ev)
		for _, id := range te.hookOrder {
			h := te.hooks[id]
			if h.w.DisabledAt != nil || !h.w.Wants(ev.Type) {
				continue
			}
			te.hub.deliveryID++
			r := &deliveryRec{ev: ev, d: store.Delivery{TenantID: ev.TenantID, ID: te.hub.deliveryID, WebhookID: id,
				EventSeq: ev.Seq, EventID: ev.ID, EventType: ev.Type, Subject: ev.Subject, Status: store.DeliveryPending,
				NextAt: ev.OccurredAt, CreatedAt: ev.OccurredAt}}
			h.deliveries = append(h.deliveries, r)
			h.byID[r.d.ID] = r
		}
	}
}

// SequenceEvents has nothing to do: events are made as changes commit.
func (s *Store) SequenceEvents(context.Context) (int, error) { return 0, nil }

func (s *Store) WebhooksEnabled(context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tenants {
		for _, h := range t.ev.hooks {
			if h.w.DisabledAt == nil {
				return true, nil
			}
		}
	}
	return false, nil
}

func (s *Store) ListEvents(_ context.Context, tenantID string, after int64, limit int) ([]store.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	limit = eventLimit(limit)
	evs := t.ev.events
	i, _ := slices.BinarySearchFunc(evs, after+1, func(e store.Event, seq int64) int { return int(e.Seq - seq) })
	out := []store.Event{}
	for ; i < len(evs) && (len(out) < limit || evs[i].Seq == out[len(out)-1].Seq); i++ {
		out = append(out, evs[i])
	}
	return out, nil
}

func (s *Store) CreateWebhook(_ context.Context, tenantID string, w store.Webhook, by store.Actor) (store.Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.Webhook{}, err
	}
	if t.ev.hooks == nil {
		t.ev.hooks = map[string]*hookRec{}
	}
	if _, ok := t.ev.hooks[w.ID]; ok {
		return store.Webhook{}, &store.ConflictError{Field: "id", Value: w.ID}
	}
	w = w.Clone()
	if w.Events == nil {
		w.Events = []string{}
	}
	w.TenantID, w.CreatedAt, w.CreatedBy = tenantID, s.clock(), store.Actor{Kind: by.Kind, ID: by.ID, Name: by.Name}
	w.FailingSince, w.DisabledAt, w.DisabledReason = nil, nil, ""
	t.ev.hooks[w.ID] = &hookRec{w: w, byID: map[int64]*deliveryRec{}}
	t.ev.hookOrder = append(t.ev.hookOrder, w.ID)
	t.appendAudit(store.AuditEvent{Time: w.CreatedAt, Actor: by, Action: store.ActionWebhookCreated, TargetType: "webhook",
		TargetID: w.ID, After: store.WebhookAudit(w)})
	return w.Clone(), nil
}

func (s *Store) hook(tenantID, id string) (*tenant, *hookRec, error) {
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, nil, err
	}
	h, ok := t.ev.hooks[id]
	if !ok {
		return nil, nil, store.ErrNotFound
	}
	return t, h, nil
}

func (s *Store) GetWebhook(_ context.Context, tenantID, id string) (store.Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, h, err := s.hook(tenantID, id)
	if err != nil {
		return store.Webhook{}, err
	}
	return h.w.Clone(), nil
}

func (s *Store) ListWebhooks(_ context.Context, tenantID string) ([]store.Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	out := []store.Webhook{}
	for _, id := range t.ev.hookOrder {
		out = append(out, t.ev.hooks[id].w.Clone())
	}
	return out, nil
}

func (s *Store) DeleteWebhook(_ context.Context, tenantID, id string, by store.Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, h, err := s.hook(tenantID, id)
	if err != nil {
		return err
	}
	delete(t.ev.hooks, id)
	t.ev.hookOrder = slices.DeleteFunc(t.ev.hookOrder, func(x string) bool { return x == id })
	t.appendAudit(store.AuditEvent{Time: s.clock(), Actor: by, Action: store.ActionWebhookDeleted, TargetType: "webhook",
		TargetID: id, Before: store.WebhookAudit(h.w)})
	return nil
}

func (s *Store) EnableWebhook(_ context.Context, tenantID, id string, by store.Actor) (store.Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, h, err := s.hook(tenantID, id)
	if err != nil {
		return store.Webhook{}, err
	}
	if h.w.DisabledAt == nil && h.w.FailingSince == nil {
		return h.w.Clone(), nil
	}
	before := h.w.Clone()
	h.w.DisabledAt, h.w.DisabledReason, h.w.FailingSince = nil, "", nil
	t.appendAudit(store.AuditEvent{Time: s.clock(), Actor: by, Action: store.ActionWebhookEnabled, TargetType: "webhook",
		TargetID: id, Before: store.WebhookAudit(before), After: store.WebhookAudit(h.w)})
	return h.w.Clone(), nil
}

func (s *Store) ListDeliveries(_ context.Context, tenantID, webhookID string, q store.DeliveryQuery) ([]store.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, h, err := s.hook(tenantID, webhookID)
	if err != nil {
		return nil, err
	}
	limit := eventLimit(q.Limit)
	out := []store.Delivery{}
	for i := len(h.deliveries) - 1; i >= 0 && len(out) < limit; i-- {
		d := h.deliveries[i].d
		if (q.Before > 0 && d.ID >= q.Before) || (q.Status != "" && d.Status != q.Status) {
			continue
		}
		out = append(out, cloneDelivery(d))
	}
	return out, nil
}

func cloneDelivery(d store.Delivery) store.Delivery {
	if d.LastAttemptAt != nil {
		at := *d.LastAttemptAt
		d.LastAttemptAt = &at
	}
	return d
}

func (s *Store) RetryDelivery(_ context.Context, tenantID, webhookID string, id int64, by store.Actor) (store.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, h, err := s.hook(tenantID, webhookID)
	if err != nil {
		return store.Delivery{}, err
	}
	r, ok := h.byID[id]
	if !ok {
		return store.Delivery{}, store.ErrNotFound
	}
	now := s.clock()
	r.d.Status, r.d.NextAt, r.leaseUntil = store.DeliveryPending, now, time.Time{}
	t.appendAudit(store.AuditEvent{Time: now, Actor: by, Action: store.ActionDeliveryRetried, TargetType: "webhook",
		TargetID: webhookID, Detail: "delivery " + strconv.FormatInt(id, 10) + " of event " + r.d.EventID + " queued again"})
	return cloneDelivery(r.d), nil
}

func (s *Store) ClaimDeliveries(_ context.Context, now time.Time, lease time.Duration, limit int) ([]store.Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Claim
	for _, tid := range s.order {
		t := s.tenants[tid]
		for _, hid := range t.ev.hookOrder {
			h := t.ev.hooks[hid]
			if h.w.DisabledAt != nil {
				continue
			}
			blocked := map[string]bool{} // subjects with an earlier pending delivery
			for _, r := range h.deliveries {
				if len(out) == limit {
					return out, nil
				}
				if r.d.Status != store.DeliveryPending {
					continue
				}
				if blocked[r.d.Subject] {
					continue
				}
				blocked[r.d.Subject] = true
				if r.d.NextAt.After(now) || r.leaseUntil.After(now) {
					continue
				}
				r.leaseUntil = now.Add(lease)
				out = append(out, store.Claim{Delivery: cloneDelivery(r.d), Event: r.ev, Webhook: h.w.Clone()})
			}
		}
	}
	return out, nil
}

func (s *Store) FinishDeliveries(_ context.Context, results []store.DeliveryResult, disableBefore time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, res := range results {
		t, h, err := s.hook(res.TenantID, res.WebhookID)
		if err != nil {
			continue // the endpoint or tenant is gone: nothing to record
		}
		r, ok := h.byID[res.ID]
		if !ok || r.leaseUntil.IsZero() {
			continue
		}
		at := store.Timestamp(res.At)
		r.leaseUntil = time.Time{}
		r.d.Attempts++
		r.d.LastAttemptAt, r.d.ResponseCode, r.d.DurationMS, r.d.LastError = &at, res.ResponseCode, res.DurationMS, res.Error
		switch {
		case res.Delivered:
			r.d.Status = store.DeliveryDelivered
			h.w.FailingSince = nil
		case res.NextAt.IsZero():
			r.d.Status = store.DeliveryFailed
		default:
			r.d.NextAt = store.Timestamp(res.NextAt)
		}
		if !res.Delivered {
			if h.w.FailingSince == nil {
				h.w.FailingSince = &at
			}
			// Disabled once it has failed for the whole window, or when a
			// delivery gave up after a long streak (store.GaveUpStreak).
			gaveUp := res.NextAt.IsZero() && store.GaveUpDisables(*h.w.FailingSince, disableBefore)
			if h.w.DisabledAt == nil && (h.w.FailingSince.Before(disableBefore) || gaveUp) {
				before := h.w.Clone()
				now := s.clock()
				h.w.DisabledAt, h.w.DisabledReason = &now, store.DisabledReason(*h.w.FailingSince)
				t.appendAudit(store.AuditEvent{Time: now, Actor: store.ActorSystem, Action: store.ActionWebhookDisabled,
					TargetType: "webhook", TargetID: h.w.ID, Detail: h.w.DisabledReason,
					Before: store.WebhookAudit(before), After: store.WebhookAudit(h.w)})
			}
		}
	}
	return nil
}

func (s *Store) PurgeEvents(_ context.Context, cutoff time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.tenants {
		keep := t.ev.events[:0]
		for _, e := range t.ev.events {
			if e.OccurredAt.Before(cutoff) {
				n++
				continue
			}
			keep = append(keep, e)
		}
		clear(t.ev.events[len(keep):])
		t.ev.events = keep
		for _, h := range t.ev.hooks {
			h.deliveries = slices.DeleteFunc(h.deliveries, func(r *deliveryRec) bool {
				gone := r.d.CreatedAt.Before(cutoff)
				if gone {
					delete(h.byID, r.d.ID)
				}
				return gone
			})
		}
	}
	return n, nil
}

func (s *Store) OutboxStats(context.Context) (store.OutboxStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st store.OutboxStats
	for _, t := range s.tenants {
		for _, h := range t.ev.hooks {
			if h.w.DisabledAt != nil {
				continue
			}
			for _, r := range h.deliveries {
				if r.d.Status == store.DeliveryPending {
					st.Pending++
					if st.Oldest.IsZero() || r.d.CreatedAt.Before(st.Oldest) {
						st.Oldest = r.d.CreatedAt
					}
				}
			}
		}
	}
	return st, nil
}
