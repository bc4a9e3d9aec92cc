package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
	"github.com/roster-dev/roster/store/postgres/pgtest"
	"github.com/roster-dev/roster/webhooks"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

var backends = map[string]func(t *testing.T, now func() time.Time) store.Store{
	"memory":   func(t *testing.T, now func() time.Time) store.Store { return memory.New(memory.Options{Now: now}) },
	"postgres": func(t *testing.T, now func() time.Time) store.Store { return pgtest.Store(t, now) },
}

func forEachBackend(t *testing.T, fn func(t *testing.T, open func(now func() time.Time) store.Store)) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) { fn(t, func(now func() time.Time) store.Store { return open(t, now) }) })
	}
}

// verify checks a delivery the way a receiver using any Standard Webhooks
// library does, written here from the specification rather than with the
// package's Sign: the secret's base64 after "whsec_" is the HMAC-SHA256
// key; the signed content is "<webhook-id>.<webhook-timestamp>.<body>";
// webhook-signature is a space-separated list of "v1,<base64>" of which one
// must match; the timestamp must be within five minutes of now.
func verify(secret string, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("missing headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp %q", ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp too far from now")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "." + string(body)))
	want := m.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(s, ",")
		got, err := base64.StdEncoding.DecodeString(b64)
		if ok && version == "v1" && err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("no signature matches")
}

// receiver records what an endpoint got, verifying each delivery.
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	got    []received
	status func(n int) int  // the answer to the n-th delivery (0-based)
	now    func() time.Time // the receiver's clock, for the timestamp check
	srv    *httptest.Server
}

type received struct {
	id, typ, subject string
	body             map[string]any
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, status: func(int) int { return 204 }, now: time.Now}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.got)
		secret := r.secret
		r.mu.Unlock()
		assert.NoError(t, verify(secret, req.Header, body, r.now()), "signature")
		assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
		var ev map[string]any
		assert.NoError(t, json.Unmarshal(body, &ev))
		code := r.status(n)
		if code/100 == 2 {
			subject := ""
			if data, ok := ev["data"].(map[string]any); ok {
				if u, ok := data["user"].(map[string]any); ok {
					subject, _ = u["id"].(string)
				} else if id, ok := data["user_id"].(string); ok {
					subject = id
				}
			}
			r.mu.Lock()
			r.got = append(r.got, received{id: req.Header.Get("webhook-id"), typ: ev["type"].(string), subject: subject, body: ev})
			r.mu.Unlock()
		} else {
			r.mu.Lock()
			r.got = append(r.got, received{typ: "(refused)"})
			r.mu.Unlock()
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) delivered() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []received
	for _, g := range r.got {
		if g.typ != "(refused)" {
			out = append(out, g)
		}
	}
	return out
}

func setUp(t *testing.T, s store.Store, url string, events ...string) store.Webhook {
	t.Helper()
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "acme", Name: "Acme", Plan: "ultimate", Seats: 500, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	secret, err := webhooks.NewSecret(rand.Reader)
	require.NoError(t, err)
	h, err := s.CreateWebhook(ctx, "acme", store.Webhook{ID: "wh_1", URL: url, Events: events, Secret: secret}, store.ActorAdmin)
	require.NoError(t, err)
	return h
}

var scim = store.Actor{Kind: "token", ID: "tok-1", Name: "entra"}

// drain runs the deliverer until it has nothing left to do now.
func drain(t *testing.T, d *webhooks.Deliverer) {
	t.Helper()
	for i := 0; ; i++ {
		require.Less(t, i, 1000, "the deliverer never ran out of work")
		n, err := d.RunOnce(ctx)
		require.NoError(t, err)
		if n == 0 {
			return
		}
	}
}

