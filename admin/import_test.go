package admin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/admin"
	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
)

var csvHeader = []string{"Content-Type", "text/csv"}

func resultsOf(r response) []map[string]any {
	list, _ := r.Body["results"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		out = append(out, x.(map[string]any))
	}
	return out
}

// waitJob polls the job until it is done (a condition, not a sleep).
func (c *client) waitJob(location string) response {
	c.t.Helper()
	var r response
	require.Eventually(c.t, func() bool {
		r = c.do("GET", location, "")
		return r.Status == http.StatusOK && (r.Body["state"] == "succeeded" || r.Body["state"] == "failed")
	}, 2*time.Minute, 20*time.Millisecond)
	return r
}

func bigCSV(n int, prefix string) string {
	var b strings.Builder
	b.WriteString("email,givenName,role\n")
	for i := range n {
		fmt.Fprintf(&b, "%s%05d@acme.test,User%d,agent\n", prefix, i, i)
	}
	return b.String()
}

// A CSV row that would change an existing user's role or drop her stores is
// refused per row, naming the role she holds, unless mode=update; the dry
// run shows old → new of every field a row changes.
func TestImport_refusesSilentDemotion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("globex", "ultimate", 10)
		for _, id := range []string{"store-1", "store-2"} {
			_, err := c.store.CreateOutlet(t.Context(), "globex", store.Outlet{ID: id, Name: id}, store.ActorAdmin)
			require.NoError(t, err)
		}
		nora, err := c.store.CreateUser(t.Context(), "globex", store.User{UserName: "nora@globex.test", Active: true,
			ExplicitRole: "supervisor", Stores: []string{"store-1"}, Emails: []store.MultiValue{{Value: "nora@globex.test", Primary: true}}}, scimToken)
		require.NoError(t, err)
		const row = "email,role,stores\nnora@globex.test,agent,store-2\n"

		r := c.do("POST", "/admin/v1/tenants/globex/users/import?dry_run=true", row, csvHeader...)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		res := resultsOf(r)[0]
		assert.Equal(t, "invalid", res["status"])
		assert.Contains(t, toStrings(res["errors"])[0], "already holds role supervisor")

		r = c.do("POST", "/admin/v1/tenants/globex/users/import", row, csvHeader...)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		res = resultsOf(r)[0]
		assert.Equal(t, "failed", res["status"])
		assert.Contains(t, toStrings(res["errors"])[0], "already holds role supervisor (stores: store-1); this row would make them agent")
		assert.Contains(t, toStrings(res["errors"])[0], "mode=update")
		got, err := c.store.GetUser(t.Context(), "globex", nora.ID)
		require.NoError(t, err)
		assert.Equal(t, "supervisor", got.Role, "nothing changed")
		assert.Equal(t, []string{"store-1"}, got.Stores)

		r = c.do("POST", "/admin/v1/tenants/globex/users/import", "email,stores\nnora@globex.test,store-2\n", csvHeader...)
		res = resultsOf(r)[0]
		assert.Equal(t, "failed", res["status"])
		assert.Contains(t, toStrings(res["errors"])[0], "would drop store-1")
		r = c.do("POST", "/admin/v1/tenants/globex/users/import", "email,stores\nnora@globex.test,store-1;store-2\n", csvHeader...)
		assert.Equal(t, "updated", resultsOf(r)[0]["status"], "adding a store is no demotion")

		r = c.do("POST", "/admin/v1/tenants/globex/users/import?dry_run=true&mode=update", row, csvHeader...)
		res = resultsOf(r)[0]
		assert.Equal(t, "update", res["status"])
		assert.ElementsMatch(t, []any{
			map[string]any{"field": "role", "old": "supervisor", "new": "agent"},
			map[string]any{"field": "stores", "old": "store-1;store-2", "new": "store-2"},
		}, res["changes"])

		r = c.do("POST", "/admin/v1/tenants/globex/users/import?mode=update", row, csvHeader...)
		res = resultsOf(r)[0]
		assert.Equal(t, "updated", res["status"])
		got, err = c.store.GetUser(t.Context(), "globex", nora.ID)
		require.NoError(t, err)
		assert.Equal(t, "agent", got.Role)
		assert.Equal(t, []string{"store-2"}, got.Stores)

		r = c.do("POST", "/admin/v1/tenants/globex/users/import?mode=replace", row, csvHeader...)
		assert.Equal(t, http.StatusBadRequest, r.Status)
	})
}

