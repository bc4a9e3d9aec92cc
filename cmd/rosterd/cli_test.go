package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
)

const cliAdminToken = "cli-test-admin-token-0123456789abcdef"

// cliServer is the real rosterd handler on a memory store, over HTTP. It
// records the requests it is sent; intercept, when set, answers a request
// instead of the handler (a server side not built yet).
type cliServer struct {
	url   string
	store store.Store

	mu        sync.Mutex
	reqs      []cliRequest
	intercept func(w http.ResponseWriter, r *http.Request) bool
}

// cliRequest is a request the CLI made: method, path with query, body and
// Authorization header.
type cliRequest struct {
	Method, URI, Body, Auth string
}

func newCLIServer(t *testing.T) *cliServer {
	t.Helper()
	st := memory.New(memory.Options{})
	s := &cliServer{store: st}
	h := handlerOn(t, handlerDeps{
		Store: st, Logger: zerolog.Nop(), Now: time.Now, NewID: func() string { return "req" }, Random: rand.Reader,
		BaseURL: "http://roster.test", AdminToken: cliAdminToken,
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		s.reqs = append(s.reqs, cliRequest{r.Method, r.URL.RequestURI(), string(body), r.Header.Get("Authorization")})
		intercept := s.intercept
		s.mu.Unlock()
		if intercept != nil && intercept(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// requests are the requests recorded since the n-th (mark's answer).
func (s *cliServer) requests(n int) []cliRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs[n:])
}

// mark is the number of requests so far.
func (s *cliServer) mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// last is the last request made.
func (s *cliServer) last(t *testing.T) cliRequest {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotEmpty(t, s.reqs)
	return s.reqs[len(s.reqs)-1]
}

func (s *cliServer) setIntercept(f func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.intercept = f
}

type cliResult struct {
	out    string
	errOut string
	code   int
	err    error
}

// run runs rosterd with args against the server, with env on top of
// ROSTER_URL and ROSTER_ADMIN_TOKEN, and stdin.
func (s *cliServer) run(t *testing.T, stdin string, env map[string]string, args ...string) cliResult {
	t.Helper()
	full := map[string]string{"ROSTER_URL": s.url, "ROSTER_ADMIN_TOKEN": cliAdminToken}
	for k, v := range env {
		full[k] = v
	}
	sys, stdout, stderr := testSystem(full)
	sys.stdin = strings.NewReader(stdin)
	err := runSystem(context.Background(), args, sys)
	return cliResult{out: stdout.String(), errOut: stderr.String(), code: exitCode(err), err: err}
}

func (s *cliServer) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := s.run(t, "", nil, args...)
	require.NoError(t, r.err, "rosterd %s", strings.Join(args, " "))
	return r.out
}

func TestCLI_tenants(t *testing.T) {
	s := newCLIServer(t)

	// Flags may come before or after the positional argument.
	out := s.ok(t, "tenant", "create", "acme", "--plan", "ultimate", "--name", "Acme Corp", "--seats", "20",
		"--addons", "hipaa,ai_copilot", "--setting", "overage=true", "--setting", "privileged_roles=allow")
	assert.Contains(t, out, "Tenant acme created.")
	assert.Regexp(t, `plan:\s+ultimate`, out)
	assert.Regexp(t, `seats:\s+20`, out)
	assert.Regexp(t, `add-ons:\s+hipaa, ai_copilot`, out)
	assert.Contains(t, out, `privileged_roles = "allow"`)
	assert.Contains(t, out, `overage = true`)
	tn, err := s.store.GetTenant(context.Background(), "acme")
	require.NoError(t, err)
	assert.Equal(t, "Acme Corp", tn.Name)
	assert.True(t, tn.Settings.Overage)
	assert.Equal(t, "allow", tn.Settings.PrivilegedRoles)

	s.ok(t, "tenant", "create", "--plan=trial", "beta")

	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(s.ok(t, "tenant", "get", "acme", "--json")), &got))
	assert.Equal(t, "acme", got["id"])
	assert.Equal(t, 20.0, got["seats"])

	out = s.ok(t, "tenant", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3)
	assert.Regexp(t, `^ID\s+NAME\s+PLAN\s+SEATS`, lines[0])
	assert.Regexp(t, `^acme\s+Acme Corp\s+ultimate\s+20\s+hipaa,ai_copilot`, lines[1])
	assert.Regexp(t, `^beta\s+beta\s+trial\s+0\s+-`, lines[2])
	var list struct{ Tenants []map[string]any }
	require.NoError(t, json.Unmarshal([]byte(s.ok(t, "tenant", "list", "--json")), &list))
	assert.Len(t, list.Tenants, 2)

	out = s.ok(t, "tenant", "update", "beta", "--plan", "enterprise", "--seats", "9", "--addons", "")
	assert.Contains(t, out, "Tenant beta updated.")
	tn, err = s.store.GetTenant(context.Background(), "beta")
	require.NoError(t, err)
	assert.Equal(t, "enterprise", tn.Plan)
	assert.Equal(t, 9, tn.Seats)

	// Refusals by the API: exit 1, the message names the field.
	r := s.run(t, "", nil, "tenant", "create", "gamma", "--plan", "platinum", "--seats", "-1")
	assert.Equal(t, ExitRefused, r.code)
	assert.Contains(t, r.err.Error(), "plan: unknown plan \"platinum\"")
	assert.Contains(t, r.err.Error(), "seats:")
	r = s.run(t, "", nil, "tenant", "update", "acme", "--setting", "colour=blue")
	assert.Equal(t, ExitRefused, r.code)
	assert.Contains(t, r.err.Error(), "settings.colour")
	r = s.run(t, "", nil, "tenant", "create", "acme", "--plan", "trial")
	assert.Equal(t, ExitRefused, r.code)
	assert.Contains(t, r.err.Error(), `tenant "acme" already exists`)
	r = s.run(t, "", nil, "tenant", "get", "nope")
	assert.Equal(t, ExitRefused, r.code)
	assert.Contains(t, r.err.Error(), `no tenant "nope"`)
	r = s.run(t, "", nil, "tenant", "get", "nope", "--json")
	assert.Equal(t, ExitRefused, r.code)
	assert.Contains(t, r.out, `"error": "not_found"`, "--json prints the error body too")

	// Delete needs --yes.
	r = s.run(t, "", nil, "tenant", "delete", "beta")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.err.Error(), "--yes")
	_, err = s.store.GetTenant(context.Background(), "beta")
	require.NoError(t, err, "nothing deleted without --yes")
	assert.Contains(t, s.ok(t, "tenant", "delete", "beta", "--yes"), "Tenant beta deleted.")
	_, err = s.store.GetTenant(context.Background(), "beta")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func TestCLI_tokens(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "ultimate")

	out := s.ok(t, "token", "create", "acme", "okta")
	secret := regexp.MustCompile(auth.Pattern).FindString(out)
	require.NotEmpty(t, secret, out)
	assert.Contains(t, out, "cannot show it again")
	assert.Contains(t, out, "/scim/v2/acme/")
	id, ok := auth.Parse(secret)
	require.True(t, ok)

	var created map[string]any
	require.NoError(t, json.Unmarshal([]byte(s.ok(t, "token", "create", "acme", "entra", "--json")), &created))
	assert.Regexp(t, auth.Pattern, created["token"])

	out = s.ok(t, "token", "list", "acme")
	assert.NotContains(t, out, secret, "the list never shows a secret")
	assert.Regexp(t, `(?m)^`+id+`\s+okta\s+\S+\s+-\s+-$`, out)

	assert.Contains(t, s.ok(t, "token", "revoke", "acme", id), "revoked")
	var list struct{ Tokens []map[string]any }
	require.NoError(t, json.Unmarshal([]byte(s.ok(t, "token", "list", "acme", "--json")), &list))
	require.Len(t, list.Tokens, 2)
	assert.NotNil(t, list.Tokens[0]["revoked_at"])
	assert.NotContains(t, s.ok(t, "token", "list", "acme", "--json"), secret)

	r := s.run(t, "", nil, "token", "revoke", "acme", "nope")
	assert.Equal(t, ExitRefused, r.code)
	r = s.run(t, "", nil, "token", "create", "acme")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.err.Error(), "TENANT NAME")
}