// TestDeliverer_signedInOrderPerUser: concurrent changes of many users are
// all delivered, once each, signed, and each user's events in the order
// they happened.
func TestDeliverer_signedInOrderPerUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(func() time.Time) store.Store) {
		s := open(time.Now)
		rcv := newReceiver(t)
		h := setUp(t, s, rcv.srv.URL+"/hooks")
		rcv.secret = h.Secret
		d := webhooks.New(webhooks.Config{Store: s, AllowPrivate: true, Batch: 7, Workers: 4})

		const users = 12
		var wg sync.WaitGroup
		ids := make([]string, users)
		for i := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u, err := s.CreateUser(ctx, "acme", store.User{UserName: fmt.Sprintf("u%d@x.com", i), Active: true, Role: store.RoleAgent}, scim)
				if !assert.NoError(t, err) {
					return
				}
				ids[i] = u.ID
				for _, active := range []bool{false, true, false} {
					_, err := s.UpdateUser(ctx, "acme", u.ID, scim, func(x *store.User) error { x.Active = active; return nil })
					assert.NoError(t, err)
					_, err = d.RunOnce(ctx) // delivery races the changes
					assert.NoError(t, err)
				}
			}()
		}
		wg.Wait()
		drain(t, d)

		got := rcv.delivered()
		want := []string{"user.created", "seat.consumed", "user.deactivated", "seat.released",
			"user.reactivated", "seat.consumed", "user.deactivated", "seat.released"}
		require.Len(t, got, users*len(want))
		per := map[string][]string{}
		seen := map[string]bool{}
		for _, g := range got {
			assert.False(t, seen[g.id], "delivered once: %s", g.id)
			seen[g.id] = true
			per[g.subject] = append(per[g.subject], g.typ)
		}
		for _, id := range ids {
			assert.Equal(t, want, per[id], "user %s's events in order", id)
		}
	})
}

// TestDeliverer_retriesWithBackoffThenDelivers: a failing endpoint is
// tried again on the schedule, the log shows each attempt, and the event
// arrives once it answers 2xx — with the same webhook-id.
func TestDeliverer_retriesWithBackoffThenDelivers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(func() time.Time) store.Store) {
		var mu sync.Mutex
		now := time.Now()
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		s := open(clock)
		rcv := newReceiver(t)
		rcv.status = func(n int) int {
			if n < 2 {
				return 503
			}
			return 200
		}
		h := setUp(t, s, rcv.srv.URL, "user.deactivated")
		rcv.secret, rcv.now = h.Secret, clock
		d := webhooks.New(webhooks.Config{Store: s, AllowPrivate: true, Now: clock, Jitter: func() float64 { return 0.5 }})
		u, err := s.CreateUser(ctx, "acme", store.User{UserName: "ann@x.com", Active: true, Role: store.RoleAgent}, scim)
		require.NoError(t, err)
		_, err = s.UpdateUser(ctx, "acme", u.ID, scim, func(x *store.User) error { x.Active = false; return nil })
		require.NoError(t, err)

		drain(t, d)
		log, err := s.ListDeliveries(ctx, "acme", h.ID, store.DeliveryQuery{})
		require.NoError(t, err)
		require.Len(t, log, 1, "only the wanted type")
		assert.Equal(t, store.DeliveryPending, log[0].Status)
		assert.Equal(t, 1, log[0].Attempts)
		assert.Equal(t, 503, log[0].ResponseCode)
		assert.Contains(t, log[0].LastError, "HTTP 503")
		assert.Equal(t, store.Timestamp(clock().Add(5*time.Second)), log[0].NextAt, "the first wait is 5 s (jitter 0.5: ±0)")

		drain(t, d)
		assert.Len(t, rcv.got, 1, "not before it is due")
		advance(6 * time.Second)
		drain(t, d)
		advance(6 * time.Minute)
		drain(t, d)
		got := rcv.delivered()
		require.Len(t, got, 1)
		assert.Equal(t, "user.deactivated", got[0].typ)
		log, err = s.ListDeliveries(ctx, "acme", h.ID, store.DeliveryQuery{})
		require.NoError(t, err)
		assert.Equal(t, store.DeliveryDelivered, log[0].Status)
		assert.Equal(t, 3, log[0].Attempts)
		assert.Equal(t, 200, log[0].ResponseCode)
		assert.Equal(t, log[0].EventID, got[0].id, "webhook-id is the event id on every attempt")
		hook, err := s.GetWebhook(ctx, "acme", h.ID)
		require.NoError(t, err)
		assert.Nil(t, hook.FailingSince, "a success ends the failure streak")

		// Sent again by hand: a second delivery of the same event, same id.
		_, err = s.RetryDelivery(ctx, "acme", h.ID, log[0].ID, store.ActorAdmin)
		require.NoError(t, err)
		drain(t, d)
		got = rcv.delivered()
		require.Len(t, got, 2)
		assert.Equal(t, got[0].id, got[1].id)
	})
}

