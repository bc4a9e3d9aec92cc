-- Who owns a user or a team: the IdP that pushes it over SCIM ('scim', with
-- the SCIM token's name as the IdP's name) or the tenant's admins ('manual':
-- invited, imported, created through the admin API; '' is read as manual). A manual change of what
-- the IdP pushes is refused unless the tenant allows overrides; then the
-- user is marked drifted until the IdP writes them again (package directory).
-- (0018: migration 0017 is another change's.)
alter table users
    add column managed    text not null default '',
    add column idp        text not null default '',
    add column drifted_at timestamptz,
    add constraint users_managed_check check (managed in ('', 'scim', 'manual'));

alter table groups
    add column managed text not null default '',
    add column idp     text not null default '',
    add constraint groups_managed_check check (managed in ('', 'scim', 'manual'));

-- Existing users and groups: owned by the IdP when a SCIM token wrote them
-- last (the audit trail names the actor of every write).
update users u set managed = 'scim', idp = a.actor_name
from (
    select distinct on (tenant_id, target_id) tenant_id, target_id, actor_kind, actor_name
    from audit_events
    where target_type = 'user' and action in ('user.created', 'user.updated')
    order by tenant_id, target_id, seq desc
) a
where a.tenant_id = u.tenant_id and a.target_id = u.id and a.actor_kind = 'token';

update groups g set managed = 'scim', idp = a.actor_name
from (
    select distinct on (tenant_id, target_id) tenant_id, target_id, actor_kind, actor_name
    from audit_events
    where target_type = 'group' and action in ('group.created', 'group.updated')
    order by tenant_id, target_id, seq desc
) a
where a.tenant_id = g.tenant_id and a.target_id = g.id and a.actor_kind = 'token';
