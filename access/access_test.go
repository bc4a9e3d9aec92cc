package access_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/store"
)

func TestCatalogue_areas(t *testing.T) {
	assert.Equal(t, []string{"conversations", "customers", "reporting", "settings", "teams", "integrations", "users", "billing"}, access.Areas())
	for _, f := range []string{"conversations.view_assigned", "conversations.view_all", "conversations.reply",
		"conversations.assign", "reporting.view_team", "reporting.view_org", "settings.manage", "users.manage", "billing.manage"} {
		assert.Contains(t, access.AllFlags(), f)
	}
	// Catalogue returns copies.
	c := access.Catalogue()
	c[0].Flags[0].Name = "changed"
	assert.Equal(t, "view_assigned", access.Catalogue()[0].Flags[0].Name)
}

func TestValidateFlags(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string
		errFlag string
		errHas  []string
	}{
		{name: "empty", in: nil, want: []string{}},
		{name: "normalised, deduplicated, catalogue order", in: []string{" Reporting.View_Org ", "conversations.reply", "reporting.view_org"},
			want: []string{"conversations.reply", "reporting.view_org"}},
		{name: "area wildcard", in: []string{"teams.*"}, want: []string{"teams.view", "teams.manage"}},
		{name: "unknown flag names the area's flags", in: []string{"conversations.reply", "conversations.fly"},
			errFlag: "conversations.fly", errHas: []string{`unknown permission "conversations.fly"`, "conversations.view_assigned", "conversations.export"}},
		{name: "unknown area lists the areas", in: []string{"payroll.view"},
			errFlag: "payroll.view", errHas: []string{"areas: conversations, customers, reporting, settings, teams, integrations, users, billing"}},
		{name: "no dot", in: []string{"admin"}, errFlag: "admin", errHas: []string{"area.flag"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := access.ValidateFlags(tc.in)
			if tc.errFlag == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
				return
			}
			var fe *access.FlagError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.errFlag, fe.Flag)
			assert.True(t, errors.Is(err, store.ErrInvalid))
			for _, s := range tc.errHas {
				assert.Contains(t, err.Error(), s)
			}
		})
	}
}

// TestValidateFlags_namesEveryUnknownFlag: a list with several unknown
// flags is refused naming each of them, in the order given, not only the
// first.
func TestValidateFlags_namesEveryUnknownFlag(t *testing.T) {
	_, err := access.ValidateFlags([]string{"conversations.fly", "reporting.view_org", "payroll.view", "admin", "teams.*"})
	var all access.FlagErrors
	require.ErrorAs(t, err, &all)
	var flags []string
	for _, f := range all {
		flags = append(flags, f.Flag)
	}
	assert.Equal(t, []string{"conversations.fly", "payroll.view", "admin"}, flags)
	assert.True(t, errors.Is(err, store.ErrInvalid))
	var first *access.FlagError
	require.ErrorAs(t, err, &first)
	assert.Equal(t, "conversations.fly", first.Flag)
	for _, s := range []string{`"conversations.fly"`, `"payroll.view"`, `"admin"`} {
		assert.Contains(t, err.Error(), s)
	}
}