// One person, one seat: a CSV row whose email belongs to an existing user
// (another userName, another case) updates that user.
func TestImport_emailOfExistingUserUpdatesThem(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 10)
		ann, err := c.store.CreateUser(t.Context(), "acme", store.User{UserName: "ann.lee", Active: true,
			Emails: []store.MultiValue{{Value: "Ann@Acme.test", Primary: true}}}, scimToken)
		require.NoError(t, err)
		r := c.do("POST", "/admin/v1/tenants/acme/users/import?dry_run=true", "email,givenName\nann@acme.test,Ann\n", csvHeader...)
		res := resultsOf(r)[0]
		assert.Equal(t, "update", res["status"], "would update, not create")
		assert.Equal(t, ann.ID, res["id"])
		r = c.do("POST", "/admin/v1/tenants/acme/users/import", "email,givenName\nann@acme.test,Ann\n", csvHeader...)
		res = resultsOf(r)[0]
		assert.Equal(t, "updated", res["status"])
		assert.Equal(t, ann.ID, res["id"])
		assert.Equal(t, "ann.lee", res["userName"])
		c2, err := c.store.SeatCounts(t.Context(), "acme")
		require.NoError(t, err)
		assert.Equal(t, 1, c2.Full)
	})
}

// failingLookups is a store whose user reads fail as a database outage does.
type failingLookups struct{ store.Store }

func (f failingLookups) ListUsers(context.Context, string, store.UserQuery) (store.UserPage, error) {
	return store.UserPage{}, fmt.Errorf("read users: %w", store.ErrUnavailable)
}

// A dry run reports a store error as an error, never as "would create".
func TestImport_dryRunStoreErrorIsAnError(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, func(t *testing.T, now func() time.Time) store.Store { return failingLookups{open(t, now)} })
			c.tenant("acme", "ultimate", 10)
			r := c.do("POST", "/admin/v1/tenants/acme/users/import?dry_run=true", "email\nann@acme.test\n", csvHeader...)
			assert.Equal(t, http.StatusServiceUnavailable, r.Status, r.Raw)
			assert.NotContains(t, r.Raw, `"create"`)
		})
	}
}