func TestCLI_saml(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "ultimate")

	out := s.ok(t, "saml", "set", "acme", "../../testdata/saml/okta.xml")
	assert.Contains(t, out, "SAML SSO of tenant acme configured.")
	assert.Contains(t, out, "http://www.okta.com/exk8f3ktx2RkVcN4W5d7")
	assert.Contains(t, out, "/saml/acme/metadata")

	out = s.ok(t, "saml", "get", "acme")
	assert.Regexp(t, `valid now:\s+true`, out)
	assert.Regexp(t, `certificate valid until:\s+2060-06-01`, out)

	// A bad upload: exit 1 naming the fault; the previous configuration stays.
	r := s.run(t, "", nil, "saml", "set", "acme", "../../testdata/saml/expired-cert.xml")
	assert.Equal(t, ExitRefused, r.code)
	assert.Contains(t, r.err.Error(), "expired")
	cfg, err := s.store.GetSAMLConfig(context.Background(), "acme")
	require.NoError(t, err)
	assert.Equal(t, "http://www.okta.com/exk8f3ktx2RkVcN4W5d7", cfg.EntityID)

	// From stdin.
	doc, err := os.ReadFile("../../testdata/saml/onelogin.xml")
	require.NoError(t, err)
	r = s.run(t, string(doc), nil, "saml", "set", "acme", "-", "--json")
	require.NoError(t, r.err)
	var put map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.out), &put))
	assert.Contains(t, put["entity_id"], "onelogin.com")

	r = s.run(t, "", nil, "saml", "set", "acme", "/nonexistent/metadata.xml")
	assert.Equal(t, ExitRefused, r.code)
	assert.Contains(t, r.err.Error(), "no such file")

	assert.Contains(t, s.ok(t, "saml", "delete", "acme"), "removed")
	r = s.run(t, "", nil, "saml", "get", "acme")
	assert.Equal(t, ExitRefused, r.code)
	assert.Contains(t, r.err.Error(), "has no SAML configuration")
}

