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

// TestUsableSeats: on a paid plan a tenant may use every seat it is billed
// for at the minimum, and never fewer than it purchased; a trial may use the
// seats it was given, no more.
func TestUsableSeats(t *testing.T) {
	tests := []struct {
		plan      string
		purchased int
		want      int
	}{
		{licensing.Enterprise, 3, 8},
		{licensing.Enterprise, 0, 8},
		{licensing.EnterpriseBundle, 8, 8},
		{licensing.Ultimate, 9, 9},
		{licensing.Ultimate, 120, 120},
		{licensing.Trial, 0, 0},
		{licensing.Trial, 3, 3},
		{licensing.Trial, 50, 50},
		{"gold", 5, 5}, // an unknown plan is priced like a trial
	}
	for _, tc := range tests {
		p, _ := licensing.Lookup(tc.plan)
		got := licensing.UsableSeats(p, tc.purchased)
		assert.Equal(t, tc.want, got, "%s with %d purchased", tc.plan, tc.purchased)
		if p.Paid {
			// The contract: whatever is billed with nothing beyond the cap in use
			// may be used.
			assert.Equal(t, licensing.BillableSeats(p, tc.purchased, 0), got, "%s with %d purchased", tc.plan, tc.purchased)
		}
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
