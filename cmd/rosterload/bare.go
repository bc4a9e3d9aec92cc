package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The bare baseline: the least a Go HTTP server can do for each request on
// the same PostgreSQL database — decode the body, run one pgx statement,
// encode the answer. No authentication, no SCIM library, no seat ledger, no
// audit. Its tables bare_users and bare_members are shaped like users and
// group_members (same columns and defaults, primary key and the unique
// userName index, no foreign keys; bare_members without group_members'
// user_seq, Roster's read order of members, which a plain insert of the
// ids a request names does not know); its reads go to the real users table of
// the seeded tenant, through the same indexes rosterd uses.

// bareSchema (re)creates the baseline's tables, empty.
const bareSchema = `drop table if exists bare_users, bare_members;
create table bare_users (like users including defaults);
alter table bare_users add constraint bare_users_pkey primary key (tenant_id, id);
create unique index bare_users_user_name_key_uq on bare_users (tenant_id, user_name_key) where deleted_at is null;
create table bare_members (like group_members including defaults);
alter table bare_members drop column user_seq;
alter table bare_members add constraint bare_members_pkey primary key (tenant_id, group_id, user_id)`

func prepareBare(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, bareSchema)
	return err
}

// bareServer serves the baseline under /bare/.
type bareServer struct {
	pool   *pgxpool.Pool
	tenant string // the tenant whose users the reads find
}

func (b *bareServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /bare/Users", b.createUser)
	mux.HandleFunc("GET /bare/Users", b.listUsers)
	mux.HandleFunc("GET /bare/Users/{id}", b.getUser)
	mux.HandleFunc("PATCH /bare/Groups/{id}", b.addMembers)
	return mux
}

// bareUser is what the baseline reads from a POST body and writes back.
type bareUser struct {
	ID          string          `json:"id"`
	ExternalID  string          `json:"externalId,omitempty"`
	UserName    string          `json:"userName"`
	Name        bareName        `json:"name"`
	DisplayName string          `json:"displayName,omitempty"`
	Active      bool            `json:"active"`
	Emails      json.RawMessage `json:"emails,omitempty"`
	Version     int64           `json:"-"`
	Created     time.Time       `json:"-"`
	Meta        *bareMeta       `json:"meta,omitempty"`
}

