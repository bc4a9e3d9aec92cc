package storetest

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/roster-dev/roster/store"
)

// Bench runs the store benchmarks shared by every backend: create-user,
// get-by-userName and add-member. population is the number of users of the
// tenant that get-by-userName searches among (seed does the bulk load and may
// be nil, in which case the users are created through the store).
func Bench(b *testing.B, open Factory, population int, seed func(b *testing.B, s store.Store, tenant string, n int)) {
	b.Run("CreateUser", func(b *testing.B) {
		s := open(b, time.Now)
		newTenantB(b, s, "bench", 1<<30)
		i := 0
		for b.Loop() {
			i++
			if _, err := s.CreateUser(ctx, "bench", store.User{UserName: fmt.Sprintf("user%09d@example.com", i), Active: true,
				Name: store.Name{GivenName: "Bench", FamilyName: "User"}, Emails: []store.MultiValue{{Value: "x@example.com", Type: "work", Primary: true}},
				Role: store.RoleAgent}, token); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("GetUserByUserName/users=%d", population), func(b *testing.B) {
		s := open(b, time.Now)
		newTenantB(b, s, "bench", 1<<30)
		if seed != nil {
			seed(b, s, "bench", population)
		} else {
			for i := range population {
				if _, err := s.CreateUser(ctx, "bench", store.User{UserName: fmt.Sprintf("user%09d@example.com", i), Active: true}, token); err != nil {
					b.Fatal(err)
				}
			}
		}
		lat := make([]time.Duration, 0, 1<<16)
		i := 0
		for b.Loop() {
			i = (i + 7919) % population
			name := fmt.Sprintf("USER%09d@example.com", i) // the lookup is case-insensitive
			start := time.Now()
			if _, err := s.GetUserByUserName(ctx, "bench", name); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		reportMedian(b, lat)
	})
	b.Run("AddMember", func(b *testing.B) {
		s := open(b, time.Now)
		newTenantB(b, s, "bench", 1<<30)
		const n = 10000
		users := make([]string, n)
		for i := range users {
			u, err := s.CreateUser(ctx, "bench", store.User{UserName: fmt.Sprintf("m%06d@example.com", i), Active: true}, token)
			if err != nil {
				b.Fatal(err)
			}
			users[i] = u.ID
		}
		g, err := s.CreateGroup(ctx, "bench", store.Group{DisplayName: "Big team"}, token)
		if err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			id := users[i%n]
			i++
			if _, err := s.UpdateGroup(ctx, "bench", g.ID, token, func(u *store.GroupUpdate) error { u.Add(id); return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func newTenantB(b *testing.B, s store.Store, id string, seats int) {
	if _, err := s.CreateTenant(ctx, store.Tenant{ID: id, Name: id, Plan: "ultimate", Seats: seats, Settings: store.DefaultSettings()}, store.ActorAdmin); err != nil {
		b.Fatal(err)
	}
}

// reportMedian adds the median latency of the measured operations.
func reportMedian(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns/op")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns/op")
}
