package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// This file is the plumbing of the admin subcommands (tenant, token, saml,
// and any other command that calls the admin API of a running server): the
// client, flag parsing with flags anywhere on the line, output as text or
// --json, and exit codes. A new command writes a func(ctx, sys, args) error
// that calls parseCLI, cli.call and cli.print, and adds one line to
// adminCommands.

// adminCommands are the subcommands that call the admin API.
func adminCommands() []command {
	return []command{
		{"tenant", "manage tenants: create, get, list, update, delete (admin API)", tenantCmd},
		{"token", "manage a tenant's SCIM tokens: create, list, revoke (admin API)", tokenCmd},
		{"saml", "manage a tenant's SAML SSO: set TENANT FILE, get, delete (admin API)", samlCmd},
		{"apikey", "manage a tenant's admin API keys: create, list, revoke (admin API)", apikeyCmd},
		{"console-link", "a single-use link, valid 5 minutes, that signs a user into the console (admin API)", consoleLinkCmd},
		{"users", "bulk-import users from CSV, bulk-change roles (admin API)", usersCmd},
		{"roles", "manage a tenant's roles: list, get, create, update, delete (admin API)", rolesCmd},
		{"role-mappings", "show or replace a tenant's group → role mappings (admin API)", roleMappingsCmd},
		{"stores", "manage a tenant's store catalogue: list, create, rename, delete (admin API)", storesCmd},
		{"approvals", "list, approve and reject privileged grants held for approval (admin API)", approvalsCmd},
		{"people", "a tenant's people: list, get, invite, update, deactivate, reactivate, delete (admin API)", peopleCmd},
		{"teams", "a tenant's teams: list, get, create, rename, delete; add, remove members (admin API)", teamsCmd},
		{"jobs", "show an import job and its per-row results (admin API)", jobsCmd},
		{"seats", "a tenant's seat report, its seat ledger (seats events) or its usage history (seats usage) (admin API)", seatsCmd},
		{"report", "reports: dormant seat holders (admin API)", reportCmd},
		{"audit", "a tenant's audit trail, or the operator trail with --operator (admin API)", auditCmd},
		{"webhook", "a tenant's webhook endpoints: create, list, delete, enable, deliveries, retry (admin API)", webhookCmd},
		{"events", "a tenant's events, oldest first, from a cursor (the pull API)", eventsCmd},
		{"scim-activity", "a tenant's recent SCIM requests as Roster answered them, newest first (admin API)", scimActivityCmd},
	}
}

// Exit codes of rosterd, for scripts. main exits with exitCode(err).
const (
	ExitOK          = 0 // success
	ExitRefused     = 1 // the API refused the request (validation, not found, conflict) or another failure
	ExitUsage       = 2 // bad command line
	ExitUnreachable = 3 // the server cannot be reached or answered 5xx, or it refused the credential (401)
)

