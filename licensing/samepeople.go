package licensing

import (
	"slices"
	"sort"
	"strings"
	"unicode"
)

// Probably the same person: active seat holders that look like one person
// holding two seats, found by three keys — an email address compared
// without case and without a "+tag" (ann+sales@x.com is ann@x.com), a
// displayName compared without case, punctuation or word order ("Lee, Ann"
// is "ann lee"), and a userName's local part on different domains
// (ann@acme.com and ann@acme.co.uk). Users linked by any key, directly or
// through another user, form one group. The report only lists them: the
// IdP decides who exists, and a shared name is no proof.

// Reasons a group was formed for; each names the key its users share.
const (
	SameEmail       = "same_email"        // an address, lower-cased, without +tag
	SameDisplayName = "same_display_name" // a displayName, normalised
	SameLocalPart   = "same_username_local_part"
)

// SamePersonReason is one key that links users of a group.
type SamePersonReason struct {
	Reason string // SameEmail, SameDisplayName or SameLocalPart
	Key    string // the normalised address, name or local part
}

// SamePersonHolder is one seat holder of a group, with what their seat
// costs per month at list price.
type SamePersonHolder struct {
	SeatHolder
	MonthlyCostCents int64
}

// SamePersonGroup is the seat holders that probably are one person, in
// userName order, and why.
type SamePersonGroup struct {
	Holders []SamePersonHolder
	Reasons []SamePersonReason // by reason, then key
	// MonthlyCostCents is what the holders' seats cost per month at list
	// price; ExtraMonthlyCents what they cost beyond the most expensive one.
	MonthlyCostCents  int64
	ExtraMonthlyCents int64
}

// EmailPersonKey is an address compared as one person's: lower-cased,
// without the +tag of its local part.
func EmailPersonKey(email string) string {
	e := strings.ToLower(strings.TrimSpace(email))
	local, domain, ok := strings.Cut(e, "@")
	if !ok {
		return e
	}
	if base, _, tagged := strings.Cut(local, "+"); tagged && base != "" {
		local = base
	}
	return local + "@" + domain
}

// NamePersonKey is a displayName compared as one person's: its words,
// lower-cased, letters and digits only, in sorted order; "" when it has
// none.
func NamePersonKey(name string) string {
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	sort.Strings(words)
	return strings.Join(words, " ")
}

// SamePeople groups the seat holders among users (inactive and seatless
// ones are ignored) that share an email key, a displayName key or a
// userName local part on different domains: most saving first, then by
// the first holder's userName. One pass over the users and a union-find
// over the keys: linear in the users.
func SamePeople(t Contract, users []SeatHolder) []SamePersonGroup {
	plan, _ := Lookup(t.Plan)
	addons := perUserAddonCents(plan, t.Addons)
	var held []int // indexes into users
	for i := range users {
		if users[i].holds() {
			held = append(held, i)
		}
	}
	parent := make([]int, len(held))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	// first is the first holder of each key; shared marks the keys two
	// holders or more hold, which are the groups' reasons.
	type rk struct{ reason, key string }
	first := map[rk]int{}
	shared := map[rk]bool{}
	link := func(k rk, i int) {
		if j, ok := first[k]; ok {
			if a, b := find(i), find(j); a != b {
				parent[a] = b
			}
			shared[k] = true
			return
		}
		first[k] = i
	}
	for i, ui := range held {
		u := &users[ui]
		var seen []string // a user's few addresses: a map each would cost more
		for _, e := range u.EmailKeys {
			if k := EmailPersonKey(e); !slices.Contains(seen, k) {
				seen = append(seen, k)
				link(rk{SameEmail, k}, i)
			}
		}
		if k := NamePersonKey(u.DisplayName); k != "" {
			link(rk{SameDisplayName, k}, i)
		}
		// userNames are unique without case: two holders of one local
		// part have it on different domains.
		if local, _, ok := strings.Cut(strings.ToLower(u.UserName), "@"); ok && local != "" {
			link(rk{SameLocalPart, local}, i)
		}
	}
	groups := map[int]*SamePersonGroup{}
	for i, ui := range held {
		root := find(i)
		g := groups[root]
		if g == nil {
			g = &SamePersonGroup{}
			groups[root] = g
		}
		g.Holders = append(g.Holders, SamePersonHolder{SeatHolder: users[ui], MonthlyCostCents: seatMonthlyCents(t, plan, addons, &users[ui])})
	}
	for k := range shared {
		g := groups[find(first[k])]
		g.Reasons = append(g.Reasons, SamePersonReason{Reason: k.reason, Key: k.key})
	}
	out := make([]SamePersonGroup, 0, len(groups))
	for _, g := range groups {
		if len(g.Holders) < 2 {
			continue
		}
		sort.Slice(g.Holders, func(i, j int) bool {
			return strings.ToLower(g.Holders[i].UserName) < strings.ToLower(g.Holders[j].UserName)
		})
		sort.Slice(g.Reasons, func(i, j int) bool {
			if g.Reasons[i].Reason != g.Reasons[j].Reason {
				return g.Reasons[i].Reason < g.Reasons[j].Reason
			}
			return g.Reasons[i].Key < g.Reasons[j].Key
		})
		var most int64
		for _, h := range g.Holders {
			g.MonthlyCostCents += h.MonthlyCostCents
			most = max(most, h.MonthlyCostCents)
		}
		g.ExtraMonthlyCents = g.MonthlyCostCents - most
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ExtraMonthlyCents != out[j].ExtraMonthlyCents {
			return out[i].ExtraMonthlyCents > out[j].ExtraMonthlyCents
		}
		return strings.ToLower(out[i].Holders[0].UserName) < strings.ToLower(out[j].Holders[0].UserName)
	})
	return out
}
