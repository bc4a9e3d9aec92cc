// Command rosterload drives a running rosterd over HTTP the way an IdP does
// and, in the same run, a bare baseline built into the tool on the same
// PostgreSQL database, then prints req/s, p50, p99 and the ratio
// Roster/baseline for each scenario (BENCHMARKS.md "SCIM over
// HTTP").
//
//	rosterload seed -db DSN [-users 1000000] [-state rosterload.json]
//	rosterload run  -target http://127.0.0.1:8080 -db DSN [-state rosterload.json] [-pid N] [-c 32] [-d 10s] [-scenario all]
//	rosterload mem  -target http://127.0.0.1:8080 -tenant demo -token rst_… [-admin-token …] [-c 32] [-d 10s]
//	rosterload baseline -addr 127.0.0.1:9090 [-db DSN -tenant load]
//	rosterload initialsync -target http://127.0.0.1:8080 -db DSN [-users 100000] [-groups 1000] [-members 100] [-c 16]
//
// seed writes two Ultimate tenants (with a validated SAML configuration, so
// both SCIM gates pass, and no rate limit) and their users straight into the
// database rosterd uses, and a state file with their tokens. run reads it
// (-tenant and -token override it). mem compares rosterd on the in-memory
// store with a bare in-memory server built on the same SCIM library.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "rosterload:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  rosterload seed -db DSN [flags]   load tenants and users into rosterd's PostgreSQL database
  rosterload run  -target URL -db DSN [flags]   run the scenarios against rosterd and the baseline
  rosterload mem  -target URL -tenant T -token TOK [flags]   rosterd (memory store) vs a bare in-memory server
  rosterload baseline -addr HOST:PORT [-db DSN -tenant T]   serve the baselines in a process of their own (-baseline of run and mem)
  rosterload initialsync -target URL -db DSN [flags]   an IdP's first sync of a new tenant on a fresh database, then again once analysed
