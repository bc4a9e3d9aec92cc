package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/store"
)

// The console-link parts of Change (store.Lock.Link, store.View.Link,
// store.Plan.NewLink and UseLink; schema in migrations/0019_console_links.sql).
// A redemption reads the link's user id without a lock, locks that user
// with the others (the order every user write takes), then locks the link
// row: a link's user never changes, so the first read cannot go stale.

const consoleLinkCols = `tenant_id, code_hash, user_id, created_by, created_at, expires_at, used_at`

// linkUser answers the user id of the tenant's link hash, "" when there is none.
func linkUser(ctx context.Context, tx pgx.Tx, tenantID string, hash []byte) (string, error) {
	var id string
	err := tx.QueryRow(ctx, `select user_id from console_links where tenant_id = $1 and code_hash = $2`, tenantID, hash).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

func queueLink(b *pgx.Batch, tenantID string, hash []byte) {
	if hash != nil {
		b.Queue(`select `+consoleLinkCols+` from console_links where tenant_id = $1 and code_hash = $2 for update`, tenantID, hash)
	}
}

// readLink reads the locked link into the View (nil when there is none).
func readLink(br pgx.BatchResults, hash []byte, v *store.View) error {
	if hash == nil {
		return nil
	}
	var l store.ConsoleLink
	err := br.QueryRow().Scan(&l.TenantID, &l.Hash, &l.UserID, &l.CreatedBy, &l.CreatedAt, &l.ExpiresAt, &l.UsedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	v.Link = &l
	return nil
}

// applyLinks stores a plan's new link and marks the locked one used.
func applyLinks(ctx context.Context, tx pgx.Tx, tenantID string, lock store.Lock, v *store.View, p *store.Plan) error {
	if l := p.NewLink; l != nil {
		if _, ok := v.Users[l.UserID]; !ok {
			return errors.New("postgres: a plan may store a console link only for a user it locked")
		}
		tag, err := tx.Exec(ctx, `insert into console_links (`+consoleLinkCols+`) values ($1, $2, $3, $4, $5, $6, null)
on conflict on constraint console_links_pkey do nothing`, tenantID, l.Hash, l.UserID, l.CreatedBy, l.CreatedAt, l.ExpiresAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return callerErr{&store.ConflictError{Field: "code", Value: "(console link code)"}}
		}
	}
	if p.UseLink {
		if v.Link == nil {
			return errors.New("postgres: a plan may use only the console link it locked")
		}
		if _, err := tx.Exec(ctx, `update console_links set used_at = $3 where tenant_id = $1 and code_hash = $2`,
			tenantID, lock.Link, v.Now); err != nil {
			return err
		}
	}
	return nil
}
