package licensing

// This file holds the seat rules every write of a user applies (docs/contract.md
// "Seats"): which seat a user holds, the ledger entries a change of seat
// writes, what they do to a tenant's counts, and whether the cap admits that
// change. Both store backends call them inside their transactions; the
// PostgreSQL one also applies the cap in SQL, on the locked tenant row, and
// its tests compare the two (store/postgres TestSeats_capPredicateAgreesWithLicensing).

// Seat-ledger reasons: why a seat was consumed or released.
const (
	ReasonProvisioned = "provisioned"  // created active
	ReasonReactivated = "reactivated"  // made active again
	ReasonDeactivated = "deactivated"  // made inactive
	ReasonDeleted     = "deleted"      // deleted while holding a seat
	ReasonExpired     = "expired"      // made inactive once their access expiry had passed
	ReasonRoleChanged = "role_changed" // a role change moved them between full and light
)

// SeatFor is the seat a user holds: none when inactive, else the seat class of
// their role (full unless the role is a light one).
func SeatFor(active bool, roleClass SeatClass) SeatClass {
	if !active {
		return SeatNone
	}
	if roleClass == SeatLight {
		return SeatLight
	}
	return SeatFull
}

// Transition is one ledger entry to write for a change of seat.
type Transition struct {
	Class  SeatClass
	Delta  int
	Reason string
}

// TransitionKind says what kind of write moved a seat.
type TransitionKind int

const (
	OnCreate TransitionKind = iota
	OnUpdate
	OnDelete
)

// SeatTransitions returns the ledger entries for a user whose seat goes from
// old to new. expired says the user's access expiry has passed, which names a
// release "expired" rather than "deactivated".
func SeatTransitions(kind TransitionKind, old, new SeatClass, expired bool) []Transition {
	if old == new {
		return nil
	}
	switch {
	case old == SeatNone:
		reason := ReasonReactivated
		if kind == OnCreate {
			reason = ReasonProvisioned
		}
		return []Transition{{Class: new, Delta: 1, Reason: reason}}
	case new == SeatNone:
		reason := ReasonDeactivated
		switch {
		case kind == OnDelete:
			reason = ReasonDeleted
		case expired:
			reason = ReasonExpired
		}
		return []Transition{{Class: old, Delta: -1, Reason: reason}}
	default: // full <-> light: one ledger pair
		return []Transition{
			{Class: old, Delta: -1, Reason: ReasonRoleChanged},
			{Class: new, Delta: 1, Reason: ReasonRoleChanged},
		}
	}
}

// Delta is the change of a tenant's seat counts that transitions cause.
func Delta(ts []Transition) SeatCounts {
	var d SeatCounts
	for _, t := range ts {
		d.add(t.Class, t.Delta)
	}
	return d
}

// CapAllows says whether a change of deltaFull full seats fits under the cap
// of a tenant whose users hold inUseFull full seats: a change that takes no
// full seat always fits (a release, a light seat — light seats are never
// capped — even a tenant already beyond its cap after a reduction may release
// or keep what it has); one that takes seats fits when the seats held after
// it are at most usable (Contract.UsableAt), or whatever the count when the
// tenant allows overage. Every backend's cap check is this function; the
// PostgreSQL store also writes it in SQL (capSQL), where the cap must be
// decided in the statement that moves the locked counter.
func CapAllows(inUseFull, deltaFull, usable int, overage bool) bool {
	return deltaFull <= 0 || overage || inUseFull+deltaFull <= usable
}
