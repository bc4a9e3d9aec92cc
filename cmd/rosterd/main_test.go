package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/internal/metrics"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
)

// waitLimit bounds every wait on a condition; reaching it fails the test.
const waitLimit = 10 * time.Second

// output is a concurrency-safe writer whose content tests wait on.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed on every write
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor blocks until re matches the output and returns the submatches.
func (o *output) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		o.mu.Lock()
		m := re.FindStringSubmatch(o.buf.String())
		changed := o.changed
		o.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("output never matched %s; output so far:\n%s", re, o.String())
		}
	}
}

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var errNoPostgres = errors.New("no PostgreSQL in this test")

// testSystem is a system with real clock, ids and randomness, captured output
// and no PostgreSQL.
func testSystem(env map[string]string) (*system, *output, *output) {
	stdout, stderr := newOutput(), newOutput()
	return &system{
		getenv: envFrom(env),
		stdout: stdout,
		stderr: stderr,
		now:    time.Now,
		newID:  uuid.NewString,
		random: rand.Reader,
		migrate: func(context.Context, string) error {
			return errNoPostgres
		},
		openPostgres: func(context.Context, string, string, func() time.Time, func() string, zerolog.Logger, *metrics.Metrics) (store.Store, error) {
			return nil, errNoPostgres
		},
	}, stdout, stderr
}

var listeningRE = regexp.MustCompile(`listening on (\S+)\n`)

// started is a running serve.
type started struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
}

// startServe runs serve on a free loopback port and waits until it listens.
func startServe(t *testing.T, sys *system, stdout *output, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- runSystem(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), sys) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(waitLimit):
			t.Error("serve did not stop")
		}
	})
	s.addr = stdout.waitFor(t, listeningRE)[1]
	return s
}

// stop cancels serve and returns what it returned.
func (s *started) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(waitLimit):
		t.Fatal("serve did not return after its context was cancelled")
		return nil
	}
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body), resp.Header
}

func faultsOf(err error) []string {
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
	}
	return out
}

func load(t *testing.T, env map[string]string, args ...string) Config {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := loadConfig(fs, args, envFrom(env))
	require.NoError(t, err)
	return cfg
}

func TestLoadConfig_defaults(t *testing.T) {
	cfg := load(t, nil)
	assert.Equal(t, ":8080", cfg.Addr)
	assert.Empty(t, cfg.BaseURL)
	assert.Empty(t, cfg.DatabaseURL)
	assert.Empty(t, cfg.AdminToken)
	assert.Equal(t, "info", cfg.LogLevel)
	assert.Equal(t, 20*time.Second, cfg.ShutdownTimeout)
	assert.NoError(t, cfg.Validate())
}

func TestLoadConfig_flagsWinOverEnvironment(t *testing.T) {
	env := map[string]string{
		"ROSTER_ADDR":                  ":9000",
		"ROSTER_BASE_URL":              "https://env.example.com",
		"ROSTER_DATABASE_URL":          "postgres://env/roster",
		"ROSTER_ADMIN_TOKEN":           "env-token-9f8e7d6c5b4a3210ZyXwVuTs",
		"ROSTER_LOG_LEVEL":             "warn",
		"ROSTER_SHUTDOWN_TIMEOUT":      "5s",
		"ROSTER_EXPIRY_SWEEP_INTERVAL": "30s",
	}
	cfg := load(t, env)
	assert.Equal(t, Config{
		Addr: ":9000", BaseURL: "https://env.example.com", DatabaseURL: "postgres://env/roster",
		AdminToken: "env-token-9f8e7d6c5b4a3210ZyXwVuTs", LogLevel: "warn", ShutdownTimeout: 5 * time.Second, SweepInterval: 30 * time.Second,
		FailedAuthPerSource: 20, FailedAuthGlobal: 100, WebhookTimeout: 10 * time.Second, WebhookDelivery: true,
	}, cfg)

	cfg = load(t, env, "--addr", "127.0.0.1:9001", "--base-url", "https://flag.example.com/",
		"--database-url", "postgres://flag/roster", "--admin-token", "flag-token-Qw3rTy7uIoP5aSdFgH1jKl",
		"--log-level", "debug", "--shutdown-timeout", "1m", "--expiry-sweep-interval", "0",
		"--trusted-proxies", "10.0.0.0/8", "--failed-auth-per-source", "7", "--failed-auth-global", "70")
	assert.Equal(t, Config{
		Addr: "127.0.0.1:9001", BaseURL: "https://flag.example.com/", DatabaseURL: "postgres://flag/roster",
		AdminToken: "flag-token-Qw3rTy7uIoP5aSdFgH1jKl", LogLevel: "debug", ShutdownTimeout: time.Minute,
		TrustedProxies: "10.0.0.0/8", FailedAuthPerSource: 7, FailedAuthGlobal: 70, WebhookTimeout: 10 * time.Second, WebhookDelivery: true,
	}, cfg)
	require.NoError(t, cfg.Validate())
}

