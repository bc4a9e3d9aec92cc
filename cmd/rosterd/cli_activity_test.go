package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// TestCLI_scimActivity: rosterd scim-activity prints a tenant's SCIM
// activity newest first with the errors of the last 24 hours, passes the
// filters to the API, and names a request without a token as such.
func TestCLI_scimActivity(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "ultimate", "--seats", "10")
	now := time.Now()
	require.NoError(t, s.store.RecordActivity(context.Background(), []store.ActivityEntry{
		{TenantID: "acme", At: now.Add(-2 * time.Minute), TokenID: "t1", TokenName: "okta", Method: "GET",
			Path: "/scim/v2/acme/Users/1", Status: 200, Duration: 1500 * time.Microsecond},
		{TenantID: "acme", At: now.Add(-time.Minute), Method: "POST", Path: "/scim/v2/acme/Users", Status: 401,
			Detail: "the bearer token is not valid for this SCIM base URL"},
	}))

	out := s.ok(t, "scim-activity", "acme")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/scim/activity?limit=100", "")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, out)
	assert.Equal(t, "1 error(s) in the last 24 hours.", lines[0])
	assert.Regexp(t, `^AT\s+TOKEN\s+METHOD\s+PATH\s+STATUS\s+MS\s+DETAIL$`, lines[1])
	assert.Regexp(t, `^\S+\s+\(no token\)\s+POST\s+/scim/v2/acme/Users\s+401\s+0\s+the bearer token is not valid`, lines[2], "newest first")
	assert.Regexp(t, `^\S+\s+okta\s+GET\s+/scim/v2/acme/Users/1\s+200\s+1\.5\s+-$`, lines[3])

	since := now.Add(-time.Hour).UTC().Format(time.RFC3339)
	got := s.jsonOf(t, "scim-activity", "acme", "--errors", "--since", since, "--limit", "5")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/scim/activity?limit=5&errors=true&since="+since, "")
	assert.Len(t, got["entries"], 1)

	s.fails(t, ExitRefused, "limit: must be a number between 1 and 1000", "scim-activity", "acme", "--limit", "0")
	s.fails(t, ExitRefused, `no tenant "nope"`, "scim-activity", "nope")
	s.fails(t, ExitUsage, "scim-activity needs TENANT", "scim-activity")
}
