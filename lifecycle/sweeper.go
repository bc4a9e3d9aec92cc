// Package lifecycle runs the user-lifecycle work that happens without a
// request: the access-expiry sweep. When an external user's accessExpiresAt
// passes, the sweep deactivates them and releases their seat (ledger reason
// "expired", an audit event by the system actor "access-expiry"), and purges
// ended sessions, spent SAML assertions and abandoned logins.
//
// The sweep keeps no state of its own: each run asks the store which users
// are due (store.DueExpirations) and deactivates each through
// directory.Expire, which re-checks, under the row lock, that the user is
// still active and expired. So it survives restarts (nothing is
// scheduled in memory) and any number of rosterd processes may sweep at once:
// a user due in two sweeps is deactivated by one, skipped by the other, and
// the seat is released once.
//
// Sign-in and sessions do not wait for the sweep: they refuse from the
// expiry instant (store.CanSignIn).
package lifecycle

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
)

// Actor is who the sweep's seat and audit events name.
var Actor = store.Actor{Kind: "system", ID: "access-expiry", Name: "access expiry sweep"}

// DefaultInterval is how often serve sweeps unless configured otherwise.
const DefaultInterval = time.Minute

// defaultBatch is how many due users one store query returns.
const defaultBatch = 100

// Sweeper deactivates users whose access has expired.
type Sweeper struct {
	Store    store.Store
	Now      func() time.Time // default time.Now
	Interval time.Duration    // Run's period; default DefaultInterval
	Batch    int              // due users per query; default 100
	Logger   zerolog.Logger
}

// Result is what one sweep did.
type Result struct {
	Expired int // users deactivated by this sweep
	Skipped int // due users another writer got to first (or who changed meanwhile)
	Failed  int // users whose deactivation failed; retried next sweep
	Purged  int // ended sessions, spent assertions and stale logins removed
}

// SweepOnce deactivates every user due at the sweeper's now, in batches,
// then purges what has expired. It returns the first error that stopped it;
// single failed users are counted, logged and left for the next sweep.
func (s *Sweeper) SweepOnce(ctx context.Context) (Result, error) {
	now := s.now()
	batch := s.Batch
	if batch <= 0 {
		batch = defaultBatch
	}
	var res Result
	dir := directory.New(s.Store)
	for {
		due, err := s.Store.DueExpirations(ctx, now, batch)
		if err != nil {
			return res, err
		}
		progress := 0
		for _, ref := range due {
			switch expired, err := dir.Expire(ctx, ref, now, Actor); {
			case err == nil && expired:
				res.Expired++
				progress++
			case err == nil, errors.Is(err, store.ErrNotFound):
				res.Skipped++
				progress++
			case ctx.Err() != nil:
				return res, ctx.Err()
			default:
				res.Failed++
				s.Logger.Error().Err(err).Str("tenant", ref.TenantID).Str("user", ref.UserID).Msg("access expiry: deactivation failed")
			}
		}
		// A short batch was the last; a batch where nothing moved would
		// come back the same (failures are retried next sweep).
		if len(due) < batch || progress == 0 {
			break
		}
	}
	n, err := s.Store.PurgeExpired(ctx, now)
	res.Purged = n
	if err != nil {
		return res, err
	}
	if res.Expired > 0 || res.Failed > 0 {
		s.Logger.Info().Int("expired", res.Expired).Int("skipped", res.Skipped).Int("failed", res.Failed).
			Msg("access expiry sweep")
	}
	return res, nil
}

// Run sweeps at once and then every Interval until ctx is done. A failed
// sweep is logged and retried at the next tick.
func (s *Sweeper) Run(ctx context.Context) {
	interval := s.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.SweepOnce(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Warn().Err(err).Msg("access expiry sweep failed; retrying at the next interval")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Sweeper) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}
