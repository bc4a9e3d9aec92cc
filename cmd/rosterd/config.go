package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/internal/authlimit"
)

// Config is everything rosterd reads from its environment. Each field comes
// from a ROSTER_* variable and a mirroring flag; a flag wins over the
// variable, and an empty variable counts as unset.
type Config struct {
	Addr        string // listen address, host:port
	BaseURL     string // public URL; empty: derived from the bound address
	DatabaseURL string // PostgreSQL; empty: the in-memory store
	// DatabaseListenURL is a direct connection to the same database for the
	// auth cache's LISTEN, when DatabaseURL goes through a pooler in
	// transaction mode; empty: DatabaseURL's settings.
	DatabaseListenURL string
	AdminToken        string        // operator credential of the admin API
	LogLevel          string        // debug | info | warn | error
	ShutdownTimeout   time.Duration // how long in-flight requests may take to finish
	SweepInterval     time.Duration // access-expiry sweep period (lifecycle); 0: off
	// TrustedProxies are the peers whose X-Forwarded-For / Forwarded
	// headers name the client (comma-separated CIDRs); empty: none.
	TrustedProxies string
	// FailedAuthPerSource and FailedAuthGlobal are the failure budgets
	// (per second, burst twice that) of the SCIM guard.
	FailedAuthPerSource int
	FailedAuthGlobal    int
	// Webhooks (docs/events.md): WebhookAllowPrivate lets endpoints be
	// http and reach private addresses; WebhookTimeout bounds one attempt;
	// WebhookDelivery says whether this process delivers (every process
	// may: they share the work through the store).
	WebhookAllowPrivate bool
	WebhookTimeout      time.Duration
	WebhookDelivery     bool
	// MetricsAddr, when set, is a second listener serving GET /metrics
	// without a credential (for a scraper on a private network); /metrics
	// on Addr always needs the operator token.
	MetricsAddr string

	envFaults []error // variables that did not parse, reported by Validate
}

// configVar is one setting: its variable, its flag, its default and what it means.
type configVar struct {
	env, flag string
	def       string // the value set before the environment is read
	defDoc    string // the default as the help text shows it
	usage     string
	value     flag.Value
}

// vars lists the settings bound to c's fields, in help order.
func (c *Config) vars() []configVar {
	return []configVar{
		{env: "ROSTER_ADDR", flag: "addr", def: ":8080",
			usage: "listen address (host:port)", value: (*stringValue)(&c.Addr)},
		{env: "ROSTER_BASE_URL", flag: "base-url", defDoc: "http://localhost:<port>",
			usage: "public URL of this server, used in SCIM meta.location and SAML metadata",
			value: (*stringValue)(&c.BaseURL)},
		{env: "ROSTER_DATABASE_URL", flag: "database-url", defDoc: "(in-memory store)",
			usage: "PostgreSQL URL; migrations run at start; through PgBouncer in transaction mode add default_query_exec_mode=cache_describe", value: (*stringValue)(&c.DatabaseURL)},
		{env: "ROSTER_DATABASE_LISTEN_URL", flag: "database-listen-url", defDoc: "(ROSTER_DATABASE_URL)",
			usage: "a direct PostgreSQL URL of the same database, used only to LISTEN for token and tenant changes when ROSTER_DATABASE_URL goes through a pooler in transaction mode; without it the auth cache is off there and every request reads its token",
			value: (*stringValue)(&c.DatabaseListenURL)},
		{env: "ROSTER_ADMIN_TOKEN", flag: "admin-token", defDoc: "(generated with the in-memory store)",
			usage: "operator token of the admin API, at least 32 random characters (openssl rand -base64 32); required with PostgreSQL (prefer the variable: flags show in ps)",
			value: (*stringValue)(&c.AdminToken)},
		{env: "ROSTER_LOG_LEVEL", flag: "log-level", def: "info",
			usage: "debug, info, warn or error", value: (*stringValue)(&c.LogLevel)},
		{env: "ROSTER_SHUTDOWN_TIMEOUT", flag: "shutdown-timeout", def: "20s",
			usage: "how long in-flight requests may run after SIGTERM", value: (*durationValue)(&c.ShutdownTimeout)},
		{env: "ROSTER_EXPIRY_SWEEP_INTERVAL", flag: "expiry-sweep-interval", def: "1m",
			usage: "how often expired external users are deactivated and their seats released; 0 turns the sweep off in this process (safe to run in several)",
			value: (*durationValue)(&c.SweepInterval)},
		{env: "ROSTER_TRUSTED_PROXIES", flag: "trusted-proxies", defDoc: "(none)",
			usage: "comma-separated CIDRs of reverse proxies whose X-Forwarded-For / Forwarded header names the client address that failed-authentication limits count by; never trusted by default",
			value: (*stringValue)(&c.TrustedProxies)},
		{env: "ROSTER_FAILED_AUTH_PER_SOURCE", flag: "failed-auth-per-source", def: "20",
			usage: "unknown SCIM tokens looked up in the database per second and client address (burst twice that); over it, 429",
			value: (*intValue)(&c.FailedAuthPerSource)},
		{env: "ROSTER_FAILED_AUTH_GLOBAL", flag: "failed-auth-global", def: "100",
			usage: "unknown SCIM tokens looked up in the database per second from all clients together (burst twice that)",
			value: (*intValue)(&c.FailedAuthGlobal)},
		{env: "ROSTER_WEBHOOK_ALLOW_PRIVATE", flag: "webhook-allow-private", def: "false",
			usage: "let webhook URLs use http and reach loopback, private and link-local addresses (tests, on-premises receivers); off, only https to public addresses, checked after DNS at every delivery",
			value: (*boolValue)(&c.WebhookAllowPrivate)},
		{env: "ROSTER_WEBHOOK_TIMEOUT", flag: "webhook-timeout", def: "10s",
			usage: "how long one webhook delivery attempt may take, connection to answer",
			value: (*durationValue)(&c.WebhookTimeout)},
		{env: "ROSTER_WEBHOOK_DELIVERY", flag: "webhook-delivery", def: "true",
			usage: "whether this process makes events and delivers webhooks (several may: they share the work through the database)",
			value: (*boolValue)(&c.WebhookDelivery)},
		{env: "ROSTER_METRICS_ADDR", flag: "metrics-addr", defDoc: "(none: /metrics on the listen address, operator token only)",
			usage: "a second listen address (host:port) serving GET /metrics to anyone who reaches it, for a Prometheus on a private network; /metrics on the listen address still needs the operator token",
			value: (*stringValue)(&c.MetricsAddr)},
	}
}

