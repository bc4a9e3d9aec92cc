package postgres_test

// Benchmarks of the CSV import (directory.ImportUsers) on PostgreSQL:
//
//	go test ./store/postgres -run '^$' -bench 'ImportUser' -benchtime=2000x -count=3

import (
	"fmt"
	"testing"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
)

// importRowUser is a CSV row's new user: its own userName and address.
func importRowUser(i int) store.User {
	name := fmt.Sprintf("user%09d@example.com", i)
	return store.User{UserName: name, Active: true, ExplicitRole: store.RoleAgent,
		Name:   store.Name{GivenName: "Bench", FamilyName: "User"},
		Emails: []store.MultiValue{{Value: name, Type: "work", Primary: true}}}
}

// BenchmarkImportUserRow is one CSV import row on its own: a new active user
// (seat check, ledger, audit) joining one team, in one transaction.
func BenchmarkImportUserRow(b *testing.B) {
	importRowsAlone(b, importRowUser, directory.ImportCreated)
}

// importRowsAlone imports user(1), user(2), … one row per call, each
// joining one team, and checks each row's outcome (any when want is "").
func importRowsAlone(b *testing.B, user func(int) store.User, want directory.ImportOutcome) {
	s := benchStore(b)
	d := directory.New(s)
	g, err := s.CreateGroup(ctx, "bench", store.Group{DisplayName: "Tier 1"}, benchActor)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		res, err := d.ImportUsers(ctx, "bench", []directory.ImportRow{{User: user(i), Apply: func(*store.User) error { return nil },
			Groups: []string{g.ID}}}, store.ActorAdmin)
		if err != nil || res[0].Err != nil || (want != "" && res[0].Outcome != want) {
			b.Fatal(err, res)
		}
	}
}

// BenchmarkImportUsersBatch imports new users (no teams) in files of 1,000
// rows; one op is one row.
func BenchmarkImportUsersBatch(b *testing.B) {
	s := benchStore(b)
	d := directory.New(s)
	const batch = 1000
	i := 0
	b.ResetTimer()
	for i < b.N {
		n := min(batch, b.N-i)
		rows := make([]directory.ImportRow, n)
		for k := range rows {
			rows[k] = directory.ImportRow{User: importRowUser(i + k), Apply: func(*store.User) error { return nil }}
		}
		res, err := d.ImportUsers(ctx, "bench", rows, store.ActorAdmin)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil || r.Outcome != directory.ImportCreated {
				b.Fatal(r.Err, r.Outcome)
			}
		}
		i += n
	}
}

// BenchmarkImportUser is one CSV import row whose address an earlier row's
// user holds (benchUser's): after the first, every row finds that user and
// changes nothing — the read of an import row, under its locks.
func BenchmarkImportUser(b *testing.B) {
	importRowsAlone(b, benchUser, "")
}