// TestValidate_reportsEveryFault proves that one run names every mistake, so
// an operator fixes the configuration in one go.
func TestValidate_reportsEveryFault(t *testing.T) {
	cfg := load(t, map[string]string{
		"ROSTER_ADDR":             "8080",
		"ROSTER_BASE_URL":         "roster.example.com/scim",
		"ROSTER_DATABASE_URL":     "mysql://db/roster",
		"ROSTER_ADMIN_TOKEN":      "short",
		"ROSTER_LOG_LEVEL":        "verbose",
		"ROSTER_SHUTDOWN_TIMEOUT": "soon",
		"ROSTER_TRUSTED_PROXIES":  "10.0.0.0/33",
	})
	err := cfg.Validate()
	require.Error(t, err)
	faults := faultsOf(err)
	require.Len(t, faults, 7, err.Error())
	for i, want := range []string{
		`ROSTER_SHUTDOWN_TIMEOUT: "soon" is not a duration`,
		`ROSTER_ADDR (--addr) "8080": not host:port`,
		`ROSTER_BASE_URL (--base-url) "roster.example.com/scim": not an absolute http:// or https:// URL`,
		`ROSTER_DATABASE_URL (--database-url): scheme "mysql" is not postgres:// or postgresql://`,
		`ROSTER_ADMIN_TOKEN (--admin-token) is 5 characters; use at least 32: it is too easy to guess; generate one with: openssl rand -base64 32`,
		`ROSTER_TRUSTED_PROXIES (--trusted-proxies): "10.0.0.0/33" is not a CIDR`,
		`ROSTER_LOG_LEVEL (--log-level): "verbose" is not one of debug, info, warn, error`,
	} {
		assert.Contains(t, faults[i], want)
	}
}

