package main

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/internal/metrics"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres"
)

// This file is the one place rosterd names the PostgreSQL backend.

func migratePostgres(ctx context.Context, url string) error {
	return postgres.Migrate(ctx, url)
}

func openPostgres(ctx context.Context, url, listenURL string, now func() time.Time, newID func() string, log zerolog.Logger, m *metrics.Metrics) (store.Store, error) {
	s, err := postgres.Open(ctx, url, postgresOptions(postgres.Options{Now: now, NewID: newID, Logger: log, ListenURL: listenURL}, m))
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	readPostgresStats(m, s)
	return s, nil
}

// postgresOptions gives the store the metrics' batch-size hook.
func postgresOptions(o postgres.Options, m *metrics.Metrics) postgres.Options {
	if m != nil {
		o.BatchSize = m.BatchSize
	}
	return o
}

// readPostgresStats has the metrics read the store's cache and credential
// counters and its connection pool at every scrape.
func readPostgresStats(m *metrics.Metrics, s *postgres.Store) {
	m.ReadStoreStats(func() metrics.StoreStats {
		st := s.Stats()
		checks := func(c postgres.CheckCounts) metrics.CredentialChecks {
			return metrics.CredentialChecks{Match: uint64(c.Match), NoMatch: uint64(c.NoMatch), Unsure: uint64(c.Unsure)}
		}
		return metrics.StoreStats{AuthCacheHits: uint64(st.AuthCacheHits), AuthCacheMisses: uint64(st.AuthCacheMisses),
			Tokens: checks(st.Tokens), APIKeys: checks(st.APIKeys)}
	})
	m.ReadPoolStats(func() metrics.PoolStats {
		st := s.Pool().Stat()
		return metrics.PoolStats{Acquired: st.AcquiredConns(), Idle: st.IdleConns(), Total: st.TotalConns(), Max: st.MaxConns(),
			AcquireCount: st.AcquireCount(), EmptyAcquireCount: st.EmptyAcquireCount(),
			CanceledAcquireCount: st.CanceledAcquireCount(), AcquireDuration: st.AcquireDuration()}
	})
}
