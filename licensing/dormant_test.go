package licensing_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// TestDormant proves who counts as dormant (a seat holder with no sign-in
// for N days, or never), what each costs per month (seat or light-seat price
// plus add-ons the plan does not include) and the order: cost, then idle
// time, then time since provisioning.
func TestDormant(t *testing.T) {
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	ago := func(days int) *time.Time { x := now.Add(-time.Duration(days) * 24 * time.Hour); return &x }
	user := func(name string, seat store.SeatClass, createdDaysAgo int, last *time.Time) store.User {
		return store.User{ID: "id-" + name, UserName: name, Active: seat != store.SeatNone, Seat: seat, Role: store.RoleAgent,
			CreatedAt: *ago(createdDaysAgo), LastActiveAt: last}
	}
	users := []store.User{
		user("recent", store.SeatFull, 200, ago(3)),   // signed in 3 days ago: not dormant
		user("edge", store.SeatFull, 200, ago(30)),    // exactly 30 days: dormant
		user("old", store.SeatFull, 400, ago(90)),     // 90 days idle
		user("never-new", store.SeatFull, 2, nil),     // never signed in, provisioned 2 days ago
		user("never-old", store.SeatFull, 120, nil),   // never signed in, provisioned 120 days ago
		user("light", store.SeatLight, 300, ago(200)), // a light seat, long idle
		user("gone", store.SeatNone, 500, nil),        // deactivated: holds no seat
	}
	tenant := store.Tenant{ID: "acme", Plan: licensing.Ultimate, Addons: []string{licensing.AddonHIPAA},
		Settings: store.Settings{LightSeatPriceCents: 1500}}

	rep := licensing.Dormant(tenant.Contract(), store.SeatHolders(users), 30, now)
	var names []string
	for _, s := range rep.Seats {
		names = append(names, s.UserName)
	}
	// Full seats (13900 + 2500 HIPAA) before the light one (1500 + 2500);
	// among equals, the longest idle first.
	assert.Equal(t, []string{"never-old", "old", "edge", "never-new", "light"}, names)
	full := int64(13900 + 2500)
	assert.Equal(t, full, rep.Seats[0].MonthlyCostCents)
	assert.Equal(t, int64(1500+2500), rep.Seats[4].MonthlyCostCents)
	assert.Equal(t, 4*full+4000, rep.MonthlyCostCents)
	assert.True(t, rep.Seats[0].NeverSignedIn)
	assert.Equal(t, 120, rep.Seats[0].DaysSinceProvisioned)
	assert.Equal(t, 120, rep.Seats[0].DaysSinceActive)
	assert.False(t, rep.Seats[1].NeverSignedIn)
	assert.Equal(t, 90, rep.Seats[1].DaysSinceActive)
	assert.Equal(t, 400, rep.Seats[1].DaysSinceProvisioned)

	// The Enterprise Bundle includes AI Copilot: never charged on top.
	bundle := store.Tenant{ID: "b", Plan: licensing.EnterpriseBundle, Addons: []string{licensing.AddonAICopilot}}
	rep = licensing.Dormant(bundle.Contract(), store.SeatHolders(users[:3]), 30, now)
	require.Len(t, rep.Seats, 2)
	assert.Equal(t, int64(12900), rep.Seats[0].MonthlyCostCents)

	// A trial bills nothing; a shorter window finds more.
	rep = licensing.Dormant(store.Tenant{Plan: licensing.Trial}.Contract(), store.SeatHolders(users), 1, now)
	assert.Len(t, rep.Seats, 6)
	assert.Zero(t, rep.MonthlyCostCents)
}
