package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// acmeWithUsers is a tenant acme (ultimate, 20 seats, HIPAA) with active
// users ann and bob, neither ever signed in.
func acmeWithUsers(t *testing.T) *cliServer {
	t.Helper()
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "ultimate", "--seats", "20", "--addons", "hipaa")
	for _, name := range []string{"ann", "bob"} {
		_, err := s.store.CreateUser(context.Background(), "acme", store.User{UserName: name + "@acme.test", Active: true}, store.ActorAdmin)
		require.NoError(t, err)
	}
	return s
}

func TestCLI_seats(t *testing.T) {
	s := acmeWithUsers(t)

	out := s.ok(t, "seats", "acme")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/seats", "")
	assert.Contains(t, out, "Seats of tenant acme, as of ")
	assert.Regexp(t, `plan:\s+Ultimate \(ultimate\), \$139.00 per seat per month`, out)
	assert.Regexp(t, `minimum:\s+\d+`, out)
	assert.Regexp(t, `purchased:\s+20\n`, out)
	assert.Regexp(t, `consumed:\s+2\n`, out)
	assert.Regexp(t, `available:\s+18\n`, out)
	assert.Regexp(t, `billable:\s+20\n`, out)
	assert.Regexp(t, `monthly cost:\s+\$\S+ \(seats \$2,780.00, light seats \$0.00, add-ons \$\S+\)`, out)
	assert.Regexp(t, `(?m)^ADD-ON\s+USERS\s+PER USER\s+MONTHLY$`, out)
	assert.Regexp(t, `\(hipaa\)\s+2\s+\$\S+\s+\$\S+`, out)
	got := s.jsonOf(t, "seats", "acme")
	assert.Equal(t, 2.0, got["consumed_seats"])
	assert.Equal(t, 20.0, got["purchased_seats"])
	assert.Contains(t, got, "contract", "--json is the API's whole answer")
	// Flags before "events" or the tenant go where they belong.
	assert.Equal(t, 2.0, s.jsonOf(t, "seats", "--json", "acme")["consumed_seats"])

	s.fails(t, ExitRefused, `no tenant "nope"`, "seats", "nope")
	s.fails(t, ExitUsage, "seats needs TENANT", "seats")
	s.fails(t, ExitUsage, "seats needs TENANT", "seats", "acme", "now")
}

func TestCLI_seatEvents(t *testing.T) {
	s := acmeWithUsers(t)
	ann, err := s.store.GetUserByUserName(context.Background(), "acme", "ann@acme.test")
	require.NoError(t, err)

	out := s.ok(t, "seats", "events", "acme")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/seats/events", "")
	assert.Regexp(t, `(?m)^SEQ\s+AT\s+USER\s+SEAT\s+CHANGE\s+REASON\s+BY$`, out)
	assert.Regexp(t, `(?m)^\d+\s+\S+\s+`+ann.ID+`\s+full\s+\+1\s+provisioned\s+admin operator$`, out)
	assert.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 3)

	// One page of one: the cursor of the next is said on stderr; --json
	// carries it as next_cursor.
	r := s.run(t, "", nil, "seats", "events", "acme", "--limit", "1", "--from", "2020-01-01")
	require.NoError(t, r.err)
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/seats/events?from=2020-01-01&limit=1", "")
	assert.Len(t, strings.Split(strings.TrimSpace(r.out), "\n"), 2)
	cursor := regexp.MustCompile(`add --cursor (\d+) for the next page, or --all`).FindStringSubmatch(r.errOut)
	require.Len(t, cursor, 2, r.errOut)
	page := s.jsonOf(t, "seats", "events", "acme", "--limit", "1")
	assert.Equal(t, cursor[1], page["next_cursor"])
	assert.Len(t, page["events"], 1)

	r = s.run(t, "", nil, "seats", "events", "acme", "--limit", "1", "--cursor", cursor[1])
	require.NoError(t, r.err)
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/seats/events?cursor="+cursor[1]+"&limit=1", "")
	assert.Len(t, strings.Split(strings.TrimSpace(r.out), "\n"), 2, "the second event")
	assert.Empty(t, r.errOut, "the last page says nothing more")

	// --all follows every page.
	n := s.mark()
	all := s.jsonOf(t, "seats", "events", "acme", "--limit", "1", "--all")
	assert.Len(t, all["events"], 2)
	assert.Nil(t, all["next_cursor"])
	assert.Len(t, s.requests(n), 2, "a page of one each, the second with nothing after")

	// Flags between "seats" and "events" go where they belong.
	page = s.jsonOf(t, "seats", "--url", s.url, "events", "acme", "--user", "ann@acme.test")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/seats/events?user=ann%40acme.test", "")
	assert.Len(t, page["events"], 1)

	s.fails(t, ExitRefused, "from: must be an RFC 3339 time", "seats", "events", "acme", "--from", "yesterday")
	s.fails(t, ExitRefused, "limit: must be a number between 1 and 1000", "seats", "events", "acme", "--limit", "5000")
	s.fails(t, ExitUsage, "seats events needs TENANT", "seats", "events")
	s.fails(t, ExitUsage, "invalid value", "seats", "events", "acme", "--limit", "ten")
	s.fails(t, ExitUsage, "flag provided but not defined: -actor", "seats", "events", "acme", "--actor", "x")
}