// TestBackoff_scheduleAndWindow: waits grow along the schedule with at
// most ±20 % jitter, and no retry is planned past the delivery window.
func TestBackoff_scheduleAndWindow(t *testing.T) {
	created := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for attempts, want := range map[int]time.Duration{1: 5 * time.Second, 2: 5 * time.Minute, 3: 30 * time.Minute,
		4: 2 * time.Hour, 5: 5 * time.Hour, 6: 10 * time.Hour, 9: 10 * time.Hour} {
		lo := webhooks.Backoff(attempts, created, created, 0)
		hi := webhooks.Backoff(attempts, created, created, 0.999999)
		mid := webhooks.Backoff(attempts, created, created, 0.5)
		assert.Equal(t, created.Add(want), mid, "attempt %d", attempts)
		assert.Equal(t, created.Add(want*8/10), lo, "attempt %d", attempts)
		assert.WithinDuration(t, created.Add(want*12/10), hi, time.Second, "attempt %d", attempts)
	}
	late := created.Add(store.DeliveryWindow - time.Hour)
	assert.True(t, webhooks.Backoff(7, created, late, 0.5).IsZero(), "past the window: give up")
	// Walking the schedule from the first failure takes about three days.
	at, n := created, 0
	for {
		next := webhooks.Backoff(n+1, created, at, 0.5)
		if next.IsZero() {
			break
		}
		at, n = next, n+1
	}
	assert.Greater(t, at.Sub(created), 60*time.Hour)
	assert.LessOrEqual(t, at.Sub(created), store.DeliveryWindow)
}

// TestDeliverer_disablesAnEndpointFailingForTheWindow: an endpoint that
// answers nothing but errors for longer than the window is disabled,
// audited, and gets nothing until enabled.
func TestDeliverer_disablesAnEndpointFailingForTheWindow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(func() time.Time) store.Store) {
		var mu sync.Mutex
		now := time.Now()
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		s := open(clock)
		h := setUp(t, s, "http://127.0.0.1:1/closed") // nothing listens on port 1
		d := webhooks.New(webhooks.Config{Store: s, AllowPrivate: true, Now: clock, Timeout: 2 * time.Second})
		_, err := s.CreateUser(ctx, "acme", store.User{UserName: "ann@x.com", Active: true, Role: store.RoleAgent}, scim)
		require.NoError(t, err)
		for range 100 {
			drain(t, d)
			hook, err := s.GetWebhook(ctx, "acme", h.ID)
			require.NoError(t, err)
			if hook.DisabledAt != nil {
				assert.Contains(t, hook.DisabledReason, "every delivery failed since")
				assert.Greater(t, hook.DisabledAt.Sub(*hook.FailingSince), 48*time.Hour, "after failing for days, not at once")
				trail, err := s.ListAudit(ctx, "acme", store.EventQuery{Action: store.ActionWebhookDisabled})
				require.NoError(t, err)
				require.Len(t, trail, 1)
				assert.Equal(t, store.ActorSystem, trail[0].Actor)
				return
			}
			mu.Lock()
			now = now.Add(6 * time.Hour)
			mu.Unlock()
		}
		t.Fatal("never disabled")
	})
}

