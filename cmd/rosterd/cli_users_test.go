package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// TestCLI_usersImport sends a file in batches, shows progress, maps every
// row's outcome to its line in the file, and is idempotent.
func TestCLI_usersImport(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "ultimate", "--seats", "20")
	_, err := s.store.CreateGroup(context.Background(), "acme", store.Group{DisplayName: "Tier 1"}, store.ActorAdmin)
	require.NoError(t, err)

	file := filepath.Join(t.TempDir(), "agents.csv")
	csv := "email,givenName,familyName,role,teams\n" +
		"a1@acme.test,Ann,One,agent,Tier 1\n" +
		"a2@acme.test,Bob,Two,supervisor,\n" +
		"\n" +
		"a3@acme.test,Cy,Three,wizard,\n" +
		"A1@acme.test,Dup,,,\n" +
		"a4@acme.test,Di,Four,,Tier 1\n"
	require.NoError(t, os.WriteFile(file, []byte(csv), 0o600))
	run := func(args ...string) (string, string, int) {
		sys, stdout, stderr := testSystem(map[string]string{"ROSTER_URL": s.url, "ROSTER_ADMIN_TOKEN": cliAdminToken})
		err := runSystem(context.Background(), args, sys)
		return stdout.String(), stderr.String(), exitCode(err)
	}

	out, progress, code := run("users", "import", "acme", file, "--batch", "2", "--dry-run")
	assert.Equal(t, ExitRefused, code, "a failed row exits 1")
	assert.Contains(t, out, "Dry run, nothing changed: of 5 rows for tenant acme, 3 would be created, 0 would be updated, 0 unchanged, 2 would fail.")
	assert.NotRegexp(t, `\d created`, out, "a dry run never says created")
	assert.Contains(t, progress, "rosterd: 2/4 rows (50%)")
	assert.Contains(t, out, "New users would take 3 full seat(s); 20 are free.")
	_, err = s.store.GetUserByUserName(context.Background(), "acme", "a1@acme.test")
	assert.ErrorIs(t, err, store.ErrNotFound)

	out, progress, code = run("users", "import", "acme", file, "--batch", "2")
	assert.Equal(t, ExitRefused, code)
	assert.Contains(t, out, "Imported 5 rows into tenant acme: 3 created, 0 updated, 0 unchanged, 2 failed.")
	assert.Contains(t, out, `line 5 (a3@acme.test): role "wizard" does not exist`, "lines are the file's")
	assert.Contains(t, out, "line 6 (A1@acme.test): duplicate of line 2 (same email)")
	assert.Contains(t, progress, "rosterd: 4/4 rows (100%): 3 created")
	u, err := s.store.GetUserByUserName(context.Background(), "acme", "a2@acme.test")
	require.NoError(t, err)
	assert.Equal(t, "supervisor", u.Role)

	out, _, _ = run("users", "import", "acme", file)
	assert.Contains(t, out, "0 created, 0 updated, 3 unchanged, 2 failed", "re-importing changes nothing")

	out, _, code = run("users", "role", "acme", "supervisor", "a1@acme.test", "a4@acme.test")
	require.Equal(t, ExitOK, code, out)
	assert.Contains(t, out, "2 of 2 users now hold role supervisor.")
	assert.Contains(t, out, "a1@acme.test: agent → supervisor")
	_, _, code = run("users", "role", "acme", "supervisor")
	assert.Equal(t, ExitUsage, code)
	out, _, code = run("users", "import", "acme", filepath.Join(t.TempDir(), "missing.csv"))
	assert.Equal(t, ExitRefused, code)
	assert.True(t, strings.TrimSpace(out) == "")
}

// A dry run that would fail for want of seats exits 1 and says what would
// happen, never that anything was created; the real import then follows its
// job and reports per row.
func TestCLI_usersImportDryRunSeatsShort(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "ultimate", "--seats", "8")
	file := filepath.Join(t.TempDir(), "agents.csv")
	var b strings.Builder
	b.WriteString("email\n")
	for i := range 9 {
		fmt.Fprintf(&b, "a%d@acme.test\n", i)
	}
	require.NoError(t, os.WriteFile(file, []byte(b.String()), 0o600))
	run := func(args ...string) (string, string, int) {
		sys, stdout, stderr := testSystem(map[string]string{"ROSTER_URL": s.url, "ROSTER_ADMIN_TOKEN": cliAdminToken})
		err := runSystem(context.Background(), args, sys)
		return stdout.String(), stderr.String(), exitCode(err)
	}
	out, errOut, code := run("users", "import", "acme", file, "--dry-run")
	assert.Equal(t, ExitRefused, code, "seats short: the dry run fails")
	assert.Contains(t, out, "9 would be created")
	assert.NotRegexp(t, `\d created`, out)
	assert.Contains(t, out, "New users would take 9 full seat(s); 8 are free — not enough")
	assert.Contains(t, errOut, "would fail")

	out, _, code = run("users", "import", "acme", file, "--json")
	assert.Equal(t, ExitRefused, code, "the ninth row is refused")
	var job struct {
		State   string         `json:"state"`
		Counts  map[string]int `json:"counts"`
		Results []any          `json:"results"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &job), out)
	assert.Equal(t, "succeeded", job.State)
	assert.Equal(t, map[string]int{"created": 8, "failed": 1}, job.Counts)
	assert.Len(t, job.Results, 9)
}
