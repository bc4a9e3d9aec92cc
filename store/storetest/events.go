package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// Events drains the outbox (SequenceEvents until it makes nothing) and
// answers all of a tenant's events, oldest first.
func Events(t testing.TB, s store.Store, tenant string) []store.Event {
	t.Helper()
	for {
		n, err := s.SequenceEvents(ctx)
		require.NoError(t, err)
		if n == 0 {
			break
		}
	}
	var out []store.Event
	after := int64(0)
	for {
		page, err := s.ListEvents(ctx, tenant, after, 7)
		require.NoError(t, err)
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
}

// EventTypesOf lists the events' types.
func EventTypesOf(evs []store.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

// eventJSON is an event body as a receiver reads it.
type eventJSON struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	Tenant     string    `json:"tenant"`
	OccurredAt time.Time `json:"occurred_at"`
	Actor      struct {
		Kind, ID, Name string
	} `json:"actor"`
	Data map[string]json.RawMessage `json:"data"`
}

func decodeEvent(t testing.TB, e store.Event) eventJSON {
	t.Helper()
	var b eventJSON
	require.NoError(t, json.Unmarshal(e.Body, &b), string(e.Body))
	require.Equal(t, e.ID, b.ID)
	require.Equal(t, e.Type, b.Type)
	require.Equal(t, e.TenantID, b.Tenant)
	return b
}

func dataField[T any](t testing.TB, b eventJSON, name string) T {
	t.Helper()
	var v T
	require.Contains(t, b.Data, name)
	require.NoError(t, json.Unmarshal(b.Data[name], &v))
	return v
}

// testEventsOfChanges: each kind of change makes its events, in the order
// of the changes and, within one, the record's events before its seat's;
// bodies carry the tenant, the actor under its event name, and the record
// in the admin API's shape.
func testEventsOfChanges(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	newTenant(t, s, "globex", 10)
	assert.Empty(t, Events(t, s, "acme"), "creating a tenant tells no integrator anything")

	u := newUser(t, s, "acme", "ann@x.com", true)
	other := newUser(t, s, "globex", "bob@x.com", true)
	require.NoError(t, setActive(t, s, "acme", u.ID, false))
	require.NoError(t, setActive(t, s, "acme", u.ID, true))
	_, err := s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error {
		x.DisplayName, x.Title = "Ann", "Lead"
		return nil
	})
	require.NoError(t, err)
	_, err = s.UpdateUser(ctx, "acme", u.ID, store.ActorSystem, func(x *store.User) error {
		now := clock.Now()
		x.LastActiveAt = &now // bookkeeping only: no event
		return nil
	})
	require.NoError(t, err)
	g, err := s.CreateGroup(ctx, "acme", store.Group{DisplayName: "Support"}, token)
	require.NoError(t, err)
	_, err = s.UpdateGroup(ctx, "acme", g.ID, token, func(up *store.GroupUpdate) error {
		up.Group.DisplayName = "Support EU"
		up.Members = []store.MemberOp{{Kind: store.MembersAdd, UserIDs: []string{u.ID}}}
		return nil
	})
	require.NoError(t, err)
	_, err = s.UpdateGroup(ctx, "acme", g.ID, token, func(up *store.GroupUpdate) error {
		up.Members = []store.MemberOp{{Kind: store.MembersRemove, UserIDs: []string{u.ID}}}
		return nil
	})
	require.NoError(t, err)
	_, err = s.UpdateGroup(ctx, "acme", g.ID, token, func(up *store.GroupUpdate) error {
		up.Members = []store.MemberOp{{Kind: store.MembersReplace, UserIDs: []string{u.ID}}}
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, s.DeleteGroup(ctx, "acme", g.ID, token))
	tok, err := s.CreateToken(ctx, "acme", store.Token{ID: "tok-2", Name: "okta", Hash: []byte{1}}, store.ActorAdmin)
	require.NoError(t, err)
	require.NoError(t, s.RevokeToken(ctx, "acme", tok.ID, clock.Now(), store.ActorAdmin))
	require.NoError(t, s.DeleteUser(ctx, "acme", u.ID, token))

	evs := Events(t, s, "acme")
	assert.Equal(t, []string{
		"user.created", "seat.consumed",
		"user.deactivated", "seat.released",
		"user.reactivated", "seat.consumed",
		"user.updated",
		"team.created", "team.updated", "team.members_added", "team.members_removed", "team.updated", "team.deleted",
		"token.created", "token.revoked",
		"user.deleted", "seat.released",
	}, EventTypesOf(evs))
	seen := map[string]bool{}
	for i, e := range evs {
		assert.True(t, strings.HasPrefix(e.ID, "evt_"), e.ID)
		assert.False(t, seen[e.ID], "ids are unique")
		seen[e.ID] = true
		if i > 0 {
			assert.GreaterOrEqual(t, e.Seq, evs[i-1].Seq, "Seq grows")
		}
		assert.Equal(t, "acme", e.TenantID)
	}

	created := decodeEvent(t, evs[0])
	assert.Equal(t, "scim_token", created.Actor.Kind)
	assert.Equal(t, token.ID, created.Actor.ID)
	user := dataField[map[string]any](t, created, "user")
	assert.Equal(t, u.ID, user["id"])
	assert.Equal(t, "ann@x.com", user["userName"])
	assert.Equal(t, "full", user["seat"])
	assert.Equal(t, true, user["active"])
	assert.Equal(t, u.ID, evs[0].Subject, "a user's events are ordered by the user")

	seat := decodeEvent(t, evs[1])
	assert.Equal(t, u.ID, dataField[string](t, seat, "user_id"))
	assert.Equal(t, "full", dataField[string](t, seat, "seat"))
	assert.Equal(t, store.ReasonProvisioned, dataField[string](t, seat, "reason"))
	assert.Equal(t, u.ID, evs[1].Subject)

	off := decodeEvent(t, evs[2])
	assert.Equal(t, false, dataField[map[string]any](t, off, "user")["active"])
	upd := decodeEvent(t, evs[6])
	assert.Equal(t, []string{"displayName", "title"}, dataField[[]string](t, upd, "changed"))

	renamed := decodeEvent(t, evs[8])
	assert.Equal(t, "Support", dataField[string](t, renamed, "previous_name"))
	assert.Equal(t, "Support EU", dataField[map[string]any](t, renamed, "team")["name"])
	added := decodeEvent(t, evs[9])
	assert.Equal(t, []string{u.ID}, dataField[[]string](t, added, "users"))
	// The member count is the group's after the change (PostgreSQL counts
	// it in the audit insert itself).
	for i, want := range map[int]float64{8: 1, 9: 1, 10: 0, 11: 1} {
		assert.Equal(t, want, dataField[map[string]any](t, decodeEvent(t, evs[i]), "team")["member_count"], "member_count of %s", evs[i].Type)
	}
	assert.Equal(t, "team:"+g.ID, evs[9].Subject)
	replaced := decodeEvent(t, evs[11])
	assert.Equal(t, []string{u.ID}, dataField[[]string](t, replaced, "members_replaced"))
	tokEv := decodeEvent(t, evs[13])
	assert.Equal(t, "operator", tokEv.Actor.Kind)
	assert.NotContains(t, string(evs[13].Body), "hash", "a token event never carries its hash")
	gone := decodeEvent(t, evs[15])
	assert.Equal(t, "ann@x.com", dataField[map[string]any](t, gone, "user")["userName"])

	g2 := Events(t, s, "globex")
	assert.Equal(t, []string{"user.created", "seat.consumed"}, EventTypesOf(g2), "each tenant sees its own")
	assert.Equal(t, other.ID, g2[0].Subject)
	_, err = s.ListEvents(ctx, "nope", 0, 10)
	assert.ErrorIs(t, err, store.ErrNotFound)

	// SSO configured and removed.
	_, err = s.PutSAMLConfig(ctx, "acme", store.SAMLConfig{MetadataXML: "<x/>", EntityID: "https://idp.example",
		SSOURL: "https://idp.example/sso", CertNotAfter: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, store.ActorAdmin)
	require.NoError(t, err)
	require.NoError(t, s.DeleteSAMLConfig(ctx, "acme", store.ActorAdmin))
	tail := Events(t, s, "acme")[len(evs):]
	assert.Equal(t, []string{"sso.configured", "sso.removed"}, EventTypesOf(tail))
}

// testEventsFailedChangesMakeNone: a change the store refuses (the seat
// cap, a closure's error, a unique userName) makes no event.
func testEventsFailedChangesMakeNone(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 1)
	u := newUser(t, s, "acme", "ann@x.com", true)
	var err error
	for i := 0; err == nil; i++ { // up to the cap (a paid plan's minimum may exceed the seats bought)
		require.Less(t, i, 1000)
		_, err = s.CreateUser(ctx, "acme", store.User{UserName: fmt.Sprintf("u%d@x.com", i), Active: true, Role: store.RoleAgent}, token)
	}
	require.ErrorIs(t, err, store.ErrSeatLimit)
	before := Events(t, s, "acme")
	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "bob@x.com", Active: true, Role: store.RoleAgent}, token)
	require.ErrorIs(t, err, store.ErrSeatLimit)
	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "ANN@x.com", Role: store.RoleAgent}, token)
	require.ErrorIs(t, err, store.ErrConflict)
	boom := errors.New("boom")
	_, err = s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error { x.Active = false; return boom })
	require.ErrorIs(t, err, boom)
	_, err = s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error { return nil })
	require.NoError(t, err, "an update that changes nothing")
	assert.Equal(t, before, Events(t, s, "acme"), "nothing refused or unchanged made an event")
}

