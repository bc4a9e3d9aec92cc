package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
)

func testTokens(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	a, err := s.CreateToken(ctx, "acme", store.Token{Name: "okta", Hash: []byte{1, 2, 3}}, store.ActorAdmin)
	require.NoError(t, err)
	require.NotEmpty(t, a.ID)
	assert.Equal(t, store.Timestamp(clock.Now()), a.CreatedAt)
	b, err := s.CreateToken(ctx, "acme", store.Token{ID: "tok-b", Name: "entra", Hash: []byte{4}}, store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, "tok-b", b.ID)

	got, err := s.GetToken(ctx, "acme", a.ID)
	require.NoError(t, err)
	assert.Equal(t, a, got)
	assert.Nil(t, got.LastUsedAt)

	t1 := clock.Now().Add(time.Minute)
	t2 := clock.Now().Add(2 * time.Minute)
	require.NoError(t, s.TouchTokens(ctx, map[store.TokenKey]time.Time{{TenantID: "acme", ID: a.ID}: t2, {TenantID: "acme", ID: b.ID}: t1, {TenantID: "acme", ID: "gone"}: t1}))
	require.NoError(t, s.TouchTokens(ctx, map[store.TokenKey]time.Time{{TenantID: "acme", ID: a.ID}: t1}), "an older time never moves last use back")
	got, err = s.GetToken(ctx, "acme", a.ID)
	require.NoError(t, err)
	require.NotNil(t, got.LastUsedAt)
	assert.Equal(t, store.Timestamp(t2), *got.LastUsedAt)

	require.NoError(t, s.RevokeToken(ctx, "acme", a.ID, t2, store.ActorAdmin))
	got, err = s.GetToken(ctx, "acme", a.ID)
	require.NoError(t, err, "a revoked token is still found, marked revoked")
	require.NotNil(t, got.RevokedAt)
	assert.Equal(t, store.Timestamp(t2), *got.RevokedAt)
	assert.ErrorIs(t, s.RevokeToken(ctx, "acme", "nope", t2, store.ActorAdmin), store.ErrNotFound)

	list, err := s.ListTokens(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []string{a.ID, b.ID}, []string{list[0].ID, list[1].ID})
}

func testSAML(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	_, err := s.GetSAMLConfig(ctx, "acme")
	assert.ErrorIs(t, err, store.ErrNotFound)
	in := store.SAMLConfig{MetadataXML: "<EntityDescriptor/>", EntityID: "https://idp", SSOURL: "https://idp/sso", CertNotAfter: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	put, err := s.PutSAMLConfig(ctx, "acme", in, store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, "acme", put.TenantID)
	in.EntityID = "https://idp2"
	put2, err := s.PutSAMLConfig(ctx, "acme", in, store.ActorAdmin)
	require.NoError(t, err, "put replaces")
	got, err := s.GetSAMLConfig(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, put2, got)
	require.NoError(t, s.DeleteSAMLConfig(ctx, "acme", store.ActorAdmin))
	_, err = s.GetSAMLConfig(ctx, "acme")
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, s.DeleteSAMLConfig(ctx, "acme", store.ActorAdmin), store.ErrNotFound)
}

func testRoles(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	r, err := s.CreateRole(ctx, "acme", store.Role{Name: "auditor", Description: "reads reports", Permissions: []string{"reporting.view_org"}}, store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, store.SeatFull, r.SeatClass, "full is the default seat class")
	_, err = s.CreateRole(ctx, "acme", store.Role{Name: "auditor"}, store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrConflict)
	_, err = s.CreateRole(ctx, "acme", store.Role{Name: "viewer", SeatClass: store.SeatLight, Privileged: false}, store.ActorAdmin)
	require.NoError(t, err)

	up, err := directory.New(s).UpdateRole(ctx, "acme", "auditor", store.ActorAdmin, func(x *store.Role) error {
		x.Permissions = append(x.Permissions, "reporting.view_team")
		x.Privileged = true
		x.Name = "renamed" // the name is the key: immutable
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, "auditor", up.Name)
	got, err := s.GetRole(ctx, "acme", "auditor")
	require.NoError(t, err)
	assert.Equal(t, up, got)
	assert.Equal(t, []string{"reporting.view_org", "reporting.view_team"}, got.Permissions)
	list, err := s.ListRoles(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, list, 2)

	u, err := s.CreateUser(ctx, "acme", store.User{UserName: "a@x.com", Active: true, Role: "viewer"}, token)
	require.NoError(t, err)
	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "b@x.com", Active: false, Role: "viewer"}, token)
	require.NoError(t, err)
	err = directory.New(s).DeleteRole(ctx, "acme", "viewer", "", token)
	var inUse *store.RoleInUseError
	require.ErrorAs(t, err, &inUse)
	assert.Equal(t, 2, inUse.Users)

	require.NoError(t, directory.New(s).DeleteRole(ctx, "acme", "viewer", store.RoleAgent, token))
	_, err = s.GetRole(ctx, "acme", "viewer")
	assert.ErrorIs(t, err, store.ErrNotFound)
	moved, err := s.GetUser(ctx, "acme", u.ID)
	require.NoError(t, err)
	assert.Equal(t, store.RoleAgent, moved.Role)
	assert.Equal(t, store.SeatFull, moved.Seat, "moving to a full role moves the seat")
	counts, err := s.SeatCounts(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, store.SeatCounts{Full: 1}, counts)
	assert.Equal(t, counts, replay(ledger(t, s, "acme")))
	require.NoError(t, directory.New(s).DeleteRole(ctx, "acme", "auditor", "", token), "an unused role deletes")

	mappings := []store.RoleMapping{{Group: "Support Admins", Role: "admin"}, {Group: "Leads", Role: "supervisor"}}
	require.NoError(t, directory.New(s).PutRoleMappings(ctx, "acme", mappings, store.ActorAdmin))
	gotMappings, err := s.GetRoleMappings(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, mappings, gotMappings, "precedence order kept")
	require.NoError(t, directory.New(s).PutRoleMappings(ctx, "acme", nil, store.ActorAdmin))
	gotMappings, err = s.GetRoleMappings(ctx, "acme")
	require.NoError(t, err)
	assert.Empty(t, gotMappings)
}