func TestCLI_exitCodes(t *testing.T) {
	s := newCLIServer(t)
	for name, tc := range map[string]struct {
		env  map[string]string
		args []string
		code int
		msg  string
	}{
		"no subcommand":      {nil, []string{"tenant"}, ExitUsage, "name a subcommand"},
		"unknown subcommand": {nil, []string{"token", "rotate"}, ExitUsage, `unknown subcommand "rotate"`},
		"missing argument":   {nil, []string{"tenant", "get"}, ExitUsage, "needs ID"},
		"extra argument":     {nil, []string{"tenant", "list", "x"}, ExitUsage, "got 1 argument"},
		"unknown flag":       {nil, []string{"tenant", "list", "--colour"}, ExitUsage, "colour"},
		"bad setting flag":   {nil, []string{"tenant", "update", "a", "--setting", "x"}, ExitUsage, "KEY=VALUE"},
		"nothing to update":  {nil, []string{"tenant", "update", "a"}, ExitUsage, "nothing to change"},
		"bad url":            {map[string]string{"ROSTER_URL": "ftp://x"}, []string{"tenant", "list"}, ExitUsage, "not an http(s) URL"},
		"wrong admin token":  {map[string]string{"ROSTER_ADMIN_TOKEN": "wrong-token-0123456789abcdefghijkl"}, []string{"tenant", "list"}, ExitUnreachable, "refused the operator token"},
		"no admin token":     {map[string]string{"ROSTER_ADMIN_TOKEN": ""}, []string{"tenant", "list"}, ExitUnreachable, "set ROSTER_ADMIN_TOKEN"},
		"server unreachable": {map[string]string{"ROSTER_URL": closedURL(t)}, []string{"tenant", "list"}, ExitUnreachable, "cannot reach the Roster server"},
	} {
		r := s.run(t, "", tc.env, tc.args...)
		assert.Equal(t, tc.code, r.code, name)
		if assert.Error(t, r.err, name) {
			assert.Contains(t, r.err.Error(), tc.msg, name)
		}
	}

	// --url wins over ROSTER_URL.
	r := s.run(t, "", map[string]string{"ROSTER_URL": closedURL(t)}, "tenant", "list", "--url", s.url)
	assert.NoError(t, r.err)

	// Help: exit 0 and the exit codes are documented.
	r = s.run(t, "", nil, "help")
	require.NoError(t, r.err)
	assert.Contains(t, r.out, "Exit codes: 0 success; 1 the API refused")
	assert.Contains(t, r.out, "rosterd saml set TENANT FILE")
	r = s.run(t, "", nil, "tenant", "create", "--help")
	assert.NoError(t, r.err)
	assert.Contains(t, r.out, "Usage: rosterd tenant create")
	assert.Equal(t, ExitOK, exitCode(nil))
}