// More than 1,000 rows, or Prefer: respond-async, is a job: 202 with its
// Location, progress readable while it runs, every row's result as JSON and
// as CSV after; re-submitting the file changes nothing.
func TestImport_largeImportIsAJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 5000)
		file := bigCSV(1500, "u") + "bad-email,,\n"
		r := c.do("POST", "/admin/v1/tenants/acme/users/import", file, csvHeader...)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		loc := r.Header.Get("Location")
		assert.Regexp(t, `^/admin/v1/tenants/acme/jobs/[^/]+$`, loc)
		assert.Equal(t, float64(1501), r.Body["total"])
		assert.Equal(t, "users.import", r.Body["kind"])

		j := c.waitJob(loc)
		assert.Equal(t, "succeeded", j.Body["state"], j.Raw)
		assert.Equal(t, float64(1501), j.Body["processed"])
		assert.Equal(t, map[string]any{"created": 1500.0, "failed": 1.0}, j.Body["counts"])
		assert.NotNil(t, j.Body["finished_at"])

		page := c.do("GET", loc+"/results?from=1499&limit=10", "")
		require.Equal(t, http.StatusOK, page.Status, page.Raw)
		rs := resultsOf(page)
		require.Len(t, rs, 2)
		assert.Equal(t, "created", rs[0]["status"])
		assert.Equal(t, "agent", rs[0]["role"])
		assert.Equal(t, "u01499@acme.test", rs[0]["userName"])
		assert.NotEmpty(t, rs[0]["id"])
		assert.Equal(t, "failed", rs[1]["status"])
		assert.Equal(t, float64(1502), rs[1]["line"])
		assert.Nil(t, page.Body["next"], "the last page")

		csvRes := c.raw("GET", loc, "Accept", "text/csv")
		lines := strings.Split(strings.TrimSpace(csvRes), "\n")
		assert.Len(t, lines, 1502, "a header and one line per row")
		assert.Equal(t, "line,email,userName,status,id,role,changes,errors", lines[0])
		assert.Contains(t, lines[1501], `1502,bad-email,bad-email,failed`)

		// Re-submitting: every row a no-op.
		r = c.do("POST", "/admin/v1/tenants/acme/users/import", file, csvHeader...)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		j = c.waitJob(r.Header.Get("Location"))
		assert.Equal(t, map[string]any{"unchanged": 1500.0, "failed": 1.0}, j.Body["counts"])

		// A small import asked to run async.
		r = c.do("POST", "/admin/v1/tenants/acme/users/import?dry_run=true", "email\nnew@acme.test\n",
			"Content-Type", "text/csv", "Prefer", "respond-async")
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		assert.Equal(t, "respond-async", r.Header.Get("Preference-Applied"))
		j = c.waitJob(r.Header.Get("Location"))
		assert.Equal(t, map[string]any{"create": 1.0}, j.Body["counts"], "a dry run's counts are in its own words")
		assert.Equal(t, true, j.Body["dry_run"])
		assert.Equal(t, 1.0, j.Body["seats"].(map[string]any)["needed_full"])

		r = c.do("GET", "/admin/v1/tenants/acme/jobs/nope", "")
		assert.Equal(t, http.StatusNotFound, r.Status)
	})
}

// Two submissions of one file at once: each user is created once, every
// row has a result in both jobs, and no row is refused.
func TestImport_concurrentResubmission(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 5000)
		file := bigCSV(1200, "c")
		var wg sync.WaitGroup
		locs := make([]string, 2)
		for i := range locs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("POST", c.srv.URL+"/admin/v1/tenants/acme/users/import", strings.NewReader(file))
				req.Header.Set("Authorization", "Bearer "+adminToken)
				req.Header.Set("Content-Type", "text/csv")
				res, err := http.DefaultClient.Do(req)
				if err == nil {
					res.Body.Close()
					locs[i] = res.Header.Get("Location")
				}
			}()
		}
		wg.Wait()
		created := 0
		for _, loc := range locs {
			require.NotEmpty(t, loc)
			j := c.waitJob(loc)
			counts := j.Body["counts"].(map[string]any)
			assert.Nil(t, counts["failed"], "no row refused: %v", counts)
			assert.Equal(t, float64(1200), j.Body["processed"])
			if v, ok := counts["created"].(float64); ok {
				created += int(v)
			}
		}
		assert.Equal(t, 1200, created, "each user created by exactly one of the jobs")
		sc, err := c.store.SeatCounts(t.Context(), "acme")
		require.NoError(t, err)
		assert.Equal(t, 1200, sc.Full)
	})
}

