package postgres_test

// Benchmarks of role resolution:
//
//	go test ./store/postgres -run '^$' -bench 'RoleGroup|PutRoleMappings' -benchtime=2000x -count=3

import (
	"fmt"
	"testing"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
)

// BenchmarkAddMemberRoleGroup adds one member at a time to a mapped group of
// a 10,000-user tenant: the membership row, the member's re-resolved role
// (user row, audit event) in the same transaction. Compare BenchmarkAddMember
// (a team: nothing to re-resolve).
func BenchmarkAddMemberRoleGroup(b *testing.B) {
	const n = 10_000
	s := benchStore(b)
	seedUsers(b, s.Pool(), "bench", n)
	if err := directory.New(s).PutRoleMappings(ctx, "bench", []store.RoleMapping{{Group: "Leads", Role: store.RoleSupervisor}}, store.ActorAdmin); err != nil {
		b.Fatal(err)
	}
	addMembersOneByOne(b, s, "Leads", n)
}

// BenchmarkPutRoleMappings maps and unmaps a group of 1,000 members: each
// call re-resolves the 1,000 users in its transaction.
func BenchmarkPutRoleMappings(b *testing.B) {
	const n = 1_000
	s := benchStore(b)
	seedUsers(b, s.Pool(), "bench", n)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("seed-bench-%d", i)
	}
	g := store.Group{DisplayName: "Leads"}
	for _, id := range ids {
		g.Members = append(g.Members, store.Member{UserID: id})
	}
	if _, err := s.CreateGroup(ctx, "bench", g, benchActor); err != nil {
		b.Fatal(err)
	}
	mapped := []store.RoleMapping{{Group: "Leads", Role: store.RoleSupervisor}}
	i := 0
	for b.Loop() {
		i++
		m := mapped
		if i%2 == 0 {
			m = nil
		}
		if err := directory.New(s).PutRoleMappings(ctx, "bench", m, store.ActorAdmin); err != nil {
			b.Fatal(err)
		}
	}
}