// TestCLI_seatUsage prints the usage history as a table, one row per day,
// the day in progress marked; the tenant is TENANT or --tenant.
func TestCLI_seatUsage(t *testing.T) {
	s := acmeWithUsers(t) // two users, provisioned just now
	today := time.Now().UTC()
	from := today.AddDate(0, 0, -6).Format(time.DateOnly)
	to := today.AddDate(0, 0, 3).Format(time.DateOnly) // a future last day: the history stops now

	out := s.ok(t, "seats", "usage", "--tenant", "acme", "--from", from, "--to", to, "--interval", "day")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/seats/usage?from="+from+"&interval=day&to="+to, "")
	assert.Contains(t, out, "Seat usage of tenant acme, "+from+" to "+to+" by day: the state at the end of each interval (costs per month, USD).")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Regexp(t, `^FROM\s+TO\s+CONSUMED\s+PEAK\s+LIGHT\s+PURCHASED\s+USABLE\s+BILLABLE\s+MONTHLY COST$`, lines[1])
	rows := lines[2 : len(lines)-1]
	if time.Now().UTC().Format(time.DateOnly) == today.Format(time.DateOnly) { // not run across midnight
		require.Len(t, rows, 7, out)
	}
	// The contract starts now: nothing billed before; today 20 seats on
	// Ultimate ($2,780.00 a month) and HIPAA for two users at $25.
	assert.Regexp(t, `^`+from+`\s+`+from+`\s+0\s+0\s+0\s+0\s+0\s+0\s+\$0\.00$`, rows[0])
	assert.Regexp(t, `^(\S+)\s+(\S+) \*\s+2\s+2\s+0\s+20\s+20\s+20\s+\$2,830\.00$`, rows[len(rows)-1])
	assert.Regexp(t, `^\* in progress: the state at \S+Z\.$`, lines[len(lines)-1])

	// TENANT works as well; --json is the API's answer.
	got := s.jsonOf(t, "seats", "usage", "acme", "--interval", "month")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/seats/usage?interval=month", "")
	assert.Equal(t, "month", got["interval"])
	assert.Equal(t, "USD", got["currency"])
	assert.NotEmpty(t, got["points"])

	s.fails(t, ExitRefused, `interval: unknown interval "year"; intervals: day, week, month`, "seats", "usage", "acme", "--interval", "year")
	s.fails(t, ExitRefused, "from: must not be after to", "seats", "usage", "acme", "--from", "2026-11-30", "--to", "2026-11-01")
	s.fails(t, ExitRefused, `from: "last week" is not a date`, "seats", "usage", "acme", "--from", "last week")
	s.fails(t, ExitRefused, `no tenant "nope"`, "seats", "usage", "nope")
	s.fails(t, ExitUsage, "seats usage needs TENANT", "seats", "usage")
	s.fails(t, ExitUsage, "give the tenant once", "seats", "usage", "acme", "--tenant", "acme")
}