// A job found running with an expired lease — its rosterd died — is resumed
// by the next one from its recorded progress: every row ends with exactly
// one result and the rows already applied are not applied twice.
func TestImport_jobResumedAfterRestart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 5000)
		file := bigCSV(1100, "r")
		// The first rosterd: accepts the job and dies before running it
		// past its first chunk. Simulated in the store: claimed by a runner
		// that recorded nothing and never comes back.
		j, err := c.store.CreateJob(t.Context(), "acme", store.Job{Kind: "users.import", Input: []byte(file), Total: 1100,
			Params: map[string]string{"dry_run": "false", "mode": "create"}, Actor: store.ActorAdmin})
		require.NoError(t, err)
		_, err = c.store.ClaimJob(t.Context(), store.JobClaim{TenantID: "acme", ID: j.ID, Owner: "dead-rosterd", Lease: 30 * time.Second})
		require.NoError(t, err)
		// It applied the first 3 rows and recorded 2 of them.
		for i := range 3 {
			email := fmt.Sprintf("r%05d@acme.test", i)
			res, err := directory.New(c.store).ImportUsers(t.Context(), "acme", []directory.ImportRow{{User: store.User{UserName: email, Active: true, ExplicitRole: "agent",
				Name: store.Name{GivenName: fmt.Sprintf("User%d", i)}, DisplayName: fmt.Sprintf("User%d", i),
				Emails: []store.MultiValue{{Value: email, Type: "work", Primary: true}}}, Apply: func(*store.User) error { return nil }}}, store.ActorAdmin)
			require.NoError(t, err)
			require.NoError(t, res[0].Err)
		}
		_, err = c.store.RecordJobProgress(t.Context(), "acme", j.ID, "dead-rosterd", store.JobProgress{
			Results: []store.JobResult{{N: 0, Data: []byte(`{"line":2,"status":"created"}`)}, {N: 1, Data: []byte(`{"line":3,"status":"created"}`)}},
			Counts:  map[string]int{"created": 2}, Lease: 30 * time.Second})
		require.NoError(t, err)

		// The new rosterd starts while the dead one's lease still runs:
		// nothing to claim yet. Once it has run out, the job is resumed.
		next := admin.New(admin.Config{Store: c.store, AdminToken: adminToken, Now: func() time.Time { return c.now }, JobPoll: 10 * time.Millisecond})
		t.Cleanup(next.Close)
		ctx, cancel := context.WithCancel(t.Context())
		t.Cleanup(cancel)
		c.now = c.now.Add(time.Minute) // before any goroutine of the new runner reads the clock
		go next.RunJobs(ctx)

		done := c.waitJob("/admin/v1/tenants/acme/jobs/" + j.ID)
		assert.Equal(t, "succeeded", done.Body["state"], done.Raw)
		assert.Equal(t, float64(1100), done.Body["processed"])
		counts := done.Body["counts"].(map[string]any)
		assert.Equal(t, 1099.0, counts["created"], "2 recorded + 1097 after the restart")
		assert.Equal(t, 1.0, counts["unchanged"], "the row applied but not recorded is a no-op")
		sc, err := c.store.SeatCounts(t.Context(), "acme")
		require.NoError(t, err)
		assert.Equal(t, 1100, sc.Full, "no user twice")
		all := c.do("GET", "/admin/v1/tenants/acme/jobs/"+j.ID+"/results?limit=5000", "")
		assert.Len(t, resultsOf(all), 1100, "one result per row")
	})
}

// raw sends a request and answers the body as text.
func (c *client) raw(method, path string, headers ...string) string {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, nil)
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	require.Equal(c.t, http.StatusOK, res.StatusCode, string(b))
	return string(b)
}

// One person, one seat: the seat report and the dormant report list seat
// holders sharing an email address (any case) with what they cost; SCIM may
// still create them (the IdP decides).
func TestReports_listPossibleDuplicates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("globex", "ultimate", 10)
		for _, u := range []struct{ name, email string }{{"nora", "Nora@Globex.test"}, {"nora.k", "nora@globex.TEST"}, {"ann", "ann@globex.test"}} {
			_, err := c.store.CreateUser(t.Context(), "globex", store.User{UserName: u.name, Active: true,
				Emails: []store.MultiValue{{Value: u.email, Primary: true}}}, scimToken)
			require.NoError(t, err)
		}
		for _, path := range []string{"/admin/v1/tenants/globex/seats", "/admin/v1/tenants/globex/reports/dormant"} {
			r := c.do("GET", path, "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			dups, _ := r.Body["possible_duplicates"].([]any)
			require.Len(t, dups, 1, path)
			d := dups[0].(map[string]any)
			assert.Equal(t, "nora@globex.test", d["email"])
			assert.Len(t, d["users"], 2)
			assert.Equal(t, 27800.0, d["monthly_cost_cents"], path)
			assert.Equal(t, 13900.0, d["extra_monthly_cents"])
			assert.Equal(t, 13900.0, r.Body["possible_duplicates_extra_monthly_cents"])
		}
	})
}