rosterload CMD -h lists the flags of CMD.`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "seed":
		return cmdSeed(ctx, args[1:], stdout, stderr)
	case "run":
		return cmdRun(ctx, args[1:], stdout, stderr)
	case "mem":
		return cmdMem(ctx, args[1:], stdout, stderr)
	case "baseline":
		return cmdBaseline(ctx, args[1:], stdout, stderr)
	case "initialsync":
		return cmdInitialSync(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		_, err := fmt.Fprintln(stdout, usage)
		return err
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

func cmdSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rosterload seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := seedOptions{Log: stderr}
	statePath := fs.String("state", "rosterload.json", "where to write the tenants, tokens and group ids")
	fs.StringVar(&o.DB, "db", "", "PostgreSQL URL of rosterd's database (required)")
	fs.StringVar(&o.Tenant, "tenant", "load", "tenant for the lookup, get and group scenarios")
	fs.IntVar(&o.Users, "users", 1_000_000, "users to seed into -tenant")
	fs.StringVar(&o.PageTenant, "page-tenant", "loadpage", "tenant for the paging scenario")
	fs.IntVar(&o.PageUsers, "page-users", 100_000, "users to seed into -page-tenant")
	fs.IntVar(&o.BigMembers, "big-members", 100_000, "members of the big group")
	fs.StringVar(&o.MetadataPath, "saml-metadata", "testdata/saml/okta.xml", "IdP metadata for the SSO gate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.DB == "" {
		return errors.New("seed: -db is required")
	}
	if o.BigMembers > o.Users || o.Users < 20_000 {
		return fmt.Errorf("seed: -users must be at least 20,000 and at least -big-members (%d)", o.BigMembers)
	}
	st, err := seed(ctx, o)
	if err != nil {
		return err
	}
	if err := writeState(*statePath, st); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "seeded %d users into %s and %d into %s in %ds; state in %s\n",
		st.Users, st.Tenant, st.PageUsers, st.PageTenant, st.SeedSeconds, *statePath)
	return err
}

// scenarioNames are the scenarios of run, in the order "all" runs them.
var scenarioNames = []string{"create", "filter", "get", "bigpatch", "patches", "excluded", "paging"}

// floodScenario is run only when named: it waits for PostgreSQL's table
// statistics and measures refusals rather than a rate against a baseline.
const floodScenario = "authflood"

// optInScenarios run only when named: biglist builds 10 × 75,000 members
// and reads answers of about 100 MB, which would dwarf the rest of a run;
// authflood measures refusals, not a rate against a baseline.
var optInScenarios = []string{"biglist", floodScenario, webhooksScenario}

// parseScenarios reads a -scenario list: "all" is known; extra names are
// accepted but only when named.
func parseScenarios(s string, known []string, extra ...string) ([]string, error) {
	if s == "all" {
		return known, nil
	}
	known = append(append([]string(nil), known...), extra...)
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, k := range known {
			found = found || k == name
		}
		if !found {
			return nil, fmt.Errorf("unknown scenario %q; known: all, %s", name, strings.Join(known, ", "))
		}
		out = append(out, name)
	}
	return out, nil
}

type commonFlags struct {
	target, tenant, token string
	conns                 int
	dur, warmup           time.Duration
	jsonOut               string
	rounds                int
	baseline              string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.target, "target", "http://127.0.0.1:8080", "rosterd base URL")
	fs.StringVar(&c.tenant, "tenant", "", "tenant id (run: default from -state)")
	fs.StringVar(&c.token, "token", "", "SCIM bearer token of the tenant (run: default from -state)")
	fs.IntVar(&c.conns, "c", 32, "concurrent connections")
	fs.DurationVar(&c.dur, "d", 10*time.Second, "measured duration of each load scenario")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each load scenario")
	fs.StringVar(&c.jsonOut, "json", "", "also write the rows as JSON to this file")
	fs.IntVar(&c.rounds, "rounds", 3, "rounds in which rosterd and the baseline alternate (each side gets d/rounds per round)")
	fs.StringVar(&c.baseline, "baseline", "", "URL of a `rosterload baseline` process; default: serve the baseline inside this process")
}

func (c *commonFlags) scimBase() string {
	return strings.TrimRight(c.target, "/") + "/scim/v2/" + c.tenant
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rosterload run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	db := fs.String("db", "", "PostgreSQL URL of rosterd's database, for the baseline (required)")
	statePath := fs.String("state", "rosterload.json", "state file written by seed")
	pid := fs.Int("pid", 0, "rosterd's process id, to report its resident memory")
	scen := fs.String("scenario", "all", "comma-separated: all ("+strings.Join(scenarioNames, ", ")+"), or any of those and "+
		strings.Join(optInScenarios, ", ")+" (biglist: 10 × 75,000 members read by concurrent GET /Groups; "+floodScenario+
		": made-up tokens at random tenant URLs while the tenant's token calls: its 429s and the database lookups the flood causes)")
	adminToken := fs.String("admin-token", "", "webhooks: rosterd's operator token (the scenario makes and deletes a webhook)")
	hookEvents := fs.String("webhook-events", "", "webhooks: comma-separated event types the endpoint wants (default: every type)")
	statsWait := fs.Duration("stats-wait", statsSettle, "authflood: how long to wait for PostgreSQL's table statistics before each reading")
	reps := fs.Int("reps", 3, "repetitions of the 10,000-member PATCH")
	listGroups := fs.Int("list-groups", 10, "biglist: groups of the paging tenant to build")
	listMembers := fs.Int("list-members", 75_000, "biglist: members of each group (measured at half and at this count)")
	listConc := fs.Int("list-conc", 4, "biglist: concurrent GET /Groups?count=1000")
	if err := fs.Parse(args); err != nil {
		return err
	}
	names, err := parseScenarios(*scen, scenarioNames, optInScenarios...)
	if err != nil {
		return err
	}
	if *db == "" {
		return errors.New("run: -db is required (the baseline runs on rosterd's database)")
	}
	st, err := readState(*statePath)
	if err != nil {
		return fmt.Errorf("run: %w (run rosterload seed first)", err)
	}
	if c.tenant == "" {
		c.tenant = st.Tenant
	}
	if c.token == "" {
		c.token = st.Token
	}
	st.Tenant = c.tenant
	pool, err := pgxpool.New(ctx, *db)
	if err != nil {
		return err
	}
	defer pool.Close()
	bareBase := strings.TrimRight(c.baseline, "/")
	if bareBase == "" {
		// (A baseline process made its tables when it started.)
		if err := prepareBare(ctx, pool); err != nil {
			return fmt.Errorf("prepare baseline tables: %w", err)
		}
		srv, base, err := serveLocal((&bareServer{pool: pool, tenant: st.Tenant}).handler())
		if err != nil {
			return err
		}
		defer srv.Close()
		bareBase = base
	}

	r := &runner{ctx: ctx, pool: pool, st: st, conns: c.conns, dur: c.dur, warmup: c.warmup, rounds: c.rounds, pid: *pid, log: stderr,
		runID:  fmt.Sprintf("%x", time.Now().UnixNano()%0xffffffffff),
		roster: newClient(c.scimBase(), c.token, c.conns), bare: newClient(bareBase, "", c.conns)}
	defer r.roster.close()
	defer r.bare.close()
	// Check that rosterd answers for the tenant before measuring anything.
	if _, err := r.roster.check(ctx, listPage(rosterPrefix, 1, 1)); err != nil {
		return fmt.Errorf("rosterd does not serve tenant %s: %w", c.tenant, err)
	}
	var mem []string
	for _, name := range names {
		if ctx.Err() != nil {
			break
		}
		switch name {
		case "create":
			r.scenarioCreate()
		case "filter":
			r.scenarioFilter()
		case "get":
			r.scenarioGet()
		case "bigpatch":
			r.scenarioBigPatch(*reps)
		case "patches":
			r.scenarioSmallPatches()
		case "excluded":
			r.scenarioExcluded()
		case floodScenario:
			r.scenarioAuthFlood(c.target, *statsWait)
		case webhooksScenario:
			var events []string
			for _, e := range strings.Split(*hookEvents, ",") {
				if e = strings.TrimSpace(e); e != "" {
					events = append(events, e)
				}
			}
			r.scenarioWebhooks(c.target, *adminToken, events)
		case "paging":
			pc := newClient(strings.TrimRight(c.target, "/")+"/scim/v2/"+st.PageTenant, st.PageToken, 1)
			r.scenarioPaging(pc)
			pc.close()
		case "biglist":
			pc := newClient(strings.TrimRight(c.target, "/")+"/scim/v2/"+st.PageTenant, st.PageToken, *listConc)
			r.scenarioBigList(pc, st.PageUsers, *listGroups, *listMembers, *listConc)
			pc.close()
		}
		if *pid > 0 {
			cur, peak, err := rss(*pid)
			if err != nil {
				mem = append(mem, fmt.Sprintf("after %s: %v", name, err))
			} else {
				mem = append(mem, fmt.Sprintf("after %s: VmRSS %.1f MB, VmHWM %.1f MB", name, mb(cur), mb(peak)))
				r.logf("   rosterd %s", mem[len(mem)-1])
			}
		}
	}
	if *pid > 0 {
		if cur, peak, err := rss(*pid); err == nil {
			rw := row{Scenario: fmt.Sprintf("rosterd resident memory, %d users in PostgreSQL", st.Users), Target: "< 150 MB",
				Note: fmt.Sprintf("VmRSS %.1f MB now, VmHWM (peak) %.1f MB; %s", mb(cur), mb(peak), strings.Join(mem, "; "))}
			rw.Roster.Total = 0
			rw.Ratio = mb(peak)
			rw.Met = mb(peak) < 150
			r.rows = append(r.rows, rw)
		}
	}
	return report(stdout, c, r.rows)
}

// cmdBaseline serves the baselines on their own: /mem/ (the bare in-memory
// server on the SCIM library) always, /bare/ (the pgx baseline) with -db.
// run and mem use it through -baseline, which keeps the baseline's CPU out
// of the load generator's process, as rosterd's is.
func cmdBaseline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rosterload baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	db := fs.String("db", "", "PostgreSQL URL of rosterd's database; without it only /mem/ is served")
	tenant := fs.String("tenant", "load", "tenant whose users the /bare/ reads find")
	if err := fs.Parse(args); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mem, err := newMemServer()
	if err != nil {
		return err
	}
	mux.Handle("/mem/", mem)
	if *db != "" {
		pool, err := pgxpool.New(ctx, *db)
		if err != nil {
			return err
		}
		defer pool.Close()
		if err := prepareBare(ctx, pool); err != nil {
			return fmt.Errorf("prepare baseline tables: %w", err)
		}
		mux.Handle("/bare/", (&bareServer{pool: pool, tenant: *tenant}).handler())
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	fmt.Fprintf(stdout, "baseline listening on http://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func mb(b int64) float64 { return float64(b) / 1e6 }

func cmdMem(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rosterload mem", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	adminToken := fs.String("admin-token", "", "operator token: lifts the tenant's seat count and rate limit through the admin API first")
	preload := fs.Int("users", 10_000, "users each server holds before GET /Users/{id}")
	scen := fs.String("scenario", "all", "comma-separated: all, create, get")
	if err := fs.Parse(args); err != nil {
		return err
	}
	names, err := parseScenarios(*scen, []string{"create", "get"})
	if err != nil {
		return err
	}
	if c.tenant == "" || c.token == "" {
		return errors.New("mem: -tenant and -token are required (rosterd prints them for the demo tenant)")
	}
	if *adminToken != "" {
		if err := liftLimits(ctx, c.target, c.tenant, *adminToken); err != nil {
			return err
		}
	}
	memBase := strings.TrimRight(c.baseline, "/")
	if memBase == "" {
		h, err := newMemServer()
		if err != nil {
			return err
		}
		srv, base, err := serveLocal(h)
		if err != nil {
			return err
		}
		defer srv.Close()
		memBase = base
	}
	r := &runner{ctx: ctx, conns: c.conns, dur: c.dur, warmup: c.warmup, rounds: c.rounds, log: stderr,
		runID:  fmt.Sprintf("%x", time.Now().UnixNano()%0xffffffffff),
		roster: newClient(c.scimBase(), c.token, c.conns), bare: newClient(memBase, "", c.conns)}
	defer r.roster.close()
	defer r.bare.close()
	for _, name := range names {
		switch name {
		case "create":
			r.memRate("POST /Users (in-memory store)", 1.0,
				func(n int64) request { return createUser(rosterPrefix, r.runID, n) },
				func(n int64) request { return createUser("/mem", r.runID, n) })
		case "get":
			rids, err := preloadUsers(ctx, r.roster, rosterPrefix, "pre-"+r.runID, *preload)
			if err != nil {
				return fmt.Errorf("preload rosterd: %w", err)
			}
			bids, err := preloadUsers(ctx, r.bare, "/mem", "pre-"+r.runID, *preload)
			if err != nil {
				return fmt.Errorf("preload baseline: %w", err)
			}
			r.memRate(fmt.Sprintf("GET /Users/{id} (in-memory store, %d users)", *preload), 1.0,
				func(n int64) request { return getUser(rosterPrefix, rids[scramble(n, len(rids))]) },
				func(n int64) request { return getUser("/mem", bids[scramble(n, len(bids))]) })
		}
	}
	return report(stdout, c, r.rows)
}

func (r *runner) memRate(name string, minRatio float64, roster, bare gen) {
	r.rate(name, "≥ the bare in-memory server on the same library", minRatio, roster, bare)
	r.rows[len(r.rows)-1].BaseName = "bare elimity-com/scim server, map + mutex"
}

// preloadUsers creates n users through c and returns their ids.
func preloadUsers(ctx context.Context, c *client, prefix, run string, n int) ([]string, error) {
	ids := make([]string, 0, n)
	for i := range n {
		body, err := c.check(ctx, createUser(prefix, run, int64(i)))
		if err != nil {
			return nil, err
		}
		id, err := resourceID(body)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// liftLimits sets the tenant's seats to a million (the admin API's maximum) and removes its
// rate limit, through the admin API, so that the load measures the SCIM path.
func liftLimits(ctx context.Context, target, tenant, adminToken string) error {
	c := newClient(strings.TrimRight(target, "/"), adminToken, 1)
	defer c.close()
	body := []byte(`{"seats":1000000,"settings":{"rate_limit_per_second":0,"overage":true}}`)
	_, err := c.check(ctx, request{Method: "PATCH", Path: "/admin/v1/tenants/" + tenant, Body: body,
		Header: map[string][]string{"Content-Type": {"application/json"}}, Want: 200})
	if err != nil {
		return fmt.Errorf("lift the tenant's limits through the admin API: %w", err)
	}
	return nil
}

func jsonUnmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("answer is not JSON: %w: %s", err, shorten(b))
	}
	return nil
}