// testEventsOrderedPerUser: concurrent changes of the same users come out
// in the order they committed, user by user.
func testEventsOrderedPerUser(t *testing.T, open Factory) {
	s := open(t, time.Now)
	newTenant(t, s, "acme", 100)
	const users, writers, rounds = 4, 8, 6
	ids := make([]string, users)
	for i := range ids {
		ids[i] = newUser(t, s, "acme", fmt.Sprintf("u%d@x.com", i), true).ID
	}
	var counter atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				id := ids[(w+r)%users]
				// The closure runs under the user's lock: the counter's
				// order is the commit order of this user's changes.
				_, err := s.UpdateUser(ctx, "acme", id, token, func(x *store.User) error {
					x.DisplayName = fmt.Sprintf("v%06d", counter.Add(1))
					return nil
				})
				assert.NoError(t, err)
				if w%2 == 0 { // sequencing races the writers too
					_, err := s.SequenceEvents(ctx)
					assert.NoError(t, err)
				}
			}
		}()
	}
	wg.Wait()
	last := map[string]string{}
	n := 0
	for _, e := range Events(t, s, "acme") {
		if e.Type != "user.updated" {
			continue
		}
		n++
		name := dataField[map[string]any](t, decodeEvent(t, e), "user")["displayName"].(string)
		assert.Greater(t, name, last[e.Subject], "user %s's changes in commit order", e.Subject)
		last[e.Subject] = name
	}
	assert.Equal(t, writers*rounds, n, "every change made its event")
}