func TestCLI_reportDormant(t *testing.T) {
	s := acmeWithUsers(t)

	out := s.ok(t, "report", "dormant", "acme", "--days", "10")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/reports/dormant?days=10", "")
	assert.Regexp(t, `2 seat holder\(s\) of tenant acme with no sign-in for 10 days or never \(as of \S+\): \$\S+ per month.`, out)
	assert.Regexp(t, `(?m)^USERNAME\s+ROLE\s+SEAT\s+LAST SIGN-IN\s+DAYS IDLE\s+MONTHLY$`, out)
	assert.Regexp(t, `(?m)^ann@acme.test\s+agent\s+full\s+never\s+\d+\s+\$\S+$`, out)
	got := s.jsonOf(t, "report", "dormant", "acme")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/reports/dormant", "")
	assert.Equal(t, 30.0, got["days"])
	assert.Len(t, got["seats"], 2)

	s.fails(t, ExitRefused, "days: must be a whole number of days from 1", "report", "dormant", "acme", "--days", "0")
	s.fails(t, ExitUsage, "invalid value", "report", "dormant", "acme", "--days", "ten")
	s.fails(t, ExitUsage, "report dormant needs TENANT", "report", "dormant")
	s.fails(t, ExitUsage, `unknown subcommand "idle"`, "report", "idle", "acme")
}

func TestCLI_audit(t *testing.T) {
	s := acmeWithUsers(t)
	s.ok(t, "stores", "create", "acme", "store-1", "Main")
	s.ok(t, "stores", "rename", "acme", "store-1", "Main street")

	out := s.ok(t, "audit", "acme")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/audit", "")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Regexp(t, `^SEQ\s+TIME\s+ACTOR\s+ACTION\s+TARGET\s+DETAIL$`, lines[0])
	assert.Regexp(t, `^\d+\s+\S+\s+admin operator\s+store\.\S+\s+store store-1`, lines[1], "newest first")
	assert.Contains(t, out, "tenant.created")

	r := s.run(t, "", nil, "audit", "acme", "--action", "user.created", "--limit", "1")
	require.NoError(t, r.err)
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/audit?action=user.created&limit=1", "")
	assert.Len(t, strings.Split(strings.TrimSpace(r.out), "\n"), 2)
	assert.Contains(t, r.errOut, "add --cursor ")
	all := s.jsonOf(t, "audit", "acme", "--action", "user.created", "--limit", "1", "--all")
	assert.Len(t, all["events"], 2)
	page := s.jsonOf(t, "audit", "acme", "--action", "user.created")
	assert.Len(t, page["events"], 2)

	// The operator trail keeps a deleted tenant.
	s.ok(t, "tenant", "delete", "acme", "--yes")
	out = s.ok(t, "audit", "--operator")
	s.wasSent(t, "GET", "/admin/v1/audit", "")
	assert.Regexp(t, `(?m)^\d+\s+\S+\s+admin operator\s+tenant.deleted\s+tenant acme`, out)
	got := s.jsonOf(t, "--json", "audit", "--operator", "--action", "tenant.deleted")
	s.wasSent(t, "GET", "/admin/v1/audit?action=tenant.deleted", "")
	assert.Len(t, got["events"], 1)

	s.ok(t, "audit", "--operator", "--from", "2026-01-01") // a date is its midnight UTC
	s.fails(t, ExitRefused, "from: must be an RFC 3339 time", "audit", "--operator", "--from", "yesterday")
	s.fails(t, ExitRefused, `no tenant "acme"`, "audit", "acme")
	s.fails(t, ExitUsage, "audit needs TENANT", "audit")
	s.fails(t, ExitUsage, "audit --operator takes no TENANT", "audit", "--operator", "acme")
}

