package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLockKey is the pg_advisory_xact_lock key that serialises migrators of
// one database ("roster" in ASCII).
const migrationLockKey int64 = 0x726f73746572

// Migrate applies the embedded migrations that the database at url lacks.
// It is what `rosterd migrate` runs; Open runs it too.
func Migrate(ctx context.Context, url string) error {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("postgres: parse database url: %w", err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer pool.Close()
	return migrateFS(ctx, pool, embeddedMigrations())
}

func embeddedMigrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists by construction
	}
	return sub
}

// migrateFS applies the *.sql files of fsys in name order, each in its own
// transaction, recording each in schema_migrations. Migrators of one database
// take turns under an advisory lock, so a migration is applied once even when
// several processes start together. A failing migration rolls back alone: the
// schema stays at the last good version and the error names the file.
//
// The lock is transaction-scoped (pg_advisory_xact_lock), taken again by
// every migration's transaction, which re-reads what is applied under it.
// A session lock would not survive a pooler in transaction mode (PgBouncer):
// each statement may run on another server connection, so the lock would be
// taken on one and released (or not) on another, leaving it held by an idle
// server connection forever and the next migrator waiting on it.
func migrateFS(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) error {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return fmt.Errorf("postgres: list migrations: %w", err)
	}
	slices.Sort(names)
	for _, name := range names {
		version := strings.TrimSuffix(path.Base(name), ".sql")
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", name, err)
		}
		if err := applyMigration(ctx, pool, name, version, string(body)); err != nil {
			return err
		}
	}
	return nil
}

// applyMigration applies one migration in a transaction of its own, under
// the migrators' lock, unless schema_migrations already records it.
func applyMigration(ctx context.Context, pool *pgxpool.Pool, name, version, body string) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "select pg_advisory_xact_lock($1)", migrationLockKey); err != nil {
			return fmt.Errorf("postgres: migrate: take lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `create table if not exists schema_migrations (
	version    text        not null,
	applied_at timestamptz not null default now(),
	constraint schema_migrations_pkey primary key (version)
)`); err != nil {
			return fmt.Errorf("postgres: migrate: create schema_migrations: %w", err)
		}
		var applied bool
		if err := tx.QueryRow(ctx, "select exists (select 1 from schema_migrations where version = $1)", version).Scan(&applied); err != nil {
			return fmt.Errorf("postgres: migrate: read schema_migrations: %w", err)
		}
		if applied {
			return nil
		}
		// No arguments: pgx sends the simple protocol, so a file may hold
		// several statements.
		if _, err := tx.Exec(ctx, body); err != nil {
			// An operator reads this: the server's message says what is wrong.
			return fmt.Errorf("postgres: migration %s failed, schema left at the previous version: %w", name, err)
		}
		if _, err := tx.Exec(ctx, "insert into schema_migrations (version) values ($1)", version); err != nil {
			return fmt.Errorf("postgres: migration %s failed, schema left at the previous version: %w", name, err)
		}
		return nil
	})
}
