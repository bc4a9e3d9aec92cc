package storetest

import (
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
)

// operator is the actor of the admin changes below, with a request id so
// that the test proves the whole actor is kept.
var operator = store.Actor{Kind: "admin", ID: "operator", RequestID: "req-admin-1"}

// latestAudit is the newest audit event of a trail.
func latestAudit(t *testing.T, s store.Store, tenantID string) store.AuditEvent {
	t.Helper()
	events, err := s.ListAudit(ctx, tenantID, store.EventQuery{Limit: 1})
	require.NoError(t, err)
	require.Len(t, events, 1)
	return events[0]
}

func auditCount(t *testing.T, s store.Store, tenantID string) int {
	t.Helper()
	events, err := s.ListAudit(ctx, tenantID, store.EventQuery{Limit: 10000})
	require.NoError(t, err)
	return len(events)
}

// decode parses an audit document, failing the test when it is not JSON.
func decode(t *testing.T, doc string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(doc), &m), "audit document %q", doc)
	return m
}

// testAdminAudit proves that every admin change of tenants, tokens, SAML
// configuration, custom roles and role mappings writes its audit event with
// the change: actor, action, target, before and after, never a token hash.
func testAdminAudit(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)

	check := func(e store.AuditEvent, action, targetType, targetID string) {
		t.Helper()
		assert.Equal(t, action, e.Action)
		assert.Equal(t, targetType, e.TargetType)
		assert.Equal(t, targetID, e.TargetID)
		assert.Equal(t, operator, e.Actor)
		assert.Equal(t, store.Timestamp(clock.Now()), e.Time)
	}

	tn, err := s.CreateTenant(ctx, store.Tenant{ID: "acme", Name: "Acme", Plan: "trial", Seats: 8, Settings: store.DefaultSettings()}, operator)
	require.NoError(t, err)
	e := latestAudit(t, s, "acme")
	check(e, store.ActionTenantCreated, "tenant", "acme")
	assert.Empty(t, e.Before)
	assert.Equal(t, "trial", decode(t, e.After)["plan"])

	clock.Advance(time.Second)
	_, err = directory.New(s).UpdateTenant(ctx, "acme", operator, func(x *store.Tenant) error { x.Plan = "ultimate"; return nil })
	require.NoError(t, err)
	e = latestAudit(t, s, "acme")
	check(e, store.ActionTenantUpdated, "tenant", "acme")
	assert.Equal(t, "trial", decode(t, e.Before)["plan"])
	assert.Equal(t, "ultimate", decode(t, e.After)["plan"])
	_ = tn

	clock.Advance(time.Second)
	hash := []byte("very-secret-hash-bytes")
	tok, err := s.CreateToken(ctx, "acme", store.Token{Name: "okta", Hash: hash}, operator)
	require.NoError(t, err)
	e = latestAudit(t, s, "acme")
	check(e, store.ActionTokenCreated, "token", tok.ID)
	assert.Equal(t, "okta", decode(t, e.After)["name"])

	clock.Advance(time.Second)
	require.NoError(t, s.RevokeToken(ctx, "acme", tok.ID, clock.Now(), operator))
	e = latestAudit(t, s, "acme")
	check(e, store.ActionTokenRevoked, "token", tok.ID)
	assert.NotContains(t, decode(t, e.Before), "revoked_at")
	assert.Contains(t, decode(t, e.After), "revoked_at")
	before := auditCount(t, s, "acme")
	require.NoError(t, s.RevokeToken(ctx, "acme", tok.ID, clock.Now().Add(time.Hour), operator), "revoking again is no error")
	assert.Equal(t, before, auditCount(t, s, "acme"), "revoking again changes nothing and records nothing")

	clock.Advance(time.Second)
	cfg := store.SAMLConfig{MetadataXML: "<EntityDescriptor/>", EntityID: "https://idp.example/1", SSOURL: "https://idp.example/sso",
		CertNotAfter: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	_, err = s.PutSAMLConfig(ctx, "acme", cfg, operator)
	require.NoError(t, err)
	e = latestAudit(t, s, "acme")
	check(e, store.ActionSAMLUpdated, "saml", "acme")
	assert.Empty(t, e.Before, "no configuration before")
	assert.Equal(t, "https://idp.example/1", decode(t, e.After)["entity_id"])
	assert.NotContains(t, e.After, "<EntityDescriptor", "the metadata document is summarised, not copied")
	cfg.EntityID = "https://idp.example/2"
	_, err = s.PutSAMLConfig(ctx, "acme", cfg, operator)
	require.NoError(t, err)
	e = latestAudit(t, s, "acme")
	assert.Equal(t, "https://idp.example/1", decode(t, e.Before)["entity_id"], "a replacement records the one replaced")
	assert.Equal(t, "https://idp.example/2", decode(t, e.After)["entity_id"])
	require.NoError(t, s.DeleteSAMLConfig(ctx, "acme", operator))
	e = latestAudit(t, s, "acme")
	check(e, store.ActionSAMLDeleted, "saml", "acme")
	assert.Equal(t, "https://idp.example/2", decode(t, e.Before)["entity_id"])
	assert.Empty(t, e.After)

	clock.Advance(time.Second)
	_, err = s.CreateRole(ctx, "acme", store.Role{Name: "auditor", Permissions: []string{"reporting.view_org"}}, operator)
	require.NoError(t, err)
	e = latestAudit(t, s, "acme")
	check(e, store.ActionRoleCreated, "role", "auditor")
	assert.Empty(t, e.Before)
	assert.Equal(t, "auditor", decode(t, e.After)["name"])
	_, err = directory.New(s).UpdateRole(ctx, "acme", "auditor", operator, func(r *store.Role) error { r.Privileged = true; return nil })
	require.NoError(t, err)
	e = latestAudit(t, s, "acme")
	check(e, store.ActionRoleUpdated, "role", "auditor")
	assert.Equal(t, false, decode(t, e.Before)["privileged"])
	assert.Equal(t, true, decode(t, e.After)["privileged"])

	require.NoError(t, directory.New(s).PutRoleMappings(ctx, "acme", []store.RoleMapping{{Group: "Support Admins", Role: "admin"}}, operator))
	e = latestAudit(t, s, "acme")
	check(e, store.ActionMappingsUpdated, "role_mappings", "acme")
	assert.Equal(t, "[]", e.Before)
	assert.JSONEq(t, `[{"group":"Support Admins","role":"admin"}]`, e.After)
	require.NoError(t, directory.New(s).PutRoleMappings(ctx, "acme", nil, operator))
	e = latestAudit(t, s, "acme")
	assert.JSONEq(t, `[{"group":"Support Admins","role":"admin"}]`, e.Before)
	assert.Equal(t, "[]", e.After)

	// No event of the trail carries the token hash, in any encoding.
	all, err := s.ListAudit(ctx, "acme", store.EventQuery{Limit: 1000})
	require.NoError(t, err)
	assert.Len(t, all, 11)
	b64, _ := json.Marshal(hash) // []byte marshals as base64
	for _, e := range all {
		for _, doc := range []string{e.Before, e.After, e.Detail} {
			assert.NotContains(t, doc, string(hash))
			assert.NotContains(t, doc, strings.Trim(string(b64), `"`))
			assert.NotContains(t, doc, "Hash")
		}
	}

	// Deleting the tenant removes its trail; the deletion itself is kept in
	// the operator trail.
	clock.Advance(time.Second)
	require.NoError(t, s.DeleteTenant(ctx, "acme", operator))
	_, err = s.ListAudit(ctx, "acme", store.EventQuery{})
	assert.ErrorIs(t, err, store.ErrNotFound)
	e = latestAudit(t, s, store.OperatorTrail)
	check(e, store.ActionTenantDeleted, "tenant", "acme")
	assert.Equal(t, "ultimate", decode(t, e.Before)["plan"])
	assert.Empty(t, e.After)
}