// cliHelp is the part of `rosterd help` about the admin commands.
const cliHelp = `
Admin commands call the admin API of a running server. Its OpenAPI 3.1
description is served at GET /admin/v1/openapi.json (no credential needed);
rosterd openapi prints the same document.
  ROSTER_URL          server to call (--url), default http://localhost:8080
  ROSTER_ADMIN_TOKEN  operator token of that server (--admin-token; prefer the variable)
  ROSTER_API_KEY      a tenant API key, rsk_… (--api-key): acts within that tenant only
  --json              print the API's JSON answer instead of text
  These may come before the command (rosterd --json tenant get ID),
  between it and its subcommand, or anywhere after.
  Credential: a flag on the command line wins (not both); else ROSTER_API_KEY
  wins over ROSTER_ADMIN_TOKEN. Either is sent as Authorization: Bearer.

  rosterd tenant create ID --plan PLAN [--name NAME] [--seats N] [--addons a,b] [--setting KEY=VALUE]...
  rosterd tenant get ID | list | delete ID --yes
  rosterd tenant update ID [--plan PLAN] [--name NAME] [--seats N] [--addons a,b] [--setting KEY=VALUE]...
  rosterd token create TENANT NAME | list TENANT | revoke TENANT TOKEN_ID
  rosterd apikey create TENANT NAME [--permissions users.view,users.manage] | list TENANT | revoke TENANT KEY_ID
  rosterd console-link TENANT USER   (id or userName) prints a single-use console link and its expiry
  rosterd saml set TENANT FILE (- for stdin) | get TENANT | delete TENANT
  rosterd users import TENANT FILE (- for stdin) [--dry-run] [--mode create|update] [--batch N]
      sends the file as an import job and follows it (progress on stderr); exits 1
      when a row failed or a dry run would fail (a row, or too few seats), 3 when
      the server's job failed
  rosterd users role TENANT ROLE USER...   (ids or userNames; all or nothing)
  rosterd roles list TENANT | get TENANT ROLE | delete TENANT ROLE [--replacement ROLE]
  rosterd roles create TENANT NAME --permissions a.b,c.d [--description TEXT] [--privileged] [--seat-class full|light]
  rosterd roles update TENANT ROLE [--permissions a.b,c.d] [--description TEXT] [--privileged=true|false] [--seat-class full|light]
      update changes only the flags given (it reads the role and sends it whole)
  rosterd role-mappings get TENANT
  rosterd role-mappings set TENANT GROUP=ROLE...   (precedence order as given;
      replaces every mapping; with no GROUP=ROLE it clears them and needs --yes)
  rosterd stores list TENANT | create TENANT ID NAME | rename TENANT ID NAME | delete TENANT ID
  rosterd approvals list TENANT [--status pending|approved|rejected|superseded|all]
  rosterd approvals approve TENANT ID | reject TENANT ID
  rosterd people list TENANT [--q TEXT] [--role R] [--team ID] [--active true|false] [--managed scim|manual]
      [--seat full|light|none] [--limit N] [--cursor C] [--all]
  rosterd people get TENANT ID | deactivate TENANT ID | reactivate TENANT ID | delete TENANT ID --yes
  rosterd people invite TENANT USERNAME [--email E] [--display-name N] [--role R] [--team ID]... [--store ID]...
  rosterd people update TENANT ID [--role R] [--display-name N] [--email E] [--active true|false] [--team ID]... [--store ID]...
      --team and --store give the whole list (--team "" for none); a person the
      IdP pushes keeps what it pushes unless the tenant sets manual_overrides
  rosterd teams list TENANT | get TENANT ID | create TENANT NAME | rename TENANT ID NAME | delete TENANT ID --yes
  rosterd teams add TENANT ID USER_ID... | remove TENANT ID USER_ID...
  rosterd jobs get TENANT JOB_ID | results TENANT JOB_ID   (every page of results)
  rosterd seats TENANT      (the seat report)
  rosterd seats events TENANT [--user ID] [--from T] [--to T] [--limit N] [--cursor C] [--all]
  rosterd seats usage TENANT [--from DATE] [--to DATE] [--interval day|week|month]
      (or --tenant TENANT) the seats at the end of each day, week or month
      from DATE to DATE (UTC, YYYY-MM-DD; default the last 30 days, by day)
  rosterd report dormant TENANT [--days N]
  rosterd audit TENANT [--user ID] [--actor ID] [--action A] [--from T] [--to T] [--limit N] [--cursor C] [--all]
  rosterd audit --operator [same flags]   (events that outlive a tenant)
  rosterd webhook create TENANT URL [--events user.deactivated,seat.released] | list TENANT
  rosterd webhook delete TENANT ID | enable TENANT ID | deliveries TENANT ID [--status S] [--limit N]
  rosterd webhook retry TENANT ID DELIVERY_ID
  rosterd events TENANT [--after CURSOR] [--limit N]   (prints the next cursor)
  rosterd scim-activity TENANT [--errors] [--since T] [--limit N]   (newest first; errors of the last 24 h)
      people list, seats events and audit print one page (--limit; the
      server's default is 50 people, 100 events) and, when there is more, the
      --cursor of the next page on stderr; --all follows every page. T is an RFC 3339 time (seats events: or a date).

Exit codes: 0 success; 1 the API refused the request (validation, not found,
conflict, a permission the credential lacks: 403) or another failure; 2 bad
command line; 3 the server cannot be reached or failed (5xx), or it refused
the credential (401) or none was given.
`