// closedURL is an http URL where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return "http://" + addr
}

// TestCLI_globalFlagsBeforeTheCommand: the admin commands' flags --json,
// --url and --admin-token may be written before the command name, in both
// spellings, and mean what they mean after it.
func TestCLI_globalFlagsBeforeTheCommand(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "ultimate", "--seats", "10")

	var got map[string]any
	out := s.ok(t, "--json", "tenant", "get", "acme")
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	assert.Equal(t, "acme", got["id"])

	// No ROSTER_URL or ROSTER_ADMIN_TOKEN: the leading flags carry both.
	r := s.run(t, "", map[string]string{"ROSTER_URL": closedURL(t), "ROSTER_ADMIN_TOKEN": ""},
		"--url", s.url, "--admin-token="+cliAdminToken, "--json", "tenant", "list")
	require.NoError(t, r.err)
	var list struct{ Tenants []map[string]any }
	require.NoError(t, json.Unmarshal([]byte(r.out), &list), r.out)
	assert.Len(t, list.Tenants, 1)

	out = s.ok(t, "--json", "token", "create", "acme", "okta")
	assert.Contains(t, out, `"token": "rst_`)
	out = s.ok(t, "--url="+s.url, "token", "list", "acme")
	assert.Contains(t, out, "okta")

	// Between the command and its subcommand too.
	out = s.ok(t, "tenant", "--json", "get", "acme")
	assert.Contains(t, out, `"id": "acme"`)
	r = s.run(t, "", map[string]string{"ROSTER_URL": closedURL(t)}, "token", "--url", s.url, "list", "acme")
	require.NoError(t, r.err)
	assert.Contains(t, r.out, "okta")

	// A "--" after the command still ends its flags: leading flags go before it.
	r = s.run(t, "", nil, "--json", "tenant", "get", "--", "acme")
	require.NoError(t, r.err)
	assert.Contains(t, r.out, `"id": "acme"`)
}

// TestCLI_badCommandLineExits2: every command answers a bad command line —
// an unknown flag, a missing or stray argument, a flag without its value —
// with exit 2 and a message that says what is wrong and how to call it,
// before it reads the environment or calls a server (no token set here).
func TestCLI_badCommandLineExits2(t *testing.T) {
	s := newCLIServer(t)
	for name, tc := range map[string]struct {
		args []string
		msg  string
	}{
		"serve: unknown leading flag":      {[]string{"--bogus"}, "flag provided but not defined: -bogus"},
		"serve: unknown flag":              {[]string{"serve", "--bogus"}, "usage: rosterd serve"},
		"serve: flag without value":        {[]string{"--addr"}, "flag needs an argument"},
		"serve: stray argument":            {[]string{"serve", "now"}, `unexpected argument "now"`},
		"serve: bad duration":              {[]string{"--shutdown-timeout", "soon"}, "shutdown-timeout"},
		"migrate: stray argument":          {[]string{"migrate", "up"}, "usage: rosterd migrate"},
		"healthcheck: unknown flag":        {[]string{"healthcheck", "--port", "1"}, "usage: rosterd healthcheck"},
		"version: stray argument":          {[]string{"version", "x"}, "usage: rosterd version"},
		"help: stray argument":             {[]string{"help", "me"}, `unexpected argument "me"`},
		"unknown command":                  {[]string{"frobnicate"}, `unknown command "frobnicate"`},
		"unknown command after flags":      {[]string{"--json", "frobnicate"}, `unknown command "frobnicate"`},
		"leading unknown flag, admin":      {[]string{"--bogus", "tenant", "list"}, "flag provided but not defined: -bogus"},
		"tenant: flags, no subcommand":     {[]string{"--json", "tenant"}, "name a subcommand"},
		"tenant get: missing id":           {[]string{"tenant", "get"}, "usage:\n  rosterd tenant create ID"},
		"tenant create: no value":          {[]string{"tenant", "create", "acme", "--plan"}, "flag needs an argument"},
		"tenant create: bad seats":         {[]string{"tenant", "create", "acme", "--seats", "many"}, "seats"},
		"tenant delete: no --yes":          {[]string{"tenant", "delete", "acme"}, "add --yes"},
		"token create: missing name":       {[]string{"token", "create", "acme"}, "usage:\n  rosterd token create TENANT NAME"},
		"token revoke: stray argument":     {[]string{"token", "revoke", "acme", "id", "x"}, "needs TENANT TOKEN_ID"},
		"token list: unknown flag":         {[]string{"token", "list", "acme", "--all"}, "flag provided but not defined: -all"},
		"saml set: missing file":           {[]string{"saml", "set", "acme"}, "usage:\n  rosterd saml set TENANT FILE"},
		"saml get: unknown subcommand":     {[]string{"saml", "show", "acme"}, `unknown subcommand "show"`},
		"users import: missing file":       {[]string{"users", "import", "acme"}, "usage:\n  rosterd users import"},
		"users import: bad batch":          {[]string{"users", "import", "acme", "x.csv", "--batch", "0"}, "--batch"},
		"users role: missing users":        {[]string{"users", "role", "acme", "agent"}, "needs TENANT ROLE USER"},
		"users: flags before subcommand":   {[]string{"users", "--json", "import"}, "users import needs TENANT FILE"},
		"users: flags, no subcommand":      {[]string{"users", "--json"}, "name a subcommand before the flags"},
		"users: flags, unknown sub":        {[]string{"users", "--json", "export", "acme"}, `unknown subcommand "export"`},
		"admin token flag without value":   {[]string{"tenant", "list", "--admin-token"}, "flag needs an argument"},
		"leading url flag without value":   {[]string{"--url"}, "flag provided but not defined: -url"},
		"json before serve is not serve's": {[]string{"--json"}, "flag provided but not defined: -json"},
	} {
		r := s.run(t, "", map[string]string{"ROSTER_ADMIN_TOKEN": ""}, tc.args...)
		assert.Equal(t, ExitUsage, r.code, "%s: %v", name, r.err)
		if assert.Error(t, r.err, name) {
			assert.Contains(t, r.err.Error(), tc.msg, name)
			assert.Contains(t, r.err.Error(), "rosterd help", name)
		}
	}

	// A good command line without a token is not a usage error: exit 3.
	r := s.run(t, "", map[string]string{"ROSTER_ADMIN_TOKEN": ""}, "tenant", "get", "acme")
	assert.Equal(t, ExitUnreachable, r.code)
	assert.ErrorContains(t, r.err, "set ROSTER_ADMIN_TOKEN")
}

