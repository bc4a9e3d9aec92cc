package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ds(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

// TestPercentile_nearestRank checks the nearest-rank definition: the
// smallest value with at least q of the values at or below it.
func TestPercentile_nearestRank(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one value", ds(7), 0.99, 7 * time.Millisecond},
		{"median of odd", ds(1, 2, 3), 0.5, 2 * time.Millisecond},
		{"median of even is the lower middle", ds(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{"p99 of 100", hundred, 0.99, 99 * time.Millisecond},
		{"p50 of 100", hundred, 0.50, 50 * time.Millisecond},
		{"p100 is the max", hundred, 1, 100 * time.Millisecond},
		{"p99 of 10 is the max", ds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.99, 10 * time.Millisecond},
		{"tiny q is the min", ds(5, 6), 0.0001, 5 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, percentile(tt.sorted, tt.q))
		})
	}
}

func TestParseStatus(t *testing.T) {
	cur, peak, err := parseStatus("Name:\trosterd\nVmPeak:\t  900000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   61234 kB\nThreads: 9\n")
	require.NoError(t, err)
	assert.Equal(t, int64(61234<<10), cur)
	assert.Equal(t, int64(81234<<10), peak)
	_, _, err = parseStatus("Name:\tx\n")
	assert.Error(t, err)
	_, _, err = parseStatus("VmRSS:\t12 MB\n")
	assert.Error(t, err)
}

// TestRSS_self reads this process's own status file, as -pid does.
func TestRSS_self(t *testing.T) {
	cur, peak, err := rss(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, cur, int64(1<<20))
	assert.GreaterOrEqual(t, peak, cur)
}

// TestDrive_countsAndErrors runs the driver against a server that fails
// every tenth request and checks that answers are counted, latencies
// sorted, the first failure kept, and the concurrency honoured.
func TestDrive_countsAndErrors(t *testing.T) {
	var inFlight, maxInFlight atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		assert.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
		time.Sleep(time.Millisecond)
		if strings.HasSuffix(r.URL.Path, "0") {
			http.Error(w, "boom", http.StatusTeapot)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	c := newClient(srv.URL, "tok", 4)
	defer c.close()
	var next atomic.Int64
	res := drive(context.Background(), c, 4, 50*time.Millisecond, 300*time.Millisecond, &next, func(n int64) request {
		return request{Method: http.MethodGet, Path: "/x/" + itoa(n), Want: http.StatusOK}
	})
	assert.LessOrEqual(t, maxInFlight.Load(), int32(4))
	before := next.Load()
	assert.GreaterOrEqual(t, before, int64(res.Requests+res.Errors))
	drive(context.Background(), c, 4, 0, 50*time.Millisecond, &next, func(n int64) request {
		assert.GreaterOrEqual(t, n, before, "a second round continues the numbering")
		return request{Method: http.MethodGet, Path: "/y", Want: http.StatusOK}
	})
	require.Greater(t, res.Requests, 20)
	assert.Greater(t, res.Errors, 0)
	assert.InDelta(t, 0.1, float64(res.Errors)/float64(res.Errors+res.Requests), 0.05)
	assert.Contains(t, res.FirstErr, "status 418, want 200")
	assert.IsNonDecreasing(t, res.Lat)
	assert.InDelta(t, 300*time.Millisecond, res.Elapsed, float64(100*time.Millisecond))
	assert.Greater(t, res.RPS(), 0.0)
}

func TestSequence_stopsAtFirstWrongStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"detail":"nope"}`))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c := newClient(srv.URL, "", 1)
	defer c.close()
	ok := request{Method: http.MethodPatch, Path: "/ok", Want: http.StatusNoContent}
	res, err := sequence(context.Background(), c, []request{ok, ok, ok})
	require.NoError(t, err)
	assert.Equal(t, 3, res.Requests)
	_, err = sequence(context.Background(), c, []request{ok, {Method: http.MethodPatch, Path: "/bad", Want: 204}, ok})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `status 400, want 204: {"detail":"nope"}`)
}

// TestShapes checks that the requests are the shapes Okta sends.
func TestShapes(t *testing.T) {
	t.Run("create user", func(t *testing.T) {
		rq := createUser("", "r1", 42)
		assert.Equal(t, http.MethodPost, rq.Method)
		assert.Equal(t, "/Users", rq.Path)
		assert.Equal(t, http.StatusCreated, rq.Want)
		var body map[string]any
		require.NoError(t, json.Unmarshal(rq.Body, &body))
		assert.Equal(t, []any{userSchema}, body["schemas"])
		assert.Equal(t, "load-r1-42@example.com", body["userName"])
		assert.Equal(t, true, body["active"])
		assert.Equal(t, "1mz050nq", body["password"], "Okta's placeholder password")
		assert.Equal(t, []any{}, body["groups"])
		emails := body["emails"].([]any)
		require.Len(t, emails, 1)
		assert.Equal(t, map[string]any{"primary": true, "value": "load-r1-42@example.com", "type": "work"}, emails[0])
		assert.NotEqual(t, createUser("", "r1", 43).Body, rq.Body, "every request is a new user")
	})
	t.Run("filter", func(t *testing.T) {
		rq := filterUser("/bare", seededUserName(7))
		assert.Equal(t, "/bare/Users?filter=userName%20eq%20%22user000000007%40example.com%22&startIndex=1&count=100", rq.Path)
		u, err := url.Parse(rq.Path)
		require.NoError(t, err)
		assert.Equal(t, `userName eq "user000000007@example.com"`, u.Query().Get("filter"))
		v, ok := eqValue(u.Query().Get("filter"), "userName")
		assert.True(t, ok)
		assert.Equal(t, "user000000007@example.com", v)
	})
	t.Run("add members", func(t *testing.T) {
		ids := make([]string, 10_000)
		for i := range ids {
			ids[i] = "u" + itoa(int64(i))
		}
		rq := addMembers("", "g1", ids)
		assert.Equal(t, http.MethodPatch, rq.Method)
		assert.Equal(t, "/Groups/g1", rq.Path)
		assert.Equal(t, http.StatusNoContent, rq.Want)
		var body struct {
			Schemas    []string
			Operations []struct {
				Op, Path string
				Value    []map[string]string
			}
		}
		require.NoError(t, json.Unmarshal(rq.Body, &body))
		assert.Equal(t, []string{patchSchema}, body.Schemas)
		require.Len(t, body.Operations, 1)
		assert.Equal(t, "add", body.Operations[0].Op)
		assert.Equal(t, "members", body.Operations[0].Path)
		require.Len(t, body.Operations[0].Value, 10_000)
		assert.Equal(t, map[string]string{"value": "u9999"}, body.Operations[0].Value[9999])
		assert.Less(t, len(rq.Body), 4<<20, "under the 4 MiB body limit")
	})
	t.Run("group reads and pages", func(t *testing.T) {
		assert.Equal(t, "/Groups/g%2F1?excludedAttributes=members", getGroupNoMembers("", "g/1").Path)
		assert.Equal(t, "/Users?startIndex=1001&count=1000", listPage("", 1001, 1000).Path)
		assert.Equal(t, "/Users/abc", getUser("", "abc").Path)
		var g map[string]any
		require.NoError(t, json.Unmarshal(createGroup("", "Eng").Body, &g))
		assert.Equal(t, map[string]any{"schemas": []any{groupSchema}, "displayName": "Eng", "members": []any{}}, g)
	})
}

func TestEqValue(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{`userName eq "a@x.com"`, "a@x.com", true},
		{`USERNAME EQ "a\"b"`, `a"b`, true},
		{`userName co "a"`, "", false},
		{`displayName eq "a"`, "", false},
		{`userName eq a`, "", false},
	} {
		v, ok := eqValue(tt.in, "userName")
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, v, tt.in)
	}
}