// loadConfig reads the defaults, then the environment, then the flags in args
// (registered on fs). A variable that does not parse is kept for Validate, so
// that every fault is reported at once; a bad flag is fs.Parse's error.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	var c Config
	for _, v := range c.vars() {
		if err := v.value.Set(v.def); err != nil {
			panic(fmt.Sprintf("default of %s: %v", v.env, err)) // a programming error
		}
		if s := getenv(v.env); s != "" {
			if err := v.value.Set(s); err != nil {
				c.envFaults = append(c.envFaults, fmt.Errorf("%s: %w", v.env, err))
			}
		}
		fs.Var(v.value, v.flag, v.usage)
	}
	err := fs.Parse(args)
	return c, err
}

// Validate reports every fault of the configuration at once, as serve needs it.
func (c Config) Validate() error {
	return errors.Join(c.faults(true)...)
}

// faults lists what is wrong with c; needAdmin says whether an admin token is
// required when PostgreSQL is used (serve needs it, migrate does not).
func (c Config) faults(needAdmin bool) []error {
	faults := append([]error(nil), c.envFaults...)
	add := func(format string, a ...any) { faults = append(faults, fmt.Errorf(format, a...)) }

	if err := checkAddr(c.Addr); err != nil {
		add("ROSTER_ADDR (--addr) %q: %v", c.Addr, err)
	}
	if c.MetricsAddr != "" {
		if err := checkAddr(c.MetricsAddr); err != nil {
			add("ROSTER_METRICS_ADDR (--metrics-addr) %q: %v", c.MetricsAddr, err)
		} else if c.MetricsAddr == c.Addr && !strings.HasSuffix(c.Addr, ":0") {
			add("ROSTER_METRICS_ADDR (--metrics-addr) %q is the listen address ROSTER_ADDR; give the open metrics listener an address of its own, or leave it unset to serve /metrics on the listen address to the operator token", c.MetricsAddr)
		}
	}
	if c.BaseURL != "" {
		if err := checkBaseURL(c.BaseURL); err != nil {
			add("ROSTER_BASE_URL (--base-url) %q: %v", c.BaseURL, err)
		}
	}
	if c.DatabaseURL != "" {
		// pgx also takes "host=… user=…" keyword/value strings; only a URL's scheme is checked.
		if scheme, _, ok := strings.Cut(c.DatabaseURL, "://"); ok && scheme != "postgres" && scheme != "postgresql" {
			add("ROSTER_DATABASE_URL (--database-url): scheme %q is not postgres:// or postgresql://", scheme)
		}
	}
	if c.DatabaseListenURL != "" {
		if c.DatabaseURL == "" {
			add("ROSTER_DATABASE_LISTEN_URL (--database-listen-url) is set without ROSTER_DATABASE_URL: it only serves the PostgreSQL store")
		}
		if scheme, _, ok := strings.Cut(c.DatabaseListenURL, "://"); ok && scheme != "postgres" && scheme != "postgresql" {
			add("ROSTER_DATABASE_LISTEN_URL (--database-listen-url): scheme %q is not postgres:// or postgresql://", scheme)
		}
	}
	switch {
	case c.AdminToken == "" && c.DatabaseURL != "" && needAdmin:
		add("ROSTER_ADMIN_TOKEN (--admin-token) is required with PostgreSQL; generate one with: openssl rand -base64 32")
	case c.AdminToken != "":
		if why := auth.AdminTokenWeakness(c.AdminToken); why != "" {
			add("ROSTER_ADMIN_TOKEN (--admin-token) %s: it is too easy to guess; generate one with: openssl rand -base64 32", why)
		}
	}
	if strings.IndexFunc(c.AdminToken, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		add("ROSTER_ADMIN_TOKEN (--admin-token) contains whitespace or control characters")
	}
	if _, err := authlimit.ParseTrustedProxies(c.TrustedProxies); err != nil {
		add("ROSTER_TRUSTED_PROXIES (--trusted-proxies): %v", err)
	}
	if c.FailedAuthPerSource <= 0 {
		add("ROSTER_FAILED_AUTH_PER_SOURCE (--failed-auth-per-source) %d: must be positive", c.FailedAuthPerSource)
	}
	if c.FailedAuthGlobal <= 0 {
		add("ROSTER_FAILED_AUTH_GLOBAL (--failed-auth-global) %d: must be positive", c.FailedAuthGlobal)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		add("ROSTER_LOG_LEVEL (--log-level): %v", err)
	}
	if c.ShutdownTimeout <= 0 {
		add("ROSTER_SHUTDOWN_TIMEOUT (--shutdown-timeout) %s: must be positive", c.ShutdownTimeout)
	}
	if c.SweepInterval < 0 {
		add("ROSTER_EXPIRY_SWEEP_INTERVAL (--expiry-sweep-interval) %s: must be 0 (off) or positive", c.SweepInterval)
	}
	if c.WebhookTimeout <= 0 {
		add("ROSTER_WEBHOOK_TIMEOUT (--webhook-timeout) %s: must be positive", c.WebhookTimeout)
	}
	return faults
}

