package licensing_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/roster-dev/roster/licensing"
)

// ledgerOf builds a ledger of n events: users provisioned, some deactivated
// and reactivated, some moved between seat classes, a minute apart.
func ledgerOf(n int) []licensing.SeatMove {
	t0 := day(2026, 1, 1)
	out := make([]licensing.SeatMove, 0, n)
	for i := range n {
		e := ev(t0.Add(time.Duration(i)*time.Minute), "u", licensing.SeatFull, 1)
		switch i % 4 {
		case 1:
			e.Delta = -1
		case 3:
			e.Class = licensing.SeatLight
		}
		out = append(out, e)
	}
	return out
}

// BenchmarkCountsAt replays a 100,000-event ledger to an instant in its middle.
func BenchmarkCountsAt(b *testing.B) {
	events := ledgerOf(100_000)
	at := events[len(events)/2].Time
	for b.Loop() {
		licensing.CountsAt(events, at)
	}
}

// BenchmarkReport computes a full seat report of a tenant with add-ons, a
// pending reduction and 50 mid-term seat additions to prorate.
func BenchmarkReport(b *testing.B) {
	tn := ultimate(10)
	tn.Addons = []string{licensing.AddonAICopilot, licensing.AddonHIPAA}
	for i := range 50 {
		tn.SeatChanges = append(tn.SeatChanges, licensing.SeatChange{At: day(2026, 1, 2).Add(time.Duration(i) * 24 * time.Hour), From: 10 + i, To: 11 + i})
	}
	tn.Seats = 60
	tn, _, _ = licensing.ChangeSeats(tn, 40, day(2026, 6, 1))
	held := licensing.SeatCounts{Full: 55, Light: 20}
	now := day(2026, 7, 1)
	for b.Loop() {
		licensing.Report(tn, held, now)
	}
}

// BenchmarkUsage replays a 100,000-event ledger (ten weeks of events a
// minute apart) into 70 daily points, each priced as a seat report.
func BenchmarkUsage(b *testing.B) {
	events := ledgerOf(100_000)
	tn := ultimate(10)
	tn.Addons = []string{licensing.AddonHIPAA}
	now := day(2026, 12, 31)
	periods, err := licensing.UsagePeriods(day(2026, 1, 1), day(2026, 3, 11), licensing.UsageDay, now)
	if err != nil || len(periods) != 70 {
		b.Fatal(err, len(periods))
	}
	for b.Loop() {
		licensing.Usage(tn, periods, licensing.SeatCounts{}, events, now)
	}
}

// BenchmarkSamePeople groups 100,000 seat holders, 1 in 50 with a second
// account (another userName on another domain, the address with a +tag).
func BenchmarkSamePeople(b *testing.B) {
	c := licensing.Contract{TenantID: "big", Plan: licensing.Ultimate, Seats: 200_000}
	users := make([]licensing.SeatHolder, 100_000)
	for i := range users {
		email, userName := fmt.Sprintf("p%d@example.com", i), fmt.Sprintf("user%09d@example.com", i)
		if i%50 == 1 {
			email, userName = fmt.Sprintf("p%d+old@example.com", i-1), fmt.Sprintf("user%09d@old.example.com", i)
		}
		users[i] = licensing.SeatHolder{ID: fmt.Sprint(i), UserName: userName, DisplayName: fmt.Sprintf("Person %d", i),
			Active: true, Seat: licensing.SeatFull, EmailKeys: []string{email}}
	}
	for b.Loop() {
		if g := licensing.SamePeople(c, users); len(g) != 2000 {
			b.Fatal(len(g))
		}
	}
}