// exitError carries an exit code; main exits with it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// ExitCode is the process exit code for the error.
func (e *exitError) ExitCode() int { return e.code }

// exitCode is the exit code of an error run returned: its own, else 1.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return ExitRefused
}

// usageErr is a bad command line: exit 2, the message says what is wrong
// and points at the help. For an admin command ("tenant get: …") it adds the
// command's usage lines from cliHelp.
func usageErr(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if lines := synopsis(msg); lines != "" {
		return &exitError{code: ExitUsage, err: fmt.Errorf("%s\nusage:\n%s(see rosterd help)", msg, lines)}
	}
	return &exitError{code: ExitUsage, err: fmt.Errorf("%s (see rosterd help)", msg)}
}

// synopsis is the usage lines of cliHelp for the admin command a message
// starts with ("tenant get: …" → the "rosterd tenant …" lines).
func synopsis(msg string) string {
	cmd, _, _ := strings.Cut(msg, " ")
	cmd = strings.TrimSuffix(cmd, ":")
	if cmd == "" {
		return ""
	}
	var b strings.Builder
	for _, l := range strings.Split(cliHelp, "\n") {
		if strings.HasPrefix(l, "  rosterd "+cmd+" ") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// cli is one admin command invocation: the client of the admin API and how
// to print.
type cli struct {
	name    string // the command, for messages
	sys     *system
	baseURL string
	token   string // the credential sent as the bearer token
	apiKey  bool   // token is a tenant API key, not the operator token
	json    bool
	client  *http.Client
}

// parseCLI parses args for the command name (e.g. "tenant create"): the
// common flags (--json, --url, --admin-token, --api-key), those setup adds, and
// positional arguments, in any order ("--" ends flags). It answers
// flag.ErrHelp after printing usage for -h/--help.
func parseCLI(sys *system, name string, args []string, setup func(fs *flag.FlagSet)) (*cli, []string, error) {
	c := &cli{name: name, sys: sys, client: &http.Client{Timeout: 60 * time.Second}}
	fs := flag.NewFlagSet("rosterd "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&c.json, "json", false, "print the API's JSON answer")
	fs.StringVar(&c.baseURL, "url", "", "server to call (default $ROSTER_URL, else http://localhost:8080)")
	var adminToken, apiKey string
	fs.StringVar(&adminToken, "admin-token", "", "operator token (default $ROSTER_ADMIN_TOKEN)")
	fs.StringVar(&apiKey, "api-key", "", "tenant API key rsk_… (default $ROSTER_API_KEY)")
	if setup != nil {
		setup(fs)
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				_, _ = io.WriteString(sys.stdout, "Usage: rosterd "+name+" …\n"+cliHelp)
				return nil, nil, err
			}
			return nil, nil, usageErr("%s: %v", name, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	if c.baseURL == "" {
		c.baseURL = sys.getenv("ROSTER_URL")
	}
	if c.baseURL == "" {
		c.baseURL = "http://localhost:8080"
	}
	u, err := url.Parse(c.baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, usageErr("%s: ROSTER_URL (--url) %q is not an http(s) URL such as http://localhost:8080", name, c.baseURL)
	}
	c.baseURL = strings.TrimRight(c.baseURL, "/")
	if err := c.credential(fs, adminToken, apiKey); err != nil {
		return nil, nil, err
	}
	// A missing token is reported by call, so that the command checks its
	// arguments first: a bad command line is exit 2 whatever the environment.
	return c, pos, nil
}

// credential picks what the CLI authenticates with: a credential flag on the
// command line wins (giving both is a usage error); else ROSTER_API_KEY wins
// over ROSTER_ADMIN_TOKEN, so that a shell set up for one tenant acts as that
// tenant even where an operator token is also exported.
func (c *cli) credential(fs *flag.FlagSet, adminToken, apiKey string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var from string
	switch {
	case given["admin-token"] && given["api-key"]:
		return usageErr("%s: give --api-key or --admin-token, not both", c.name)
	case given["api-key"]:
		c.token, c.apiKey, from = apiKey, true, "--api-key"
	case given["admin-token"]:
		c.token = adminToken
	case c.sys.getenv("ROSTER_API_KEY") != "":
		c.token, c.apiKey, from = c.sys.getenv("ROSTER_API_KEY"), true, "ROSTER_API_KEY"
	default:
		c.token = c.sys.getenv("ROSTER_ADMIN_TOKEN")
	}
	if c.apiKey && !strings.HasPrefix(c.token, "rsk_") {
		return usageErr("%s: %s is not a tenant API key: those read rsk_…; the operator token goes in ROSTER_ADMIN_TOKEN (--admin-token)", c.name, from)
	}
	return nil
}

// wantArgs checks the number of positional arguments.
func wantArgs(name string, pos []string, names ...string) error {
	if len(pos) != len(names) {
		return usageErr("%s needs %s, got %d argument(s)", name, strings.Join(names, " "), len(pos))
	}
	return nil
}

// apiError is a refusal from the admin API (its error body).
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"error"`
	Message string `json:"message"`
	Fields  []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"fields,omitempty"`
	raw []byte
}

func (e *apiError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if len(e.Fields) > 1 {
		var b strings.Builder
		b.WriteString("the request was refused:")
		for _, f := range e.Fields {
			fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Message)
		}
		return b.String()
	}
	return msg
}

// ExitCode: a refused credential (401) or a server failure is 3, any other
// refusal 1 — a 403 included: the credential is good but lacks a permission,
// or the plan or the seat count refuses the change.
func (e *apiError) ExitCode() int {
	if e.Status == http.StatusUnauthorized || e.Status >= 500 {
		return ExitUnreachable
	}
	return ExitRefused
}

// maxAnswer caps what the CLI reads of an answer.
const maxAnswer = 32 << 20

// call sends a request to the admin API and decodes a JSON answer into out
// (nil: ignore it). It returns the raw answer for --json. A refusal is an
// *apiError; a transport failure exits 3.
func (c *cli) call(ctx context.Context, method, path string, body []byte, contentType string, out any) ([]byte, error) {
	return c.callHeader(ctx, method, path, body, contentType, nil, out)
}

// callHeader is call with further request headers.
func (c *cli) callHeader(ctx context.Context, method, path string, body []byte, contentType string, header http.Header, out any) ([]byte, error) {
	if c.token == "" {
		return nil, &exitError{code: ExitUnreachable, err: fmt.Errorf(
			"%s: no credential: set ROSTER_ADMIN_TOKEN (or --admin-token) to the admin token of the server at %s, or ROSTER_API_KEY (--api-key) to a tenant API key", c.name, c.baseURL)}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.client.Do(req)
	if err != nil {
		var ne net.Error
		msg := err.Error()
		if errors.As(err, &ne) || errors.Is(err, io.EOF) {
			msg = strings.TrimPrefix(msg, method+" \""+c.baseURL+path+"\": ")
		}
		return nil, &exitError{code: ExitUnreachable, err: fmt.Errorf(
			"cannot reach the Roster server at %s (set ROSTER_URL): %s", c.baseURL, msg)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, &exitError{code: ExitUnreachable, err: fmt.Errorf("reading the answer of %s: %w", c.baseURL, err)}
	}
	if resp.StatusCode >= 400 {
		e := &apiError{Status: resp.StatusCode, raw: raw}
		if json.Unmarshal(raw, e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("the server answered %s", resp.Status)
		}
		if resp.StatusCode == http.StatusUnauthorized {
			e.Message = fmt.Sprintf("the server at %s refused the operator token: set ROSTER_ADMIN_TOKEN to its admin token", c.baseURL)
			if c.apiKey {
				e.Message = fmt.Sprintf("the server at %s refused the API key (ROSTER_API_KEY, --api-key): it is unknown, revoked or expired, or the server does not take API keys", c.baseURL)
			}
		}
		if c.json && len(raw) > 0 && json.Valid(raw) {
			_, _ = c.sys.stdout.Write(indentJSON(raw))
		}
		return raw, e
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return raw, fmt.Errorf("the server's answer is not the JSON expected: %w", err)
		}
	}
	return raw, nil
}

// print writes the answer: the API's JSON with --json, else text.
func (c *cli) print(raw []byte, text func(w io.Writer) error) error {
	if c.json {
		if len(raw) == 0 {
			raw = []byte("{}")
		}
		_, err := c.sys.stdout.Write(indentJSON(raw))
		return err
	}
	return text(c.sys.stdout)
}

func indentJSON(raw []byte) []byte {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return append(raw, '\n')
	}
	return append(bytes.TrimRight(b.Bytes(), "\n"), '\n')
}

// subcommand dispatches "rosterd NAME SUB …" to subs[SUB].
func subcommand(ctx context.Context, sys *system, name string, args []string, subs map[string]func(context.Context, *system, []string) error, order ...string) error {
	// Flags may also stand between the command and its subcommand
	// ("rosterd tenant --json get acme"): they go after the subcommand.
	if lead, rest := leadingFlags(args); len(lead) > 0 && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") &&
		!slices.Contains(lead, "-h") && !slices.Contains(lead, "--help") {
		args = append([]string{rest[0]}, withFlags(rest[1:], lead)...)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		_, err := fmt.Fprintf(sys.stdout, "Usage: rosterd %s %s …\n%s", name, strings.Join(order, "|"), cliHelp)
		if len(args) == 0 {
			return usageErr("%s: name a subcommand: %s", name, strings.Join(order, ", "))
		}
		return err
	}
	if strings.HasPrefix(args[0], "-") {
		return usageErr("%s: name a subcommand before the flags: %s", name, strings.Join(order, ", "))
	}
	run, ok := subs[args[0]]
	if !ok {
		return usageErr("%s: unknown subcommand %q; subcommands: %s", name, args[0], strings.Join(order, ", "))
	}
	err := run(ctx, sys, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// escape is a path segment.
func escape(s string) string { return url.PathEscape(s) }

// orDash shows an empty value as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeOrDash(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// parseArgs is parseCLI for a command with a fixed number of positional
// arguments, named for the usage message.
func parseArgs(sys *system, name string, args []string, setup func(fs *flag.FlagSet), names ...string) (*cli, []string, error) {
	c, pos, err := parseCLI(sys, name, args, setup)
	if err != nil {
		return nil, nil, err
	}
	if err := wantArgs(name, pos, names...); err != nil {
		return nil, nil, err
	}
	return c, pos, nil
}

// do sends body (nil: none; else as JSON) to the admin API, decodes the
// answer into out and prints it: the API's JSON with --json, else text.
func (c *cli) do(ctx context.Context, method, path string, body, out any, text func(w io.Writer) error) error {
	var b []byte
	ct := ""
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
		ct = "application/json"
	}
	raw, err := c.call(ctx, method, path, b, ct, out)
	if err != nil {
		return err
	}
	return c.print(raw, text)
}

// tenantPath is the admin API path of a tenant's resource: tenantPath("acme",
// "roles", "lead") is /admin/v1/tenants/acme/roles/lead, each part escaped.
func tenantPath(tenant string, parts ...string) string {
	p := "/admin/v1/tenants/" + escape(tenant)
	for _, x := range parts {
		p += "/" + escape(x)
	}
	return p
}

// withParams adds to path the query parameters of the flags given on the
// command line among names: each flag maps to the API parameter of its name.
func withParams(path string, fs *flag.FlagSet, names ...string) string {
	q := url.Values{}
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(names, f.Name) {
			q.Set(f.Name, f.Value.String())
		}
	})
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// writeTable writes a header and rows as aligned columns; an empty cell
// shows as "-".
func writeTable(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, x := range r {
			cells[i] = orDash(x)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// writeFields writes label/value lines aligned ("plan:  ultimate").
func writeFields(w io.Writer, fields ...[2]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range fields {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	return tw.Flush()
}

// money shows US cents as dollars: 123456 → $1,234.56.
func money(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	d := strconv.FormatInt(cents/100, 10)
	for i := len(d) - 3; i > 0; i -= 3 {
		d = d[:i] + "," + d[i:]
	}
	return fmt.Sprintf("%s$%s.%02d", sign, d, cents%100)
}

// pageFlags are the paging flags of a cursor-paged list (seat events,
// audit, people): --limit and --cursor are the API's parameters; --all
// follows next_cursor to the end.
type pageFlags struct {
	limit  int
	cursor string
	all    bool
}

func (p *pageFlags) setup(fs *flag.FlagSet) {
	fs.IntVar(&p.limit, "limit", 0, "entries per page (the server's default when not given)")
	fs.StringVar(&p.cursor, "cursor", "", "start after this cursor: the next_cursor of a previous page")
	fs.BoolVar(&p.all, "all", false, "follow every page to the end")
}

// listQuery are the flags of a cursor-paged list: the paging flags and
// filters, each a string flag sent as the API parameter of its name.
type listQuery struct {
	page    pageFlags
	filters [][2]string // name and usage of each filter flag
	fs      *flag.FlagSet
}

func (l *listQuery) setup(fs *flag.FlagSet) {
	l.fs = fs
	l.page.setup(fs)
	for _, f := range l.filters {
		fs.String(f[0], "", f[1])
	}
}

// path is base with the parameters of the flags given on the command line.
func (l *listQuery) path(base string) string {
	names := []string{"limit", "cursor"}
	for _, f := range l.filters {
		names = append(names, f[0])
	}
	return withParams(base, l.fs, names...)
}

// entries reads a cursor-paged list at path (its query made by withParams)
// whose entries are the answer's key ("events", "users"): one page, or with
// --all every page from there. It answers the entries, the JSON to print for
// --json (the page as the API sent it, or every entry with next_cursor null)
// and the cursor of the next page ("" at the end).
func (c *cli) entries(ctx context.Context, path, key string, p pageFlags) ([]json.RawMessage, []byte, string, error) {
	var all []json.RawMessage
	for {
		var page map[string]json.RawMessage
		raw, err := c.call(ctx, "GET", path, nil, "", &page)
		if err != nil {
			return nil, nil, "", err
		}
		var items []json.RawMessage
		var next *string
		if err := unmarshalIfSet(page[key], &items); err != nil {
			return nil, nil, "", err
		}
		if err := unmarshalIfSet(page["next_cursor"], &next); err != nil {
			return nil, nil, "", err
		}
		all = append(all, items...)
		cursor := ""
		if next != nil {
			cursor = *next
		}
		if !p.all {
			return all, raw, cursor, nil
		}
		if cursor == "" || len(items) == 0 || cursor == p.cursor {
			if all == nil {
				all = []json.RawMessage{}
			}
			raw, err := json.Marshal(map[string]any{key: all, "next_cursor": nil})
			return all, raw, "", err
		}
		u, err := url.Parse(path)
		if err != nil {
			return nil, nil, "", err
		}
		q := u.Query()
		q.Set("cursor", cursor)
		u.RawQuery = q.Encode()
		path, p.cursor = u.String(), cursor // a server repeating a cursor ends the walk
	}
}

// unmarshalIfSet decodes raw into out unless it is absent.
func unmarshalIfSet(raw json.RawMessage, out any) error {
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("the server's answer is not the JSON expected: %w", err)
	}
	return nil
}

// listEntries reads a cursor-paged list (c.entries) and prints it: each
// entry decoded into a T for its row of a table, then, in text, where to go on.
func listEntries[T any](ctx context.Context, c *cli, path, key string, p pageFlags, header string, row func(T) []string) error {
	events, raw, next, err := c.entries(ctx, path, key, p)
	if err != nil {
		return err
	}
	rows := make([][]string, 0, len(events))
	for _, e := range events {
		var v T
		if err := json.Unmarshal(e, &v); err != nil {
			return fmt.Errorf("the server's answer is not the JSON expected: %w", err)
		}
		rows = append(rows, row(v))
	}
	if err := c.print(raw, func(w io.Writer) error { return writeTable(w, header, rows) }); err != nil {
		return err
	}
	if next != "" && !c.json {
		fmt.Fprintf(c.sys.stderr, "rosterd: more: add --cursor %s for the next page, or --all for every page\n", next)
	}
	return nil
}