// The documented maximum, 50,000 rows, on PostgreSQL: a job that finishes
// with every row's result (it once ran into the 40 s request deadline with
// 37,454 rows applied and their results lost), then its dry run.
func TestImport_fiftyThousandRowsOnPostgres(t *testing.T) {
	c := newClient(t, openPostgres)
	c.tenant("acme", "ultimate", 60000)
	file := bigCSV(50000, "f")
	start := time.Now()
	r := c.do("POST", "/admin/v1/tenants/acme/users/import", file, csvHeader...)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	j := c.waitJob(r.Header.Get("Location"))
	took := time.Since(start)
	assert.Equal(t, "succeeded", j.Body["state"], j.Raw)
	assert.Equal(t, map[string]any{"created": 50000.0}, j.Body["counts"])
	t.Logf("50,000-row import job: %s", took)
	sc, err := c.store.SeatCounts(t.Context(), "acme")
	require.NoError(t, err)
	assert.Equal(t, 50000, sc.Full)

	start = time.Now()
	r = c.do("POST", "/admin/v1/tenants/acme/users/import?dry_run=true", file, csvHeader...)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	j = c.waitJob(r.Header.Get("Location"))
	assert.Equal(t, "succeeded", j.Body["state"], j.Raw)
	assert.Equal(t, map[string]any{"unchanged": 50000.0}, j.Body["counts"])
	t.Logf("50,000-row dry run job: %s", time.Since(start))
	all := c.do("GET", r.Header.Get("Location")+"/results?from=49999", "")
	assert.Len(t, resultsOf(all), 1)
}

// firstChunkOnly lets an import's Changes through until they have planned
// the writes of its first chunk (every row of these files creates a user),
// and answers every later one with then.
type firstChunkOnly struct {
	store.Store
	then    func(ctx context.Context) error
	mu      sync.Mutex
	written int
}

// firstChunk is how many rows admin applies at once (importChunk).
const firstChunk = 500

func (s *firstChunkOnly) Change(ctx context.Context, tenantID string, lock store.Lock, fn func(*store.View) (*store.Plan, error)) error {
	s.mu.Lock()
	through := s.written < firstChunk
	s.mu.Unlock()
	if !through {
		return s.then(ctx)
	}
	return s.Store.Change(ctx, tenantID, lock, func(v *store.View) (*store.Plan, error) {
		p, err := fn(v)
		if p != nil {
			s.mu.Lock()
			s.written += len(p.Writes)
			s.mu.Unlock()
		}
		return p, err
	})
}

// stallingImports lets the first chunk of an import through and holds the
// next until its context ends, as a long chunk would when rosterd stops.
func stallingImports(st store.Store) (store.Store, <-chan struct{}) {
	stalled := make(chan struct{})
	var once sync.Once
	return &firstChunkOnly{Store: st, then: func(ctx context.Context) error {
		once.Do(func() { close(stalled) })
		<-ctx.Done()
		return ctx.Err()
	}}, stalled
}

// At shutdown a running job records what it did and is handed back, queued;
// the next rosterd resumes it from there and every row ends with one result.
func TestImport_jobHandedBackAtShutdown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 5000)
		wrapped, stalled := stallingImports(c.store)
		first := admin.New(admin.Config{Store: wrapped, AdminToken: adminToken, Now: func() time.Time { return c.now }})
		mux := http.NewServeMux()
		first.Register(mux)
		req := httptestRequest(t, "POST", "/admin/v1/tenants/acme/users/import", bigCSV(1200, "s"))
		rec := serve(mux, req)
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
		loc := rec.Header().Get("Location")
		<-stalled     // the first chunk is done, the second is running
		first.Close() // SIGTERM

		j := c.do("GET", loc, "")
		assert.Equal(t, "queued", j.Body["state"], "handed back")
		assert.Equal(t, 500.0, j.Body["processed"], "the first chunk's results are kept")

		next := admin.New(admin.Config{Store: c.store, AdminToken: adminToken, Now: func() time.Time { return c.now }, JobPoll: 10 * time.Millisecond})
		t.Cleanup(next.Close)
		ctx, cancel := context.WithCancel(t.Context())
		t.Cleanup(cancel)
		go next.RunJobs(ctx)
		done := c.waitJob(loc)
		assert.Equal(t, "succeeded", done.Body["state"], done.Raw)
		assert.Equal(t, map[string]any{"created": 1200.0}, done.Body["counts"])
		all := c.do("GET", loc+"/results", "")
		assert.Len(t, resultsOf(all), 1200)
	})
}

