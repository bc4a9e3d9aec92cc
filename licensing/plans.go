// Package licensing holds Roster's commercial rules as data and pure
// functions: plans, prices, feature gates, add-ons. No I/O.
package licensing

import (
	"fmt"
	"slices"
	"strings"
)

// Feature is something a plan includes or not.
type Feature string

const (
	SAMLSSO     Feature = "saml_sso"
	SCIM        Feature = "scim"
	CustomRoles Feature = "custom_roles"
	AIFeatures  Feature = "ai_features"
)

// Plan is one row of the price list.
type Plan struct {
	ID             string
	Name           string
	SeatPriceCents int // per seat per month, billed annually
	Features       []Feature
	IncludesAddons []string // add-ons the plan bundles at no extra cost
	Paid           bool
	MinimumSeats   int
	BilledAnnually bool
}

// Has says whether the plan includes a feature.
func (p Plan) Has(f Feature) bool { return slices.Contains(p.Features, f) }

// MinimumSeats is the contract minimum of every paid plan.
const MinimumSeats = 8

// Plan ids.
const (
	Trial            = "trial"
	Enterprise       = "enterprise"
	EnterpriseBundle = "enterprise_bundle"
	Ultimate         = "ultimate"
)

var plans = []Plan{
	{ID: Trial, Name: "Trial"},
	{ID: Enterprise, Name: "Enterprise", SeatPriceCents: 8900, Paid: true, MinimumSeats: MinimumSeats, BilledAnnually: true,
		Features: []Feature{CustomRoles}},
	{ID: EnterpriseBundle, Name: "Enterprise Bundle", SeatPriceCents: 12900, Paid: true, MinimumSeats: MinimumSeats, BilledAnnually: true,
		Features: []Feature{CustomRoles, AIFeatures}, IncludesAddons: []string{AddonAICopilot}},
	{ID: Ultimate, Name: "Ultimate", SeatPriceCents: 13900, Paid: true, MinimumSeats: MinimumSeats, BilledAnnually: true,
		Features: []Feature{SAMLSSO, SCIM, CustomRoles}},
}

// Plans returns the price list, cheapest first.
func Plans() []Plan {
	out := make([]Plan, len(plans))
	copy(out, plans)
	return out
}

// Lookup returns a plan by id.
func Lookup(id string) (Plan, bool) {
	for _, p := range plans {
		if p.ID == id {
			return p, true
		}
	}
	return Plan{}, false
}

// PlanIDs lists the plan ids, for error messages.
func PlanIDs() []string {
	out := make([]string, 0, len(plans))
	for _, p := range plans {
		out = append(out, p.ID)
	}
	return out
}

// PlansWith lists the ids of the plans that include a feature.
func PlansWith(f Feature) []string {
	var out []string
	for _, p := range plans {
		if p.Has(f) {
			out = append(out, p.ID)
		}
	}
	return out
}

// Add-on ids.
const (
	AddonAICopilot = "ai_copilot"
	AddonHIPAA     = "hipaa"
)

// Addon is a per-active-user monthly extra.
type Addon struct {
	ID             string
	Name           string
	UserPriceCents int // per active user per month
}

var addons = []Addon{
	{ID: AddonAICopilot, Name: "AI Copilot", UserPriceCents: 4000},
	{ID: AddonHIPAA, Name: "HIPAA Compliance", UserPriceCents: 2500},
}

// LookupAddon returns an add-on by id.
func LookupAddon(id string) (Addon, bool) {
	for _, a := range addons {
		if a.ID == id {
			return a, true
		}
	}
	return Addon{}, false
}

// ValidateAddons checks a list of add-on ids: each known, none twice.
func ValidateAddons(ids []string) error {
	seen := map[string]bool{}
	for _, id := range ids {
		if _, ok := LookupAddon(id); !ok {
			known := make([]string, 0, len(addons))
			for _, a := range addons {
				known = append(known, a.ID)
			}
			return fmt.Errorf("unknown add-on %q; known add-ons: %s", id, strings.Join(known, ", "))
		}
		if seen[id] {
			return fmt.Errorf("add-on %q is listed twice", id)
		}
		seen[id] = true
	}
	return nil
}

// UsableSeats is the full-seat cap of a tenant: what its users may hold
// before a further activation is refused (unless overage is allowed). On a
// paid plan it is the contract minimum or the purchased seats, whichever is
// higher — a tenant billed for the minimum may use it. A trial (and an
// unknown plan id) bills nothing and has no minimum: its cap is the purchased
// seats the operator granted for the trial, so a trial is never given seats
// nobody set. Every backend's cap agrees with this function (the PostgreSQL
// one in SQL, migration 0014; store/postgres tests compare the two).
func UsableSeats(p Plan, purchased int) int {
	if !p.Paid {
		return purchased
	}
	return max(p.MinimumSeats, purchased)
}

// BillableSeats is what a paid plan bills for: the contract minimum, the
// purchased seats or the seats in use, whichever is highest.
func BillableSeats(p Plan, purchased, consumed int) int {
	if !p.Paid {
		return 0
	}
	return max(p.MinimumSeats, purchased, consumed)
}