func TestValidate(t *testing.T) {
	valid := Config{Addr: ":8080", LogLevel: "info", ShutdownTimeout: time.Second, FailedAuthPerSource: 20, FailedAuthGlobal: 100, WebhookTimeout: time.Second}
	tests := []struct {
		name  string
		edit  func(*Config)
		fault string // empty: valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"memory without admin token", func(c *Config) { c.AdminToken = "" }, ""},
		{"postgres with admin token", func(c *Config) {
			c.DatabaseURL, c.AdminToken = "postgres://roster:roster@db:5432/roster?sslmode=disable", "Xk9mP2vR7tL4wQ8nB3cJ6hF1dS5gZ0aY"
		}, ""},
		{"postgres keyword/value string", func(c *Config) {
			c.DatabaseURL, c.AdminToken = "host=db user=roster dbname=roster", "Xk9mP2vR7tL4wQ8nB3cJ6hF1dS5gZ0aY"
		}, ""},
		{"postgresql scheme", func(c *Config) {
			c.DatabaseURL, c.AdminToken = "postgresql://db/roster", "Xk9mP2vR7tL4wQ8nB3cJ6hF1dS5gZ0aY"
		}, ""},
		{"listen url through a pooler", func(c *Config) {
			c.DatabaseURL = "postgres://roster@pgbouncer:6432/roster?default_query_exec_mode=cache_describe"
			c.DatabaseListenURL, c.AdminToken = "postgres://roster@db:5432/roster", "Xk9mP2vR7tL4wQ8nB3cJ6hF1dS5gZ0aY"
		}, ""},
		{"listen url without a database", func(c *Config) { c.DatabaseListenURL = "postgres://db/roster" },
			"ROSTER_DATABASE_LISTEN_URL (--database-listen-url) is set without ROSTER_DATABASE_URL"},
		{"listen url of another scheme", func(c *Config) {
			c.DatabaseURL, c.AdminToken = "postgres://db/roster", "Xk9mP2vR7tL4wQ8nB3cJ6hF1dS5gZ0aY"
			c.DatabaseListenURL = "mysql://db/roster"
		}, `ROSTER_DATABASE_LISTEN_URL (--database-listen-url): scheme "mysql" is not postgres://`},
		{"postgres without admin token", func(c *Config) { c.DatabaseURL = "postgres://db/roster" },
			"ROSTER_ADMIN_TOKEN (--admin-token) is required with PostgreSQL"},
		{"admin token of 31", func(c *Config) { c.AdminToken = "Xk9mP2vR7tL4wQ8nB3cJ6hF1dS5gZ0a" }, "is 31 characters; use at least 32"},
		{"admin token aaaa…", func(c *Config) { c.AdminToken = "aaaaaaaaaaaaaaaa" }, "openssl rand -base64 32"},
		{"admin token of one character", func(c *Config) { c.AdminToken = strings.Repeat("a", 40) }, "has only 1 distinct characters"},
		{"admin token repeating a pattern", func(c *Config) { c.AdminToken = "0123456789abcdef0123456789abcdef" }, "repeats a pattern"},
		{"admin token from openssl rand -hex 16", func(c *Config) { c.AdminToken = "3f9c2a7e81d04b6f95e2c1a8d7b3046e" }, ""},
		{"admin token with a space", func(c *Config) { c.AdminToken = "Xk9mP2vR7t L4wQ8nB3cJ6hF1dS5gZ0aY" }, "whitespace"},
		{"admin token with a newline", func(c *Config) { c.AdminToken = "Xk9mP2vR7tL4wQ8nB3cJ6hF1dS5gZ0aY\n" }, "whitespace"},
		{"trusted proxies", func(c *Config) { c.TrustedProxies = "10.0.0.0/8, 192.168.1.7, fd00::/8" }, ""},
		{"trusted proxy not an address", func(c *Config) { c.TrustedProxies = "proxy.internal" }, "not an IP address or a CIDR"},
		{"no failure budget", func(c *Config) { c.FailedAuthPerSource = 0 }, "ROSTER_FAILED_AUTH_PER_SOURCE (--failed-auth-per-source) 0: must be positive"},
		{"negative global budget", func(c *Config) { c.FailedAuthGlobal = -1 }, "ROSTER_FAILED_AUTH_GLOBAL (--failed-auth-global) -1: must be positive"},
		{"log level upper case", func(c *Config) { c.LogLevel = "DEBUG" }, ""},
		{"log level trace", func(c *Config) { c.LogLevel = "trace" }, `"trace" is not one of`},
		{"https base URL with path", func(c *Config) { c.BaseURL = "https://id.example.com/roster/" }, ""},
		{"ftp base URL", func(c *Config) { c.BaseURL = "ftp://example.com" }, "not an absolute http"},
		{"relative base URL", func(c *Config) { c.BaseURL = "/roster" }, "not an absolute http"},
		{"base URL without host", func(c *Config) { c.BaseURL = "http://" }, "has no host"},
		{"base URL with query", func(c *Config) { c.BaseURL = "https://example.com/?a=b" }, "query"},
		{"base URL with credentials", func(c *Config) { c.BaseURL = "https://u:p@example.com" }, "credentials"},
		{"addr with host", func(c *Config) { c.Addr = "127.0.0.1:8080" }, ""},
		{"addr ipv6", func(c *Config) { c.Addr = "[::1]:8080" }, ""},
		{"addr port 0", func(c *Config) { c.Addr = ":0" }, ""},
		{"addr without port", func(c *Config) { c.Addr = "localhost" }, "not host:port"},
		{"addr named port", func(c *Config) { c.Addr = ":http" }, "not a number"},
		{"addr port too big", func(c *Config) { c.Addr = ":65536" }, "not a number"},
		{"zero shutdown timeout", func(c *Config) { c.ShutdownTimeout = 0 }, "must be positive"},
		{"metrics address", func(c *Config) { c.MetricsAddr = "127.0.0.1:9090" }, ""},
		{"metrics address without port", func(c *Config) { c.MetricsAddr = "localhost" }, "ROSTER_METRICS_ADDR (--metrics-addr) \"localhost\": not host:port"},
		{"metrics on the listen address", func(c *Config) { c.MetricsAddr = ":8080" }, "is the listen address ROSTER_ADDR"},
		{"both on free ports", func(c *Config) { c.Addr, c.MetricsAddr = "127.0.0.1:0", "127.0.0.1:0" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			tt.edit(&c)
			err := c.Validate()
			if tt.fault == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Len(t, faultsOf(err), 1, err.Error())
			assert.Contains(t, err.Error(), tt.fault)
		})
	}
}

