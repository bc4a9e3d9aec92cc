package store_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/store"
)

// TestResolveRole is the resolution rule as a table: attribute × roles ×
// mappings × default.
func TestResolveRole(t *testing.T) {
	mappings := []store.RoleMapping{{Group: "Support Admins", Role: "admin"}, {Group: "Leads", Role: "supervisor"}, {Group: "Auditors", Role: "auditor"}}
	mv := func(v string, primary bool) store.MultiValue { return store.MultiValue{Value: v, Primary: primary} }
	tests := []struct {
		name      string
		extension string
		roles     []store.MultiValue
		groups    []string
		mappings  []store.RoleMapping
		def       string
		want      store.Resolution
	}{
		{name: "nothing: the default default", want: store.Resolution{Role: "agent", Source: store.SourceDefault}},
		{name: "tenant default", def: "supervisor", want: store.Resolution{Role: "supervisor", Source: store.SourceDefault}},
		{name: "extension attribute", extension: "supervisor", groups: []string{"Support Admins"}, mappings: mappings,
			want: store.Resolution{Role: "supervisor", Source: store.SourceExplicit}},
		{name: "extension beats core roles", extension: "agent", roles: []store.MultiValue{mv("admin", true)},
			want: store.Resolution{Role: "agent", Source: store.SourceExplicit}},
		{name: "core roles primary beats mapping", roles: []store.MultiValue{mv("supervisor", false), mv("agent", true)},
			groups: []string{"Support Admins"}, mappings: mappings, want: store.Resolution{Role: "agent", Source: store.SourceExplicit}},
		{name: "core roles highest precedence", roles: []store.MultiValue{mv("agent", false), mv("supervisor", false)},
			want: store.Resolution{Role: "supervisor", Source: store.SourceExplicit}},
		{name: "mapping beats default", groups: []string{"Eng", "Leads"}, mappings: mappings, def: "agent",
			want: store.Resolution{Role: "supervisor", Source: store.SourceMapping, Group: "Leads"}},
		{name: "first mapping in precedence order wins, not group order", groups: []string{"Leads", "Support Admins"}, mappings: mappings,
			want: store.Resolution{Role: "admin", Source: store.SourceMapping, Group: "Support Admins"}},
		{name: "group names compare case-insensitively", groups: []string{"support admins"}, mappings: mappings,
			want: store.Resolution{Role: "admin", Source: store.SourceMapping, Group: "Support Admins"}},
		{name: "groups without a mapping: default", groups: []string{"Eng"}, mappings: mappings, def: "supervisor",
			want: store.Resolution{Role: "supervisor", Source: store.SourceDefault}},
		{name: "no mappings", groups: []string{"Leads"}, want: store.Resolution{Role: "agent", Source: store.SourceDefault}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			explicit := access.ExplicitRole(tc.extension, tc.roles)
			assert.Equal(t, tc.want, store.ResolveRole(explicit, tc.groups, tc.mappings, tc.def))
		})
	}
}

func roleContext(policy string) *store.RoleContext {
	s := store.DefaultSettings()
	s.PrivilegedRoles = policy
	return &store.RoleContext{
		Settings: s,
		Roles: []store.Role{
			{Name: "auditor", SeatClass: store.SeatLight},
			{Name: "owner", Privileged: true, SeatClass: store.SeatFull},
		},
		Mappings: []store.RoleMapping{{Group: "Support Admins", Role: "admin"}, {Group: "Auditors", Role: "auditor"}, {Group: "Gone", Role: "deleted"}},
	}
}

var (
	token    = store.Actor{Kind: "token", ID: "tok-1", Name: "okta"}
	operator = store.ActorAdmin
	apiKey   = store.Actor{Kind: "key", ID: "00000000000000aa", Name: "hr-sync"}
	person   = store.Actor{Kind: "user", ID: "u-1", Name: "ann@acme.test"}
)