// testAdminAuditFailures proves that an admin change that fails writes no
// audit event: the event and the change commit together or not at all.
func testAdminAuditFailures(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	tok, err := s.CreateToken(ctx, "acme", store.Token{ID: "tok-1", Name: "okta", Hash: []byte{1}}, operator)
	require.NoError(t, err)
	_, err = s.CreateRole(ctx, "acme", store.Role{Name: "auditor"}, operator)
	require.NoError(t, err)
	n := auditCount(t, s, "acme")
	ops := auditCount(t, s, store.OperatorTrail)
	refused := errors.New("refused by the caller")

	_, err = s.CreateTenant(ctx, store.Tenant{ID: "acme", Plan: "trial"}, operator)
	assert.ErrorIs(t, err, store.ErrConflict)
	_, err = directory.New(s).UpdateTenant(ctx, "acme", operator, func(x *store.Tenant) error { x.Seats = 99; return refused })
	assert.ErrorIs(t, err, refused)
	_, err = directory.New(s).UpdateTenant(ctx, "nope", operator, func(*store.Tenant) error { return nil })
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, s.DeleteTenant(ctx, "nope", operator), store.ErrNotFound)
	_, err = s.CreateToken(ctx, "acme", store.Token{ID: tok.ID, Name: "dup", Hash: []byte{2}}, operator)
	assert.ErrorIs(t, err, store.ErrConflict)
	_, err = s.CreateToken(ctx, "nope", store.Token{Name: "x", Hash: []byte{3}}, operator)
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, s.RevokeToken(ctx, "acme", "missing", time.Now(), operator), store.ErrNotFound)
	_, err = s.PutSAMLConfig(ctx, "nope", store.SAMLConfig{EntityID: "e", CertNotAfter: time.Now()}, operator)
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, s.DeleteSAMLConfig(ctx, "acme", operator), store.ErrNotFound, "no configuration to delete")
	_, err = s.CreateRole(ctx, "acme", store.Role{Name: "auditor"}, operator)
	assert.ErrorIs(t, err, store.ErrConflict)
	_, err = directory.New(s).UpdateRole(ctx, "acme", "auditor", operator, func(r *store.Role) error { r.Privileged = true; return refused })
	assert.ErrorIs(t, err, refused)
	_, err = directory.New(s).UpdateRole(ctx, "acme", "missing", operator, func(*store.Role) error { return nil })
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, directory.New(s).PutRoleMappings(ctx, "nope", nil, operator), store.ErrNotFound)

	assert.Equal(t, n, auditCount(t, s, "acme"), "no failed change left an event")
	assert.Equal(t, ops, auditCount(t, s, store.OperatorTrail))
	got, err := s.GetTenant(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, 10, got.Seats, "the refused update changed nothing")
	r, err := s.GetRole(ctx, "acme", "auditor")
	require.NoError(t, err)
	assert.False(t, r.Privileged)
}

