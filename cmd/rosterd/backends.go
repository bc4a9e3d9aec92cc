package main

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres"
)

// This file is the one place rosterd names the PostgreSQL backend.

func migratePostgres(ctx context.Context, url string) error {
	return postgres.Migrate(ctx, url)
}

func openPostgres(ctx context.Context, url, listenURL string, now func() time.Time, newID func() string, log zerolog.Logger) (store.Store, error) {
	s, err := postgres.Open(ctx, url, postgres.Options{Now: now, NewID: newID, Logger: log, ListenURL: listenURL})
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return s, nil
}
