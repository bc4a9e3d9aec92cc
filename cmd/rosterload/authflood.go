package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roster-dev/roster/auth"
)

// validRate is how often the tenant's own IdP calls during the flood
// scenario (requests per second, one connection).
const validRate = 50

// statsSettle is how long to wait for rosterd's connections to report their
// table statistics: an idle PostgreSQL backend flushes them within 10 s.
const statsSettle = 11 * time.Second

// scenarioAuthFlood sends made-up SCIM tokens (well-formed, unknown ids) on
// r.conns connections, half of them to the seeded tenant's URL and half to
// random tenant segments, while the tenant's own token calls at validRate
// per second from the same address, and reports how many of the valid
// token's requests were refused 429 and how many database lookups the flood
// caused per second: index and sequential scans of the tenants and tokens
// tables (pg_stat_user_tables) during the flood, less those of a phase with
// the valid traffic alone.
func (r *runner) scenarioAuthFlood(target string, statsWait time.Duration) {
	name := fmt.Sprintf("auth flood: %d connections of made-up tokens (half at random tenant URLs) + the tenant's token at %d/s", r.conns, validRate)
	const goal = "valid token never 429; made-up tokens cost no database lookups"
	scans := func() (int64, error) {
		time.Sleep(statsWait) // the statistics arrive on PostgreSQL's schedule, not on an event we can wait for
		return authScans(r.ctx, r.pool)
	}
	valid := newClient(strings.TrimRight(target, "/")+"/scim/v2/"+r.st.Tenant, r.roster.token, 1)
	defer valid.close()

	s0, err := scans()
	if err != nil {
		r.failed(name, goal, err)
		return
	}
	control := r.paced(valid, r.dur/2)
	s1, err := scans()
	if err != nil {
		r.failed(name, goal, err)
		return
	}
	flood := newClient(strings.TrimRight(target, "/")+"/scim/v2", "", r.conns)
	defer flood.close()
	var floodStatus statusCounts
	ctx, cancel := context.WithCancel(r.ctx)
	var wg sync.WaitGroup
	var n atomic.Int64
	start := time.Now()
	for range r.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := n.Add(1)
				tenant := r.st.Tenant
				if i%2 == 0 {
					tenant = fmt.Sprintf("t%x", i)
				}
				plain, _, _, err := auth.New(rand.Reader)
				if err != nil {
					return
				}
				status, _, err := flood.do(ctx, request{Method: http.MethodGet, Path: "/" + tenant + "/Users",
					Header: http.Header{"Authorization": {"Bearer " + plain}, "Accept": {"application/scim+json"}}})
				if err == nil {
					floodStatus.add(status)
				}
			}
		}()
	}
	during := r.paced(valid, r.dur)
	cancel()
	wg.Wait()
	floodTime := time.Since(start)
	s2, err := scans()
	if err != nil {
		r.failed(name, goal, err)
		return
	}

	controlRate := float64(s1-s0) / (r.dur / 2).Seconds()
	floodRate := float64(s2-s1) / floodTime.Seconds()
	lookups := max(0, floodRate-controlRate)
	sent := floodStatus.total()
	rw := row{Scenario: name, Target: goal, BaseName: "the valid token alone",
		Roster: measure{RPS: float64(sent) / floodTime.Seconds(), Requests: int(sent)},
		Base:   measure{RPS: float64(control.total()) / (r.dur / 2).Seconds(), Requests: int(control.total())},
		Note: fmt.Sprintf("made-up tokens: %d in %s (%.0f/s), answers %s; the valid token during the flood: %d requests, %d answered 429, answers %s "+
			"(alone: %s); tenants+tokens scans %.0f/s during the flood, %.0f/s with the valid token alone: %.0f database lookups/s caused by the flood",
			sent, floodTime.Round(time.Millisecond), float64(sent)/floodTime.Seconds(), &floodStatus, during.total(),
			during.get(http.StatusTooManyRequests), during, control, floodRate, controlRate, lookups)}
	rw.Ratio = lookups
	rw.Met = during.get(http.StatusTooManyRequests) == 0 && during.get(http.StatusOK) == during.total() && lookups < 1
	r.logf("== %s: %s", name, rw.Note)
	r.rows = append(r.rows, rw)
}

// paced sends GET /Users?count=1 through c at validRate per second for d and
// counts the answers.
func (r *runner) paced(c *client, d time.Duration) *statusCounts {
	var out statusCounts
	t := time.NewTicker(time.Second / validRate)
	defer t.Stop()
	end := time.After(d)
	for {
		select {
		case <-r.ctx.Done():
			return &out
		case <-end:
			return &out
		case <-t.C:
			status, _, err := c.do(r.ctx, listPage(rosterPrefix, 1, 1))
			if err != nil {
				status = 0
			}
			out.add(status)
		}
	}
}

// authScans is the number of index and sequential scans of the tables the
// SCIM authentication reads.
func authScans(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var n int64
	err := pool.QueryRow(ctx, `select coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0)::bigint
from pg_stat_user_tables where relname in ('tenants', 'tokens')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("read table statistics: %w", err)
	}
	return n, nil
}

// statusCounts counts HTTP statuses (0: a transport error), safely for
// concurrent use.
type statusCounts struct {
	mu sync.Mutex
	m  map[int]int64
}

func (s *statusCounts) add(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[int]int64{}
	}
	s.m[status]++
}

func (s *statusCounts) get(status int) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[status]
}

func (s *statusCounts) total() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, c := range s.m {
		n += c
	}
	return n
}

// String lists the counts by status, e.g. "200 × 496, 429 × 4".
func (s *statusCounts) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]int, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d × %d", k, s.m[k]))
	}
	return strings.Join(parts, ", ")
}
