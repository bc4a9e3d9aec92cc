package main

// Scale out (README, "Scale out"): three rosterd processes on one
// PostgreSQL, directly and through PgBouncer in transaction mode, under
// IdP-like load spread over the three. Each mode proves no duplicate users,
// an exact seat cap with a balanced ledger, every webhook event delivered
// exactly once and in order per user while all three deliver, and a token
// revoked at one process refused at the others within a second.

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

// scaleMode is how the processes reach PostgreSQL.
type scaleMode struct {
	name     string
	bouncer  bool // ROSTER_DATABASE_URL goes through PgBouncer (transaction mode)
	listenDB bool // ROSTER_DATABASE_LISTEN_URL is the direct connection
	describe bool // default_query_exec_mode=cache_describe without a pooler (its own cost)
}

var scaleModes = []scaleMode{
	{name: "direct"},
	{name: "pgbouncer", bouncer: true, listenDB: true},
	{name: "pgbouncer without listen url", bouncer: true},
}

// farm is n rosterd processes on one database.
type farm struct {
	procs  []*rosterdProc
	client *http.Client
}

// startFarm starts n rosterd on a fresh database, reached as mode says,
// with env added to each process's environment.
func startFarm(t *testing.T, mode scaleMode, n int, env ...string) *farm {
	t.Helper()
	dsn := pgtest.New(t)
	dbURL := dsn
	if mode.bouncer {
		// The setting the README asks for behind a transaction-mode pooler:
		// pgx's default statement cache prepares named statements, which
		// PgBouncer 1.18 does not keep for a client.
		dbURL = pgtest.PgBouncer(t, dsn, 20) + " default_query_exec_mode=cache_describe"
	}
	if mode.describe {
		dbURL += " default_query_exec_mode=cache_describe"
	}
	env = append([]string{"ROSTER_DATABASE_URL=" + dbURL, "ROSTER_WEBHOOK_ALLOW_PRIVATE=true"}, env...)
	if mode.listenDB {
		env = append(env, "ROSTER_DATABASE_LISTEN_URL="+dsn)
	}
	f := &farm{client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}, Timeout: 30 * time.Second}}
	t.Cleanup(f.client.CloseIdleConnections)
	for range n {
		f.procs = append(f.procs, startRosterd(t, env...))
	}
	return f
}

