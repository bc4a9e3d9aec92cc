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
	"strings"
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
		{"users", "bulk-import users from CSV, bulk-change roles (admin API)", usersCmd},
	}
}

// Exit codes of rosterd, for scripts. main exits with exitCode(err).
const (
	ExitOK          = 0 // success
	ExitRefused     = 1 // the API refused the request (validation, not found, conflict) or another failure
	ExitUsage       = 2 // bad command line
	ExitUnreachable = 3 // the server cannot be reached or answered 5xx, or it refused the operator token
)

// cliHelp is the part of `rosterd help` about the admin commands.
const cliHelp = `
Admin commands call the admin API of a running server:
  ROSTER_URL          server to call (--url), default http://localhost:8080
  ROSTER_ADMIN_TOKEN  operator token of that server (--admin-token; prefer the variable)
  --json              print the API's JSON answer instead of text
  These three may come before the command (rosterd --json tenant get ID),
  between it and its subcommand, or anywhere after.

  rosterd tenant create ID --plan PLAN [--name NAME] [--seats N] [--addons a,b] [--setting KEY=VALUE]...
  rosterd tenant get ID | list | delete ID --yes
  rosterd tenant update ID [--plan PLAN] [--name NAME] [--seats N] [--addons a,b] [--setting KEY=VALUE]...
  rosterd token create TENANT NAME | list TENANT | revoke TENANT TOKEN_ID
  rosterd apikey create TENANT NAME [--permissions users.view,users.manage] | list TENANT | revoke TENANT KEY_ID
  rosterd saml set TENANT FILE (- for stdin) | get TENANT | delete TENANT
  rosterd users import TENANT FILE (- for stdin) [--dry-run] [--mode create|update] [--batch N]
      sends the file as an import job and follows it (progress on stderr); exits 1
      when a row failed or a dry run would fail (a row, or too few seats), 3 when
      the server's job failed
  rosterd users role TENANT ROLE USER...   (ids or userNames; all or nothing)

Exit codes: 0 success; 1 the API refused the request (validation, not found,
conflict) or another failure; 2 bad command line; 3 the server cannot be
reached or failed (5xx), or it refused the operator token.
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
	token   string
	json    bool
	client  *http.Client
}

// parseCLI parses args for the command name (e.g. "tenant create"): the
// common flags (--json, --url, --admin-token), those setup adds, and
// positional arguments, in any order ("--" ends flags). It answers
// flag.ErrHelp after printing usage for -h/--help.
func parseCLI(sys *system, name string, args []string, setup func(fs *flag.FlagSet)) (*cli, []string, error) {
	c := &cli{sys: sys, client: &http.Client{Timeout: 60 * time.Second}}
	fs := flag.NewFlagSet("rosterd "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&c.json, "json", false, "print the API's JSON answer")
	fs.StringVar(&c.baseURL, "url", "", "server to call (default $ROSTER_URL, else http://localhost:8080)")
	fs.StringVar(&c.token, "admin-token", "", "operator token (default $ROSTER_ADMIN_TOKEN)")
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
	if c.token == "" {
		c.token = sys.getenv("ROSTER_ADMIN_TOKEN")
	}
	// A missing token is reported by call, so that the command checks its
	// arguments first: a bad command line is exit 2 whatever the environment.
	c.name = name
	return c, pos, nil
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

// ExitCode: an authentication failure or a server failure is 3, any other
// refusal 1.
func (e *apiError) ExitCode() int {
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.Status >= 500 {
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
			"%s: no operator token: set ROSTER_ADMIN_TOKEN (or --admin-token) to the admin token of the server at %s", c.name, c.baseURL)}
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