func testAudit(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	u := newUser(t, s, "acme", "a@x.com", true)
	clock.Advance(time.Second)
	require.NoError(t, setActive(t, s, "acme", u.ID, false))
	g := newGroup(t, s, "acme", "G")
	require.NoError(t, s.DeleteUser(ctx, "acme", u.ID, store.ActorAdmin))
	require.NoError(t, s.AppendAudit(ctx, "acme", store.AuditEvent{Time: clock.Now(), Actor: store.ActorAdmin, Action: "tenant.updated", TargetType: "tenant", TargetID: "acme", Detail: "seats 10"}))

	events, err := s.ListAudit(ctx, "acme", store.EventQuery{})
	require.NoError(t, err)
	type row struct{ Action, TargetID string }
	var got []row
	for _, e := range events {
		got = append(got, row{e.Action, e.TargetID})
	}
	assert.Equal(t, []row{
		{"tenant.updated", "acme"}, {"user.deleted", u.ID}, {"group.created", g.ID}, {"user.updated", u.ID}, {"user.created", u.ID},
		{"tenant.created", "acme"},
	}, got, "newest first")
	assert.Equal(t, store.ActorAdmin, events[1].Actor)
	assert.Equal(t, token, events[4].Actor)
	assert.Equal(t, "seats 10", events[0].Detail)

	// Before and after are recorded with the change.
	assert.Empty(t, events[4].Before)
	assert.Contains(t, events[4].After, `"userName":"a@x.com"`)
	assert.Contains(t, events[3].Before, `"active":true`)
	assert.Contains(t, events[3].After, `"active":false`)
	assert.Contains(t, events[1].Before, `"userName":"a@x.com"`)
	assert.Empty(t, events[1].After)

	// Filters: by user, by actor, by action.
	byUser, err := s.ListAudit(ctx, "acme", store.EventQuery{UserID: u.ID})
	require.NoError(t, err)
	assert.Len(t, byUser, 3)
	byActor, err := s.ListAudit(ctx, "acme", store.EventQuery{ActorID: store.ActorAdmin.ID})
	require.NoError(t, err)
	assert.Len(t, byActor, 2)
	byAction, err := s.ListAudit(ctx, "acme", store.EventQuery{Action: "group.created"})
	require.NoError(t, err)
	require.Len(t, byAction, 1)
	assert.Equal(t, g.ID, byAction[0].TargetID)

	withRequest := store.Actor{Kind: "token", ID: "tok-9", Name: "okta", RequestID: "req-123"}
	_, err = s.UpdateGroup(ctx, "acme", g.ID, withRequest, func(up *store.GroupUpdate) error { up.Group.DisplayName = "G2"; return nil })
	require.NoError(t, err)
	latest, err := s.ListAudit(ctx, "acme", store.EventQuery{Limit: 1})
	require.NoError(t, err)
	require.Len(t, latest, 1)
	assert.Equal(t, withRequest, latest[0].Actor, "actor name and request id are kept")
	assert.Contains(t, latest[0].Before, `"displayName":"G"`)
	assert.Contains(t, latest[0].After, `"displayName":"G2"`)

	older, err := s.ListAudit(ctx, "acme", store.EventQuery{After: events[1].Seq, Limit: 2})
	require.NoError(t, err)
	require.Len(t, older, 2)
	assert.Equal(t, "group.created", older[0].Action)
	assert.Equal(t, "user.updated", older[1].Action)
}
