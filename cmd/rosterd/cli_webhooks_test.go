package main

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// TestCLI_webhooksAndEvents: an endpoint created from the command line shows
// its secret once, is listed, its deliveries are shown and retried; events
// are pulled page by page with the cursor the command prints.
func TestCLI_webhooksAndEvents(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "ultimate")
	out := s.ok(t, "webhook", "create", "acme", "https://hooks.example.com/roster", "--events", "user.deactivated, seat.released")
	secret := regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`).FindString(out)
	require.NotEmpty(t, secret, out)
	assert.Contains(t, out, "gets user.deactivated, seat.released")
	id := regexp.MustCompile(`wh_[0-9a-f]+`).FindString(out)

	out = s.ok(t, "webhook", "list", "acme")
	assert.NotContains(t, out, secret)
	assert.Regexp(t, `(?m)^`+id+`\s+https://hooks.example.com/roster\s+user.deactivated,seat.released\s+enabled\s+-\s+\S+$`, out)

	ctx := context.Background()
	u, err := s.store.CreateUser(ctx, "acme", store.User{UserName: "ann@x.com", Active: true, Role: store.RoleAgent}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.store.UpdateUser(ctx, "acme", u.ID, store.ActorAdmin, func(x *store.User) error { x.Active = false; return nil })
	require.NoError(t, err)

	out = s.ok(t, "webhook", "deliveries", "acme", id)
	assert.Regexp(t, `(?m)^\d+\s+evt_[0-9a-f]+\s+seat.released\s+pending\s+0\s+-\s+-\s+-\s+\S+`, out)
	var page struct {
		Deliveries []map[string]any `json:"deliveries"`
	}
	require.NoError(t, json.Unmarshal([]byte(s.ok(t, "webhook", "deliveries", "acme", id, "--json")), &page))
	require.Len(t, page.Deliveries, 2)
	assert.Contains(t, s.ok(t, "webhook", "retry", "acme", id, page.Deliveries[0]["id"].(string)), "queued again")

	out = s.ok(t, "events", "acme", "--limit", "2")
	assert.Regexp(t, `(?m)^\S+\s+user.created\s+ann@x.com\s+evt_`, out)
	assert.Contains(t, out, "(more waiting)")
	next := regexp.MustCompile(`--after (\d+)`).FindStringSubmatch(out)
	require.Len(t, next, 2, out)
	out = s.ok(t, "events", "acme", "--after", next[1])
	assert.Regexp(t, `(?m)^\S+\s+user.deactivated\s+ann@x.com\s+evt_`, out)
	assert.NotContains(t, out, "user.created")

	assert.Contains(t, s.ok(t, "webhook", "delete", "acme", id), "deleted")
	r := s.run(t, "", nil, "webhook", "delete", "acme", id)
	assert.Equal(t, ExitRefused, r.code)
	r = s.run(t, "", nil, "webhook", "create", "acme", "http://insecure.example.com/")
	assert.Equal(t, ExitRefused, r.code)
	assert.Contains(t, r.err.Error(), "https")
	r = s.run(t, "", nil, "webhook", "create", "acme")
	assert.Equal(t, ExitUsage, r.code)
}
