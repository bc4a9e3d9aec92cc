package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// request is one HTTP request a scenario sends, and the status it must answer.
type request struct {
	Method string
	Path   string // appended to the target's base URL
	Body   []byte
	Header http.Header
	Want   int
}

// gen makes the n-th request of a run (n counts from 0 across all workers).
type gen func(n int64) request

// result is what one run of one generator measured.
type result struct {
	Requests int           // answered with the wanted status
	Errors   int           // failed or answered another status
	FirstErr string        // the first failure, for the report
	Elapsed  time.Duration // wall time of the measured part
	Lat      []time.Duration
}

// RPS is the rate of wanted answers per second.
func (r result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// P returns the q-th quantile (0 < q ≤ 1) of the latencies.
func (r result) P(q float64) time.Duration { return percentile(r.Lat, q) }

// percentile is the nearest-rank q-quantile of sorted: the smallest value
// such that at least q of all values are less than or equal to it. sorted
// must be in ascending order; an empty slice gives 0.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted)) + 0.999999999) // ceil without float noise on exact ranks
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// client sends requests to one base URL with a bearer token.
type client struct {
	http  *http.Client
	base  string // no trailing slash
	token string // "" sends no Authorization header
}

// newClient keeps up to conns connections open to the target, as an IdP's
// connector pool does.
func newClient(base, token string, conns int) *client {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &client{http: &http.Client{Transport: tr, Timeout: 120 * time.Second}, base: base, token: token}
}

func (c *client) close() { c.http.CloseIdleConnections() }

// do sends rq and returns the status and the body.
func (c *client) do(ctx context.Context, rq request) (int, []byte, error) {
	var body io.Reader
	if rq.Body != nil {
		body = bytes.NewReader(rq.Body)
	}
	req, err := http.NewRequestWithContext(ctx, rq.Method, c.base+rq.Path, body)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range rq.Header {
		req.Header[k] = v
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if rq.Body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// check sends rq once and fails unless it gets the wanted status.
func (c *client) check(ctx context.Context, rq request) ([]byte, error) {
	status, body, err := c.do(ctx, rq)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", rq.Method, rq.Path, err)
	}
	if status != rq.Want {
		return body, fmt.Errorf("%s %s: status %d, want %d: %s", rq.Method, rq.Path, status, rq.Want, shorten(body))
	}
	return body, nil
}

func shorten(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// drive runs conns workers against c for warmup (not measured), then for
// dur, each sending the requests g makes back to back, and returns what
// the measured part saw. Latencies come back sorted. next numbers the
// requests (g(n)); pass the same counter to every round of one side so that
// no request repeats an earlier one (a userName, say).
func drive(ctx context.Context, c *client, conns int, warmup, dur time.Duration, next *atomic.Int64, g gen) result {
	var measuring atomic.Bool
	type worker struct {
		lat      []time.Duration
		errs     int
		firstErr string
	}
	workers := make([]worker, conns)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var start time.Time
	var startOnce sync.Once
	for i := range workers {
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			w.lat = make([]time.Duration, 0, 4096)
			for runCtx.Err() == nil {
				rq := g(next.Add(1) - 1)
				t0 := time.Now()
				status, body, err := c.do(runCtx, rq)
				d := time.Since(t0)
				if runCtx.Err() != nil {
					return // cut off by the end of the run: not counted
				}
				if !measuring.Load() {
					continue
				}
				switch {
				case err != nil:
					w.errs++
					if w.firstErr == "" {
						w.firstErr = fmt.Sprintf("%s %s: %v", rq.Method, rq.Path, err)
					}
				case status != rq.Want:
					w.errs++
					if w.firstErr == "" {
						w.firstErr = fmt.Sprintf("%s %s: status %d, want %d: %s", rq.Method, rq.Path, status, rq.Want, shorten(body))
					}
				default:
					w.lat = append(w.lat, d)
				}
			}
		}(&workers[i])
	}
	timer := func(d time.Duration) bool {
		select {
		case <-time.After(d):
			return true
		case <-ctx.Done():
			return false
		}
	}
	if warmup > 0 {
		timer(warmup)
	}
	startOnce.Do(func() { start = time.Now(); measuring.Store(true) })
	timer(dur)
	measuring.Store(false)
	elapsed := time.Since(start)
	cancel()
	wg.Wait()

	var out result
	out.Elapsed = elapsed
	for _, w := range workers {
		out.Lat = append(out.Lat, w.lat...)
		out.Errors += w.errs
		if out.FirstErr == "" {
			out.FirstErr = w.firstErr
		}
	}
	out.Requests = len(out.Lat)
	slices.Sort(out.Lat)
	return out
}

// sequence sends the requests one after another on one connection and
// measures each; the total is the wall time of the whole sequence.
func sequence(ctx context.Context, c *client, rqs []request) (result, error) {
	var out result
	start := time.Now()
	for _, rq := range rqs {
		t0 := time.Now()
		if _, err := c.check(ctx, rq); err != nil {
			return out, err
		}
		out.Lat = append(out.Lat, time.Since(t0))
	}
	out.Elapsed = time.Since(start)
	out.Requests = len(out.Lat)
	slices.Sort(out.Lat)
	return out, nil
}
