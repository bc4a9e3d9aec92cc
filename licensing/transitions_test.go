package licensing_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/roster-dev/roster/licensing"
)

// TestSeatFor pins which seat a user holds: none while inactive whatever
// their role, else their role's class, full for any class but light.
func TestSeatFor(t *testing.T) {
	for _, tc := range []struct {
		active bool
		role   licensing.SeatClass
		want   licensing.SeatClass
	}{
		{false, licensing.SeatFull, licensing.SeatNone},
		{false, licensing.SeatLight, licensing.SeatNone},
		{false, "", licensing.SeatNone},
		{true, licensing.SeatFull, licensing.SeatFull},
		{true, licensing.SeatLight, licensing.SeatLight},
		{true, "", licensing.SeatFull},                 // a built-in role names no class: full
		{true, licensing.SeatNone, licensing.SeatFull}, // a role never grants "no seat"
	} {
		assert.Equal(t, tc.want, licensing.SeatFor(tc.active, tc.role), "active %v, role class %q", tc.active, tc.role)
	}
}

// TestSeatTransitions pins the ledger entries of every change of seat and
// their reasons, and what they do to the counts (Delta): a consumption or a
// release is one entry, a move between full and light is a release then a
// consumption, and no change writes nothing.
func TestSeatTransitions(t *testing.T) {
	const (
		none  = licensing.SeatNone
		full  = licensing.SeatFull
		light = licensing.SeatLight
	)
	type tr = licensing.Transition
	e := func(class licensing.SeatClass, delta int, reason string) tr {
		return tr{Class: class, Delta: delta, Reason: reason}
	}
	for _, tc := range []struct {
		name     string
		kind     licensing.TransitionKind
		old, new licensing.SeatClass
		expired  bool
		want     []tr
		delta    licensing.SeatCounts
	}{
		{"created active", licensing.OnCreate, none, full, false,
			[]tr{e(full, 1, licensing.ReasonProvisioned)}, licensing.SeatCounts{Full: 1}},
		{"created active in a light role", licensing.OnCreate, none, light, false,
			[]tr{e(light, 1, licensing.ReasonProvisioned)}, licensing.SeatCounts{Light: 1}},
		{"created inactive", licensing.OnCreate, none, none, false, nil, licensing.SeatCounts{}},
		{"reactivated", licensing.OnUpdate, none, full, false,
			[]tr{e(full, 1, licensing.ReasonReactivated)}, licensing.SeatCounts{Full: 1}},
		{"reactivated past the expiry is still a reactivation", licensing.OnUpdate, none, light, true,
			[]tr{e(light, 1, licensing.ReasonReactivated)}, licensing.SeatCounts{Light: 1}},
		{"deactivated", licensing.OnUpdate, full, none, false,
			[]tr{e(full, -1, licensing.ReasonDeactivated)}, licensing.SeatCounts{Full: -1}},
		{"deactivated once access expired", licensing.OnUpdate, light, none, true,
			[]tr{e(light, -1, licensing.ReasonExpired)}, licensing.SeatCounts{Light: -1}},
		{"deleted", licensing.OnDelete, full, none, false,
			[]tr{e(full, -1, licensing.ReasonDeleted)}, licensing.SeatCounts{Full: -1}},
		{"deleted after the expiry is a deletion", licensing.OnDelete, full, none, true,
			[]tr{e(full, -1, licensing.ReasonDeleted)}, licensing.SeatCounts{Full: -1}},
		{"deleted inactive", licensing.OnDelete, none, none, false, nil, licensing.SeatCounts{}},
		{"full to light", licensing.OnUpdate, full, light, false,
			[]tr{e(full, -1, licensing.ReasonRoleChanged), e(light, 1, licensing.ReasonRoleChanged)},
			licensing.SeatCounts{Full: -1, Light: 1}},
		{"light to full", licensing.OnUpdate, light, full, false,
			[]tr{e(light, -1, licensing.ReasonRoleChanged), e(full, 1, licensing.ReasonRoleChanged)},
			licensing.SeatCounts{Full: 1, Light: -1}},
		{"unchanged", licensing.OnUpdate, full, full, false, nil, licensing.SeatCounts{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := licensing.SeatTransitions(tc.kind, tc.old, tc.new, tc.expired)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.delta, licensing.Delta(got))
		})
	}
}

// TestDelta_sumsByClass proves Delta adds up the entries of several users'
// changes by class (how a role change of many users is cap-checked at once),
// and that an entry of no seat class counts nowhere.
func TestDelta_sumsByClass(t *testing.T) {
	var all []licensing.Transition
	all = append(all, licensing.SeatTransitions(licensing.OnUpdate, licensing.SeatLight, licensing.SeatFull, false)...)
	all = append(all, licensing.SeatTransitions(licensing.OnUpdate, licensing.SeatNone, licensing.SeatFull, false)...)
	all = append(all, licensing.SeatTransitions(licensing.OnDelete, licensing.SeatLight, licensing.SeatNone, false)...)
	all = append(all, licensing.Transition{Class: licensing.SeatNone, Delta: 1})
	assert.Equal(t, licensing.SeatCounts{Full: 2, Light: -2}, licensing.Delta(all))
	assert.Equal(t, licensing.SeatCounts{}, licensing.Delta(nil))
}

// TestCapAllows pins the cap: a change that takes full seats fits while the
// seats held after it are at most the usable ones, or always with overage;
// a change that takes none (a release, a light seat, nothing) always fits,
// even for a tenant already beyond its cap after a seat reduction.
func TestCapAllows(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		inUse, delta, usable int
		overage              bool
		want                 bool
	}{
		{"the last usable seat", 7, 1, 8, false, true},
		{"one beyond the usable seats", 8, 1, 8, false, false},
		{"one beyond with overage", 8, 1, 8, true, true},
		{"several at once that fit exactly", 5, 3, 8, false, true},
		{"several at once, one too many", 5, 4, 8, false, false},
		{"no usable seats", 0, 1, 0, false, false},
		{"no usable seats with overage", 0, 1, 0, true, true},
		{"a release beyond the cap", 12, -1, 8, false, true},
		{"no full seat moved beyond the cap", 12, 0, 8, false, true},
		{"a consumption beyond the cap", 12, 1, 8, false, false},
		{"a consumption beyond the cap with overage", 12, 1, 8, true, true},
		{"nothing in use, nothing moved", 0, 0, 0, false, true},
	} {
		assert.Equal(t, tc.want, licensing.CapAllows(tc.inUse, tc.delta, tc.usable, tc.overage), tc.name)
	}
}
