package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// row is one line of the report: a Roster figure and its baseline from the same run.
type row struct {
	Scenario string  `json:"scenario"`
	Target   string  `json:"target"`
	Roster   measure `json:"roster"`
	Base     measure `json:"baseline"`
	BaseName string  `json:"baseline_name"`
	// Ratio is Roster/baseline: of rates for load scenarios (higher is
	// better), of times for timed ones (lower is better).
	Ratio  float64 `json:"ratio"`
	Met    bool    `json:"met"`
	Note   string  `json:"note,omitempty"`
	Failed string  `json:"failed,omitempty"` // errors seen; a failed row meets nothing
}

// measure is one side of a row.
type measure struct {
	RPS      float64       `json:"rps,omitempty"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
	Total    time.Duration `json:"total_ns,omitempty"` // timed scenarios: wall time
	Requests int           `json:"requests"`
	Errors   int           `json:"errors"`
}

func measured(r result) measure {
	return measure{RPS: r.RPS(), P50: r.P(0.50), P99: r.P(0.99), Total: r.Elapsed, Requests: r.Requests, Errors: r.Errors}
}

// runner holds what a run of the scenarios needs.
type runner struct {
	ctx    context.Context
	roster *client // rosterd, SCIM base of the tenant
	bare   *client // the built-in baseline
	pool   *pgxpool.Pool
	st     state
	conns  int
	dur    time.Duration
	warmup time.Duration
	rounds int // load scenarios alternate rosterd and baseline in this many rounds
	runID  string
	pid    int
	log    io.Writer
	rows   []row
}

func (r *runner) logf(format string, a ...any) { fmt.Fprintf(r.log, format+"\n", a...) }

// rate runs a load scenario against rosterd and the baseline with the same
// generator shape and records a row; minRatio is the target. The two sides
// alternate in r.rounds rounds of dur/rounds each, so that both see the same
// machine: on a shared host a drift in background load would otherwise fall
// on one side only.
func (r *runner) rate(name, target string, minRatio float64, roster, bare gen) {
	ro, ba := r.alternate(name, "rosterd", "baseline", r.roster, r.bare, roster, bare)
	rw := row{Scenario: name, Target: target, Roster: measured(ro), Base: measured(ba), BaseName: "bare HTTP + pgx"}
	if ba.RPS() > 0 {
		rw.Ratio = ro.RPS() / ba.RPS()
	}
	rw.Met = rw.Ratio >= minRatio
	r.fail(&rw, ro, ba)
	r.rows = append(r.rows, rw)
}

// alternate drives a and b in turns and merges each side's rounds.
func (r *runner) alternate(name, aName, bName string, ac, bc *client, ag, bg gen) (result, result) {
	rounds := max(1, r.rounds)
	each := r.dur / time.Duration(rounds)
	var a, b result
	var an, bn atomic.Int64
	for i := range rounds {
		r.logf("== %s: round %d/%d, %d connections, %s each", name, i+1, rounds, r.conns, each)
		x := drive(r.ctx, ac, r.conns, r.warmup, each, &an, ag)
		r.logf("   %s: %d ok, %d errors, %.0f req/s, p50 %s, p99 %s", aName, x.Requests, x.Errors, x.RPS(), x.P(0.5), x.P(0.99))
		a = merge(a, x)
		y := drive(r.ctx, bc, r.conns, r.warmup, each, &bn, bg)
		r.logf("   %s: %d ok, %d errors, %.0f req/s, p50 %s, p99 %s", bName, y.Requests, y.Errors, y.RPS(), y.P(0.5), y.P(0.99))
		b = merge(b, y)
	}
	return a, b
}

// merge adds the rounds of one side: counts and measured time add up, the
// latencies are pooled.
func merge(a, b result) result {
	a.Requests += b.Requests
	a.Errors += b.Errors
	if a.FirstErr == "" {
		a.FirstErr = b.FirstErr
	}
	a.Elapsed += b.Elapsed
	a.Lat = append(a.Lat, b.Lat...)
	slices.Sort(a.Lat)
	return a
}

func (r *runner) fail(rw *row, ro, ba result) {
	var msgs []string
	if ro.Errors > 0 {
		msgs = append(msgs, fmt.Sprintf("rosterd: %d errors, first: %s", ro.Errors, ro.FirstErr))
	}
	if ba.Errors > 0 {
		msgs = append(msgs, fmt.Sprintf("baseline: %d errors, first: %s", ba.Errors, ba.FirstErr))
	}
	if len(msgs) > 0 {
		rw.Failed = strings.Join(msgs, "; ")
		rw.Met = false
		r.logf("   FAILED: %s", rw.Failed)
	}
}

func (r *runner) failed(name, target string, err error) {
	r.logf("== %s FAILED: %v", name, err)
	r.rows = append(r.rows, row{Scenario: name, Target: target, Failed: err.Error()})
}

const rosterPrefix = "" // the roster client's base URL already ends in /scim/v2/{tenant}

// scramble spreads the n-th request over a population of size pop.
func scramble(n int64, pop int) int { return int((n * 7919) % int64(pop)) }

func (r *runner) scenarioCreate() {
	r.rate("POST /Users", "≥ 70 % of bare HTTP+INSERT", 0.70,
		func(n int64) request { return createUser(rosterPrefix, r.runID, n) },
		func(n int64) request { return createUser("/bare", r.runID, n) })
}

func (r *runner) scenarioFilter() {
	pop := r.st.Users
	r.rate(fmt.Sprintf(`GET /Users?filter=userName eq "…" (%d users)`, pop), "≥ 60 % of bare HTTP+SELECT", 0.60,
		func(n int64) request { return filterUser(rosterPrefix, seededUserName(scramble(n, pop))) },
		func(n int64) request { return filterUser("/bare", seededUserName(scramble(n, pop))) })
}

func (r *runner) scenarioGet() {
	ids, err := sampleIDs(r.ctx, r.pool, r.st.Tenant, 10_000)
	if err != nil || len(ids) == 0 {
		r.failed("GET /Users/{id}", "≥ 70 % of bare SELECT", fmt.Errorf("sample user ids: %v (%d)", err, len(ids)))
		return
	}
	r.rate("GET /Users/{id}", "≥ 70 % of bare HTTP+SELECT", 0.70,
		func(n int64) request { return getUser(rosterPrefix, ids[scramble(n, len(ids))]) },
		func(n int64) request { return getUser("/bare", ids[scramble(n, len(ids))]) })
}

// sampleIDs picks n user ids spread over the whole tenant.
func sampleIDs(ctx context.Context, pool *pgxpool.Pool, tenant string, n int) ([]string, error) {
	return queryIDs(ctx, pool, `select id from users where tenant_id = $1 and deleted_at is null
and seq % greatest(1, (select user_seq from tenants where id = $1) / $2) = 0 limit $2`, tenant, n)
}

// newGroup creates a group through rosterd and returns its id.
func (r *runner) newGroup(name string) (string, error) {
	body, err := r.roster.check(r.ctx, createGroup(rosterPrefix, name))
	if err != nil {
		return "", err
	}
	return resourceID(body)
}

// scenarioBigPatch adds 10,000 members in one PATCH, reps times, each to a
// new group, against one bare INSERT … SELECT unnest(…) of the same 10,000
// rows (also reps times, each to a new group id); medians are compared.
func (r *runner) scenarioBigPatch(reps int) {
	const name, target = "PATCH /Groups/{id}: add 10,000 members in one op", "< 2× one bare INSERT … SELECT unnest of 10,000 rows"
	ids, err := userIDs(r.ctx, r.pool, r.st.Tenant, 0, 10_000)
	if err != nil || len(ids) < 10_000 {
		r.failed(name, target, fmt.Errorf("need 10,000 users: %v (%d)", err, len(ids)))
		return
	}
	var ro, sqlOnly, bareHTTP, realTable result
	for i := range reps {
		gid, err := r.newGroup(fmt.Sprintf("Big patch %s-%d", r.runID, i))
		if err != nil {
			r.failed(name, target, err)
			return
		}
		rq := addMembers(rosterPrefix, gid, ids)
		t0 := time.Now()
		if _, err := r.roster.check(r.ctx, rq); err != nil {
			r.failed(name, target, err)
			return
		}
		ro.Lat = append(ro.Lat, time.Since(t0))

		t0 = time.Now()
		if err := bareInsertMembers(r.ctx, r.pool, r.st.Tenant, fmt.Sprintf("bare-sql-%s-%d", r.runID, i), ids); err != nil {
			r.failed(name, target, err)
			return
		}
		sqlOnly.Lat = append(sqlOnly.Lat, time.Since(t0))

		t0 = time.Now()
		if _, err := r.bare.check(r.ctx, addMembers("/bare", fmt.Sprintf("bare-http-%s-%d", r.runID, i), ids)); err != nil {
			r.failed(name, target, err)
			return
		}
		bareHTTP.Lat = append(bareHTTP.Lat, time.Since(t0))

		d, err := r.realTableInsert(fmt.Sprintf("Big patch real table %s-%d", r.runID, i), ids)
		if err != nil {
			r.failed(name, target, err)
			return
		}
		realTable.Lat = append(realTable.Lat, d)
	}
	for _, x := range []*result{&ro, &sqlOnly, &bareHTTP, &realTable} {
		slices.Sort(x.Lat)
		x.Requests = len(x.Lat)
	}
	rw := row{Scenario: name, Target: target, Roster: measure{P50: ro.P(0.5), P99: ro.P(1), Requests: reps},
		Base: measure{P50: sqlOnly.P(0.5), P99: sqlOnly.P(1), Requests: reps}, BaseName: "one INSERT … SELECT unnest, pgx, no HTTP",
		Note: fmt.Sprintf("median of %d; the same body through the bare HTTP handler: %s; the same INSERT … SELECT unnest "+
			"into rosterd's own group_members (its primary key and its second index, by user) for a new group: %s "+
			"(the PATCH is %.2f× that)",
			reps, bareHTTP.P(0.5).Round(time.Millisecond), realTable.P(0.5).Round(time.Millisecond),
			float64(ro.P(0.5))/float64(max(realTable.P(0.5), 1)))}
	rw.Ratio = float64(ro.P(0.5)) / float64(sqlOnly.P(0.5))
	rw.Met = rw.Ratio < 2
	r.logf("== %s: rosterd %s, bare SQL %s, bare HTTP %s, ratio %.2f", name, ro.P(0.5), sqlOnly.P(0.5), bareHTTP.P(0.5), rw.Ratio)
	r.rows = append(r.rows, rw)
}

// realTableInsert times one INSERT … SELECT unnest of the ids (and their
// users' seq, the members' read order, looked up before the clock starts)
// into rosterd's group_members for a new, empty group made through rosterd,
// then deletes those rows again (the group's member counter never moved).
func (r *runner) realTableInsert(group string, ids []string) (time.Duration, error) {
	return r.ownTableInserts(group, ids, len(ids))
}

// scenarioSmallPatches sends 100 PATCHes of 100 new members each to one new
// group, one after another as an IdP pushes a group, and times the whole
// against 100 bare INSERT … SELECT unnest of the same ids (target: under
// 1.5× them).
func (r *runner) scenarioSmallPatches() {
	const name, target = "100 × PATCH /Groups/{id} adding 100 members (sequential)", "< 1.5× the 100 bare statements, each 204"
	ids, err := userIDs(r.ctx, r.pool, r.st.Tenant, 10_000, 10_000)
	if err != nil || len(ids) < 10_000 {
		r.failed(name, target, fmt.Errorf("need 20,000 users: %v (%d)", err, len(ids)))
		return
	}
	gid, err := r.newGroup("Small patches " + r.runID)
	if err != nil {
		r.failed(name, target, err)
		return
	}
	rqs := make([]request, 100)
	for i := range rqs {
		rqs[i] = addMembers(rosterPrefix, gid, ids[i*100:(i+1)*100])
	}
	ro, err := sequence(r.ctx, r.roster, rqs)
	if err != nil {
		r.failed(name, target, err)
		return
	}
	var ba result
	start := time.Now()
	for i := range 100 {
		t0 := time.Now()
		if err := bareInsertMembers(r.ctx, r.pool, r.st.Tenant, "bare-small-"+r.runID, ids[i*100:(i+1)*100]); err != nil {
			r.failed(name, target, err)
			return
		}
		ba.Lat = append(ba.Lat, time.Since(t0))
	}
	ba.Elapsed, ba.Requests = time.Since(start), 100
	slices.Sort(ba.Lat)
	own, err := r.ownTableInserts("Small patches own table "+r.runID, ids, 100)
	if err != nil {
		r.failed(name, target, err)
		return
	}
	rw := row{Scenario: name, Target: target, Roster: measured(ro), Base: measured(ba),
		BaseName: "100 × INSERT … SELECT unnest of 100 rows, pgx, no HTTP",
		Note: fmt.Sprintf("the same 100 statements into rosterd's own group_members (its primary key and its index by user, "+
			"one new group; what a membership needs to be unique and to answer a user's groups) took %s: the PATCHes are %.2f× that",
			own.Round(time.Millisecond), float64(ro.Elapsed)/float64(max(own, 1)))}
	rw.Roster.RPS, rw.Base.RPS = 0, 0
	rw.Ratio = float64(ro.Elapsed) / float64(ba.Elapsed)
	rw.Met = rw.Ratio < 1.5
	r.logf("== %s: rosterd %s in all (p50 %s, p99 %s), bare %s", name, ro.Elapsed, ro.P(0.5), ro.P(0.99), ba.Elapsed)
	r.rows = append(r.rows, rw)
}

// ownTableInserts times INSERT … SELECT unnest of the ids, chunk at a
// time, one statement after another (with the users' seq, the members'
// read order, read before the clock starts), into rosterd's own
// group_members for one new group made through rosterd, then deletes the
// rows again (the group's member counter never moved).
func (r *runner) ownTableInserts(group string, ids []string, chunk int) (time.Duration, error) {
	gid, err := r.newGroup(group)
	if err != nil {
		return 0, err
	}
	rows, err := r.pool.Query(r.ctx, `select a.id, u.seq from unnest($2::text[]) with ordinality as a (id, n)
join users u on u.tenant_id = $1 and u.id = a.id order by a.n`, r.st.Tenant, ids)
	if err != nil {
		return 0, err
	}
	var uids []string
	var seqs []int64
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			rows.Close()
			return 0, err
		}
		uids, seqs = append(uids, id), append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(uids) < len(ids) {
		return 0, fmt.Errorf("own-table inserts: %d of %d users found", len(uids), len(ids))
	}
	var total time.Duration
	for i := 0; i < len(uids); i += chunk {
		j := min(i+chunk, len(uids))
		t0 := time.Now()
		if _, err := r.pool.Exec(r.ctx, `insert into group_members (tenant_id, group_id, user_id, user_seq)
select $1, $2, a.id, a.seq from unnest($3::text[], $4::bigint[]) as a (id, seq)`,
			r.st.Tenant, gid, uids[i:j], seqs[i:j]); err != nil {
			return 0, err
		}
		total += time.Since(t0)
	}
	_, err = r.pool.Exec(r.ctx, `delete from group_members where tenant_id = $1 and group_id = $2`, r.st.Tenant, gid)
	return total, err
}

// scenarioExcluded compares GET /Groups/{id}?excludedAttributes=members on
// the big group and on the empty one: the big one must be within 20 %.
func (r *runner) scenarioExcluded() {
	name := fmt.Sprintf("GET /Groups/{id}?excludedAttributes=members, %d members vs empty", r.st.BigMembers)
	const target = "within 20 % of the empty group"
	big, empty := r.alternate(name, fmt.Sprintf("%d-member group", r.st.BigMembers), "empty group", r.roster, r.roster,
		func(int64) request { return getGroupNoMembers(rosterPrefix, r.st.BigGroup) },
		func(int64) request { return getGroupNoMembers(rosterPrefix, r.st.EmptyGroup) })
	rw := row{Scenario: name, Target: target, Roster: measured(big), Base: measured(empty), BaseName: "rosterd, empty group"}
	if empty.RPS() > 0 {
		rw.Ratio = big.RPS() / empty.RPS()
	}
	rw.Met = rw.Ratio >= 0.8
	r.fail(&rw, big, empty)
	r.rows = append(r.rows, rw)
}

// scenarioPaging reads the page tenant's users 1,000 at a time, as an IdP
// import does, checks that every user came exactly once, and times it.
func (r *runner) scenarioPaging(pageClient *client) {
	name := fmt.Sprintf("page through %d users, count=1000 (sequential)", r.st.PageUsers)
	const target = "< 10 s in all"
	rosterRes, err := pageAll(r.ctx, pageClient, rosterPrefix, r.st.PageUsers)
	if err != nil {
		r.failed(name, target, err)
		return
	}
	pageBare := &bareServer{pool: r.pool, tenant: r.st.PageTenant}
	srv, base, err := serveLocal(pageBare.handler())
	if err != nil {
		r.failed(name, target, err)
		return
	}
	defer srv.Close()
	bc := newClient(base, "", 1)
	defer bc.close()
	bareRes, err := pageAll(r.ctx, bc, "/bare", r.st.PageUsers)
	if err != nil {
		r.failed(name, target, fmt.Errorf("baseline: %w", err))
		return
	}
	rw := row{Scenario: name, Target: target, Roster: measured(rosterRes), Base: measured(bareRes),
		BaseName: "bare HTTP + one SELECT … OFFSET … LIMIT with count(*) per page"}
	rw.Roster.RPS, rw.Base.RPS = 0, 0
	rw.Ratio = float64(rosterRes.Elapsed) / float64(bareRes.Elapsed)
	rw.Met = rosterRes.Elapsed < 10*time.Second
	r.logf("== %s: rosterd %s, bare %s", name, rosterRes.Elapsed, bareRes.Elapsed)
	r.rows = append(r.rows, rw)
}

// pageAll reads total users with count=1000 pages and checks that each id
// came exactly once and totalResults stayed right.
func pageAll(ctx context.Context, c *client, prefix string, total int) (result, error) {
	var out result
	seen := make(map[string]struct{}, total)
	start := time.Now()
	for si := 1; si <= total; si += 1000 {
		t0 := time.Now()
		body, err := c.check(ctx, listPage(prefix, si, 1000))
		if err != nil {
			return out, err
		}
		out.Lat = append(out.Lat, time.Since(t0))
		var lr listResponse
		if err := jsonUnmarshal(body, &lr); err != nil {
			return out, err
		}
		if lr.TotalResults != total {
			return out, fmt.Errorf("page at %d: totalResults %d, want %d", si, lr.TotalResults, total)
		}
		if want := min(1000, total-si+1); len(lr.Resources) != want {
			return out, fmt.Errorf("page at %d: %d resources, want %d", si, len(lr.Resources), want)
		}
		for _, res := range lr.Resources {
			if _, dup := seen[res.ID]; dup {
				return out, fmt.Errorf("page at %d repeats user %s", si, res.ID)
			}
			seen[res.ID] = struct{}{}
		}
	}
	out.Elapsed = time.Since(start)
	out.Requests = len(out.Lat)
	slices.Sort(out.Lat)
	if len(seen) != total {
		return out, fmt.Errorf("paging saw %d users, want %d", len(seen), total)
	}
	return out, nil
}

// serveLocal serves h on a loopback port and returns its base URL.
func serveLocal(h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, "http://" + ln.Addr().String(), nil
}

// rss reads VmRSS and VmHWM (peak) of a process, in bytes.
func rss(pid int) (cur, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseStatus(string(b))
}

func parseStatus(s string) (cur, peak int64, err error) {
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("unexpected %s line %q", k, line)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, err
		}
		if k == "VmRSS" {
			cur = n << 10
		} else {
			peak = n << 10
		}
	}
	if cur == 0 {
		return 0, 0, fmt.Errorf("no VmRSS line")
	}
	return cur, peak, nil
}