// testWebhookDeliveries: an endpoint gets the events it wants from its
// creation on; deliveries are claimed one per subject at a time, leased,
// retried when due, disabled after failing for the whole window, enabled
// again, retried by hand, and listed with their last attempt.
func testWebhookDeliveries(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	newUser(t, s, "acme", "early@x.com", true)
	Events(t, s, "acme") // made into events before the endpoints exist: never delivered to them
	all, err := s.CreateWebhook(ctx, "acme", store.Webhook{ID: "wh-all", URL: "https://a.example/h", Secret: "whsec_AAAA"}, store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, []string{}, all.Events)
	off, err := s.CreateWebhook(ctx, "acme", store.Webhook{ID: "wh-off", URL: "https://b.example/h", Secret: "whsec_BBBB",
		Events: []string{"user.deactivated"}}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.CreateWebhook(ctx, "acme", store.Webhook{ID: "wh-off", URL: "https://c.example/h", Secret: "whsec_C"}, store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrConflict)
	_, err = s.CreateWebhook(ctx, "nope", store.Webhook{ID: "wh-x", URL: "https://c.example/h", Secret: "whsec_C"}, store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrNotFound)
	hooks, err := s.ListWebhooks(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, hooks, 2)
	assert.Equal(t, "whsec_AAAA", hooks[0].Secret, "the store keeps the secret to sign with")

	u := newUser(t, s, "acme", "ann@x.com", true)
	require.NoError(t, setActive(t, s, "acme", u.ID, false))
	Events(t, s, "acme")

	now := clock.Now()
	claim := func() []store.Claim {
		t.Helper()
		cs, err := s.ClaimDeliveries(ctx, now, time.Minute, 100)
		require.NoError(t, err)
		return cs
	}
	got := claim()
	// wh-all: u's user.created (seat.consumed, user.deactivated and
	// seat.released wait behind it); wh-off: u's user.deactivated.
	require.Len(t, got, 2)
	byHook := map[string]store.Claim{}
	for _, c := range got {
		byHook[c.Webhook.ID] = c
	}
	assert.Equal(t, "user.created", byHook["wh-all"].Event.Type)
	assert.Equal(t, "user.deactivated", byHook["wh-off"].Event.Type)
	assert.Equal(t, "https://b.example/h", byHook["wh-off"].Webhook.URL)
	assert.Contains(t, string(byHook["wh-all"].Event.Body), `"type":"user.created"`)
	assert.Empty(t, claim(), "leased deliveries are not claimed again")

	// The first succeeds, the second fails and is due again in 5 seconds.
	require.NoError(t, s.FinishDeliveries(ctx, []store.DeliveryResult{
		{TenantID: "acme", ID: byHook["wh-all"].Delivery.ID, WebhookID: "wh-all", At: now, Delivered: true, ResponseCode: 204, DurationMS: 3},
		{TenantID: "acme", ID: byHook["wh-off"].Delivery.ID, WebhookID: "wh-off", At: now, ResponseCode: 500, DurationMS: 9,
			Error: "HTTP 500: oops", NextAt: now.Add(5 * time.Second)},
	}, now.Add(-store.DeliveryWindow)))
	next := claim()
	require.Len(t, next, 1, "wh-off's only delivery waits for its time")
	assert.Equal(t, "seat.consumed", next[0].Event.Type, "then the user's next event")
	offHook, err := s.GetWebhook(ctx, "acme", "wh-off")
	require.NoError(t, err)
	require.NotNil(t, offHook.FailingSince, "a failure starts the streak")
	assert.Nil(t, offHook.DisabledAt)

	// A lease that runs out (its deliverer died) makes the delivery claimable.
	now = now.Add(2 * time.Minute)
	again := claim()
	types := map[string]string{}
	for _, c := range again {
		types[c.Webhook.ID] = c.Event.Type
	}
	assert.Equal(t, map[string]string{"wh-all": "seat.consumed", "wh-off": "user.deactivated"}, types)

	log, err := s.ListDeliveries(ctx, "acme", "wh-off", store.DeliveryQuery{})
	require.NoError(t, err)
	require.Len(t, log, 1)
	assert.Equal(t, 1, log[0].Attempts)
	assert.Equal(t, 500, log[0].ResponseCode)
	assert.Equal(t, 9, log[0].DurationMS)
	assert.Equal(t, "HTTP 500: oops", log[0].LastError)
	assert.Equal(t, store.DeliveryPending, log[0].Status)
	assert.Equal(t, "user.deactivated", log[0].EventType)

	// Failing for longer than the window disables the endpoint, audited.
	offClaim := again[0]
	if offClaim.Webhook.ID != "wh-off" {
		offClaim = again[1]
	}
	later := offHook.FailingSince.Add(store.DeliveryWindow + time.Hour)
	clock.Set(later)
	require.NoError(t, s.FinishDeliveries(ctx, []store.DeliveryResult{
		{TenantID: "acme", ID: offClaim.Delivery.ID, WebhookID: "wh-off", At: later, ResponseCode: 0, Error: "connection refused"},
	}, later.Add(-store.DeliveryWindow)))
	offHook, err = s.GetWebhook(ctx, "acme", "wh-off")
	require.NoError(t, err)
	require.NotNil(t, offHook.DisabledAt)
	assert.Contains(t, offHook.DisabledReason, "every delivery failed since")
	log, err = s.ListDeliveries(ctx, "acme", "wh-off", store.DeliveryQuery{})
	require.NoError(t, err)
	assert.Equal(t, store.DeliveryFailed, log[0].Status, "no next time: failed")
	assert.Equal(t, 2, log[0].Attempts)
	assert.Contains(t, AuditActions(t, s, "acme", store.EventQuery{Limit: 1000}), store.ActionWebhookDisabled)

	// Retried by hand, it is pending again, but a disabled endpoint gets
	// nothing until it is enabled.
	d, err := s.RetryDelivery(ctx, "acme", "wh-off", log[0].ID, store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, store.DeliveryPending, d.Status)
	now = later
	for _, c := range claim() {
		assert.NotEqual(t, "wh-off", c.Webhook.ID, "a disabled endpoint gets nothing")
	}
	en, err := s.EnableWebhook(ctx, "acme", "wh-off", store.ActorAdmin)
	require.NoError(t, err)
	assert.Nil(t, en.DisabledAt)
	assert.Nil(t, en.FailingSince)
	now = later.Add(time.Hour)
	var retried *store.Claim
	for _, c := range claim() {
		if c.Webhook.ID == "wh-off" {
			retried = &c
		}
	}
	require.NotNil(t, retried, "enabled again, its pending delivery goes out")

	// It is past its window: failing once more, it has failed for good —
	// and the endpoint, enabled an hour ago, stays enabled.
	clock.Set(now)
	require.NoError(t, s.FinishDeliveries(ctx, []store.DeliveryResult{
		{TenantID: "acme", ID: retried.Delivery.ID, WebhookID: "wh-off", At: now, ResponseCode: 503, Error: "HTTP 503"},
	}, now.Add(-store.DeliveryWindow)))
	offHook, err = s.GetWebhook(ctx, "acme", "wh-off")
	require.NoError(t, err)
	assert.Nil(t, offHook.DisabledAt, "a delivery that gives up does not disable an endpoint failing for less than the window")
	require.NotNil(t, offHook.FailingSince)
	log, err = s.ListDeliveries(ctx, "acme", "wh-off", store.DeliveryQuery{})
	require.NoError(t, err)
	assert.Equal(t, store.DeliveryFailed, log[0].Status)
	_, err = s.RetryDelivery(ctx, "acme", "wh-off", 1<<40, store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrNotFound)

	// Deleting an endpoint deletes its log; audit never carries a secret.
	require.NoError(t, s.DeleteWebhook(ctx, "acme", off.ID, store.ActorAdmin))
	_, err = s.ListDeliveries(ctx, "acme", off.ID, store.DeliveryQuery{})
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, s.DeleteWebhook(ctx, "acme", off.ID, store.ActorAdmin), store.ErrNotFound)
	trail, err := s.ListAudit(ctx, "acme", store.EventQuery{Limit: 1000})
	require.NoError(t, err)
	for _, e := range trail {
		assert.NotContains(t, e.Before+e.After, "whsec_", e.Action)
	}
}

