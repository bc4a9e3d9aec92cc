package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// scenarioBigList is the large-group answer: G groups of M members each
// (built through rosterd with PATCHes of at most 15,000 members, as an
// attacker with one tenant token or an IdP pushing a big directory would),
// then `conc` concurrent GET /Groups?count=1000 — the request IdPs send in
// an ordinary sync — each answering every group with every member. It runs
// twice, at M/2 and at M members, so that the two per-request times show
// how the time grows with the member count, and reports rosterd's peak
// resident memory during each round (sampled every 20 ms from
// /proc/PID/status; VmHWM, the process's peak, as well). One answer of each
// round is decoded and checked: every group, each with all its members.
// The groups are deleted at the end. It uses the paging tenant, which holds
// no group of its own.
func (r *runner) scenarioBigList(c *client, tenantUsers, groups, members, conc int) {
	name := func(m int) string {
		return fmt.Sprintf("%d concurrent GET /Groups?count=1000, %d groups × %d members", conc, groups, m)
	}
	const target = "rosterd peak RSS < 150 MB; time linear in members"
	if members > tenantUsers {
		r.failed(name(members), target, fmt.Errorf("the paging tenant has %d users, %d members asked", tenantUsers, members))
		return
	}
	ids, err := userIDs(r.ctx, r.pool, r.st.PageTenant, 0, members)
	if err != nil || len(ids) < members {
		r.failed(name(members), target, fmt.Errorf("need %d users: %v (%d)", members, err, len(ids)))
		return
	}
	gids := make([]string, 0, groups)
	defer func() {
		for _, gid := range gids {
			if _, err := c.check(r.ctx, request{Method: http.MethodDelete, Path: "/Groups/" + gid, Want: http.StatusNoContent}); err != nil {
				r.logf("   delete group %s: %v", gid, err)
			}
		}
	}()
	for i := range groups {
		body, err := c.check(r.ctx, createGroup(rosterPrefix, fmt.Sprintf("Big list %s-%d", r.runID, i)))
		if err != nil {
			r.failed(name(members), target, err)
			return
		}
		gid, err := resourceID(body)
		if err != nil {
			r.failed(name(members), target, err)
			return
		}
		gids = append(gids, gid)
	}
	have := 0
	var times []time.Duration
	for _, m := range []int{members / 2, members} {
		t0 := time.Now()
		for _, gid := range gids {
			for from := have; from < m; from += 15_000 {
				if _, err := c.check(r.ctx, addMembers(rosterPrefix, gid, ids[from:min(m, from+15_000)])); err != nil {
					r.failed(name(m), target, err)
					return
				}
			}
		}
		have = m
		r.logf("== %s: built in %s", name(m), time.Since(t0).Round(time.Millisecond))
		if err := checkBigList(r.ctx, c, groups, m); err != nil {
			r.failed(name(m), target, err)
			return
		}
		rw, per := r.bigListRound(c, name(m), target, conc)
		times = append(times, per)
		r.rows = append(r.rows, rw)
	}
	if len(times) == 2 && times[0] > 0 {
		last := &r.rows[len(r.rows)-1]
		last.Note += fmt.Sprintf("; per-request time ×%.2f for ×2 members (linear: ×2)", float64(times[1])/float64(times[0]))
	}
}

// bigListRound sends conc GET /Groups?count=1000 at once and measures each
// and rosterd's resident memory meanwhile; it answers the row and the
// median time of a request.
func (r *runner) bigListRound(c *client, name, target string, conc int) (row, time.Duration) {
	var peak int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if cur, _, err := rss(r.pid); err == nil {
				peak = max(peak, cur)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	var res result
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			n, err := drainList(r.ctx, c)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Errors++
				if res.FirstErr == "" {
					res.FirstErr = err.Error()
				}
				return
			}
			res.Requests++
			res.Lat = append(res.Lat, d)
			r.logf("   %s: %.1f MB in %s", name, float64(n)/1e6, d.Round(time.Millisecond))
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	close(stop)
	<-sampled
	slices.Sort(res.Lat)
	rw := row{Scenario: name, Target: target, Roster: measured(res), BaseName: "—"}
	rw.Roster.RPS = 0
	if r.pid > 0 {
		_, hwm, _ := rss(r.pid)
		rw.Ratio = mb(peak)
		rw.Met = mb(peak) < 150
		rw.Note = fmt.Sprintf("rosterd VmRSS peak during the round %.1f MB (VmHWM since start %.1f MB)", mb(peak), mb(hwm))
	} else {
		rw.Note = "no -pid: resident memory not measured"
	}
	rw.Note += fmt.Sprintf("; per request p50 %s, max %s", ms(res.P(0.5)), ms(res.P(1)))
	r.fail(&rw, res, result{})
	r.logf("== %s: %s", name, rw.Note)
	return rw, res.P(0.5)
}

// drainList reads one GET /Groups?count=1000 to its end without keeping it
// and answers its size; an answer cut short (rosterd aborts a stream whose
// store read fails) is an error.
func drainList(ctx context.Context, c *client) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/Groups?count=1000", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header["Accept"] = jsonHeader["Accept"]
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return 0, fmt.Errorf("GET /Groups?count=1000: status %d: %s", resp.StatusCode, b)
	}
	return io.Copy(io.Discard, resp.Body)
}

// checkBigList decodes one GET /Groups?count=1000 and checks that it holds
// the groups, each with all its members.
func checkBigList(ctx context.Context, c *client, groups, members int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/Groups?count=1000", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var lr struct {
		TotalResults int `json:"totalResults"`
		Resources    []struct {
			ID      string `json:"id"`
			Members []struct {
				Value string `json:"value"`
			} `json:"members"`
		} `json:"Resources"`
	}
	if err := json.NewDecoder(bufio.NewReader(resp.Body)).Decode(&lr); err != nil {
		return fmt.Errorf("GET /Groups?count=1000: %w", err)
	}
	if lr.TotalResults != groups || len(lr.Resources) != groups {
		return fmt.Errorf("GET /Groups?count=1000: %d groups (totalResults %d), want %d", len(lr.Resources), lr.TotalResults, groups)
	}
	for _, g := range lr.Resources {
		seen := make(map[string]struct{}, members)
		for _, m := range g.Members {
			seen[m.Value] = struct{}{}
		}
		if len(g.Members) != members || len(seen) != members {
			return fmt.Errorf("group %s: %d members (%d distinct), want %d", g.ID, len(g.Members), len(seen), members)
		}
	}
	return nil
}
