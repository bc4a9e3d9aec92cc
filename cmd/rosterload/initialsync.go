package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-dev/roster/saml"
	"github.com/roster-dev/roster/store/postgres"
)

// The initial-sync scenario: an IdP's first cycle against a new tenant,
// shaped like Entra's and Okta's, then its first incremental cycle. Run on a
// fresh database (no statistics yet: the first minute of a new install),
// then ANALYZE, then the same sync again for a second new tenant on the now
// analysed database; the report compares each phase with its rerun.
//
//	users:  for each user, GET /Users?filter=userName eq "…" (no match) then POST /Users, c at a time
//	groups: for each group, GET /Groups?filter=displayName eq "…" (no match), POST /Groups, then
//	        PATCH /Groups/{id} adding its members, 100 per PATCH
//	incremental: every user looked up again (found), every 100th updated (PATCH replace displayName),
//	        every group looked up again (found)

type syncOptions struct {
	users, groups, members, chunk, conns int
	updateEvery                          int
}

// syncPhase is what one phase of one run measured.
type syncPhase struct {
	Name     string                     `json:"name"`
	Wall     time.Duration              `json:"wall_ns"`
	Requests int                        `json:"requests"`
	Lat      map[string][]time.Duration `json:"-"`
}

// syncRecorder collects latencies per request kind from many workers.
type syncRecorder struct {
	mu  sync.Mutex
	lat map[string][]time.Duration
	n   atomic.Int64
}

func (r *syncRecorder) add(kind string, d time.Duration) {
	r.n.Add(1)
	r.mu.Lock()
	r.lat[kind] = append(r.lat[kind], d)
	r.mu.Unlock()
}

// send sends rq, times it under kind and checks the status is one of want.
func (r *syncRecorder) send(ctx context.Context, c *client, kind string, rq request, want ...int) ([]byte, error) {
	t0 := time.Now()
	status, body, err := c.do(ctx, rq)
	d := time.Since(t0)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", rq.Method, rq.Path, err)
	}
	if !slices.Contains(want, status) {
		return nil, fmt.Errorf("%s %s: status %d, want %v: %s", rq.Method, rq.Path, status, want, shorten(body))
	}
	r.add(kind, d)
	return body, nil
}

// parallel runs fn(i) for i in [0, n) on conns workers; the first error stops it.
func parallel(ctx context.Context, conns, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return context.Cause(ctx)
}

func syncUserName(run string, i int) string  { return fmt.Sprintf("sync-%s-%07d@example.com", run, i) }
func syncGroupName(run string, i int) string { return fmt.Sprintf("Sync %s team %04d", run, i) }

func groupFilter(displayName string) request {
	q := "filter=" + url.QueryEscape(fmt.Sprintf("displayName eq %q", displayName)) + "&startIndex=1&count=100"
	return request{Method: http.MethodGet, Path: "/Groups?" + strings.ReplaceAll(q, "+", "%20"), Header: jsonHeader, Want: http.StatusOK}
}

// foundID reads a ListResponse of a lookup: "" when nothing matched.
func foundID(body []byte) (string, error) {
	var lr listResponse
	if err := jsonUnmarshal(body, &lr); err != nil {
		return "", err
	}
	switch {
	case lr.TotalResults == 0 && len(lr.Resources) == 0:
		return "", nil
	case len(lr.Resources) == 1:
		return lr.Resources[0].ID, nil
	}
	return "", fmt.Errorf("lookup answered %d results", lr.TotalResults)
}

