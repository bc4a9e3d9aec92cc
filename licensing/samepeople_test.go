package licensing

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPersonKeys(t *testing.T) {
	for in, want := range map[string]string{
		"Ann+Sales@Acme.com": "ann@acme.com",
		"ann@acme.com":       "ann@acme.com",
		"+x@acme.com":        "+x@acme.com", // no local part left: kept
		"no-at-sign":         "no-at-sign",
	} {
		assert.Equal(t, want, EmailPersonKey(in), in)
	}
	for in, want := range map[string]string{
		"Lee, Ann":         "ann lee",
		"  ann   LEE ":     "ann lee",
		"Ann-Marie O'Neil": "ann marie neil o",
		"--":               "",
	} {
		assert.Equal(t, want, NamePersonKey(in), in)
	}
}

// TestSamePeople: holders linked by an email without case or +tag, a
// normalised displayName, or a userName local part on another domain form
// one group (also through a third user), with every shared key as a reason;
// users without a seat and lone users are left out; most saving first.
func TestSamePeople(t *testing.T) {
	c := Contract{TenantID: "acme", Plan: "ultimate", Seats: 10, LightSeatPriceCents: 500}
	plan, _ := Lookup("ultimate")
	full := int64(plan.SeatPriceCents)
	h := func(id, userName, display string, seat SeatClass, emails ...string) SeatHolder {
		return SeatHolder{ID: id, UserName: userName, DisplayName: display, Active: seat != SeatNone, Seat: seat, EmailKeys: emails}
	}
	users := []SeatHolder{
		h("1", "ann@acme.com", "Ann Lee", SeatFull, "ann@acme.com"),
		h("2", "ann.lee@contractor.io", "Lee, Ann", SeatLight, "ann+contract@acme.com"),
		h("3", "ann@acme.co.uk", "", SeatFull), // the local part of 1, on another domain
		h("4", "bob@acme.com", "Bob", SeatFull, "bob@acme.com"),
		h("5", "bob.old@acme.com", "Robert", SeatNone, "bob@acme.com"), // no seat: not a holder
		h("6", "cy@acme.com", "Cy Young", SeatFull),
		h("7", "cy.young@acme.com", "cy young", SeatFull),
	}
	groups := SamePeople(c, users)
	require.Len(t, groups, 2)

	ann := groups[0]
	ids := []string{}
	for _, x := range ann.Holders {
		ids = append(ids, x.ID)
	}
	assert.Equal(t, []string{"2", "3", "1"}, ids, "userName order")
	assert.Equal(t, []SamePersonReason{{SameDisplayName, "ann lee"}, {SameEmail, "ann@acme.com"}, {SameLocalPart, "ann"}}, ann.Reasons)
	assert.Equal(t, 2*full+500, ann.MonthlyCostCents)
	assert.Equal(t, full+500, ann.ExtraMonthlyCents)

	cy := groups[1]
	assert.Len(t, cy.Holders, 2)
	assert.Equal(t, []SamePersonReason{{SameDisplayName, "cy young"}}, cy.Reasons)
	assert.Equal(t, full, cy.ExtraMonthlyCents)

	assert.Empty(t, SamePeople(c, users[3:5]), "bob's second account holds no seat")
}