// TestDecideRole covers what the store applies on top of the rule: unknown
// roles, seat classes, the privileged-role policy and its approvals.
func TestDecideRole(t *testing.T) {
	tests := []struct {
		name       string
		policy     string
		old        *store.User
		in         store.User
		groups     []string
		by         store.Actor
		wantRole   string
		wantExpl   string
		wantClass  store.SeatClass
		wantGrant  bool
		wantPend   string
		wantErr    any
		errMessage []string
	}{
		{name: "create without role: default", in: store.User{}, by: token, wantRole: "agent", wantClass: store.SeatFull},
		{name: "explicit custom light role", in: store.User{ExplicitRole: "Auditor"}, by: token, wantRole: "auditor", wantExpl: "auditor", wantClass: store.SeatLight},
		{name: "Role set by a caller is explicit", in: store.User{Role: "supervisor"}, by: operator, wantRole: "supervisor", wantExpl: "supervisor", wantClass: store.SeatFull},
		{name: "unknown role names it and the roles", in: store.User{ExplicitRole: "Wizard"}, by: token,
			wantErr: &store.UnknownRoleError{}, errMessage: []string{`role "wizard" does not exist`, "admin, supervisor, agent, auditor, owner"}},
		{name: "mapping to a deleted role is skipped", in: store.User{}, groups: []string{"Gone"}, by: token, wantRole: "agent", wantClass: store.SeatFull},
		{name: "mapped privileged role is granted (the operator mapped it)", policy: "deny", in: store.User{}, groups: []string{"Support Admins"},
			by: token, wantRole: "admin", wantClass: store.SeatFull, wantGrant: true},
		{name: "privileged over SCIM, deny", policy: "deny", in: store.User{ExplicitRole: "admin"}, by: token,
			wantErr: &store.PrivilegedRoleError{}, errMessage: []string{`role "admin" is privileged`, `"privileged_roles":"allow"`, "PATCH /admin/v1/tenants/acme"}},
		{name: "custom privileged over SCIM, deny by default policy", policy: "", in: store.User{ExplicitRole: "owner"}, by: token,
			wantErr: &store.PrivilegedRoleError{}},
		{name: "privileged over SCIM, allow", policy: "allow", in: store.User{ExplicitRole: "admin"}, by: token,
			wantRole: "admin", wantExpl: "admin", wantClass: store.SeatFull, wantGrant: true},
		{name: "privileged over SCIM, approve: default now, pending", policy: "approve", in: store.User{ExplicitRole: "admin"}, by: token,
			wantRole: "agent", wantExpl: "", wantClass: store.SeatFull, wantPend: "admin"},
		{name: "approve: falls back to the mapping", policy: "approve", in: store.User{ExplicitRole: "admin"}, groups: []string{"Auditors"}, by: token,
			wantRole: "auditor", wantClass: store.SeatLight, wantPend: "admin"},
		{name: "privileged by an operator: granted whatever the policy", policy: "deny", in: store.User{ExplicitRole: "admin"}, by: operator,
			wantRole: "admin", wantExpl: "admin", wantClass: store.SeatFull, wantGrant: true},
		{name: "privileged by a tenant's API key, deny", policy: "deny", in: store.User{ExplicitRole: "admin"}, by: apiKey,
			wantErr: &store.PrivilegedRoleError{}},
		{name: "privileged by a tenant's person, deny", policy: "deny", in: store.User{ExplicitRole: "admin"}, by: person,
			wantErr: &store.PrivilegedRoleError{}},
		{name: "privileged by a tenant's API key, approve: pending", policy: "approve", in: store.User{ExplicitRole: "admin"}, by: apiKey,
			wantRole: "agent", wantExpl: "", wantClass: store.SeatFull, wantPend: "admin"},
		{name: "privileged by a tenant's person, allow", policy: "allow", in: store.User{ExplicitRole: "admin"}, by: person,
			wantRole: "admin", wantExpl: "admin", wantClass: store.SeatFull, wantGrant: true},
		{name: "privileged by the system: granted whatever the policy", policy: "deny", in: store.User{ExplicitRole: "admin"}, by: store.ActorSystem,
			wantRole: "admin", wantExpl: "admin", wantClass: store.SeatFull, wantGrant: true},
		{name: "already held: re-sent by SCIM is no grant", policy: "deny",
			old: &store.User{ExplicitRole: "admin", Role: "admin"}, in: store.User{ExplicitRole: "admin", Role: "admin"}, by: token,
			wantRole: "admin", wantExpl: "admin", wantClass: store.SeatFull},
		{name: "removing the explicit role falls back to the mapping",
			old: &store.User{ExplicitRole: "supervisor", Role: "supervisor"}, in: store.User{ExplicitRole: "", Role: "supervisor"},
			groups: []string{"Auditors"}, by: token, wantRole: "auditor", wantClass: store.SeatLight},
		{name: "unchanged write keeps the explicit role",
			old: &store.User{ExplicitRole: "supervisor", Role: "supervisor"}, in: store.User{ExplicitRole: "supervisor", Role: "supervisor"},
			groups: []string{"Auditors"}, by: token, wantRole: "supervisor", wantExpl: "supervisor", wantClass: store.SeatFull},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.in
			u.TenantID = "acme"
			d, err := store.DecideRole(roleContext(tc.policy), tc.old, &u, tc.groups, tc.by)
			if tc.wantErr != nil {
				require.Error(t, err)
				switch tc.wantErr.(type) {
				case *store.UnknownRoleError:
					var e *store.UnknownRoleError
					require.ErrorAs(t, err, &e)
					f := store.FaultOf(err) // 400 invalidValue on SCIM
					assert.Equal(t, store.KindInvalid, f.Kind)
					assert.Equal(t, store.CodeUnknownRole, f.Code)
					assert.Equal(t, "role", f.Field)
					assert.ErrorIs(t, err, store.ErrInvalid)
				case *store.PrivilegedRoleError:
					var e *store.PrivilegedRoleError
					require.ErrorAs(t, err, &e)
					f := store.FaultOf(err) // 403 on SCIM
					assert.Equal(t, store.KindForbidden, f.Kind)
					assert.Equal(t, store.CodePrivilegedRole, f.Code)
					assert.ErrorIs(t, err, store.ErrPrivilegedRole)
				}
				for _, m := range tc.errMessage {
					assert.Contains(t, err.Error(), m)
				}
				assert.Equal(t, tc.in.Role, u.Role, "nothing changes")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantRole, u.Role)
			assert.Equal(t, tc.wantRole, d.Role)
			assert.Equal(t, tc.wantExpl, u.ExplicitRole)
			assert.Equal(t, tc.wantClass, d.Class)
			assert.Equal(t, tc.wantGrant, d.Grant)
			if tc.wantPend == "" {
				assert.Nil(t, d.Pending)
			} else {
				require.NotNil(t, d.Pending)
				assert.Equal(t, tc.wantPend, d.Pending.Role)
				assert.Equal(t, tc.by, d.Pending.RequestedBy)
			}
		})
	}
}

func TestValidateRole(t *testing.T) {
	for name, tc := range map[string]struct {
		role  store.Role
		field string
	}{
		"ok":            {store.Role{Name: "auditor", SeatClass: store.SeatLight}, ""},
		"upper case":    {store.Role{Name: "Auditor"}, "name"},
		"space":         {store.Role{Name: "night shift"}, "name"},
		"built-in name": {store.Role{Name: "admin"}, "conflict"},
		"seat class":    {store.Role{Name: "x", SeatClass: "gold"}, "seatClass"},
	} {
		err := store.ValidateRole(&tc.role)
		switch tc.field {
		case "":
			assert.NoError(t, err, name)
		case "conflict":
			assert.ErrorIs(t, err, store.ErrConflict, name)
		default:
			var inv *store.InvalidError
			require.ErrorAs(t, err, &inv, name)
			assert.Equal(t, tc.field, inv.Field, name)
		}
	}
}