func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("not host:port (e.g. :8080 or 127.0.0.1:8080)")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("not an absolute http:// or https:// URL")
	case u.Host == "":
		return errors.New("has no host")
	case u.User != nil:
		return errors.New("must not carry credentials")
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "#"):
		return errors.New("must not have a query or a fragment")
	}
	return nil
}

var levels = map[string]zerolog.Level{
	"debug": zerolog.DebugLevel,
	"info":  zerolog.InfoLevel,
	"warn":  zerolog.WarnLevel,
	"error": zerolog.ErrorLevel,
}

func parseLevel(s string) (zerolog.Level, error) {
	if l, ok := levels[strings.ToLower(s)]; ok {
		return l, nil
	}
	return zerolog.NoLevel, fmt.Errorf("%q is not one of debug, info, warn, error", s)
}

// baseURL is the public URL without a trailing slash: the configured one, else
// http://host:port of the bound address, with localhost for a wildcard host.
func (c Config) baseURL(bound net.Addr) string {
	if c.BaseURL != "" {
		return strings.TrimRight(c.BaseURL, "/")
	}
	host, _, _ := net.SplitHostPort(c.Addr)
	_, port, _ := net.SplitHostPort(bound.String())
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// localURL is where a process on this machine reaches the server at addr
// (the healthcheck command): a wildcard host becomes the loopback address.
func localURL(addr, path string) string {
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + path
}

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string {
	if v == nil {
		return ""
	}
	return string(*v)
}

type intValue int

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v = intValue(n)
	return nil
}

func (v *intValue) String() string {
	if v == nil {
		return "0"
	}
	return strconv.Itoa(int(*v))
}

type boolValue bool

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	*v = boolValue(b)
	return nil
}

func (v *boolValue) String() string {
	if v == nil {
		return "false"
	}
	return strconv.FormatBool(bool(*v))
}

// IsBoolFlag lets --webhook-allow-private stand for =true.
func (v *boolValue) IsBoolFlag() bool { return true }

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 20s or 1m", s)
	}
	*v = durationValue(d)
	return nil
}

func (v *durationValue) String() string {
	if v == nil {
		return "0s"
	}
	return time.Duration(*v).String()
}