// TestDeliverer_refusesPrivateDestinations: without
// ROSTER_WEBHOOK_ALLOW_PRIVATE, nothing reaches a loopback address — not a
// delivery to one named literally (refused before dialling), and not a
// connection to a name that resolves to one (refused by the dialer, after
// DNS, whatever passed the URL check).
func TestDeliverer_refusesPrivateDestinations(t *testing.T) {
	s := memory.New(memory.Options{})
	rcv := newReceiver(t)
	h := setUp(t, s, strings.Replace(rcv.srv.URL, "http:", "https:", 1)+"/hooks") // https://127.0.0.1:port
	d := webhooks.New(webhooks.Config{Store: s})
	_, err := s.CreateUser(ctx, "acme", store.User{UserName: "ann@x.com", Active: true, Role: store.RoleAgent}, scim)
	require.NoError(t, err)
	drain(t, d)
	assert.Empty(t, rcv.got, "nothing reached the loopback receiver")
	log, err := s.ListDeliveries(ctx, "acme", h.ID, store.DeliveryQuery{})
	require.NoError(t, err)
	require.NotEmpty(t, log)
	assert.Contains(t, log[len(log)-1].LastError, "loopback")

	port := rcv.srv.URL[strings.LastIndex(rcv.srv.URL, ":")+1:]
	_, err = webhooks.NewClient(false, 2*time.Second).Post("http://localhost:"+port+"/hooks", "application/json", strings.NewReader("{}"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not allowed")
	assert.Empty(t, rcv.got, "the dialer refused the resolved loopback address")
	open := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer open.Close()
	port = open.URL[strings.LastIndex(open.URL, ":")+1:]
	res, err := webhooks.NewClient(true, 2*time.Second).Post("http://localhost:"+port+"/hooks", "application/json", strings.NewReader("{}"))
	if err == nil {
		res.Body.Close()
	}
	assert.NoError(t, err, "allowed when the operator allows private destinations")
}

func TestCheckURL(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://hooks.example.com/roster":     true,
		"https://hooks.example.com:8443/x?y=1": true,
		"http://hooks.example.com/roster":      false,
		"ftp://hooks.example.com/":             false,
		"hooks.example.com/roster":             false,
		"https://user:pw@hooks.example.com/":   false,
		"https://hooks.example.com/#frag":      false,
		"https://127.0.0.1/x":                  false,
		"https://[::1]/x":                      false,
		"https://10.1.2.3/x":                   false,
		"https://192.168.0.10/x":               false,
		"https://169.254.169.254/latest/meta":  false,
		"https://100.64.0.1/x":                 false,
		"https://[fe80::1]/x":                  false,
		"https://[::ffff:127.0.0.1]/x":         false,
		"https://0.0.0.0/x":                    false,
		"https://localhost/x":                  false,
		"https://93.184.216.34/x":              true,
		"https://[2606:4700:4700::1111]/x":     true,
		"https://" + strings.Repeat("a", 2100): false,
	} {
		err := webhooks.CheckURL(url, false)
		if ok {
			assert.NoError(t, err, url)
		} else {
			assert.Error(t, err, url)
		}
	}
	assert.NoError(t, webhooks.CheckURL("http://127.0.0.1:8080/x", true), "allowed for on-premises receivers")
	assert.Error(t, webhooks.CheckURL("ftp://127.0.0.1/x", true))
}

// TestSign_knownVector: the signature of a fixed message, as the
// specification computes it (held against verify above too).
func TestSign_knownVector(t *testing.T) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	body := []byte(`{"type":"user.deactivated"}`)
	sig, err := webhooks.Sign(secret, "evt_1", 1700000000, body)
	require.NoError(t, err)
	m := hmac.New(sha256.New, []byte("0123456789abcdef0123456789abcdef"))
	m.Write([]byte(`evt_1.1700000000.{"type":"user.deactivated"}`))
	assert.Equal(t, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)), sig)
	h := http.Header{}
	h.Set("webhook-id", "evt_1")
	h.Set("webhook-timestamp", "1700000000")
	h.Set("webhook-signature", "v1,bm9wZQ== "+sig)
	assert.NoError(t, verify(secret, h, body, time.Unix(1700000000, 0)))
	assert.Error(t, verify(secret, h, []byte(`{"type":"user.created"}`), time.Unix(1700000000, 0)), "a changed body fails")
	_, err = webhooks.Sign("whsec_!!!", "evt_1", 1, body)
	assert.Error(t, err)
}

// countingStore counts the numbering passes a deliverer asks for.
type countingStore struct {
	store.Store
	passes int
}

func (c *countingStore) SequenceEvents(ctx context.Context) (int, error) {
	c.passes++
	return 0, nil
}

// TestDeliverer_numbersNowAndThenWithoutEndpoints: with no endpoint
// anywhere, a deliverer numbers the backlog every 30 s, not at every pass.
func TestDeliverer_numbersNowAndThenWithoutEndpoints(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s := &countingStore{Store: memory.New(memory.Options{})}
	d := webhooks.New(webhooks.Config{Store: s, Now: func() time.Time { return now }})
	for range 5 {
		_, err := d.RunOnce(ctx)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, s.passes, "once, then not before 30 s")
	now = now.Add(31 * time.Second)
	_, err := d.RunOnce(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, s.passes)
}
