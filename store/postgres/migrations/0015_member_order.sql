-- 0015_member_order: read a group's members in chunks, in order.
--
-- A group's members are answered in user creation order (users.seq). SCIM
-- answers a big group a chunk at a time (store.Store.GroupMembers: members
-- after a position, at most a limit), so that a request's memory does not
-- grow with the group. Each chunk must start where the previous one ended
-- without walking the members before it: with the order only in users, every
-- chunk joined and sorted the whole membership (75 chunks of a 75,000-member
-- group read 75,000 rows each). So each membership row carries its user's
-- seq, which never changes after the user is created, and an index walks a
-- group's members in that order.
--
-- The index is keyed by one expression naming the group, the tenant id's
-- length, '/', the tenant id and the group id (no two groups share it), not
-- by the two columns: only the chunk read names that expression, so no other
-- statement can pick the index. Keyed by the columns, it was the planner's
-- choice for every probe of one member of a group it has no statistics for
-- yet (a new group being filled looks small, and this index is smaller than
-- the primary key): the probe then walked all the group's members for each
-- id added — 50 s to add 15,000 members to 15,000.

alter table group_members add column user_seq bigint;

update group_members m set user_seq = u.seq
from users u where u.tenant_id = m.tenant_id and u.id = m.user_id;

-- A membership whose user row is gone is invisible to every read (they join
-- users) and can be written by no current writer; drop any such row rather
-- than fail the migration on it, and keep the member counts true.
with gone as (
	delete from group_members where user_seq is null returning tenant_id, group_id
), n as (
	select tenant_id, group_id, count(*) as k from gone group by tenant_id, group_id
)
update group_member_counts c set members = c.members - n.k
from n where c.tenant_id = n.tenant_id and c.group_id = n.group_id;

alter table group_members alter column user_seq set not null;

create index group_members_order_idx on group_members ((length(tenant_id)::text || '/' || tenant_id || group_id), user_seq);
