package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/admin"
	"github.com/roster-dev/roster/internal/metrics"
	"github.com/roster-dev/roster/store"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
// Empty, the module version from the build info is shown.
var version = ""

// system is what rosterd takes from the world outside: environment, output,
// clock, ids, randomness and the PostgreSQL backend. run fills it with the real
// ones; tests replace parts of it.
type system struct {
	getenv func(string) string
	stdout io.Writer // the banner, "listening on ADDR", command output
	stderr io.Writer // JSON logs
	stdin  io.Reader // admin commands reading "-" (saml set TENANT -); nil: empty

	now    func() time.Time
	newID  func() string // store ids and request ids
	random io.Reader     // token secrets

	migrate      func(ctx context.Context, url string) error
	openPostgres func(ctx context.Context, url, listenURL string, now func() time.Time, newID func() string, log zerolog.Logger, m *metrics.Metrics) (store.Store, error)

	// wrapStore, when set, wraps the store serve opened (tests: observe it,
	// fail its Ping).
	wrapStore func(store.Store) store.Store
	// routes, when set, registers further routes on the mux (tests: a slow handler).
	routes func(*http.ServeMux)
	// activityFlush, when set, is how often the SCIM activity log is
	// written (tests: an hour, so that only the shutdown writes it).
	activityFlush time.Duration
}

// run is rosterd: it runs the command named by args[0] (serve when args is
// empty or starts with a flag) until it finishes or ctx is cancelled.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return runSystem(ctx, args, &system{
		getenv:       getenv,
		stdout:       stdout,
		stderr:       os.Stderr,
		stdin:        os.Stdin,
		now:          time.Now,
		newID:        uuid.NewString,
		random:       rand.Reader,
		migrate:      migratePostgres,
		openPostgres: openPostgres,
	})
}

// command is one subcommand. Admin subcommands (tenant, token, saml) that talk
// to the admin API join this table; each parses its own flags from args.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, sys *system, args []string) error
}

func commands() []command {
	return slices.Concat([]command{
		{"serve", "run the server (the default command)", serve},
		{"migrate", "apply the PostgreSQL migrations and exit", migrate},
		{"healthcheck", "exit 0 when the server at ROSTER_ADDR is ready (container health checks)", healthcheck},
	}, adminCommands(), // cli.go: tenant, token, saml, …
		[]command{
			{"openapi", "print the admin API's OpenAPI 3.1 description (also served at GET /admin/v1/openapi.json)", printOpenAPI},
			{"version", "print the version", printVersion},
			{"help", "show this help", help},
		})
}

func runSystem(ctx context.Context, args []string, sys *system) error {
	lead, rest := leadingFlags(args)
	name := "serve"
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = rest[0], rest[1:]
	}
	rest = withFlags(rest, lead)
	var names []string
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, sys, rest)
		}
		names = append(names, c.name)
	}
	return &exitError{code: ExitUsage, err: fmt.Errorf("unknown command %q; valid commands: %s (see rosterd help)", name, strings.Join(names, ", "))}
}

// leadingFlags splits off the flags written before the command name
// ("rosterd --json tenant get acme", "rosterd --url URL --admin-token T
// token list acme"): they belong to the command, as if written after it. A
// flag takes the next word as its value when it is one of the flags that
// take a value (globalValueFlags) and is not written --flag=value; any other
// flag stands alone, so that "rosterd --bogus tenant list" reaches tenant
// list, which refuses --bogus as a bad command line. "--" ends the flags.
func leadingFlags(args []string) (lead, rest []string) {
	value := globalValueFlags()
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-" && args[i] != "--" {
		name := strings.TrimLeft(args[i], "-")
		i++
		if !strings.Contains(name, "=") && value[name] && i < len(args) {
			i++
		}
	}
	return args[:i], args[i:]
}

// globalValueFlags are the flags that may come before the command name and
// take a value: the configuration flags of serve, migrate and healthcheck,
// and the admin commands' --url, --admin-token and --api-key. (--json is the admin
// commands' boolean one.)
func globalValueFlags() map[string]bool {
	out := map[string]bool{"url": true, "admin-token": true, "api-key": true}
	var c Config
	for _, v := range c.vars() {
		out[v.flag] = true
	}
	return out
}

// withFlags puts the leading flags after the command's own arguments, before
// a "--" that ends its flags.
func withFlags(args, lead []string) []string {
	if len(lead) == 0 {
		return args
	}
	at := slices.Index(args, "--")
	if at < 0 {
		at = len(args)
	}
	return slices.Concat(args[:at], lead, args[at:])
}

