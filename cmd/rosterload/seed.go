package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/saml"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres"
)

// Seeding writes the benchmark's data straight into rosterd's PostgreSQL
// database. Tenants, their SAML configuration and their tokens go through the
// store (postgres.Store), exactly as the admin API writes them; the users and
// the big group's memberships go in with server-side INSERT … SELECT
// generate_series statements in batches, using the store's schema the way the
// store writes it (ids are UUIDs, seq from the tenant's user_seq,
// user_name_key = lower(userName), which is store.FoldKey for these ASCII
// names). That loads 1,000,000 users in about a minute instead of hours.
//
// Seeded users are inactive and hold no seat, so the tenant's seat counters
// and ledger stay consistent without a million ledger rows; seeding writes no
// audit events. userName of user i (0-based) is user%09d@example.com.

// state is what seed leaves for run: where things are and how to reach them.
type state struct {
	Tenant      string `json:"tenant"`       // 1,000,000 users: lookups, gets, group scenarios
	Token       string `json:"token"`        // SCIM token of Tenant
	Users       int    `json:"users"`        // users seeded in Tenant
	PageTenant  string `json:"page_tenant"`  // 100,000 users: the paging scenario
	PageToken   string `json:"page_token"`   // SCIM token of PageTenant
	PageUsers   int    `json:"page_users"`   // users seeded in PageTenant
	BigGroup    string `json:"big_group"`    // a group of Tenant with BigMembers members
	BigMembers  int    `json:"big_members"`  // members of BigGroup
	EmptyGroup  string `json:"empty_group"`  // a group of Tenant without members
	SeededAt    string `json:"seeded_at"`    // RFC 3339
	SeedSeconds int    `json:"seed_seconds"` // how long seeding took
}

type seedOptions struct {
	DB           string
	Tenant       string
	Users        int
	PageTenant   string
	PageUsers    int
	BigMembers   int
	MetadataPath string // IdP metadata that passes saml.ValidateMetadata
	Random       io.Reader
	Log          io.Writer
}

func seed(ctx context.Context, o seedOptions) (state, error) {
	start := time.Now()
	if o.Random == nil {
		o.Random = rand.Reader
	}
	md, err := os.ReadFile(o.MetadataPath)
	if err != nil {
		return state{}, fmt.Errorf("read IdP metadata for the SSO prerequisite: %w", err)
	}
	idp, err := saml.ValidateMetadata(md, time.Now())
	if err != nil {
		return state{}, fmt.Errorf("%s: %w", o.MetadataPath, err)
	}
	st, err := postgres.Open(ctx, o.DB, postgres.Options{})
	if err != nil {
		return state{}, err
	}
	defer st.Close()
	pool := st.Pool()

	out := state{Tenant: o.Tenant, Users: o.Users, PageTenant: o.PageTenant, PageUsers: o.PageUsers, BigMembers: o.BigMembers}
	for _, t := range []struct {
		id    string
		users int
		token *string
	}{{o.Tenant, o.Users, &out.Token}, {o.PageTenant, o.PageUsers, &out.PageToken}} {
		if *t.token, err = seedTenant(ctx, st, t.id, idp, string(md), o.Random); err != nil {
			return state{}, fmt.Errorf("tenant %s: %w", t.id, err)
		}
		if err := seedUsers(ctx, pool, t.id, t.users, o.Log); err != nil {
			return state{}, fmt.Errorf("tenant %s: %w", t.id, err)
		}
	}
	if out.BigGroup, err = seedGroup(ctx, pool, o.Tenant, "Everyone (load test)", o.BigMembers); err != nil {
		return state{}, err
	}
	if out.EmptyGroup, err = seedGroup(ctx, pool, o.Tenant, "Nobody (load test)", 0); err != nil {
		return state{}, err
	}
	if _, err := pool.Exec(ctx, `analyze users; analyze groups; analyze group_members`); err != nil {
		return state{}, err
	}
	out.SeededAt = time.Now().UTC().Format(time.RFC3339)
	out.SeedSeconds = int(time.Since(start).Seconds())
	return out, nil
}

