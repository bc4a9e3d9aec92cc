package licensing_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/licensing"
)

func TestPlans_matchThePriceList(t *testing.T) {
	tests := []struct {
		id                        string
		cents                     int
		sso, scim, custom, aiFeat bool
	}{
		{licensing.Trial, 0, false, false, false, false},
		{licensing.Enterprise, 8900, false, false, true, false},
		{licensing.EnterpriseBundle, 12900, false, false, true, true},
		{licensing.Ultimate, 13900, true, true, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			p, ok := licensing.Lookup(tc.id)
			require.True(t, ok)
			assert.Equal(t, tc.cents, p.SeatPriceCents)
			assert.Equal(t, tc.sso, p.Has(licensing.SAMLSSO))
			assert.Equal(t, tc.scim, p.Has(licensing.SCIM))
			assert.Equal(t, tc.custom, p.Has(licensing.CustomRoles))
			assert.Equal(t, tc.aiFeat, p.Has(licensing.AIFeatures))
		})
	}
	_, ok := licensing.Lookup("gold")
	assert.False(t, ok)
	assert.Equal(t, []string{licensing.Ultimate}, licensing.PlansWith(licensing.SCIM), "SCIM is sold only on ultimate")
	assert.Equal(t, []string{"trial", "enterprise", "enterprise_bundle", "ultimate"}, licensing.PlanIDs())
}

func TestPlans_returnsACopy(t *testing.T) {
	ps := licensing.Plans()
	ps[0].SeatPriceCents = 1
	p, _ := licensing.Lookup(licensing.Trial)
	assert.Zero(t, p.SeatPriceCents)
}

func TestBillableSeats(t *testing.T) {
	ult, _ := licensing.Lookup(licensing.Ultimate)
	trial, _ := licensing.Lookup(licensing.Trial)
	tests := []struct {
		name                string
		plan                licensing.Plan
		purchased, consumed int
		want                int
	}{
		{"minimum applies", ult, 3, 2, 8},
		{"purchased beyond minimum", ult, 20, 5, 20},
		{"overage beyond purchased", ult, 10, 12, 12},
		{"trial bills nothing", trial, 10, 12, 0},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, licensing.BillableSeats(tc.plan, tc.purchased, tc.consumed), tc.name)
	}
}

func TestValidateAddons(t *testing.T) {
	assert.NoError(t, licensing.ValidateAddons(nil))
	assert.NoError(t, licensing.ValidateAddons([]string{"ai_copilot", "hipaa"}))
	assert.ErrorContains(t, licensing.ValidateAddons([]string{"sso"}), `unknown add-on "sso"; known add-ons: ai_copilot, hipaa`)
	assert.ErrorContains(t, licensing.ValidateAddons([]string{"hipaa", "hipaa"}), "listed twice")
	a, ok := licensing.LookupAddon("ai_copilot")
	require.True(t, ok)
	assert.Equal(t, 4000, a.UserPriceCents)
}
