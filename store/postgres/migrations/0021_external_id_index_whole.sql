-- 0021_external_id_index_whole: the externalId index covers every user row.
--
-- It was partial (where deleted_at is null). On a table PostgreSQL has no
-- statistics for yet — a new database, right after an IdP's first sync
-- created its users, before autovacuum analyses the table — the planner
-- takes "deleted_at is null" to hold for 0.5 % of the rows, so a partial
-- index looks 200 times smaller than it is, and an index whose first column
-- is tenant_id looked as good as the unique index for a lookup by userName
-- or the primary key for a lookup by id: PostgreSQL then walked every user
-- of the tenant for each lookup (3.6 ms a member added, 20,000 users).
-- Whole, it holds a row per user of the tenant in the planner's eyes too,
-- and loses to any index that names the user. Lookups by externalId keep
-- testing deleted_at is null themselves.
drop index users_external_id_idx;
create index users_external_id_idx on users (tenant_id, external_id);
