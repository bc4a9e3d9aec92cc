package postgres

import (
	"sync/atomic"

	"github.com/roster-dev/roster/store"
)

// Stats are counters of what the store answered from memory rather than
// the database, since it was opened: for the metrics that rosterd serves
// (cmd/rosterd reads them at every scrape) and for load figures.
type Stats struct {
	// AuthCacheHits counts Authenticate answered from the cache,
	// AuthCacheMisses those that read the database (AuthReads).
	AuthCacheHits, AuthCacheMisses int64
	// Tokens counts CheckToken's answers, APIKeys CheckAPIKey's.
	Tokens, APIKeys CheckCounts
}

// CheckCounts count a credential check's answers: the hash matched, did
// not, or the store could not tell without a read (unsure).
type CheckCounts struct{ Match, NoMatch, Unsure int64 }

// Stats reads the counters. They are updated with atomic additions on the
// request paths; a read is a consistent view of each counter, not of all
// of them at one instant.
func (s *Store) Stats() Stats {
	return Stats{
		AuthCacheHits:   s.authHits.Load(),
		AuthCacheMisses: s.authReads.Load(),
		Tokens:          s.tokenChecks.load(),
		APIKeys:         s.keyChecks.load(),
	}
}

type checkCounts struct{ match, noMatch, unsure atomic.Int64 }

// count records a check's answer and passes it on.
func (c *checkCounts) count(r store.TokenCheck) store.TokenCheck {
	switch r {
	case store.TokenMatch:
		c.match.Add(1)
	case store.TokenNoMatch:
		c.noMatch.Add(1)
	default:
		c.unsure.Add(1)
	}
	return r
}

func (c *checkCounts) load() CheckCounts {
	return CheckCounts{Match: c.match.Load(), NoMatch: c.noMatch.Load(), Unsure: c.unsure.Load()}
}
