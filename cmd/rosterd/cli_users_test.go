package main

import (
	"context"
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
	assert.Contains(t, out, "Checked (dry run, nothing changed) 5 rows into tenant acme: 3 created, 0 updated, 0 unchanged, 2 failed.")
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