func TestConfig_baseURL(t *testing.T) {
	tests := []struct {
		addr, baseURL, bound, want string
	}{
		{":8080", "", "[::]:8080", "http://localhost:8080"},
		{"0.0.0.0:8080", "", "0.0.0.0:8080", "http://localhost:8080"},
		{"127.0.0.1:0", "", "127.0.0.1:41234", "http://127.0.0.1:41234"},
		{"[::1]:0", "", "[::1]:41234", "http://[::1]:41234"},
		{"roster.internal:8080", "", "10.0.0.1:8080", "http://roster.internal:8080"},
		{":8080", "https://roster.example.com/", "[::]:8080", "https://roster.example.com"},
		{":8080", "https://example.com/roster", "[::]:8080", "https://example.com/roster"},
	}
	for _, tt := range tests {
		bound, err := net.ResolveTCPAddr("tcp", tt.bound)
		require.NoError(t, err)
		c := Config{Addr: tt.addr, BaseURL: tt.baseURL}
		assert.Equal(t, tt.want, c.baseURL(bound), "%+v", tt)
	}
}

func TestLocalURL(t *testing.T) {
	assert.Equal(t, "http://127.0.0.1:8080/readyz", localURL(":8080", "/readyz"))
	assert.Equal(t, "http://127.0.0.1:8080/readyz", localURL("0.0.0.0:8080", "/readyz"))
	assert.Equal(t, "http://127.0.0.1:8080/readyz", localURL("[::]:8080", "/readyz"))
	assert.Equal(t, "http://[::1]:9000/readyz", localURL("[::1]:9000", "/readyz"))
	assert.Equal(t, "http://10.1.2.3:9000/readyz", localURL("10.1.2.3:9000", "/readyz"))
}