// parseFlags reads the configuration of command name from the environment and
// args. help is true when -h or --help was given (usage has been printed).
func parseFlags(name string, args []string, sys *system) (cfg Config, help bool, err error) {
	fs := flag.NewFlagSet("rosterd "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, usage is printed by us
	cfg, err = loadConfig(fs, args, sys.getenv)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return cfg, true, writeUsage(sys.stdout)
	case err != nil:
		return cfg, false, usageErr("%s: %v\nusage: rosterd %s [--addr ADDR] [--base-url URL] [--database-url URL] [flags]", name, err, name)
	case fs.NArg() > 0:
		return cfg, false, usageErr("%s: unexpected argument %q\nusage: rosterd %s [--addr ADDR] [--base-url URL] [--database-url URL] [flags]", name, fs.Arg(0), name)
	}
	return cfg, false, nil
}

func migrate(ctx context.Context, sys *system, args []string) error {
	cfg, help, err := parseFlags("migrate", args, sys)
	if help || err != nil {
		return err
	}
	faults := cfg.faults(false)
	if cfg.DatabaseURL == "" {
		faults = append(faults, errors.New("migrate needs a database: set ROSTER_DATABASE_URL or --database-url"))
	}
	if err := errors.Join(faults...); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log := newLogger(sys.stderr, cfg.LogLevel, sys.now)
	if err := sys.migrate(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	log.Info().Msg("database migrated")
	return nil
}

// healthcheck asks the server at the configured address whether it is ready.
// Distroless images have no curl or wget; compose and Kubernetes exec probes
// run this instead.
func healthcheck(ctx context.Context, sys *system, args []string) error {
	cfg, help, err := parseFlags("healthcheck", args, sys)
	if help || err != nil {
		return err
	}
	if err := checkAddr(cfg.Addr); err != nil {
		return fmt.Errorf("ROSTER_ADDR (--addr) %q: %w", cfg.Addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	target := localURL(cfg.Addr, "/readyz")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	// No proxy: the target is this machine.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", target, resp.Status)
	}
	_, err = fmt.Fprintln(sys.stdout, "ready")
	return err
}

// printOpenAPI prints the admin API's description as this build embeds it,
// without a server: the same bytes GET /admin/v1/openapi.json answers.
func printOpenAPI(_ context.Context, sys *system, args []string) error {
	if len(args) > 0 {
		return usageErr("openapi: unexpected argument %q\nusage: rosterd openapi > openapi.json", args[0])
	}
	_, err := sys.stdout.Write(admin.OpenAPI())
	return err
}

func printVersion(_ context.Context, sys *system, args []string) error {
	if len(args) > 0 {
		return usageErr("version: unexpected argument %q\nusage: rosterd version", args[0])
	}
	_, err := fmt.Fprintln(sys.stdout, "rosterd", versionString())
	return err
}

func versionString() string {
	v, rev, dirty := version, "", ""
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision":
				rev = s.Value[:min(12, len(s.Value))]
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = "+dirty"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if rev != "" {
		return fmt.Sprintf("%s (commit %s%s, %s)", v, rev, dirty, runtime.Version())
	}
	return fmt.Sprintf("%s (%s)", v, runtime.Version())
}

func help(_ context.Context, sys *system, args []string) error {
	if len(args) > 0 && args[0] != "-h" && args[0] != "--help" {
		return usageErr("help: unexpected argument %q; rosterd help lists every command, rosterd COMMAND --help the same", args[0])
	}
	return writeUsage(sys.stdout)
}

func writeUsage(w io.Writer) error {
	var b strings.Builder
	b.WriteString("rosterd: Roster, a multi-tenant SCIM 2.0 provisioning service.\n\n")
	b.WriteString("Usage: rosterd [command] [flags]\n\nCommands:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	_ = tw.Flush()
	b.WriteString("\nConfiguration (a flag wins over its variable):\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	var c Config
	for _, v := range c.vars() {
		def := v.defDoc
		if def == "" {
			def = v.def
		}
		fmt.Fprintf(tw, "  %s\t--%s\tdefault %s\n", v.env, v.flag, def)
		fmt.Fprintf(tw, "  \t\t%s\n", v.usage)
	}
	_ = tw.Flush()
	b.WriteString("\nWith no configuration, rosterd serves on :8080 from memory and prints a demo\ntenant's SCIM URL and token.\n")
	b.WriteString(cliHelp)
	_, err := io.WriteString(w, b.String())
	return err
}

// newLogger writes JSON lines to w at level (already validated) and stamps
// each line with the injected clock.
func newLogger(w io.Writer, level string, now func() time.Time) zerolog.Logger {
	lvl, err := parseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).Hook(clockHook(now))
}

// clockHook adds the time field from an injected clock (zerolog's own
// Timestamp reads a package global).
type clockHook func() time.Time

func (h clockHook) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str("time", h().UTC().Format(time.RFC3339Nano))
}