// do sends one request, safe from any goroutine; it answers the status and
// the decoded body (nil when empty or not JSON).
func (f *farm) do(p *rosterdProc, method, path, token, body string) (int, map[string]any, error) {
	req, err := http.NewRequest(method, p.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
		if strings.HasPrefix(path, "/admin/") {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	req.Header.Set("User-Agent", "Microsoft.AAD.Provisioning/1.0")
	res, err := f.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, nil, err
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return res.StatusCode, m, nil
}

// eventSink is an application's webhook endpoint that answers 204 to
// everything (so no delivery should ever be repeated) and records, per
// webhook-id, how often it came, and per user, the order of the events.
type eventSink struct {
	srv     *httptest.Server
	mu      sync.Mutex
	secret  string
	times   map[string]int      // webhook-id → deliveries
	perUser map[string][]string // user id → event ids, in arrival order
	types   map[string]string   // event id → type
	bad     []string
	changed chan struct{}
}

func newEventSink(t *testing.T) *eventSink {
	s := &eventSink{times: map[string]int{}, perUser: map[string][]string{}, types: map[string]string{}, changed: make(chan struct{}, 1)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct {
			ID   string `json:"id"`
			Type string `json:"type"`
			Data struct {
				User   struct{ ID string } `json:"user"`
				UserID string              `json:"user_id"`
			} `json:"data"`
		}
		s.mu.Lock()
		if err := verifyStandardWebhook(s.secret, r.Header, body); err != nil {
			s.bad = append(s.bad, err.Error())
		} else if err := json.Unmarshal(body, &ev); err != nil || ev.ID != r.Header.Get("webhook-id") {
			s.bad = append(s.bad, fmt.Sprintf("body %s does not match webhook-id %s", body, r.Header.Get("webhook-id")))
		} else {
			s.times[ev.ID]++
			s.types[ev.ID] = ev.Type
			if user := ev.Data.User.ID + ev.Data.UserID; user != "" {
				s.perUser[user] = append(s.perUser[user], ev.ID)
			}
		}
		s.mu.Unlock()
		select {
		case s.changed <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// waitForAll waits until every id of want has arrived, up to limit; it
// answers how many have not.
func (s *eventSink) waitForAll(want []string, limit time.Duration) int {
	deadline := time.After(limit)
	for {
		s.mu.Lock()
		missing := 0
		for _, id := range want {
			if s.times[id] == 0 {
				missing++
			}
		}
		s.mu.Unlock()
		if missing == 0 {
			return 0
		}
		select {
		case <-s.changed:
		case <-time.After(100 * time.Millisecond): // a last delivery may land between the count and the wait
		case <-deadline:
			return missing
		}
	}
}

// pulledEvent is an event as the pull API lists it.
type pulledEvent struct {
	ID, Type, User string
}

// pullEvents reads the tenant's events after cursor, oldest first (the
// pull API; its order is the sequencer's, commit order).
func (f *farm) pullEvents(t *testing.T, tenant, after string) (evs []pulledEvent, cursor string) {
	t.Helper()
	cursor = after
	for range 1000 {
		status, m, err := f.do(f.procs[0], "GET", "/admin/v1/tenants/"+tenant+"/events?limit=1000&after="+cursor, e2eAdminToken+"-processes", "")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, m)
		list, _ := m["events"].([]any)
		for _, x := range list {
			ev := x.(map[string]any)
			d, _ := ev["data"].(map[string]any)
			user, _ := d["user_id"].(string)
			if u, ok := d["user"].(map[string]any); ok {
				user, _ = u["id"].(string)
			}
			evs = append(evs, pulledEvent{ev["id"].(string), ev["type"].(string), user})
		}
		next, _ := m["next_cursor"].(string)
		if len(list) == 0 || next == "" {
			return evs, cursor
		}
		cursor = next
	}
	t.Fatal("the event list does not end")
	return nil, ""
}

// setUp creates tenant id (ultimate, seats) with SAML and an Entra token
// through process 0, and answers the token.
func (f *farm) setUp(t *testing.T, id string, seats int) string {
	t.Helper()
	p := f.procs[0]
	p.admin("POST", "/tenants", fmt.Sprintf(`{"id":%q,"name":%q,"plan":"ultimate","seats":%d}`, id, id, seats))
	p.admin("PUT", "/tenants/"+id+"/saml", string(oktaMetadata(t)))
	token := p.admin("POST", "/tenants/"+id+"/tokens", `{"name":"entra"}`)["token"].(string)
	f.awaitToken(t, id, token)
	return token
}

// awaitToken waits until every process accepts a token just created at
// one of them. A process whose token set is complete (its listener proven)
// refuses an id it does not hold without reading the database — that is
// what keeps made-up tokens from costing reads — and learns of a new token
// from its NOTIFY: a request that beats the notification is 401 there
// (README, "Scale out"; counted and logged).
func (f *farm) awaitToken(t *testing.T, tenant, token string) {
	t.Helper()
	created := time.Now()
	refused := 0
	for _, p := range f.procs {
		for {
			status, m, err := f.do(p, "GET", "/scim/v2/"+tenant+"/Users?count=1", token, "")
			require.NoError(t, err)
			if status == http.StatusOK {
				break
			}
			require.Equal(t, http.StatusUnauthorized, status, m)
			refused++
			require.Less(t, time.Since(created), 2*time.Second, "%s never learnt of a token created elsewhere", p.URL)
		}
	}
	if refused > 0 {
		t.Logf("a new token was refused %d times before every process accepted it, %s after its creation", refused, time.Since(created))
	}
}

func TestScaleOut_threeProcessesOnePostgres(t *testing.T) {
	for _, mode := range scaleModes {
		t.Run(mode.name, func(t *testing.T) {
			// Failure budgets of 1/s (burst 2) make a database lookup of a
			// made-up token visible: past two, 429 ("auth cache" below).
			f := startFarm(t, mode, 3, "ROSTER_FAILED_AUTH_PER_SOURCE=1", "ROSTER_FAILED_AUTH_GLOBAL=1")
			t.Run("no duplicate users", func(t *testing.T) { testNoDuplicateUsers(t, f) })
			t.Run("exact seat cap", func(t *testing.T) { testExactSeatCap(t, f) })
			t.Run("webhooks exactly once in order", func(t *testing.T) { testWebhooksExactlyOnce(t, f) })
			t.Run("revocation everywhere at once", func(t *testing.T) { testRevocationEverywhere(t, f) })
			t.Run("auth cache", func(t *testing.T) { testAuthCacheBehindPooler(t, f, mode) })
		})
	}
}

// testNoDuplicateUsers posts each userName to all three processes at once,
// three times each: exactly one 201, the other eight 409 uniqueness.
func testNoDuplicateUsers(t *testing.T, f *farm) {
	token := f.setUp(t, "dup", 100)
	const names, perProc = 10, 3
	type outcome struct {
		status   int
		scimType string
	}
	results := make([][]outcome, names)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range names {
		body := entraUser(fmt.Sprintf("same%d@dup.example", i), true)
		start := make(chan struct{})
		for _, p := range f.procs {
			for range perProc {
				wg.Go(func() {
					<-start
					status, m, err := f.do(p, "POST", "/scim/v2/dup/Users", token, body)
					st, _ := m["scimType"].(string)
					if err != nil {
						st = err.Error()
					}
					mu.Lock()
					results[i] = append(results[i], outcome{status, st})
					mu.Unlock()
				})
			}
		}
		close(start)
	}
	wg.Wait()
	for i, rs := range results {
		created, conflicts := 0, 0
		for _, r := range rs {
			switch {
			case r.status == http.StatusCreated:
				created++
			case r.status == http.StatusConflict && r.scimType == "uniqueness":
				conflicts++
			default:
				t.Errorf("same%d: unexpected answer %d %s", i, r.status, r.scimType)
			}
		}
		assert.Equal(t, 1, created, "same%d: exactly one 201", i)
		assert.Equal(t, len(f.procs)*perProc-1, conflicts, "same%d: the rest 409 uniqueness", i)
	}
	status, m, err := f.do(f.procs[1], "GET", "/scim/v2/dup/Users?count=1", token, "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, m)
	assert.Equal(t, float64(names), m["totalResults"], "one user per userName")
}

// testExactSeatCap races activations across the processes for a tenant
// with 12 usable seats: 12 inactive users reactivated by PATCH and 12 new
// active users posted, all at once. Exactly 12 succeed, the others are
// refused for the cap, and the seat report and the ledger agree.
func testExactSeatCap(t *testing.T, f *farm) {
	const usable = 12
	token := f.setUp(t, "capped", usable) // above the minimum of 8 billed seats: usable = purchased
	var inactive []string
	for i := range usable {
		p := f.procs[i%len(f.procs)]
		status, m, err := f.do(p, "POST", "/scim/v2/capped/Users", token, entraUser(fmt.Sprintf("idle%d@capped.example", i), false))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, status, m)
		inactive = append(inactive, m["id"].(string))
	}
	var won, refused, other atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	race := func(p *rosterdProc, method, path, body string, ok int) {
		wg.Go(func() {
			<-start
			status, m, err := f.do(p, method, path, token, body)
			switch {
			case err == nil && status == ok:
				won.Add(1)
			case err == nil && status == http.StatusForbidden && strings.Contains(fmt.Sprint(m["detail"]), "seats are in use"):
				refused.Add(1)
			default:
				other.Add(1)
				t.Errorf("%s %s: %d %v %v", method, path, status, m, err)
			}
		})
	}
	for i, id := range inactive {
		race(f.procs[i%3], "PATCH", "/scim/v2/capped/Users/"+id, `{`+patchOp+`,"Operations":[{"op":"Replace","path":"active","value":"True"}]}`, http.StatusOK)
		race(f.procs[(i+1)%3], "POST", "/scim/v2/capped/Users", entraUser(fmt.Sprintf("new%d@capped.example", i), true), http.StatusCreated)
	}
	close(start)
	wg.Wait()
	assert.EqualValues(t, usable, won.Load(), "exactly the usable seats are taken")
	assert.EqualValues(t, usable, refused.Load(), "the rest refused for the cap")

	p := f.procs[2]
	r := p.admin("GET", "/tenants/capped/seats", "")
	assert.EqualValues(t, usable, r["consumed_seats"])
	assert.EqualValues(t, 0, r["available_seats"])
	assert.EqualValues(t, 0, r["overage_seats"])
	sum, entries := 0, 0
	path := "/tenants/capped/seats/events?limit=100"
	for range 100 {
		r := p.admin("GET", path, "")
		for _, x := range r["events"].([]any) {
			sum += int(x.(map[string]any)["delta"].(float64))
			entries++
		}
		next, ok := r["next_cursor"].(string)
		if !ok {
			break
		}
		path = "/tenants/capped/seats/events?limit=100&cursor=" + next
	}
	assert.Equal(t, usable, sum, "the ledger balances: its entries sum to the seats consumed")
	assert.Equal(t, usable, entries, "one entry per seat taken, none for a refusal")
}

// testWebhooksExactlyOnce runs an IdP's lifecycle for 30 users at once,
// each user's requests going to a different process in turn: create,
// deactivate, reactivate, delete. The endpoint gets every event exactly
// once, and each user's in commit order.
func testWebhooksExactlyOnce(t *testing.T, f *farm) {
	sink := newEventSink(t)
	token := f.setUp(t, "hooks", 100)
	m := f.procs[0].admin("POST", "/tenants/hooks/webhooks", `{"url":"`+sink.srv.URL+`/events","events":[]}`)
	sink.mu.Lock()
	sink.secret = m["secret"].(string)
	hook := m["id"].(string)
	sink.mu.Unlock()
	_, cursor := f.pullEvents(t, "hooks", "")

	const users = 30
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			step := func(n int, method, path, body string, want int) map[string]any {
				status, m, err := f.do(f.procs[(i+n)%3], method, path, token, body)
				if err != nil || status != want {
					t.Errorf("user %d step %d: %s %s: %d %v %v", i, n, method, path, status, m, err)
				}
				return m
			}
			u := step(0, "POST", "/scim/v2/hooks/Users", entraUser(fmt.Sprintf("life%d@hooks.example", i), true), http.StatusCreated)
			id, _ := u["id"].(string)
			if id == "" {
				return
			}
			step(1, "PATCH", "/scim/v2/hooks/Users/"+id, `{`+patchOp+`,"Operations":[{"op":"Replace","path":"active","value":"False"}]}`, http.StatusOK)
			step(2, "PATCH", "/scim/v2/hooks/Users/"+id, `{`+patchOp+`,"Operations":[{"op":"Replace","path":"active","value":"True"}]}`, http.StatusOK)
			step(3, "DELETE", "/scim/v2/hooks/Users/"+id, "", http.StatusNoContent)
		})
	}
	wg.Wait()

	// The users' events, in commit order. The cursor taken after the
	// endpoint was made may precede events of the set-up (the token, the
	// SAML configuration): another process's sequencer can hold them at
	// that instant, and number them after it. The endpoint does not get
	// those (they predate it), so only the users' events are counted.
	//
	// The pull API sequences what has committed before it answers, unless
	// another process's sequencer holds the turn: then the last changes
	// are listed a pass later. So it is read until the 8 events of every
	// user are there.
	listed := map[string]bool{}
	var want []string
	perUser := map[string][]string{}
	deadline := time.Now().Add(30 * time.Second)
	for complete := false; !complete; {
		var pulled []pulledEvent
		pulled, cursor = f.pullEvents(t, "hooks", cursor)
		for _, ev := range pulled {
			listed[ev.ID] = true
			if ev.User != "" {
				want = append(want, ev.ID)
				perUser[ev.User] = append(perUser[ev.User], ev.ID)
			}
		}
		complete = len(perUser) == users
		for _, ids := range perUser {
			complete = complete && len(ids) == 8
		}
		require.True(t, complete || time.Now().Before(deadline), "the users' events were not all made within 30 s")
	}
	if missing := sink.waitForAll(want, 30*time.Second); missing > 0 {
		// Say what became of them: the deliveries not delivered, from the
		// delivery log.
		for _, st := range []string{"pending", "failed"} {
			status, m, err := f.do(f.procs[0], "GET", "/admin/v1/tenants/hooks/webhooks/"+hook+"/deliveries?limit=100&status="+st, e2eAdminToken+"-processes", "")
			t.Logf("%s deliveries: %d %v %v", st, status, m, err)
		}
		t.Fatalf("%d of %d events not delivered within 30 s", missing, len(want))
	}

	sink.mu.Lock()
	defer sink.mu.Unlock()
	assert.Empty(t, sink.bad, "every delivery verified")
	for id, n := range sink.times {
		assert.True(t, listed[id], "event %s (%s) delivered and listed by the pull API", id, sink.types[id])
		assert.Equal(t, 1, n, "event %s (%s) delivered exactly once", id, sink.types[id])
	}
	lifecycle := []string{"user.created", "seat.consumed", "user.deactivated", "seat.released",
		"user.reactivated", "seat.consumed", "user.deleted", "seat.released"}
	for user, ids := range perUser {
		assert.Equal(t, ids, sink.perUser[user], "user %s: delivered in commit order", user)
		types := make([]string, len(ids))
		for i, id := range ids {
			types[i] = sink.types[id]
		}
		assert.Equal(t, lifecycle, types, "user %s: the whole lifecycle", user)
	}
}

// testRevocationEverywhere: a token used (and so cached) at every process
// is revoked through the first; the other two refuse it within a second.
func testRevocationEverywhere(t *testing.T, f *farm) {
	f.setUp(t, "revoke", 10)
	tok := f.procs[0].admin("POST", "/tenants/revoke/tokens", `{"name":"okta"}`)
	secret, id := tok["token"].(string), tok["id"].(string)
	f.awaitToken(t, "revoke", secret)
	for _, p := range f.procs {
		for range 3 {
			status, m, err := f.do(p, "GET", "/scim/v2/revoke/Users?count=1", secret, "")
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status, m)
		}
	}
	status, m, err := f.do(f.procs[0], "DELETE", "/admin/v1/tenants/revoke/tokens/"+url.PathEscape(id), e2eAdminToken+"-processes", "")
	require.NoError(t, err)
	require.Less(t, status, 300, m)
	revoked := time.Now()
	for _, p := range f.procs[1:] {
		for {
			status, _, err := f.do(p, "GET", "/scim/v2/revoke/Users?count=1", secret, "")
			require.NoError(t, err)
			if status == http.StatusUnauthorized {
				break
			}
			require.Equal(t, http.StatusOK, status)
			require.Less(t, time.Since(revoked), time.Second, "%s still accepts a token revoked elsewhere", p.URL)
		}
	}
	t.Logf("refused at the other processes %s after the revocation", time.Since(revoked))
}