// testEventsPurged: events older than the cutoff go, with their
// deliveries, whatever became of them.
func testEventsPurged(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	_, err := s.CreateWebhook(ctx, "acme", store.Webhook{ID: "wh", URL: "https://a.example/h", Secret: "whsec_AAAA"}, store.ActorAdmin)
	require.NoError(t, err)
	newUser(t, s, "acme", "old@x.com", true)
	old := Events(t, s, "acme")
	require.Len(t, old, 2)
	clock.Advance(40 * 24 * time.Hour)
	newUser(t, s, "acme", "new@x.com", true)
	require.Len(t, Events(t, s, "acme"), 4)
	n, err := s.PurgeEvents(ctx, clock.Now().Add(-store.EventRetention))
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	left := Events(t, s, "acme")
	require.Len(t, left, 2)
	assert.Greater(t, left[0].Seq, old[1].Seq)
	log, err := s.ListDeliveries(ctx, "acme", "wh", store.DeliveryQuery{})
	require.NoError(t, err)
	statuses := map[string]int{}
	for _, d := range log {
		statuses[d.Status]++
	}
	assert.Equal(t, map[string]int{store.DeliveryPending: 2}, statuses)
	st, err := s.OutboxStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, st.Pending)
	assert.Equal(t, 0, st.Unsequenced)

	// A chain whose head was purged goes on: new@x.com's deliveries are
	// still pending when it is deactivated 40 days later; the purge takes
	// its user.created (the head) and seat.consumed, and the deactivation
	// must head the chain now.
	nu, err := s.GetUserByUserName(ctx, "acme", "new@x.com")
	require.NoError(t, err)
	clock.Advance(40 * 24 * time.Hour)
	require.NoError(t, setActive(t, s, "acme", nu.ID, false))
	Events(t, s, "acme")
	_, err = s.PurgeEvents(ctx, clock.Now().Add(-time.Minute))
	require.NoError(t, err)
	var types []string
	for _, c := range claimAll(t, s, clock.Now()) {
		assert.Equal(t, nu.ID, c.Event.Subject)
		types = append(types, c.Event.Type)
	}
	assert.Equal(t, []string{"user.deactivated", "seat.released"}, types, "the deactivation heads the chain now, in order")
}

// claimAll claims every delivery due at now, a chain head at a time,
// finishing each as delivered, and answers them in claim order.
func claimAll(t *testing.T, s store.Store, now time.Time) []store.Claim {
	t.Helper()
	var out []store.Claim
	for i := 0; i < 100; i++ {
		cs, err := s.ClaimDeliveries(ctx, now, time.Minute, 100)
		require.NoError(t, err)
		if len(cs) == 0 {
			return out
		}
		var rs []store.DeliveryResult
		for _, c := range cs {
			rs = append(rs, store.DeliveryResult{TenantID: c.Delivery.TenantID, ID: c.Delivery.ID, WebhookID: c.Delivery.WebhookID,
				At: now, Delivered: true, ResponseCode: 204})
		}
		require.NoError(t, s.FinishDeliveries(ctx, rs, now.Add(-store.DeliveryWindow)))
		out = append(out, cs...)
	}
	t.Fatal("claims never ran out")
	return nil
}