func TestParseScenarios(t *testing.T) {
	got, err := parseScenarios("all", scenarioNames)
	require.NoError(t, err)
	assert.Equal(t, scenarioNames, got)
	got, err = parseScenarios("get, filter", scenarioNames)
	require.NoError(t, err)
	assert.Equal(t, []string{"get", "filter"}, got)
	_, err = parseScenarios("get,nope", scenarioNames)
	assert.ErrorContains(t, err, `unknown scenario "nope"`)
	got, err = parseScenarios("all", scenarioNames, floodScenario)
	require.NoError(t, err)
	assert.NotContains(t, got, floodScenario, "run only when named")
	got, err = parseScenarios(floodScenario, scenarioNames, floodScenario)
	require.NoError(t, err)
	assert.Equal(t, []string{floodScenario}, got)
}

func TestScramble_staysInPopulation(t *testing.T) {
	seen := map[int]bool{}
	for n := int64(0); n < 1000; n++ {
		i := scramble(n, 1000)
		require.True(t, i >= 0 && i < 1000)
		seen[i] = true
	}
	assert.Len(t, seen, 1000, "7919 is prime to 1000: a full cycle")
}

// TestReport_table checks the Markdown the report prints.
func TestReport_table(t *testing.T) {
	var b strings.Builder
	rows := []row{
		{Scenario: "POST /Users", Target: "≥ 70 %", Ratio: 0.8, Met: true, BaseName: "bare",
			Roster: measure{RPS: 800, P50: 30 * time.Millisecond, P99: 80 * time.Millisecond, Requests: 8000},
			Base:   measure{RPS: 1000, P50: 25 * time.Millisecond, P99: 60 * time.Millisecond, Requests: 10000}},
		{Scenario: "big", Target: "< 2×", Ratio: 2.5, BaseName: "sql",
			Roster: measure{P50: 250 * time.Millisecond, P99: 300 * time.Millisecond, Requests: 3},
			Base:   measure{P50: 100 * time.Millisecond, P99: 110 * time.Millisecond, Requests: 3}, Note: "median of 3"},
		{Scenario: "broken", Target: "x", Failed: "rosterd: 3 errors"},
	}
	require.NoError(t, report(&b, commonFlags{conns: 32, dur: 10 * time.Second, warmup: 2 * time.Second}, rows))
	out := b.String()
	assert.Contains(t, out, "| POST /Users | 800 req/s, p50 30 ms, p99 80 ms | 1000 req/s, p50 25 ms, p99 60 ms — bare | 0.80 | ≥ 70 % | yes |")
	assert.Contains(t, out, "| big | 250 ms (median), max 300 ms | 100 ms (median), max 110 ms — sql | 2.50 | < 2× | **no** |")
	assert.Contains(t, out, "| broken | — | — | — | x | **failed**: rosterd: 3 errors |")
	assert.Contains(t, out, "- big: median of 3")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestMerge_poolsRounds(t *testing.T) {
	a := result{Requests: 2, Elapsed: time.Second, Lat: ds(5, 9)}
	b := result{Requests: 3, Errors: 1, FirstErr: "boom", Elapsed: time.Second, Lat: ds(1, 7, 8)}
	m := merge(merge(result{}, a), b)
	assert.Equal(t, 5, m.Requests)
	assert.Equal(t, 1, m.Errors)
	assert.Equal(t, "boom", m.FirstErr)
	assert.Equal(t, 2*time.Second, m.Elapsed)
	assert.Equal(t, ds(1, 5, 7, 8, 9), m.Lat)
	assert.InDelta(t, 2.5, m.RPS(), 1e-9)
}
