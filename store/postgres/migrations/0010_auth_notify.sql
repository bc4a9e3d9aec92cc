-- The SCIM guard's answers (tenant, token, SAML configuration) are cached in
-- each rosterd process (store/postgres/authcache.go). These triggers tell
-- every process, at commit, which tenant's answers to drop: a change of the
-- tenant's plan, settings or name, its deletion, a token's revocation, hash,
-- name or deletion, any write of its SAML configuration. Seat counters and a
-- token's last use change on every request and notify nothing.
create function roster_auth_notify_tenant() returns trigger language plpgsql as $$
begin
	perform pg_notify('roster_auth', coalesce(new.id, old.id));
	return null;
end $$;

create function roster_auth_notify_owned() returns trigger language plpgsql as $$
begin
	perform pg_notify('roster_auth', coalesce(new.tenant_id, old.tenant_id));
	return null;
end $$;

create trigger tenants_auth_update after update on tenants for each row
	when ((old.plan, old.settings, old.name) is distinct from (new.plan, new.settings, new.name))
	execute function roster_auth_notify_tenant();
create trigger tenants_auth_delete after delete on tenants for each row
	execute function roster_auth_notify_tenant();

create trigger tokens_auth_update after update on tokens for each row
	when ((old.revoked_at, old.hash, old.name) is distinct from (new.revoked_at, new.hash, new.name))
	execute function roster_auth_notify_owned();
create trigger tokens_auth_delete after delete on tokens for each row
	execute function roster_auth_notify_owned();

create trigger saml_configs_auth after insert or update or delete on saml_configs for each row
	execute function roster_auth_notify_owned();
