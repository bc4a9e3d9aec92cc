package store

import (
	"github.com/roster-dev/roster/licensing"
)

// The store's edge to package licensing, which owns the seat rules on its own
// types: every conversion between a store record and a licensing value is
// here, so that callers never copy fields by hand.

// Contract is the tenant's commercial terms as licensing reads them. It
// shares the tenant's slices and pointers; licensing never changes them in
// place.
func (t Tenant) Contract() licensing.Contract {
	return licensing.Contract{
		TenantID:            t.ID,
		Plan:                t.Plan,
		Seats:               t.Seats,
		Addons:              t.Addons,
		Overage:             t.Settings.Overage,
		LightSeatPriceCents: t.Settings.LightSeatPriceCents,
		Start:               t.ContractStart,
		Created:             t.CreatedAt,
		SeatsAtRenewal:      t.SeatsAtRenewal,
		SeatsAtRenewalFrom:  t.SeatsAtRenewalFrom,
		SeatChanges:         t.SeatChanges,
	}
}

// SetContract takes back the contract terms licensing changes (Roll,
// ChangeSeats, ChangePlan, ChangeContractStart): the purchased seats, the
// contract start, the pending reduction and the seat changes. The plan,
// add-ons and settings are the tenant's own and are not taken back.
func (t *Tenant) SetContract(c licensing.Contract) {
	t.Seats = c.Seats
	t.ContractStart = c.Start
	t.SeatsAtRenewal, t.SeatsAtRenewalFrom = c.SeatsAtRenewal, c.SeatsAtRenewalFrom
	t.SeatChanges = c.SeatChanges
}

// SeatMoves is the seat ledger as licensing replays it (licensing.CountsAt,
// Replay, Unbalanced).
func SeatMoves(events []SeatEvent) []licensing.SeatMove {
	out := make([]licensing.SeatMove, len(events))
	for i := range events {
		e := &events[i]
		out[i] = licensing.SeatMove{Time: e.Time, UserID: e.UserID, Class: e.Class, Delta: e.Delta}
	}
	return out
}

// SeatHolders are users as the dormant and duplicate reports read them.
func SeatHolders(users []User) []licensing.SeatHolder {
	out := make([]licensing.SeatHolder, len(users))
	for i := range users {
		u := &users[i]
		out[i] = licensing.SeatHolder{
			ID: u.ID, UserName: u.UserName, DisplayName: u.DisplayName, Role: u.Role, UserType: u.UserType,
			Active: u.Active, Seat: u.Seat, EmailKeys: EmailKeys(u.Emails), Email: PrimaryEmail(u.Emails), Managed: ManagedOf(u.Managed),
			CreatedAt: u.CreatedAt, LastActiveAt: u.LastActiveAt,
		}
	}
	return out
}

// PrimaryEmail is the primary address of emails, else the first; "" none.
func PrimaryEmail(emails []MultiValue) string {
	for _, e := range emails {
		if e.Primary {
			return e.Value
		}
	}
	if len(emails) > 0 {
		return emails[0].Value
	}
	return ""
}
