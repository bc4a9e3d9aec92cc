-- 0013_jobs: background jobs (a CSV import of more than 1,000 rows, or one
-- sent with Prefer: respond-async) and their per-row results, kept so that
-- any rosterd can answer their progress and a restarted one can resume them
-- (store/postgres/jobs.go). A runner claims a job with a lease
-- (lease_owner until lease_until, FOR UPDATE SKIP LOCKED); only the holder
-- records progress. Deleting the tenant deletes its jobs.
create table jobs (
    tenant_id   text        not null,
    id          text        not null,
    kind        text        not null,
    params      jsonb       not null default '{}',
    input       bytea       not null,
    state       text        not null,
    total       integer     not null default 0,
    processed   integer     not null default 0,
    counts      jsonb       not null default '{}',
    error       text        not null default '',
    actor_kind  text        not null default '',
    actor_id    text        not null default '',
    actor_name  text        not null default '',
    actor_request_id text   not null default '',
    created_at  timestamptz not null,
    started_at  timestamptz,
    finished_at timestamptz,
    updated_at  timestamptz not null,
    lease_owner text        not null default '',
    lease_until timestamptz,
    constraint jobs_pkey primary key (tenant_id, id),
    constraint jobs_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade,
    constraint jobs_state_check check (state in ('queued', 'running', 'succeeded', 'failed'))
);
-- What a claim looks for: jobs not done, oldest first.
create index jobs_claimable_idx on jobs (created_at) where state in ('queued', 'running');

create table job_results (
    tenant_id text    not null,
    job_id    text    not null,
    n         integer not null,
    data      jsonb   not null,
    constraint job_results_pkey primary key (tenant_id, job_id, n),
    constraint job_results_job_fkey foreign key (tenant_id, job_id) references jobs (tenant_id, id) on delete cascade
);

-- A CSV row whose email belongs to an existing user updates that user (one
-- person, one seat): the import looks a row's addresses up against each live
-- user's primary email (else the first), lower-cased (store.EmailKey), keyed
-- with the tenant in front so that no other (tenant_id, …) index competes
-- for the lookup on a table not yet analysed (emailKeySQL in
-- store/postgres/import.go must stay this expression). A plain expression
-- index, not a trigger-kept table or a GIN index over every address: either
-- of those roughly doubled or raised by two thirds the cost of every user
-- creation, where this index adds about 5 %.
create index users_email_key_idx on users
    ((tenant_id || ':' || lower(coalesce(jsonb_path_query_first(emails, '$[*] ? (@.primary == true).value'), emails -> 0 -> 'value') #>> '{}')))
    where deleted_at is null;