// testAdminAuditConcurrent proves that concurrent admin updates lose no
// write and leave exactly one audit event per successful change.
func testAdminAuditConcurrent(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 0)
	const n = 16
	errs := parallel(n, func(i int) error {
		if i%4 == 3 { // some callers refuse their own change
			_, err := directory.New(s).UpdateTenant(ctx, "acme", operator, func(x *store.Tenant) error { x.Seats += 1000; return errors.New("refused") })
			return err
		}
		_, err := directory.New(s).UpdateTenant(ctx, "acme", operator, func(x *store.Tenant) error { x.Seats++; return nil })
		return err
	})
	ok := 0
	for i, err := range errs {
		if i%4 == 3 {
			require.Error(t, err)
			continue
		}
		require.NoError(t, err)
		ok++
	}
	got, err := s.GetTenant(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, ok, got.Seats, "no update was lost")
	events, err := s.ListAudit(ctx, "acme", store.EventQuery{Action: store.ActionTenantUpdated, Limit: 1000})
	require.NoError(t, err)
	require.Len(t, events, ok, "one event per successful change")
	// Each event's before and after are consecutive: the trail replays.
	seen := map[float64]bool{}
	for _, e := range events {
		before, after := decode(t, e.Before)["seats"].(float64), decode(t, e.After)["seats"].(float64)
		assert.Equal(t, before+1, after)
		assert.False(t, seen[after], "each seat count is reached once")
		seen[after] = true
	}
}

