package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The webhooks scenario (docs/events.md): what delivering webhooks costs the
// IdP's writes, and how many events one rosterd delivers a second.
//
//  1. POST /Users on the tenant without a webhook and with one (all event
//     types, to a receiver in this process), alternating in rounds; each
//     "with" round waits for its deliveries to drain before the next round,
//     unmeasured. Target: with ≥ 0.90× without.
//  2. The receiver's rate: events delivered per second over the rounds'
//     deliveries, from the first to the last arrival of each round. Target:
//     ≥ 2,000 events/s.
//
// rosterd must run with ROSTER_WEBHOOK_ALLOW_PRIVATE=true (the receiver is on
// 127.0.0.1), which scripts/scim-load.sh sets.
const webhooksScenario = "webhooks"

// hookSink is the receiving endpoint: it verifies every signature (as a
// Standard Webhooks library would) and counts.
type hookSink struct {
	mu       sync.Mutex
	secret   []byte
	received atomic.Int64
	bad      atomic.Int64
	first    time.Time
	last     time.Time
	srv      *http.Server
	url      string
}

func newHookSink() (*hookSink, error) {
	s := &hookSink{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.url = "http://" + ln.Addr().String() + "/roster-events"
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *hookSink) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	key := s.secret
	s.mu.Unlock()
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !strings.Contains(" "+r.Header.Get("webhook-signature")+" ", " "+want+" ") {
		s.bad.Add(1)
	}
	now := time.Now()
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = now
	}
	s.last = now
	s.mu.Unlock()
	s.received.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

// window answers and resets the arrivals since the last call.
func (s *hookSink) window() (n int64, first, last time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, first, last = s.received.Swap(0), s.first, s.last
	s.first, s.last = time.Time{}, time.Time{}
	return n, first, last
}

// admin calls the admin API of rosterd.
func adminCall(ctx context.Context, target, token, method, path string, body any) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(target, "/")+"/admin/v1"+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, shorten(raw))
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m, nil
}

// backlog is what rosterd has still to deliver: changes not yet numbered as
// events, and pending deliveries.
func (r *runner) backlog() (int64, error) {
	var n int64
	err := r.pool.QueryRow(r.ctx, `select (select count(*) from events where seq is null) + (select count(*) from deliveries where status = 'pending')`).Scan(&n)
	return n, err
}

// numberAll has rosterd number the changes made while no endpoint existed
// (it numbers them when they are pulled, docs/events.md), so that a round
// with a webhook is not charged with the work of the rounds before it.
func (r *runner) numberAll(target, adminToken string) error {
	_, err := adminCall(r.ctx, target, adminToken, "GET", "/tenants/"+r.st.Tenant+"/events?limit=1", nil)
	return err
}

func (r *runner) waitDrained(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		n, err := r.backlog()
		if err != nil || n == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d events still undelivered after %s", n, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *runner) scenarioWebhooks(target, adminToken string, events []string) {
	name := "POST /Users with a webhook (every event type)"
	if len(events) > 0 {
		name = "POST /Users with a webhook (" + strings.Join(events, ", ") + ")"
	}
	if adminToken == "" {
		r.failed(name, "≥ 0.90× without", fmt.Errorf("needs -admin-token (the webhook is made through the admin API)"))
		return
	}
	sink, err := newHookSink()
	if err != nil {
		r.failed(name, "≥ 0.90× without", err)
		return
	}
	defer sink.srv.Close()
	if err := r.numberAll(target, adminToken); err != nil {
		r.failed(name, "≥ 0.90× without", err)
		return
	}
	if err := r.waitDrained(time.Minute); err != nil { // earlier scenarios' events
		r.failed(name, "≥ 0.90× without", err)
		return
	}
	rounds := max(1, r.rounds)
	each := r.dur / time.Duration(rounds)
	var without, with result
	var n atomic.Int64
	var delivered int64
	var deliveringFor time.Duration
	gen := func(n int64) request { return createUser(rosterPrefix, r.runID+"w", n) }
	for i := range rounds {
		r.logf("== %s: round %d/%d, %d connections, %s each", name, i+1, rounds, r.conns, each)
		x := drive(r.ctx, r.roster, r.conns, r.warmup, each, &n, gen)
		r.logf("   without: %d ok, %d errors, %.0f req/s, p50 %s, p99 %s", x.Requests, x.Errors, x.RPS(), x.P(0.5), x.P(0.99))
		without = merge(without, x)
		if err := r.numberAll(target, adminToken); err != nil {
			r.failed(name, "≥ 0.90× without", err)
			return
		}
		if err := r.waitDrained(time.Minute); err != nil {
			r.failed(name, "≥ 0.90× without", err)
			return
		}
		hook, err := adminCall(r.ctx, target, adminToken, "POST", "/tenants/"+r.st.Tenant+"/webhooks", map[string]any{"url": sink.url, "events": events})
		if err != nil {
			r.failed(name, "≥ 0.90× without", err)
			return
		}
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(hook["secret"].(string), "whsec_"))
		sink.mu.Lock()
		sink.secret = key
		sink.mu.Unlock()
		sink.window()
		y := drive(r.ctx, r.roster, r.conns, r.warmup, each, &n, gen)
		r.logf("   with:    %d ok, %d errors, %.0f req/s, p50 %s, p99 %s", y.Requests, y.Errors, y.RPS(), y.P(0.5), y.P(0.99))
		with = merge(with, y)
		if err := r.waitDrained(5 * time.Minute); err != nil {
			r.failed(name, "≥ 0.90× without", err)
			return
		}
		got, first, last := sink.window()
		if got > 1 {
			delivered += got
			deliveringFor += last.Sub(first)
			r.logf("   delivered %d events in %s: %.0f events/s", got, last.Sub(first).Round(time.Millisecond), float64(got)/last.Sub(first).Seconds())
		}
		if _, err := adminCall(r.ctx, target, adminToken, "DELETE", "/tenants/"+r.st.Tenant+"/webhooks/"+hook["id"].(string), nil); err != nil {
			r.failed(name, "≥ 0.90× without", err)
			return
		}
	}
	rw := row{Scenario: name, Target: "≥ 0.90× without", Roster: measured(with), Base: measured(without), BaseName: "rosterd, no webhook"}
	if without.RPS() > 0 {
		rw.Ratio = with.RPS() / without.RPS()
	}
	rw.Met = rw.Ratio >= 0.90
	r.fail(&rw, with, without)
	r.rows = append(r.rows, rw)

	rate := row{Scenario: "webhook events delivered by one rosterd", Target: "≥ 2,000 events/s", BaseName: "-"}
	if deliveringFor > 0 {
		rate.Roster = measure{RPS: float64(delivered) / deliveringFor.Seconds(), Total: deliveringFor, Requests: int(delivered)}
		rate.Ratio = rate.Roster.RPS / 2000
		rate.Met = rate.Roster.RPS >= 2000
	}
	if delivered == 0 {
		return // a filtered endpoint that got nothing: no rate to report
	}
	rate.Note = fmt.Sprintf("%d events (those of each created user the endpoint wants; all signed: %d bad signatures) from the first arrival to the last of each round",
		delivered, sink.bad.Load())
	if sink.bad.Load() > 0 {
		rate.Failed, rate.Met = fmt.Sprintf("%d deliveries failed their signature check", sink.bad.Load()), false
	}
	r.rows = append(r.rows, rate)
}