// benchEnv runs TestScaleOut_throughput (about two minutes): the figures
// of BENCHMARKS.md, "Scale out".
const benchEnv = "ROSTER_SCALEOUT_BENCH"

// TestScaleOut_throughput drives the same IdP-like load — per user a POST,
// a deactivating PATCH, a reactivating PATCH, a filtered GET and a DELETE,
// from 32 concurrent clients, requests spread over the processes in turn —
// against one and against three rosterd, directly and through PgBouncer,
// and logs requests/s and the p50/p99 latency of each.
func TestScaleOut_throughput(t *testing.T) {
	if os.Getenv(benchEnv) == "" {
		t.Skipf("set %s=1 to measure (about two minutes; BENCHMARKS.md, \"Scale out\")", benchEnv)
	}
	const users, clients = 600, 32
	// The machine is shared: the configurations run in turn, round after
	// round (ROSTER_SCALEOUT_ROUNDS, default 3), so that a busy minute
	// does not fall on one of them only.
	rounds := 3
	if n, err := strconv.Atoi(os.Getenv("ROSTER_SCALEOUT_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	configs := []struct {
		mode  scaleMode
		procs int
	}{
		{scaleMode{name: "direct"}, 1},
		{scaleMode{name: "direct"}, 3},
		{scaleMode{name: "direct, cache_describe", describe: true}, 3},
		{scaleModes[1], 1},
		{scaleModes[1], 3},
		{scaleModes[2], 3},
	}
	for round := range rounds {
		for _, c := range configs {
			benchOnce(t, fmt.Sprintf("round %d: %d× %s", round+1, c.procs, c.mode.name), c.mode, c.procs, users, clients)
		}
	}
}

// benchOnce runs the throughput load once on procs processes.
func benchOnce(t *testing.T, name string, mode scaleMode, procs, users, clients int) {
	t.Run(name, func(t *testing.T) {
		f := startFarm(t, mode, procs)
		token := f.setUp(t, "load", 100000)
		// The tenant's rate limit (100/s by default, per process) would
		// measure itself.
		f.procs[0].admin("PATCH", "/tenants/load", `{"settings":{"rate_limit_per_second":0}}`)
		var next atomic.Int64
		var mu sync.Mutex
		var lat []time.Duration
		var failed atomic.Int64
		send := func(method, path, body string, want int) map[string]any {
			p := f.procs[int(next.Add(1))%len(f.procs)]
			start := time.Now()
			status, m, err := f.do(p, method, path, token, body)
			took := time.Since(start)
			if err != nil || status != want {
				failed.Add(1)
				t.Errorf("%s %s: %d %v %v", method, path, status, m, err)
			}
			mu.Lock()
			lat = append(lat, took)
			mu.Unlock()
			return m
		}
		work := make(chan int)
		var wg sync.WaitGroup
		begin := time.Now()
		for range clients {
			wg.Go(func() {
				for i := range work {
					name := fmt.Sprintf("u%d@load.example", i)
					u := send("POST", "/scim/v2/load/Users", entraUser(name, true), http.StatusCreated)
					id, _ := u["id"].(string)
					if id == "" {
						continue
					}
					send("PATCH", "/scim/v2/load/Users/"+id, `{`+patchOp+`,"Operations":[{"op":"Replace","path":"active","value":"False"}]}`, http.StatusOK)
					send("PATCH", "/scim/v2/load/Users/"+id, `{`+patchOp+`,"Operations":[{"op":"Replace","path":"active","value":"True"}]}`, http.StatusOK)
					send("GET", "/scim/v2/load/Users?filter="+url.QueryEscape(`userName eq "`+name+`"`), "", http.StatusOK)
					send("DELETE", "/scim/v2/load/Users/"+id, "", http.StatusNoContent)
				}
			})
		}
		for i := range users {
			work <- i
		}
		close(work)
		wg.Wait()
		elapsed := time.Since(begin)
		slices.Sort(lat)
		pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))].Round(10 * time.Microsecond) }
		t.Logf("SCALEOUT %-40s %5d requests in %6.2fs: %7.1f req/s, p50 %v, p99 %v, %d failed",
			name, len(lat), elapsed.Seconds(), float64(len(lat))/elapsed.Seconds(), pct(0.50), pct(0.99), failed.Load())
	})
}

