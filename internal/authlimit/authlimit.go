// Package authlimit limits failed authentications by source address and
// overall, and says which address a request comes from.
//
// The rule it serves (README "Tenants, tokens and the gates in front of
// SCIM"): failed authentication never throttles a valid credential. A
// caller checks the credential first and consults a Budget only for what a
// correct credential never needs: the database read of a token the server
// does not know, or the answer to a wrong one. Budgets are kept per source
// address, never per tenant or any other text of the request, so that
// neither a made-up URL nor someone else's failures can spend anyone's
// allowance, and a global budget caps what many sources together can cost.
package authlimit

import (
	"time"

	"github.com/roster-dev/roster/internal/ratelimit"
)

// globalKey is the global bucket's key; source keys are IP addresses or
// prefixes, never empty.
const globalKey = ""

// Budget is a failure budget: PerSource failures a second for each source
// address (burst twice that) and Global a second for all sources together
// (burst twice that).
type Budget struct {
	perSource, global float64
	sources           *ratelimit.Buckets
	all               *ratelimit.Buckets
}

// NewBudget makes a budget; a rate of 0 or less means no limit of that kind.
func NewBudget(perSource, global int) *Budget {
	b := &Budget{perSource: float64(perSource), global: float64(global)}
	b.sources = ratelimit.New(func(string) (float64, float64) { return b.perSource, 2 * b.perSource })
	b.all = ratelimit.New(func(string) (float64, float64) { return b.global, 2 * b.global })
	return b
}

// Allows says whether a failure of source would still be within budget,
// without spending any; when not, how long until it would be.
func (b *Budget) Allows(source string, now time.Time) (time.Duration, bool) {
	if b.perSource > 0 {
		if wait, ok := b.sources.Allows(source, now); !ok {
			return wait, false
		}
	}
	if b.global > 0 {
		if wait, ok := b.all.Allows(globalKey, now); !ok {
			return wait, false
		}
	}
	return 0, true
}

// Spend records a failure of source.
func (b *Budget) Spend(source string, now time.Time) {
	if b.perSource > 0 {
		b.sources.Spend(source, now)
	}
	if b.global > 0 {
		b.all.Spend(globalKey, now)
	}
}

// Sources is the number of source addresses held (bounded by ratelimit.MaxKeys).
func (b *Budget) Sources() int { return b.sources.Size() }