// TestCLI_apiKey: a tenant API key (ROSTER_API_KEY, --api-key) is sent as
// the bearer credential; the flag on the command line wins, else the key
// wins over the operator token. The server refusing it (401) is exit 3; a
// permission it lacks (403) is exit 1 with the server's message.
func TestCLI_apiKey(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "ultimate", "--seats", "10")
	const key = "rsk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	const otherKey = "rsk_fedcba9876543210_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
	// The server side of keys: a key is allowed the stores, not the seats.
	s.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		switch {
		case r.Header.Get("Authorization") != "Bearer "+key:
			return false
		case strings.HasSuffix(r.URL.Path, "/stores"):
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"stores":[{"id":"store-1","name":"Main","created_at":"2026-01-02T00:00:00Z","updated_at":"2026-01-02T00:00:00Z"}]}`))
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":"forbidden","message":"this API key lacks the permission billing.view"}`))
		}
		return true
	})
	withKey := map[string]string{"ROSTER_API_KEY": key}

	for name, tc := range map[string]struct {
		env  map[string]string
		args []string
		auth string
	}{
		"ROSTER_API_KEY wins over ROSTER_ADMIN_TOKEN": {withKey, nil, key},
		"--admin-token wins over ROSTER_API_KEY":      {withKey, []string{"--admin-token", cliAdminToken}, cliAdminToken},
		"--api-key wins over ROSTER_ADMIN_TOKEN":      {nil, []string{"--api-key", key}, key},
		"--api-key before the command":                {nil, []string{"--api-key=" + key}, key},
		"only ROSTER_API_KEY":                         {map[string]string{"ROSTER_API_KEY": key, "ROSTER_ADMIN_TOKEN": ""}, nil, key},
	} {
		args := append([]string{"stores", "list", "acme"}, tc.args...)
		if strings.HasPrefix(name, "--api-key before") {
			args = append(tc.args, "stores", "list", "acme")
		}
		r := s.run(t, "", tc.env, args...)
		require.NoError(t, r.err, name)
		assert.Equal(t, "Bearer "+tc.auth, s.last(t).Auth, name)
	}
	r := s.run(t, "", withKey, "stores", "list", "acme")
	assert.Regexp(t, `(?m)^store-1\s+Main\s+`, r.out)

	// A permission the key lacks: exit 1, the server's message.
	r = s.run(t, "", withKey, "seats", "acme")
	assert.Equal(t, ExitRefused, r.code)
	assert.EqualError(t, r.err, "this API key lacks the permission billing.view")
	r = s.run(t, "", withKey, "seats", "acme", "--json")
	assert.Equal(t, ExitRefused, r.code)
	assert.Contains(t, r.out, `"error": "forbidden"`)

	// A key the server does not know: exit 3, naming the key.
	r = s.run(t, "", map[string]string{"ROSTER_API_KEY": otherKey}, "stores", "list", "acme")
	assert.Equal(t, ExitUnreachable, r.code)
	assert.ErrorContains(t, r.err, "refused the API key (ROSTER_API_KEY, --api-key)")
	assert.Equal(t, "Bearer "+otherKey, s.last(t).Auth)

	// Bad command lines: exit 2, nothing sent.
	n := s.mark()
	for name, tc := range map[string]struct {
		env  map[string]string
		args []string
		msg  string
	}{
		"both flags":         {nil, []string{"--api-key", key, "--admin-token", cliAdminToken}, "give --api-key or --admin-token, not both"},
		"not a key (env)":    {map[string]string{"ROSTER_API_KEY": cliAdminToken}, nil, "ROSTER_API_KEY is not a tenant API key"},
		"not a key (flag)":   {nil, []string{"--api-key", "abc"}, "--api-key is not a tenant API key"},
		"key flag, no value": {nil, []string{"--api-key"}, "flag needs an argument"},
	} {
		r := s.run(t, "", tc.env, append([]string{"stores", "list", "acme"}, tc.args...)...)
		assert.Equal(t, ExitUsage, r.code, name)
		assert.ErrorContains(t, r.err, tc.msg, name)
	}
	assert.Empty(t, s.requests(n))

	// No credential at all: exit 3 naming both variables.
	r = s.run(t, "", map[string]string{"ROSTER_ADMIN_TOKEN": ""}, "stores", "list", "acme")
	assert.Equal(t, ExitUnreachable, r.code)
	assert.ErrorContains(t, r.err, "set ROSTER_ADMIN_TOKEN")
	assert.ErrorContains(t, r.err, "ROSTER_API_KEY")
}

// TestCLI_helpListsEveryCommand: rosterd help and the README's Admin CLI
// section name every admin command.
func TestCLI_helpListsEveryCommand(t *testing.T) {
	s := newCLIServer(t)
	help := s.ok(t, "help")
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	section := string(readme)
	start := strings.Index(section, "## Admin CLI")
	require.GreaterOrEqual(t, start, 0)
	section = section[start:]
	section = section[:strings.Index(section[3:], "\n## ")+3]
	for _, c := range adminCommands() {
		assert.Regexp(t, fmt.Sprintf(`(?m)^  %s\s`, regexp.QuoteMeta(c.name)), help, "the command table")
		assert.Contains(t, help, "  rosterd "+c.name+" ", "a usage line")
		assert.Contains(t, section, "rosterd "+c.name+" ", "README")
	}
}
