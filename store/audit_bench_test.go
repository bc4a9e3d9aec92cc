package store

import (
	"testing"
	"time"
)

// BenchmarkAuditJSONUser: the audit view of a typical user, encoded once per
// user write (twice more by SameUser on an update).
func BenchmarkAuditJSONUser(b *testing.B) {
	when := time.Date(2026, 11, 28, 8, 1, 2, 345678000, time.UTC)
	u := User{ID: "u1", ExternalID: "00ujl29u0le5T6Aj10h7", UserName: "ann@example.com", DisplayName: "Ann Lee",
		Title: "Store manager", Locale: "en-GB", Timezone: "Europe/London", Active: true, Role: "agent", ExplicitRole: "agent",
		Name:       Name{GivenName: "Ann", FamilyName: "Lee"},
		Emails:     []MultiValue{{Value: "ann@example.com", Type: "work", Primary: true}},
		Enterprise: Enterprise{Department: "Retail", ManagerID: "u0"},
		Seat:       SeatFull, Version: 3, CreatedAt: when, UpdatedAt: when}
	b.ReportAllocs()
	for b.Loop() {
		_ = AuditJSON(u)
	}
}