type bareName struct {
	GivenName  string `json:"givenName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
}

type bareMeta struct {
	ResourceType string    `json:"resourceType"`
	Created      time.Time `json:"created"`
	LastModified time.Time `json:"lastModified"`
	Version      string    `json:"version"`
}

func (u *bareUser) finish() {
	u.Meta = &bareMeta{ResourceType: "User", Created: u.Created, LastModified: u.Created, Version: fmt.Sprintf(`W/"%d"`, u.Version)}
}

func (b *bareServer) createUser(w http.ResponseWriter, r *http.Request) {
	var u bareUser
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<20)).Decode(&u); err != nil || u.UserName == "" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	u.ID, u.Version, u.Created = uuid.NewString(), 1, time.Now().UTC()
	emails := []byte(u.Emails)
	if len(emails) == 0 {
		emails = nil
	}
	_, err := b.pool.Exec(r.Context(), `insert into bare_users
	(tenant_id, id, seq, external_id, user_name, user_name_key, name_given, name_family, display_name, active, emails, role, seat, version, created_at, updated_at)
values ($1, $2, (extract(epoch from clock_timestamp()) * 1e6)::bigint, $3, $4, $5, $6, $7, $8, $9, $10, 'agent', 'full', 1, $11, $11)`,
		b.tenant, u.ID, u.ExternalID, u.UserName, strings.ToLower(u.UserName), u.Name.GivenName, u.Name.FamilyName,
		u.DisplayName, u.Active, emails, u.Created)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	u.finish()
	writeBare(w, http.StatusCreated, u)
}

const bareUserCols = `id, external_id, user_name, name_given, name_family, display_name, active, emails, version, created_at`

func scanBare(row pgx.Row) (bareUser, error) {
	var u bareUser
	var emails []byte
	err := row.Scan(&u.ID, &u.ExternalID, &u.UserName, &u.Name.GivenName, &u.Name.FamilyName, &u.DisplayName,
		&u.Active, &emails, &u.Version, &u.Created)
	u.Emails = emails
	u.finish()
	return u, err
}

func (b *bareServer) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := scanBare(b.pool.QueryRow(r.Context(), `select `+bareUserCols+` from users
where tenant_id = $1 and id = $2 and deleted_at is null`, b.tenant, r.PathValue("id")))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		http.Error(w, "not found", http.StatusNotFound)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	default:
		writeBare(w, http.StatusOK, u)
	}
}

type bareList struct {
	Schemas      []string   `json:"schemas"`
	TotalResults int        `json:"totalResults"`
	StartIndex   int        `json:"startIndex"`
	ItemsPerPage int        `json:"itemsPerPage"`
	Resources    []bareUser `json:"Resources"`
}

// listUsers answers the two reads IdPs page and look up with: a userName eq
// filter (one probe of the unique userName index) or a page by creation
// order with the total (one statement).
func (b *bareServer) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out := bareList{Schemas: []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"}, StartIndex: 1, Resources: []bareUser{}}
	if f := q.Get("filter"); f != "" {
		value, ok := eqValue(f, "userName")
		if !ok {
			http.Error(w, "only userName eq", http.StatusBadRequest)
			return
		}
		u, err := scanBare(b.pool.QueryRow(r.Context(), `select `+bareUserCols+` from users
where tenant_id = $1 and user_name_key = $2 and deleted_at is null`, b.tenant, strings.ToLower(value)))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		default:
			out.Resources = append(out.Resources, u)
		}
		out.TotalResults, out.ItemsPerPage = len(out.Resources), len(out.Resources)
		writeBare(w, http.StatusOK, out)
		return
	}
	start, _ := strconv.Atoi(q.Get("startIndex"))
	count, err := strconv.Atoi(q.Get("count"))
	if err != nil {
		count = 100
	}
	start = max(start, 1)
	rows, err := b.pool.Query(r.Context(), `select `+bareUserCols+`,
	(select count(*) from users where tenant_id = $1 and deleted_at is null)
from users where tenant_id = $1 and deleted_at is null order by seq offset $2 limit $3`, b.tenant, start-1, count)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for rows.Next() {
		var u bareUser
		var emails []byte
		if err := rows.Scan(&u.ID, &u.ExternalID, &u.UserName, &u.Name.GivenName, &u.Name.FamilyName, &u.DisplayName,
			&u.Active, &emails, &u.Version, &u.Created, &out.TotalResults); err != nil {
			rows.Close()
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		u.Emails = emails
		u.finish()
		out.Resources = append(out.Resources, u)
	}
	if err := rows.Err(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out.StartIndex, out.ItemsPerPage = start, len(out.Resources)
	writeBare(w, http.StatusOK, out)
}

// eqValue reads `attr eq "value"` (attribute case-insensitive), the one
// filter shape the baseline understands.
func eqValue(filter, attr string) (string, bool) {
	name, rest, ok := strings.Cut(strings.TrimSpace(filter), " ")
	if !ok || !strings.EqualFold(name, attr) {
		return "", false
	}
	op, lit, ok := strings.Cut(strings.TrimSpace(rest), " ")
	if !ok || !strings.EqualFold(op, "eq") {
		return "", false
	}
	var v string
	if err := json.Unmarshal([]byte(strings.TrimSpace(lit)), &v); err != nil {
		return "", false
	}
	return v, true
}

// addMembers decodes a PATCH adding members and inserts them in one
// INSERT … SELECT unnest(…).
func (b *bareServer) addMembers(w http.ResponseWriter, r *http.Request) {
	var p struct {
		Operations []struct {
			Op    string `json:"op"`
			Path  string `json:"path"`
			Value []struct {
				Value string `json:"value"`
			} `json:"value"`
		} `json:"Operations"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<20)).Decode(&p); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	var ids []string
	for _, op := range p.Operations {
		for _, v := range op.Value {
			ids = append(ids, v.Value)
		}
	}
	if err := bareInsertMembers(r.Context(), b.pool, b.tenant, r.PathValue("id"), ids); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// bareInsertMembers is the bare membership write: one INSERT … SELECT unnest(…).
func bareInsertMembers(ctx context.Context, pool *pgxpool.Pool, tenant, groupID string, userIDs []string) error {
	_, err := pool.Exec(ctx, `insert into bare_members (tenant_id, group_id, user_id) select $1, $2, unnest($3::text[])`,
		tenant, groupID, userIDs)
	return err
}

func writeBare(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
