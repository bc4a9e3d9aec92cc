-- 0004_group_member_counts: a group's member count without counting.
--
-- Every group read and write returns MemberCount; counting group_members
-- made adding one member cost as much as the group is large. The count lives
-- in its own row, not in groups, because of lock order: a group update locks
-- the group row, then the users it adds (FOR SHARE), then membership rows,
-- and only then this counter; a user deletion locks the user, then its
-- membership rows, then the counters of its groups (in group id order).
-- Had the count been on the group row, a deletion would wait for a group an
-- update holds while the update waits for the user the deletion holds.

create table group_member_counts (
    tenant_id text   not null,
    group_id  text   not null,
    members   bigint not null default 0,
    constraint group_member_counts_pkey primary key (tenant_id, group_id),
    constraint group_member_counts_group_fkey foreign key (tenant_id, group_id)
        references groups (tenant_id, id) on delete cascade,
    constraint group_member_counts_members_check check (members >= 0)
);

insert into group_member_counts (tenant_id, group_id, members)
select g.tenant_id, g.id, (select count(*) from group_members m where m.tenant_id = g.tenant_id and m.group_id = g.id)
from groups g;