func userPatchBody(displayName string) []byte {
	b, _ := json.Marshal(map[string]any{"schemas": []string{patchSchema},
		"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"displayName": displayName}}}})
	return b
}

// initialSync runs the three phases against c (a new tenant's SCIM base).
func initialSync(ctx context.Context, c *client, o syncOptions, run string, log io.Writer) ([]syncPhase, error) {
	userIDs := make([]string, o.users)
	groupIDs := make([]string, o.groups)
	var phases []syncPhase
	phase := func(name string, n int, fn func(ctx context.Context, rec *syncRecorder, i int) error) error {
		rec := &syncRecorder{lat: map[string][]time.Duration{}}
		t0 := time.Now()
		err := parallel(ctx, o.conns, n, func(ctx context.Context, i int) error { return fn(ctx, rec, i) })
		p := syncPhase{Name: name, Wall: time.Since(t0), Requests: int(rec.n.Load()), Lat: rec.lat}
		for _, l := range p.Lat {
			slices.Sort(l)
		}
		fmt.Fprintf(log, "   %s: %d requests in %s (%.0f req/s)\n", name, p.Requests, p.Wall.Round(time.Millisecond), float64(p.Requests)/p.Wall.Seconds())
		phases = append(phases, p)
		return err
	}
	if err := phase("users: lookup + create", o.users, func(ctx context.Context, rec *syncRecorder, i int) error {
		name := syncUserName(run, i)
		body, err := rec.send(ctx, c, "GET /Users?filter=userName eq (no match)", filterUser(rosterPrefix, name), http.StatusOK)
		if err != nil {
			return err
		}
		if id, err := foundID(body); err != nil || id != "" {
			return fmt.Errorf("lookup of new user %s: %q, %v", name, id, err)
		}
		rq := createUser(rosterPrefix, run, int64(i))
		rq.Body = createUserBody(name, int64(i))
		body, err = rec.send(ctx, c, "POST /Users", rq, http.StatusCreated)
		if err != nil {
			return err
		}
		userIDs[i], err = resourceID(body)
		return err
	}); err != nil {
		return phases, err
	}
	if err := phase("groups: lookup + create + members", o.groups, func(ctx context.Context, rec *syncRecorder, g int) error {
		name := syncGroupName(run, g)
		body, err := rec.send(ctx, c, "GET /Groups?filter=displayName eq (no match)", groupFilter(name), http.StatusOK)
		if err != nil {
			return err
		}
		if id, err := foundID(body); err != nil || id != "" {
			return fmt.Errorf("lookup of new group %s: %q, %v", name, id, err)
		}
		body, err = rec.send(ctx, c, "POST /Groups", createGroup(rosterPrefix, name), http.StatusCreated)
		if err != nil {
			return err
		}
		if groupIDs[g], err = resourceID(body); err != nil {
			return err
		}
		members := make([]string, o.members)
		for k := range members {
			members[k] = userIDs[(g*o.members+k)%len(userIDs)]
		}
		for from := 0; from < len(members); from += o.chunk {
			part := members[from:min(len(members), from+o.chunk)]
			if _, err := rec.send(ctx, c, fmt.Sprintf("PATCH /Groups/{id} add %d members", o.chunk), addMembers(rosterPrefix, groupIDs[g], part),
				http.StatusNoContent, http.StatusOK); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return phases, err
	}
	err := phase("incremental: lookups + updates", o.users+o.groups, func(ctx context.Context, rec *syncRecorder, i int) error {
		if i >= o.users {
			g := i - o.users
			body, err := rec.send(ctx, c, "GET /Groups?filter=displayName eq (found)", groupFilter(syncGroupName(run, g)), http.StatusOK)
			if err != nil {
				return err
			}
			if id, err := foundID(body); err != nil || id != groupIDs[g] {
				return fmt.Errorf("lookup of group %d: %q, %v", g, id, err)
			}
			return nil
		}
		body, err := rec.send(ctx, c, "GET /Users?filter=userName eq (found)", filterUser(rosterPrefix, syncUserName(run, i)), http.StatusOK)
		if err != nil {
			return err
		}
		if id, err := foundID(body); err != nil || id != userIDs[i] {
			return fmt.Errorf("lookup of user %d: %q, %v", i, id, err)
		}
		if i%o.updateEvery == 0 {
			_, err = rec.send(ctx, c, "PATCH /Users/{id} (displayName)", request{Method: http.MethodPatch,
				Path: "/Users/" + url.PathEscape(userIDs[i]), Body: userPatchBody(fmt.Sprintf("Renamed %d", i)), Header: jsonHeader},
				http.StatusOK, http.StatusNoContent)
		}
		return err
	})
	return phases, err
}

// cmdInitialSync is `rosterload initialsync`.
func cmdInitialSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rosterload initialsync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o syncOptions
	target := fs.String("target", "http://127.0.0.1:8080", "rosterd base URL")
	db := fs.String("db", "", "PostgreSQL URL of rosterd's database, best a new one (required): the tenants are made there, and ANALYZE runs there between the runs")
	metadataPath := fs.String("saml-metadata", "testdata/saml/okta.xml", "IdP metadata for the SSO gate")
	fs.IntVar(&o.users, "users", 100_000, "users of the sync")
	fs.IntVar(&o.groups, "groups", 1_000, "groups of the sync")
	fs.IntVar(&o.members, "members", 100, "members of each group")
	fs.IntVar(&o.chunk, "chunk", 100, "members added per PATCH")
	fs.IntVar(&o.conns, "c", 16, "requests in flight at once (Entra and Okta send about 16)")
	fs.IntVar(&o.updateEvery, "update-every", 100, "incremental cycle: every n-th user is updated")
	jsonOut := fs.String("json", "", "also write the phases as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *db == "" {
		return errors.New("initialsync: -db is required")
	}
	if o.users < 1 || o.groups < 0 || o.members < 0 || o.chunk < 1 || o.conns < 1 || o.updateEvery < 1 {
		return errors.New("initialsync: -users, -chunk, -c and -update-every must be at least 1; -groups and -members not negative")
	}
	md, err := os.ReadFile(*metadataPath)
	if err != nil {
		return fmt.Errorf("read IdP metadata for the SSO prerequisite: %w", err)
	}
	idp, err := saml.ValidateMetadata(md, time.Now())
	if err != nil {
		return fmt.Errorf("%s: %w", *metadataPath, err)
	}
	st, err := postgres.Open(ctx, *db, postgres.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	runID := fmt.Sprintf("%x", time.Now().UnixNano()%0xffffff)
	var runs [2][]syncPhase
	for k, label := range []string{"fresh", "analysed"} {
		if k == 1 {
			t0 := time.Now()
			if _, err := st.Pool().Exec(ctx, "analyze"); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "== ANALYZE in %s\n", time.Since(t0).Round(time.Millisecond))
		}
		tenant := fmt.Sprintf("sync%s%d", runID, k)
		token, err := seedTenant(ctx, st, tenant, idp, string(md), rand.Reader)
		if err != nil {
			return fmt.Errorf("tenant %s: %w", tenant, err)
		}
		fmt.Fprintf(stderr, "== initial sync, %s database: tenant %s, %d users, %d groups × %d members, %d at a time\n",
			label, tenant, o.users, o.groups, o.members, o.conns)
		c := newClient(strings.TrimRight(*target, "/")+"/scim/v2/"+tenant, token, o.conns)
		if err := awaitToken(ctx, c); err != nil {
			return err
		}
		runs[k], err = initialSync(ctx, c, o, runID+fmt.Sprint(k), stderr)
		c.close()
		if err != nil {
			return fmt.Errorf("initial sync (%s): %w", label, err)
		}
	}
	return reportSync(stdout, o, runs, *jsonOut)
}

// awaitToken waits until rosterd accepts the new tenant's token: rosterd
// learns of a token made by another process from a notification, or from
// its next reload of the token set, not at once.
func awaitToken(ctx context.Context, c *client) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body, err := c.do(ctx, listPage(rosterPrefix, 1, 1))
		if err == nil && status == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("rosterd does not accept the new tenant's token: %d %v %s", status, err, shorten(body))
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func total(ps []syncPhase, upTo int) time.Duration {
	var d time.Duration
	for _, p := range ps[:upTo] {
		d += p.Wall
	}
	return d
}

// reportSync prints the phases of both runs and their ratios as Markdown.
func reportSync(w io.Writer, o syncOptions, runs [2][]syncPhase, jsonOut string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nInitial sync: %d users, %d groups × %d members (PATCHes of %d), %d requests in flight; "+
		"first on a fresh database (never analysed), then ANALYZE and the same sync for a new tenant.\n\n", o.users, o.groups, o.members, o.chunk, o.conns)
	b.WriteString("| phase | fresh database | analysed | fresh / analysed | target |\n|---|---|---|---|---|\n")
	for i := range runs[0] {
		f, a := runs[0][i], runs[1][i]
		ratio := float64(f.Wall) / float64(a.Wall)
		met := "yes"
		if ratio > 1.2 {
			met = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s, %d requests, %.0f req/s | %s, %.0f req/s | %.2f | ≤ 1.2 (%s) |\n", f.Name, ms(f.Wall), f.Requests,
			float64(f.Requests)/f.Wall.Seconds(), ms(a.Wall), float64(a.Requests)/a.Wall.Seconds(), ratio, met)
	}
	first := total(runs[0], min(2, len(runs[0])))
	again := total(runs[1], min(2, len(runs[1])))
	met := "yes"
	if first > 60*time.Second {
		met = "**no**"
	}
	fmt.Fprintf(&b, "| initial sync in all (users + groups) | %s | %s | %.2f | < 60 s (%s) |\n", ms(first), ms(again), float64(first)/float64(again), met)
	fmt.Fprintf(&b, "| with the incremental cycle | %s | %s | %.2f | |\n", ms(total(runs[0], len(runs[0]))), ms(total(runs[1], len(runs[1]))),
		float64(total(runs[0], len(runs[0])))/float64(total(runs[1], len(runs[1]))))
	b.WriteString("\n| request | fresh: p50, p99 | analysed: p50, p99 |\n|---|---|---|\n")
	for i := range runs[0] {
		kinds := make([]string, 0, len(runs[0][i].Lat))
		for k := range runs[0][i].Lat {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		for _, k := range kinds {
			f, a := runs[0][i].Lat[k], runs[1][i].Lat[k]
			fmt.Fprintf(&b, "| %s (%d) | %s, %s | %s, %s |\n", k, len(f), ms(percentile(f, 0.5)), ms(percentile(f, 0.99)),
				ms(percentile(a, 0.5)), ms(percentile(a, 0.99)))
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if jsonOut != "" {
		j, err := json.MarshalIndent(runs, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(jsonOut, append(j, '\n'), 0o644)
	}
	return nil
}