// testAuthCacheBehindPooler shows, from outside, whether each process's
// token set is complete — kept current by LISTEN, so that a made-up token
// is refused from memory — or not, so that it is looked up in the database
// under the failure budget (1/s, burst 2 here): ten made-up tokens in a row
// are ten 401 in the first case, and meet 429 in the second. Directly and
// through PgBouncer with ROSTER_DATABASE_LISTEN_URL the set is complete;
// through PgBouncer without it, LISTEN hears nothing and every unknown
// token costs a read.
func testAuthCacheBehindPooler(t *testing.T, f *farm, mode scaleMode) {
	f.setUp(t, "cache", 10)
	tenMadeUp := func(p *rosterdProc) (unauthorized, tooMany int) {
		for range 10 {
			plain, _, _, err := auth.New(rand.Reader)
			require.NoError(t, err)
			status, m, err := f.do(p, "GET", "/scim/v2/cache/Users?count=1", plain, "")
			require.NoError(t, err)
			switch status {
			case http.StatusUnauthorized:
				unauthorized++
			case http.StatusTooManyRequests:
				tooMany++
			default:
				t.Fatalf("a made-up token: %d %v", status, m)
			}
		}
		return unauthorized, tooMany
	}
	for _, p := range f.procs {
		if mode.bouncer && !mode.listenDB {
			_, tooMany := tenMadeUp(p)
			assert.Positive(t, tooMany, "%s: without a listen URL, unknown tokens are read from the database under the budget", p.URL)
			continue
		}
		// The listener proves itself shortly after start; until then a
		// made-up token is read under the budget too.
		deadline := time.Now().Add(20 * time.Second)
		for {
			unauthorized, _ := tenMadeUp(p)
			if unauthorized == 10 {
				break
			}
			require.True(t, time.Now().Before(deadline), "%s: the token set never became complete (LISTEN does not work)", p.URL)
		}
	}
}
