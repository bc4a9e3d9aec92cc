package licensing

import (
	"sort"
	"strings"
)

// One person, one seat: seat holders who share an email address (compared
// case-insensitively) are probably one person holding several seats — an
// IdP that created a second account under another userName, say. The seat
// and dormant reports list them with what they cost so that an operator can
// release the extra seats; nothing is released automatically (the IdP
// decides who exists).

// DuplicateHolder is one seat holder of a possible duplicate.
type DuplicateHolder struct {
	UserID           string
	UserName         string
	Role             string
	Seat             SeatClass
	MonthlyCostCents int64
}

// DuplicateGroup is the seat holders sharing one email address.
type DuplicateGroup struct {
	Email            string // lower-cased
	Holders          []DuplicateHolder
	MonthlyCostCents int64 // what all of them cost per month
	// ExtraMonthlyCents is what they cost beyond the most expensive one:
	// what one seat for the person would save.
	ExtraMonthlyCents int64
}

// Duplicates groups the seat holders among users (any order; inactive and
// seatless users are ignored) by each email address they hold, keeping the
// addresses held by two users or more: most saving first, then by address.
// Holders are in userName order.
func Duplicates(t Contract, users []SeatHolder) []DuplicateGroup {
	plan, _ := Lookup(t.Plan)
	addons := perUserAddonCents(plan, t.Addons)
	by := map[string][]DuplicateHolder{}
	for i := range users {
		u := &users[i]
		if !u.holds() {
			continue
		}
		for _, k := range u.EmailKeys {
			by[k] = append(by[k], DuplicateHolder{UserID: u.ID, UserName: u.UserName, Role: u.Role, Seat: u.Seat,
				MonthlyCostCents: seatMonthlyCents(t, plan, addons, u)})
		}
	}
	out := []DuplicateGroup{}
	for email, holders := range by {
		if len(holders) < 2 {
			continue
		}
		sort.Slice(holders, func(i, j int) bool {
			return strings.ToLower(holders[i].UserName) < strings.ToLower(holders[j].UserName)
		})
		g := DuplicateGroup{Email: email, Holders: holders}
		var most int64
		for _, h := range holders {
			g.MonthlyCostCents += h.MonthlyCostCents
			most = max(most, h.MonthlyCostCents)
		}
		g.ExtraMonthlyCents = g.MonthlyCostCents - most
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ExtraMonthlyCents != out[j].ExtraMonthlyCents {
			return out[i].ExtraMonthlyCents > out[j].ExtraMonthlyCents
		}
		return out[i].Email < out[j].Email
	})
	return out
}