// seedTenant creates an Ultimate tenant with no rate limit, room for a
// hundred million seats and a validated SAML configuration (both SCIM
// gates pass), and returns a new SCIM token for it.
func seedTenant(ctx context.Context, st *postgres.Store, id string, idp saml.IdP, metadata string, random io.Reader) (string, error) {
	settings := store.DefaultSettings()
	settings.RateLimitPerSecond = 0 // the load would be rate-limited at 100/s otherwise
	if _, err := st.CreateTenant(ctx, store.Tenant{ID: id, Name: "Load test " + id, Plan: "ultimate",
		Seats: 100_000_000, Settings: settings}, seedActor); err != nil {
		return "", err
	}
	if _, err := st.PutSAMLConfig(ctx, id, store.SAMLConfig{MetadataXML: metadata, EntityID: idp.EntityID,
		SSOURL: idp.SSOURL, CertNotAfter: idp.CertNotAfter}, seedActor); err != nil {
		return "", err
	}
	plain, tokenID, hash, err := auth.New(random)
	if err != nil {
		return "", err
	}
	if _, err := st.CreateToken(ctx, id, store.Token{ID: tokenID, Name: "rosterload", Hash: hash}, seedActor); err != nil {
		return "", err
	}
	return plain, nil
}

// seedActor is who the audit trail names for the seeded tenants.
var seedActor = store.Actor{Kind: "admin", ID: "rosterload", Name: "rosterload seed"}

const seedBatch = 100_000

// seedUsers inserts n users into tenant in batches.
func seedUsers(ctx context.Context, pool *pgxpool.Pool, tenant string, n int, log io.Writer) error {
	for from := 0; from < n; from += seedBatch {
		k := min(seedBatch, n-from)
		if _, err := pool.Exec(ctx, seedUsersSQL, tenant, k, from); err != nil {
			return fmt.Errorf("seed users %d…%d: %w", from, from+k-1, err)
		}
		if log != nil {
			fmt.Fprintf(log, "seeded %d/%d users of %s\n", from+k, n, tenant)
		}
	}
	return nil
}

// seedUsersSQL inserts users $3 … $3+$2-1 of tenant $1.
const seedUsersSQL = `with t as (
	update tenants set user_seq = user_seq + $2 where id = $1 returning user_seq - $2 as base
)
insert into users (tenant_id, id, seq, external_id, user_name, user_name_key, name_given, name_family,
	display_name, active, emails, role, seat, version, created_at, updated_at)
select $1, gen_random_uuid()::text, t.base + (g - $3) + 1, 'ext-' || g, n.name, n.name, 'Seed', 'User' || g,
	'Seed User' || g, false, jsonb_build_array(jsonb_build_object('value', n.name, 'type', 'work', 'primary', true)),
	'agent', 'none', 1, now(), now()
from t, generate_series($3::bigint, $3::bigint + $2 - 1) as g,
	lateral (select 'user' || lpad(g::text, 9, '0') || '@example.com' as name) as n`

// seedGroup creates a group whose members are the tenant's first members
// users (creation order) and returns its id.
func seedGroup(ctx context.Context, pool *pgxpool.Pool, tenant, name string, members int) (string, error) {
	id := uuid.NewString()
	tx, err := pool.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit, a no-op
	if _, err := tx.Exec(ctx, `with t as (
	update tenants set group_seq = group_seq + 1 where id = $1 returning group_seq
)
insert into groups (tenant_id, id, seq, display_name, display_name_key, external_id, version, created_at, updated_at)
select $1, $2, t.group_seq, $3, lower($3), '', 1, now(), now() from t`, tenant, id, name); err != nil {
		return "", fmt.Errorf("seed group %q: %w", name, err)
	}
	if _, err := tx.Exec(ctx, `insert into group_members (tenant_id, group_id, user_id, user_seq)
select $1, $2, id, seq from users where tenant_id = $1 and deleted_at is null order by seq limit $3`, tenant, id, members); err != nil {
		return "", fmt.Errorf("seed members of %q: %w", name, err)
	}
	if _, err := tx.Exec(ctx, `insert into group_member_counts (tenant_id, group_id, members) values ($1, $2, $3)
on conflict (tenant_id, group_id) do update set members = excluded.members`, tenant, id, members); err != nil {
		return "", err
	}
	return id, tx.Commit(ctx)
}

// userIDs returns the ids of the tenant's users in creation order, from
// offset, at most n.
func userIDs(ctx context.Context, pool *pgxpool.Pool, tenant string, offset, n int) ([]string, error) {
	return queryIDs(ctx, pool, `select id from users where tenant_id = $1 and deleted_at is null order by seq offset $2 limit $3`,
		tenant, offset, n)
}

// queryIDs answers the first column of every row of sql.
func queryIDs(ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) ([]string, error) {
	rows, err := pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func writeState(path string, s state) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

func readState(path string) (state, error) {
	var s state
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
