package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/scim"
	"github.com/roster-dev/roster/scimauth"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

// TestRun_endToEnd seeds a small data set, serves the real SCIM stack
// (scimauth.Guard in front of the scim handler, as rosterd mounts it) on the
// same database, and runs every scenario of `rosterload run` for a moment:
// each must produce its row with both sides measured and no errors.
func TestRun_endToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 20,000 users")
	}
	ctx := context.Background()
	dir := t.TempDir()
	dsn, statePath, st, srv := seedAndServe(t, "2500", "5000")
	var out, log bytes.Buffer
	jsonPath := filepath.Join(dir, "rows.json")
	// One round of half a second per side: a 200 ms window measured no
	// request at all on a busy two-core machine under -race.
	require.NoError(t, run(ctx, []string{"run", "-target", srv.URL, "-db", dsn, "-state", statePath, "-c", "4",
		"-d", "500ms", "-warmup", "0s", "-rounds", "1", "-reps", "1", "-pid", itoa(int64(os.Getpid())), "-json", jsonPath}, &out, &log), log.String())

	report := out.String()
	for _, want := range []string{"| POST /Users |", "| GET /Users?filter=userName eq", "| GET /Users/{id} |",
		"| PATCH /Groups/{id}: add 10,000 members", "| 100 × PATCH /Groups/{id}", "| GET /Groups/{id}?excludedAttributes=members, 5000 members",
		"| page through 2500 users", "| rosterd resident memory"} {
		assert.Contains(t, report, want)
	}
	assert.NotContains(t, report, "failed", report)

	var rows []row
	b, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rows))
	require.Len(t, rows, 8)
	for _, r := range rows[:7] {
		assert.Empty(t, r.Failed, r.Scenario)
		assert.Positive(t, r.Roster.Requests, r.Scenario)
		assert.Positive(t, r.Base.Requests, r.Scenario)
		assert.Positive(t, r.Ratio, r.Scenario)
	}
	assert.True(t, strings.HasPrefix(rows[7].Note, "VmRSS"), rows[7].Note)

	// The opt-in biglist scenario, small: two rounds (half and all of the
	// members), each checked answer complete, each row with its memory.
	out.Reset()
	log.Reset()
	require.NoError(t, run(ctx, []string{"run", "-target", srv.URL, "-db", dsn, "-state", statePath, "-scenario", "biglist",
		"-list-groups", "2", "-list-members", "1000", "-list-conc", "2", "-pid", itoa(int64(os.Getpid())), "-json", jsonPath}, &out, &log), log.String())
	assert.NotContains(t, out.String(), "failed", out.String())
	assert.Contains(t, out.String(), "| 2 concurrent GET /Groups?count=1000, 2 groups × 500 members |")
	assert.Contains(t, out.String(), "| 2 concurrent GET /Groups?count=1000, 2 groups × 1000 members |")
	assert.Contains(t, out.String(), "per-request time ×")
	b, err = os.ReadFile(jsonPath)
	require.NoError(t, err)
	rows = nil
	require.NoError(t, json.Unmarshal(b, &rows))
	require.Len(t, rows, 3)
	for _, r := range rows[:2] {
		assert.Equal(t, 2, r.Roster.Requests, r.Scenario)
		assert.Positive(t, r.Ratio, "%s: peak RSS measured", r.Scenario)
	}
	var groups int
	require.NoError(t, st.Pool().QueryRow(ctx, `select count(*) from groups where tenant_id = 'loadpage'`).Scan(&groups))
	assert.Zero(t, groups, "the scenario deletes its groups")
}

// TestRun_authFlood runs the authflood scenario briefly against the real
// SCIM stack: the tenant's own token, calling from the same address as the
// flood of made-up tokens, is never answered 429.
func TestRun_authFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 20,000 users")
	}
	ctx := context.Background()
	dsn, statePath, _, srv := seedAndServe(t, "100", "100")
	var out, log bytes.Buffer
	jsonPath := filepath.Join(t.TempDir(), "rows.json")
	require.NoError(t, run(ctx, []string{"run", "-target", srv.URL, "-db", dsn, "-state", statePath, "-c", "4",
		"-d", "400ms", "-stats-wait", "0s", "-scenario", "authflood", "-json", jsonPath}, &out, &log), log.String())
	var rows []row
	b, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rows))
	require.Len(t, rows, 1)
	assert.Empty(t, rows[0].Failed)
	assert.Contains(t, rows[0].Note, ", 0 answered 429,", rows[0].Note)
	assert.Positive(t, rows[0].Roster.Requests, "made-up tokens were sent")
	assert.NotContains(t, rows[0].Note, "429 ×", "no request at all was throttled: made-up tokens are refused from memory")
}

// seedAndServe seeds 20,000 users (and pageUsers users of the paging
// tenant, a big group of bigMembers) into a fresh database with `rosterload
// seed`, and serves the real SCIM stack on it (scimauth.Guard in front of
// the scim handler, as rosterd mounts it) until the test ends.
func seedAndServe(t *testing.T, pageUsers, bigMembers string) (dsn, statePath string, st *postgres.Store, srv *httptest.Server) {
	t.Helper()
	ctx := context.Background()
	dsn = pgtest.New(t)
	statePath = filepath.Join(t.TempDir(), "state.json")
	var out, log bytes.Buffer
	require.NoError(t, run(ctx, []string{"seed", "-db", dsn, "-users", "20000", "-page-users", pageUsers, "-big-members", bigMembers,
		"-saml-metadata", "../../testdata/saml/okta.xml", "-state", statePath}, &out, &log), log.String())
	st, err := postgres.Open(ctx, dsn, postgres.Options{})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	guard := scimauth.New(scimauth.Config{Store: st})
	t.Cleanup(guard.Close)
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/{tenant}/", guard.Wrap(scim.New(scim.Config{Store: st, BaseURL: "https://roster.example.com"})))
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return dsn, statePath, st, srv
}