func TestRun_unknownCommand(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"frobnicate"}, envFrom(nil), &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown command "frobnicate"`)
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	assert.Contains(t, err.Error(), "valid commands: "+strings.Join(names, ", "))
	assert.Contains(t, err.Error(), "valid commands: serve, migrate, healthcheck, tenant, token, saml")
	assert.Equal(t, ExitUsage, exitCode(err))
}

func TestRun_helpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"serve", "--help"}, {"migrate", "-h"}} {
		var out bytes.Buffer
		require.NoError(t, run(context.Background(), args, envFrom(nil), &out), args)
		assert.Contains(t, out.String(), "Usage: rosterd [command] [flags]", args)
		for _, v := range []string{"ROSTER_ADDR", "--base-url", "ROSTER_DATABASE_URL", "ROSTER_ADMIN_TOKEN", "ROSTER_LOG_LEVEL", "ROSTER_SHUTDOWN_TIMEOUT"} {
			assert.Contains(t, out.String(), v)
		}
	}

	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"version"}, envFrom(nil), &out))
	assert.Regexp(t, `^rosterd \S+ .*go1\.\d+`, out.String())

	assert.ErrorContains(t, run(context.Background(), []string{"version", "x"}, envFrom(nil), &out), "unexpected argument")
}

func TestRun_badArguments(t *testing.T) {
	tests := map[string][]string{
		"unknown flag":         {"serve", "--port", "8080"},
		"flag without value":   {"--addr"},
		"stray argument":       {"serve", "now"},
		"bad duration flag":    {"--shutdown-timeout", "soon"},
		"migrate stray arg":    {"migrate", "up"},
		"healthcheck bad addr": {"healthcheck", "--addr", "nowhere"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			assert.Error(t, run(context.Background(), args, envFrom(nil), &out))
		})
	}
}

func TestRun_invalidConfiguration(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), nil, envFrom(map[string]string{
		"ROSTER_LOG_LEVEL":    "loud",
		"ROSTER_DATABASE_URL": "postgres://db/roster",
	}), &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid configuration")
	assert.Contains(t, err.Error(), `"loud" is not one of`)
	assert.Contains(t, err.Error(), "ROSTER_ADMIN_TOKEN (--admin-token) is required with PostgreSQL")
	assert.Empty(t, out.String())
}

func TestMigrate(t *testing.T) {
	sys, _, stderr := testSystem(nil)
	err := runSystem(context.Background(), []string{"migrate"}, sys)
	assert.ErrorContains(t, err, "migrate needs a database: set ROSTER_DATABASE_URL or --database-url")

	// migrate needs no admin token, and reports the migrator's reason.
	var gotURL string
	sys.migrate = func(_ context.Context, url string) error { gotURL = url; return nil }
	require.NoError(t, runSystem(context.Background(), []string{"migrate", "--database-url", "postgres://db/roster"}, sys))
	assert.Equal(t, "postgres://db/roster", gotURL)
	assert.Contains(t, stderr.String(), `"message":"database migrated"`)

	sys.migrate = func(context.Context, string) error {
		return errors.New("0002_seats.sql: permission denied for schema public")
	}
	err = runSystem(context.Background(), []string{"migrate", "--database-url", "postgres://db/roster"}, sys)
	assert.ErrorContains(t, err, "migrate database: 0002_seats.sql: permission denied for schema public")
}

func TestServe_migrationFailureStops(t *testing.T) {
	sys, stdout, _ := testSystem(map[string]string{
		"ROSTER_DATABASE_URL": "postgres://db/roster",
		"ROSTER_ADMIN_TOKEN":  "Xk9mP2vR7tL4wQ8nB3cJ6hF1dS5gZ0aY",
	})
	sys.migrate = func(context.Context, string) error {
		return errors.New("0003_roles.sql: syntax error at or near \"rol\"")
	}
	err := runSystem(context.Background(), []string{"serve", "--addr", "127.0.0.1:0"}, sys)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `migrate database: 0003_roles.sql: syntax error at or near "rol"`)
	assert.NotContains(t, stdout.String(), "listening on")
}

var (
	scimURLRE   = regexp.MustCompile(`SCIM base URL:\s+(\S+)`)
	scimTokenRE = regexp.MustCompile(`SCIM token:\s+(\S+)`)
	adminRE     = regexp.MustCompile(`Admin token:\s+(\S+)`)
	curlRE      = regexp.MustCompile(`curl -H "Authorization: Bearer (\S+)" (\S+)`)
)

// TestServe_memory runs the default configuration on a free port: the demo
// tenant is seeded, its printed token authenticates against the store, and
// the health endpoints answer.
func TestServe_memory(t *testing.T) {
	sys, stdout, stderr := testSystem(nil)
	var st store.Store
	sys.wrapStore = func(s store.Store) store.Store { st = s; return s }
	s := startServe(t, sys, stdout)
	base := "http://" + s.addr

	out := stdout.String()
	assert.Equal(t, base+"/scim/v2/demo/", scimURLRE.FindStringSubmatch(out)[1])
	token := scimTokenRE.FindStringSubmatch(out)[1]
	admin := adminRE.FindStringSubmatch(out)[1]
	assert.True(t, auth.IsAdminToken(admin), admin)
	curl := curlRE.FindStringSubmatch(out)
	require.NotNil(t, curl, out)
	assert.Equal(t, token, curl[1])
	assert.Equal(t, base+"/scim/v2/demo/Users", curl[2])

	// The printed token authenticates: it parses, its id names a stored token
	// of the demo tenant and its hash matches.
	require.NotNil(t, st)
	id, ok := auth.Parse(token)
	require.True(t, ok, token)
	stored, err := st.GetToken(context.Background(), "demo", id)
	require.NoError(t, err)
	assert.Equal(t, "demo", stored.Name)
	assert.True(t, auth.Equal(auth.Hash(token), stored.Hash))
	assert.NotContains(t, string(stored.Hash), token, "only the hash is stored")

	tenant, err := st.GetTenant(context.Background(), "demo")
	require.NoError(t, err)
	assert.Equal(t, "ultimate", tenant.Plan)
	assert.Equal(t, 20, tenant.Seats)
	assert.Equal(t, store.DefaultSettings(), tenant.Settings)

	code, body, h := get(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"status":"ok"}`, body)
	assert.Equal(t, "application/json", h.Get("Content-Type"))
	assert.NotEmpty(t, h.Get("X-Request-Id"))

	code, body, _ = get(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"status":"ok"}`, body)

	code, _, _ = get(t, base+"/nowhere?token="+token)
	assert.Equal(t, http.StatusNotFound, code)
	stderr.waitFor(t, regexp.MustCompile(`"path":"/nowhere"`))

	// The healthcheck command sees the server ready.
	hcOut := newOutput()
	hc := *sys
	hc.stdout = hcOut
	require.NoError(t, runSystem(context.Background(), []string{"healthcheck", "--addr", s.addr}, &hc))
	assert.Equal(t, "ready\n", hcOut.String())

	require.NoError(t, s.stop(t))
	logs := stderr.String()
	assert.Contains(t, logs, `"message":"stopped"`)
	assert.NotContains(t, logs, token, "secrets never reach the log")
	assert.NotContains(t, logs, admin, "secrets never reach the log")
	assert.NotContains(t, logs, "?token=", "the query string is not logged")
}

func TestServe_configuredAdminTokenIsNotPrinted(t *testing.T) {
	const admin = "my-own-admin-token-0123456789abcdefgh"
	sys, stdout, _ := testSystem(map[string]string{"ROSTER_ADMIN_TOKEN": admin})
	s := startServe(t, sys, stdout)
	assert.Contains(t, stdout.String(), "Admin token:    (from ROSTER_ADMIN_TOKEN)")
	assert.NotContains(t, stdout.String(), admin)
	require.NoError(t, s.stop(t))
}

func TestServe_postgresSeedsNothing(t *testing.T) {
	sys, stdout, stderr := testSystem(map[string]string{
		"ROSTER_DATABASE_URL": "postgres://db/roster",
		"ROSTER_ADMIN_TOKEN":  "Xk9mP2vR7tL4wQ8nB3cJ6hF1dS5gZ0aY",
	})
	// Stands in for PostgreSQL only as far as opening goes: the server runs
	// on a real (memory) store, and nothing may be seeded into it.
	var migrated bool
	var opened store.Store
	sys.migrate = func(context.Context, string) error { migrated = true; return nil }
	sys.openPostgres = func(_ context.Context, _, _ string, now func() time.Time, newID func() string, _ zerolog.Logger, _ *metrics.Metrics) (store.Store, error) {
		opened = memory.New(memory.Options{Now: now, NewID: newID})
		return opened, nil
	}
	s := startServe(t, sys, stdout)
	assert.True(t, migrated, "migrations run at start")
	assert.Eventually(t, func() bool { return strings.Contains(stderr.String(), "ROSTER_BASE_URL is plain http") }, 5*time.Second, time.Millisecond,
		"a deployment without an https base URL is warned: IdPs refuse an http ACS")
	tenants, err := opened.ListTenants(context.Background())
	require.NoError(t, err)
	assert.Empty(t, tenants, "no demo tenant with PostgreSQL")
	assert.NotContains(t, stdout.String(), "SCIM token")
	require.NoError(t, s.stop(t))
}

func TestHealthcheck_notListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	sys, _, _ := testSystem(nil)
	assert.ErrorContains(t, runSystem(context.Background(), []string{"healthcheck", "--addr", addr}, sys), "healthcheck:")
}

// slowRoute registers GET /test/slow, which signals entered and answers once
// release is closed.
func slowRoute(entered chan<- struct{}, release <-chan struct{}) func(*http.ServeMux) {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /test/slow", func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-release
			_, _ = io.WriteString(w, "finished")
		})
	}
}

type result struct {
	code int
	body string
	err  error
}

func getAsync(url string) <-chan result {
	c := make(chan result, 1)
	go func() {
		client := &http.Client{Transport: &http.Transport{}}
		resp, err := client.Get(url)
		if err != nil {
			c <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		c <- result{code: resp.StatusCode, body: string(b), err: err}
	}()
	return c
}

var drainingRE = regexp.MustCompile(`"message":"draining in-flight requests"`)

// TestServe_gracefulShutdown proves that cancelling run's context stops new
// connections but lets a request in flight finish with its answer, and that
// run then returns nil.
func TestServe_gracefulShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	sys, stdout, stderr := testSystem(nil)
	sys.routes = slowRoute(entered, release)
	s := startServe(t, sys, stdout)

	inflight := getAsync("http://" + s.addr + "/test/slow")
	select {
	case <-entered:
	case r := <-inflight:
		t.Fatalf("slow request ended early: %+v", r)
	case <-time.After(waitLimit):
		t.Fatal("slow request never reached its handler")
	}

	s.cancel()
	stderr.waitFor(t, drainingRE) // Shutdown has closed the listener

	_, err := (&http.Client{Transport: &http.Transport{}}).Get("http://" + s.addr + "/healthz")
	assert.Error(t, err, "no new connections during shutdown")
	select {
	case err := <-s.done:
		t.Fatalf("run returned %v with a request in flight", err)
	default:
	}

	close(release)
	select {
	case r := <-inflight:
		require.NoError(t, r.err)
		assert.Equal(t, http.StatusOK, r.code)
		assert.Equal(t, "finished", r.body)
	case <-time.After(waitLimit):
		t.Fatal("in-flight request never finished")
	}
	select {
	case err := <-s.done:
		assert.NoError(t, err)
		s.done <- err
	case <-time.After(waitLimit):
		t.Fatal("run did not return after the last request finished")
	}
}

// TestServe_shutdownTimeout proves that a request outliving the shutdown
// timeout does not hold the process: run gives up and says why.
func TestServe_shutdownTimeout(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	sys, stdout, _ := testSystem(map[string]string{"ROSTER_SHUTDOWN_TIMEOUT": "50ms"})
	sys.routes = slowRoute(entered, release)
	s := startServe(t, sys, stdout)

	inflight := getAsync("http://" + s.addr + "/test/slow")
	select {
	case <-entered:
	case <-time.After(waitLimit):
		t.Fatal("slow request never reached its handler")
	}
	err := s.stop(t)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "in-flight requests did not finish within 50ms")
	r := <-inflight
	assert.Error(t, r.err, "the connection is closed under the stuck request")
}

// TestRun_servesWithDefaults runs the real run (real clock, randomness and
// logger on stderr) once end to end.
func TestRun_servesWithDefaults(t *testing.T) {
	stdout := newOutput()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--log-level", "error"}, envFrom(nil), stdout)
	}()
	addr := stdout.waitFor(t, listeningRE)[1]
	code, _, _ := get(t, "http://"+addr+"/readyz")
	assert.Equal(t, http.StatusOK, code)
	assert.True(t, strings.Contains(stdout.String(), "/scim/v2/demo/"))
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(waitLimit):
		t.Fatal("run did not return")
	}
}