// TestBuiltinRoles checks the built-in roles against the seed product's role table.
func TestBuiltinRoles(t *testing.T) {
	admin, _ := access.Permissions(store.RoleAdmin, nil)
	assert.Equal(t, access.AllFlags(), admin, "admin has everything")
	r, ok := access.Builtin(store.RoleAdmin)
	require.True(t, ok)
	assert.True(t, r.Privileged)

	tests := []struct {
		role      string
		has, lack []string
	}{
		{store.RoleSupervisor,
			[]string{"conversations.view_all", "reporting.view_org", "reporting.view_team", "teams.manage", "users.view"},
			[]string{"settings.manage", "settings.view", "billing.manage", "billing.view", "users.manage"}},
		{store.RoleAgent,
			[]string{"conversations.view_assigned", "conversations.reply", "customers.view", "customers.notes"},
			[]string{"conversations.view_all", "reporting.view_org", "users.manage", "teams.manage", "billing.view"}},
	}
	for _, tc := range tests {
		perms, ok := access.Permissions(tc.role, nil)
		require.True(t, ok)
		for _, f := range tc.has {
			assert.Contains(t, perms, f, tc.role)
		}
		for _, f := range tc.lack {
			assert.NotContains(t, perms, f, tc.role)
		}
		for _, f := range perms {
			assert.False(t, strings.HasPrefix(f, "settings.") && tc.role == store.RoleAgent, "agent: nothing in settings")
		}
		b, _ := access.Builtin(tc.role)
		assert.False(t, b.Privileged, tc.role)
		assert.Equal(t, store.SeatFull, b.SeatClass)
	}
	// Every built-in flag is in the catalogue.
	for _, b := range access.BuiltinRoles() {
		got, err := access.ValidateFlags(b.Permissions)
		require.NoError(t, err, b.Name)
		assert.Len(t, got, len(b.Permissions), b.Name)
	}
}

func TestPermissions_custom(t *testing.T) {
	custom := []store.Role{{Name: "auditor", Permissions: []string{"reporting.view_org", "conversations.view_all", "gone.flag"}}}
	got, ok := access.Permissions("auditor", custom)
	require.True(t, ok)
	assert.Equal(t, []string{"conversations.view_all", "reporting.view_org"}, got, "catalogue order; unknown flags dropped")
	assert.True(t, access.Can("auditor", custom, "reporting.view_org"))
	assert.False(t, access.Can("auditor", custom, "settings.manage"))
	_, ok = access.Permissions("nobody", custom)
	assert.False(t, ok)
}

func TestExplicitRole(t *testing.T) {
	mv := func(value string, primary bool) store.MultiValue {
		return store.MultiValue{Value: value, Primary: primary}
	}
	tests := []struct {
		name      string
		extension string
		roles     []store.MultiValue
		want      string
	}{
		{"nothing", "", nil, ""},
		{"extension beats roles", "supervisor", []store.MultiValue{mv("admin", true)}, "supervisor"},
		{"extension is canonical", " Agent ", nil, "agent"},
		{"primary beats others", "", []store.MultiValue{mv("admin", false), mv("agent", true)}, "agent"},
		{"highest precedence without primary", "", []store.MultiValue{mv("agent", false), mv("Supervisor", false), mv("auditor", false)}, "supervisor"},
		{"highest precedence among primaries", "", []store.MultiValue{mv("agent", true), mv("admin", true)}, "admin"},
		{"custom roles keep the order sent", "", []store.MultiValue{mv("auditor", false), mv("viewer", false)}, "auditor"},
		{"blank values skipped", "  ", []store.MultiValue{mv(" ", true), mv("agent", false)}, "agent"},
		// Entra's single-role PATCH (default form) sends the app role as a JSON-encoded string.
		{"entra json-encoded value", "", []store.MultiValue{mv(`{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"Supervisor","displayName":"Supervisor"}`, false)}, "supervisor"},
		{"entra json-encoded, displayName only", "", []store.MultiValue{mv(`{"id":"06b0","displayName":"Agent"}`, false)}, "agent"},
		{"not json after all", "", []store.MultiValue{mv(`{admin`, false)}, "{admin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, access.ExplicitRole(tc.extension, tc.roles))
		})
	}
}

func TestPrecedence(t *testing.T) {
	names := []string{"auditor", store.RoleAgent, store.RoleAdmin, store.RoleSupervisor}
	slices.SortStableFunc(names, func(a, b string) int { return access.Precedence(a) - access.Precedence(b) })
	assert.Equal(t, []string{store.RoleAdmin, store.RoleSupervisor, store.RoleAgent, "auditor"}, names)
}