// TestCLI_scimReadiness: saml set on a plan without SAML SSO says the
// metadata is stored but warns which plan is needed; tenant get answers "is
// it ready for SCIM?" gate by gate, with what to change.
func TestCLI_scimReadiness(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "enterprise", "--seats", "10")

	out := s.ok(t, "saml", "set", "acme", "../../testdata/saml/okta.xml")
	assert.NotContains(t, out, "configured.")
	assert.Contains(t, out, "SAML metadata of tenant acme stored, with warnings:")
	assert.Contains(t, out, "warning: the Enterprise (enterprise) plan of tenant acme does not include SAML SSO")
	assert.Contains(t, out, "plan is changed to ultimate")
	assert.Contains(t, out, "SCIM ready: no")

	out = s.ok(t, "tenant", "get", "acme")
	assert.Regexp(t, `plan:\s+enterprise`, out)
	assert.Contains(t, out, "SCIM ready: no")
	assert.Regexp(t, `FAIL plan\s+the Enterprise \(enterprise\) plan does not include SCIM; change the tenant's plan to ultimate`, out)
	assert.Regexp(t, `ok   sso\s+SAML SSO is configured; the IdP signing certificate is valid until 2060-06-01`, out)
	assert.Regexp(t, `FAIL token\s+the tenant has no SCIM token; create one .*rosterd token create acme NAME`, out)

	s.ok(t, "tenant", "update", "acme", "--plan", "ultimate")
	s.ok(t, "token", "create", "acme", "okta")
	out = s.ok(t, "tenant", "get", "acme")
	assert.Contains(t, out, "SCIM ready: yes")
	assert.NotContains(t, out, "FAIL")
	out = s.ok(t, "saml", "set", "acme", "../../testdata/saml/okta.xml")
	assert.Contains(t, out, "SAML SSO of tenant acme configured.")
	assert.Contains(t, out, "SCIM ready: yes")

	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(s.ok(t, "tenant", "get", "acme", "--json")), &got))
	assert.Equal(t, true, got["scim_ready"].(map[string]any)["ready"])
}