func httptestRequest(t *testing.T, method, path, body string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "text/csv")
	return req
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// failingSecondChunk lets the first chunk of an import through and fails
// the next as a database outage does.
func failingSecondChunk(st store.Store) store.Store {
	return &firstChunkOnly{Store: st, then: func(context.Context) error { return fmt.Errorf("import: %w", store.ErrUnavailable) }}
}

// A synchronous import the store stops part-way answers the error with the
// results of the rows it applied: never half-applied without its results.
func TestImport_stoppedPartWayAnswersItsResults(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, func(t *testing.T, now func() time.Time) store.Store {
				return failingSecondChunk(open(t, now))
			})
			c.tenant("acme", "ultimate", 5000)
			r := c.do("POST", "/admin/v1/tenants/acme/users/import", bigCSV(600, "p"), csvHeader...)
			require.Equal(t, http.StatusServiceUnavailable, r.Status, r.Raw)
			assert.Equal(t, "unavailable", r.Body["error"])
			assert.Contains(t, r.Body["message"], "the import stopped after 500 of 600 rows")
			assert.NotEmpty(t, r.Header.Get("Retry-After"))
			assert.Len(t, resultsOf(r), 500)
			assert.Equal(t, 500.0, r.Body["created"])
		})
	}
}

// TestImport_noRowsAnswersEmptyResults: a file with a header and no rows is
// an import of nothing, answered with "results": [] (a list, as for any
// other file), never null.
func TestImport_noRowsAnswersEmptyResults(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 10)
		for _, path := range []string{"/admin/v1/tenants/acme/users/import", "/admin/v1/tenants/acme/users/import?dry_run=true"} {
			r := c.do("POST", path, "email,userName\n", csvHeader...)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			assert.Equal(t, []any{}, r.Body["results"], path)
			assert.Equal(t, 0.0, r.Body["rows"], path)
		}
	})
}

// TestJobs_finishedJobsPurgedAfterRetention: the job runner deletes a job
// that finished more than store.JobRetention ago, with its results; its
// address then answers 404. A job finished since stays.
func TestJobs_finishedJobsPurgedAfterRetention(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","name":"Acme","plan":"ultimate","seats":10}`).Status)
		finished := func() string {
			t.Helper()
			j, err := c.store.CreateJob(t.Context(), "acme", store.Job{Kind: "users.import", Input: []byte("email\n"), Actor: store.ActorAdmin})
			require.NoError(t, err)
			_, err = c.store.ClaimJob(t.Context(), store.JobClaim{TenantID: "acme", ID: j.ID, Owner: "r", Lease: time.Minute})
			require.NoError(t, err)
			_, err = c.store.FinishJob(t.Context(), "acme", j.ID, "r", store.JobSucceeded, "")
			require.NoError(t, err)
			return j.ID
		}
		old := finished()
		c.now = c.now.Add(store.JobRetention + time.Hour)
		recent := finished()
		require.Equal(t, http.StatusOK, c.do("GET", "/admin/v1/tenants/acme/jobs/"+old, "").Status)

		runner := admin.New(admin.Config{Store: c.store, AdminToken: adminToken, Now: func() time.Time { return c.now }, JobPoll: 10 * time.Millisecond})
		t.Cleanup(runner.Close)
		ctx, cancel := context.WithCancel(t.Context())
		t.Cleanup(cancel)
		go runner.RunJobs(ctx)
		require.Eventually(t, func() bool {
			return c.do("GET", "/admin/v1/tenants/acme/jobs/"+old, "").Status == http.StatusNotFound
		}, 10*time.Second, 20*time.Millisecond, "the job finished 30 days ago is deleted")
		assert.Equal(t, http.StatusOK, c.do("GET", "/admin/v1/tenants/acme/jobs/"+recent, "").Status, "a recent one stays")
	})
}
