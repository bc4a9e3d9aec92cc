package licensing

import (
	"sort"
	"strings"
	"time"
)

// SeatHolder is what the dormant and duplicate reports read of a user: who
// they are, the seat they hold and when they last signed in. The store
// converts its users (store.SeatHolders).
type SeatHolder struct {
	ID           string
	UserName     string
	DisplayName  string
	Role         string
	UserType     string
	Active       bool
	Seat         SeatClass
	EmailKeys    []string   // the user's email addresses, lower-cased, each once
	Email        string     // the primary address, as stored ("" none)
	Managed      string     // who manages the user: scim (the IdP) or manual
	CreatedAt    time.Time  // provisioned
	LastActiveAt *time.Time // last sign-in; nil: never
}

// holds says whether h holds a seat: active, with a seat class.
func (h *SeatHolder) holds() bool { return h.Active && h.Seat != SeatNone && h.Seat != "" }

// DormantSeat is one seat holder who has not signed in for the report's
// number of days, or never has.
type DormantSeat struct {
	UserID      string
	UserName    string
	DisplayName string
	Role        string
	Seat        SeatClass
	UserType    string

	ProvisionedAt        time.Time  // when the user was created (the seat is held from then)
	DaysSinceProvisioned int        // whole days
	LastActiveAt         *time.Time // last sign-in; nil: never
	DaysSinceActive      int        // whole days since the last sign-in, or since provisioning when never
	NeverSignedIn        bool

	// MonthlyCostCents is what the user's seat costs per month at list
	// price: the plan's seat price (or the tenant's light-seat price) plus
	// every add-on billed per active user that the plan does not include.
	MonthlyCostCents int64
}

// DormantReport lists a tenant's dormant seats, most expensive first, then
// the longest idle (GET /admin/v1/tenants/{id}/reports/dormant).
type DormantReport struct {
	TenantID string
	AsOf     time.Time
	Days     int
	Plan     Plan
	Seats    []DormantSeat
	// MonthlyCostCents is the sum over Seats: what they represent at list
	// price. Releasing them lowers the bill only above the plan's minimum
	// and the purchased seats, and a reduction of purchased seats takes
	// effect at the renewal.
	MonthlyCostCents int64
}

// Dormant reports the seat holders among users (any order; inactive and
// seatless users are ignored) who have not signed in for days days at now,
// or never have.
func Dormant(t Contract, users []SeatHolder, days int, now time.Time) DormantReport {
	plan, _ := Lookup(t.Plan)
	rep := DormantReport{TenantID: t.TenantID, AsOf: now.UTC(), Days: days, Plan: plan, Seats: []DormantSeat{}}
	cutoff := now.Add(-time.Duration(days) * 24 * time.Hour)
	addons := perUserAddonCents(plan, t.Addons)
	for i := range users {
		u := &users[i]
		if !u.holds() {
			continue
		}
		if u.LastActiveAt != nil && u.LastActiveAt.After(cutoff) {
			continue
		}
		d := DormantSeat{
			UserID: u.ID, UserName: u.UserName, DisplayName: u.DisplayName, Role: u.Role, Seat: u.Seat, UserType: u.UserType,
			ProvisionedAt: u.CreatedAt.UTC(), DaysSinceProvisioned: wholeDays(u.CreatedAt, now),
			LastActiveAt: u.LastActiveAt, NeverSignedIn: u.LastActiveAt == nil,
		}
		idleSince := u.CreatedAt
		if u.LastActiveAt != nil {
			idleSince = *u.LastActiveAt
		}
		d.DaysSinceActive = wholeDays(idleSince, now)
		d.MonthlyCostCents = seatMonthlyCents(t, plan, addons, u)
		rep.Seats = append(rep.Seats, d)
		rep.MonthlyCostCents += d.MonthlyCostCents
	}
	sort.SliceStable(rep.Seats, func(i, j int) bool {
		a, b := rep.Seats[i], rep.Seats[j]
		switch {
		case a.MonthlyCostCents != b.MonthlyCostCents:
			return a.MonthlyCostCents > b.MonthlyCostCents
		case a.DaysSinceActive != b.DaysSinceActive:
			return a.DaysSinceActive > b.DaysSinceActive
		case a.DaysSinceProvisioned != b.DaysSinceProvisioned:
			return a.DaysSinceProvisioned > b.DaysSinceProvisioned
		}
		return strings.ToLower(a.UserName) < strings.ToLower(b.UserName)
	})
	return rep
}

// perUserAddonCents is what each active user adds per month in add-ons the
// plan does not include.
func perUserAddonCents(plan Plan, ids []string) int64 {
	var sum int64
	for _, c := range addonCharges(plan, ids, 1) {
		sum += c.MonthlyCents
	}
	return sum
}

func wholeDays(from, to time.Time) int {
	if !to.After(from) {
		return 0
	}
	return int(to.Sub(from) / (24 * time.Hour))
}

// seatMonthlyCents is what u's seat costs per month at list price: the
// plan's seat price (or the tenant's light-seat price) plus addons, the
// per-user add-ons the plan does not include. Nothing on an unpaid plan.
func seatMonthlyCents(t Contract, plan Plan, addons int64, u *SeatHolder) int64 {
	if !plan.Paid {
		return 0
	}
	if u.Seat == SeatLight {
		return addons + int64(t.LightSeatPriceCents)
	}
	return addons + int64(plan.SeatPriceCents)
}
