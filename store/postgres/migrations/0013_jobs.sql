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
-- person, one seat): the import looks users up by every address they hold,
-- case-insensitively. user_emails holds each live user's lower-cased
-- addresses, kept by a trigger in the statement of every user write (a
-- plain btree lookup: an expression index over the emails JSON was passed
-- over by the planner for the tenant's other indexes, leaving a scan of
-- every user per lookup).
create function roster_email_keys(emails jsonb) returns text[]
language sql immutable parallel safe as $$
    select coalesce(array_agg(distinct lower(e ->> 'value')) filter (where coalesce(e ->> 'value', '') <> ''), '{}')
    from jsonb_array_elements(case when jsonb_typeof(emails) = 'array' then emails else '[]'::jsonb end) as e
$$;

create table user_emails (
    tenant_id text not null,
    email_key text not null,
    user_id   text not null,
    constraint user_emails_pkey primary key (tenant_id, email_key, user_id)
);
create index user_emails_user_idx on user_emails (tenant_id, user_id);

create function roster_user_emails_sync() returns trigger language plpgsql as $$
begin
    if tg_op = 'UPDATE' and new.emails is not distinct from old.emails
       and (new.deleted_at is null) = (old.deleted_at is null) then
        return null;
    end if;
    if tg_op in ('UPDATE', 'DELETE') then
        delete from user_emails where tenant_id = old.tenant_id and user_id = old.id;
    end if;
    if tg_op in ('INSERT', 'UPDATE') and new.deleted_at is null then
        insert into user_emails (tenant_id, email_key, user_id)
        select new.tenant_id, k, new.id from unnest(roster_email_keys(new.emails)) as k
        on conflict do nothing;
    end if;
    return null;
end
$$;

create trigger users_emails_sync after insert or delete or update of emails, deleted_at on users
    for each row execute function roster_user_emails_sync();

insert into user_emails (tenant_id, email_key, user_id)
select u.tenant_id, k, u.id from users u, unnest(roster_email_keys(u.emails)) as k
where u.deleted_at is null
on conflict do nothing;
