package main

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/auth"
)

// TestCLI_apikeys: the operator mints, lists and revokes a tenant's API
// keys; the key is printed once and never listed.
func TestCLI_apikeys(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "ultimate")

	out := s.ok(t, "apikey", "create", "acme", "hr-sync", "--permissions", "users.view, integrations.view")
	key := regexp.MustCompile(auth.APIKeyPattern).FindString(out)
	require.NotEmpty(t, key, out)
	assert.Contains(t, out, "cannot show it again")
	assert.Contains(t, out, "with: integrations.view, users.view")
	id, ok := auth.ParseAPIKey(key)
	require.True(t, ok)

	out = s.ok(t, "apikey", "list", "acme")
	assert.NotContains(t, out, key, "the list never shows a key")
	assert.Regexp(t, `(?m)^`+id+`\s+hr-sync\s+integrations.view,users.view\s+admin:operator\s+\S+\s+-\s+-$`, out)

	assert.Contains(t, s.ok(t, "apikey", "revoke", "acme", id), "revoked")
	var list struct {
		Keys []map[string]any `json:"api_keys"`
	}
	require.NoError(t, json.Unmarshal([]byte(s.ok(t, "apikey", "list", "acme", "--json")), &list))
	require.Len(t, list.Keys, 1)
	assert.NotNil(t, list.Keys[0]["revoked_at"])

	r := s.run(t, "", nil, "apikey", "revoke", "acme", "nope")
	assert.Equal(t, ExitRefused, r.code)
	r = s.run(t, "", nil, "apikey", "create", "acme")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.err.Error(), "TENANT NAME")
	r = s.run(t, "", nil, "apikey", "create", "acme", "x", "--permissions", "users.fly")
	assert.Equal(t, ExitRefused, r.code)
	assert.Contains(t, r.err.Error(), `unknown permission "users.fly"`)
}
