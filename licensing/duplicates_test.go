package licensing_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// TestDuplicates_sameEmailAnyCase: seat holders sharing an address in any
// case are listed together with what they cost; inactive users, users
// without a seat and addresses held once are not.
func TestDuplicates_sameEmailAnyCase(t *testing.T) {
	tn := store.Tenant{ID: "acme", Plan: "ultimate", Addons: []string{"hipaa"}}
	mail := func(v string) []store.MultiValue { return []store.MultiValue{{Value: v, Primary: true}} }
	users := []store.User{
		{ID: "1", UserName: "nora", Active: true, Seat: store.SeatFull, Role: "supervisor", Emails: mail("Nora@Globex.test")},
		{ID: "2", UserName: "nora.k", Active: true, Seat: store.SeatFull, Role: "agent", Emails: mail("nora@globex.TEST")},
		{ID: "3", UserName: "nora-old", Active: false, Seat: store.SeatNone, Emails: mail("nora@globex.test")},
		{ID: "4", UserName: "ann", Active: true, Seat: store.SeatFull, Emails: mail("ann@globex.test")},
	}
	got := licensing.Duplicates(tn.Contract(), store.SeatHolders(users))
	require.Len(t, got, 1)
	g := got[0]
	assert.Equal(t, "nora@globex.test", g.Email)
	require.Len(t, g.Holders, 2)
	assert.Equal(t, "nora", g.Holders[0].UserName)
	assert.Equal(t, "nora.k", g.Holders[1].UserName)
	each := int64(13900 + 2500) // Ultimate seat + HIPAA per active user
	assert.Equal(t, each, g.Holders[0].MonthlyCostCents)
	assert.Equal(t, 2*each, g.MonthlyCostCents)
	assert.Equal(t, each, g.ExtraMonthlyCents, "one seat would do")
	assert.Empty(t, licensing.Duplicates(tn.Contract(), store.SeatHolders(users[2:])))
}
