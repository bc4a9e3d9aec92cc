-- Indexes for the lookups IdPs send before every create (issue 3):
-- Entra ID's externalId matching attribute (filter externalId eq "…", compared
-- exactly) and the displayName lookups of group push (compared lower-cased, as
-- store/postgres/filter.go translates displayName eq). userName eq already uses
-- users_user_name_key_uq.
create index users_external_id_idx on users (tenant_id, external_id) where deleted_at is null;
create index groups_display_name_lower_idx on groups (tenant_id, lower(display_name));
create index groups_external_id_idx on groups (tenant_id, external_id);
