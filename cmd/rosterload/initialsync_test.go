package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/scim"
	"github.com/roster-dev/roster/scimauth"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

// TestInitialSync_endToEnd runs `rosterload initialsync` small against the
// real SCIM stack on a new database: both runs go through every phase
// without an error, every group ends with its members, and the report
// compares each phase with its rerun.
func TestInitialSync_endToEnd(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.New(t)
	st, err := postgres.Open(ctx, dsn, postgres.Options{})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	guard := scimauth.New(scimauth.Config{Store: st})
	t.Cleanup(guard.Close)
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/{tenant}/", guard.Wrap(scim.New(scim.Config{Store: st, BaseURL: "https://roster.example.com"})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	var out, log bytes.Buffer
	jsonPath := filepath.Join(t.TempDir(), "sync.json")
	require.NoError(t, run(ctx, []string{"initialsync", "-target", srv.URL, "-db", dsn, "-saml-metadata", "../../testdata/saml/okta.xml",
		"-users", "300", "-groups", "7", "-members", "50", "-chunk", "20", "-c", "4", "-update-every", "10", "-json", jsonPath}, &out, &log), log.String())

	report := out.String()
	for _, want := range []string{"| users: lookup + create |", "| groups: lookup + create + members |", "| incremental: lookups + updates |",
		"| initial sync in all (users + groups) |", "| POST /Users (300) |", "| PATCH /Groups/{id} add 20 members (21) |",
		"| PATCH /Users/{id} (displayName) (30) |", "| GET /Groups?filter=displayName eq (found) (7) |"} {
		assert.Contains(t, report, want, report)
	}
	var runs [2][]syncPhase
	b, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &runs))
	for _, r := range runs {
		require.Len(t, r, 3)
		assert.Equal(t, 600, r[0].Requests, "a lookup and a creation per user")
		assert.Equal(t, 7*(2+3), r[1].Requests, "a lookup, a creation and three PATCHes per group")
		assert.Equal(t, 300+30+7, r[2].Requests, "a lookup per user and group, an update per tenth user")
	}

	// Every group of both tenants holds its 50 members.
	var groups, short int
	require.NoError(t, st.Pool().QueryRow(ctx, `select count(*), count(*) filter (where c.members <> 50)
from groups g join group_member_counts c on c.tenant_id = g.tenant_id and c.group_id = g.id
where g.tenant_id like 'sync%'`).Scan(&groups, &short))
	assert.Equal(t, 14, groups)
	assert.Zero(t, short)
}