// testAuditAPINames proves that before and after of every kind of change are
// recorded under the names the API answers with — a user or group as SCIM
// shows it, a tenant, token, SAML configuration, role or store as the admin
// API does — never under Go field names ("TenantID", "Emails": null).
func testAuditAPINames(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "acme", Name: "Acme", Plan: "ultimate", Seats: 10, Settings: store.DefaultSettings()}, operator)
	require.NoError(t, err)
	_, err = directory.New(s).UpdateTenant(ctx, "acme", operator, func(x *store.Tenant) error { x.Seats = 12; return nil })
	require.NoError(t, err)
	_, err = s.CreateOutlet(ctx, "acme", store.Outlet{ID: "store-1", Name: "Main"}, operator)
	require.NoError(t, err)
	_, err = s.CreateRole(ctx, "acme", store.Role{Name: "viewer", Permissions: []string{"conversations.view_all"}, SeatClass: store.SeatLight}, operator)
	require.NoError(t, err)
	tok, err := s.CreateToken(ctx, "acme", store.Token{Name: "okta", Hash: []byte("h")}, operator)
	require.NoError(t, err)
	require.NoError(t, s.RevokeToken(ctx, "acme", tok.ID, clock.Now(), operator))
	_, err = s.PutSAMLConfig(ctx, "acme", store.SAMLConfig{MetadataXML: "<x/>", EntityID: "https://idp.example", SSOURL: "https://idp.example/sso",
		CertNotAfter: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, operator)
	require.NoError(t, err)
	mgr := newUser(t, s, "acme", "boss@x.com", true)
	u, err := s.CreateUser(ctx, "acme", store.User{UserName: "ann@x.com", Active: true, ExternalID: "ext-1",
		Name: store.Name{GivenName: "Ann", FamilyName: "Lee"}, Stores: []string{"store-1"},
		Enterprise: store.Enterprise{Department: "Support", ManagerID: mgr.ID}, Role: "viewer"}, token)
	require.NoError(t, err)
	_, err = s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error { x.Active = false; return nil })
	require.NoError(t, err)
	g := newGroup(t, s, "acme", "Tier 1", u.ID)
	_, err = s.UpdateGroup(ctx, "acme", g.ID, token, func(up *store.GroupUpdate) error { up.Group.DisplayName = "Tier 2"; return nil })
	require.NoError(t, err)

	events, err := s.ListAudit(ctx, "acme", store.EventQuery{Limit: 100})
	require.NoError(t, err)
	byAction := map[string]store.AuditEvent{}
	goName := regexp.MustCompile(`"[A-Z][A-Za-z]*":`)
	for _, e := range events {
		if _, ok := byAction[e.Action]; !ok {
			byAction[e.Action] = e // newest first: the latest of each action
		}
		for _, doc := range []string{e.Before, e.After} {
			assert.False(t, goName.MatchString(doc), "%s records a Go field name: %s", e.Action, doc)
			assert.NotContains(t, doc, "null,", "%s: absent values are left out, not null", e.Action)
		}
	}
	keys := func(doc string) []string {
		var out []string
		for k := range decode(t, doc) {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}

	// A user as SCIM shows it: camelCase, the extensions under their URNs, meta.
	e := byAction["user.updated"]
	assert.Equal(t, []string{"active", "externalId", "id", "meta", "name", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
		"urn:ietf:params:scim:schemas:extension:roster:2.0:User", "userName"}, keys(e.After))
	after := decode(t, e.After)
	before := decode(t, e.Before)
	assert.Equal(t, true, before["active"])
	assert.Equal(t, false, after["active"])
	assert.Equal(t, map[string]any{"givenName": "Ann", "familyName": "Lee"}, after["name"])
	assert.Equal(t, map[string]any{"department": "Support", "manager": map[string]any{"value": mgr.ID}},
		after["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"])
	assert.Equal(t, map[string]any{"role": "viewer", "explicitRole": "viewer", "stores": []any{"store-1"}, "seat": "none"},
		after["urn:ietf:params:scim:schemas:extension:roster:2.0:User"])
	assert.Equal(t, "light", before["urn:ietf:params:scim:schemas:extension:roster:2.0:User"].(map[string]any)["seat"])
	assert.Equal(t, `W/"2"`, after["meta"].(map[string]any)["version"])
	assert.Equal(t, []string{"created", "lastModified", "version"}, sortedKeys(after["meta"].(map[string]any)))
	var created map[string]any
	for _, e := range events {
		if e.Action == "user.created" && e.TargetID == mgr.ID {
			created = decode(t, e.After)
		}
	}
	require.NotNil(t, created)
	assert.Equal(t, "consumed", created["urn:ietf:params:scim:schemas:extension:roster:2.0:User"].(map[string]any)["seat"],
		"a full seat is named as SCIM names it")

	// A group as SCIM shows it.
	e = byAction["group.updated"]
	assert.Equal(t, "Tier 1", decode(t, e.Before)["displayName"])
	assert.Equal(t, "Tier 2", decode(t, e.After)["displayName"])
	assert.Equal(t, 1.0, decode(t, e.After)["memberCount"], "its one member, counted after the change")
	assert.Contains(t, keys(e.After), "meta")

	// Admin records in the admin API's snake_case.
	e = byAction[store.ActionTenantUpdated]
	assert.Equal(t, []string{"addons", "contract", "created_at", "id", "name", "plan", "seats", "settings", "updated_at"}, keys(e.After))
	assert.Equal(t, 12.0, decode(t, e.After)["seats"])
	assert.Contains(t, decode(t, e.After)["settings"], "rate_limit_per_second")
	assert.Equal(t, []string{"created_at", "id", "name", "updated_at"}, keys(byAction["store.created"].After))
	assert.Equal(t, []string{"created_at", "description", "name", "permissions", "privileged", "seat_class", "updated_at"},
		keys(byAction[store.ActionRoleCreated].After))
	assert.Equal(t, "light", decode(t, byAction[store.ActionRoleCreated].After)["seat_class"])
	assert.Equal(t, []string{"created_at", "id", "name", "revoked_at"}, keys(byAction[store.ActionTokenRevoked].After))
	assert.Equal(t, []string{"certificate_not_after", "entity_id", "sso_url", "updated_at"}, keys(byAction[store.ActionSAMLUpdated].After))
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
