-- 0022_tenant_id_without_statistics: no table keeps statistics of tenant_id.
--
-- ANALYZE records which tenants a table held when it ran: on a database
-- whose first tenant had synced, the statistics say every user belongs to
-- that tenant, so a tenant created afterwards has, for the planner, no rows
-- at all, however many it gets. Every index that starts with tenant_id then
-- looks as good as the key asked for, and PostgreSQL took the smallest of
-- them (users_tenant_seq_key, users_external_id_idx) for lookups by id and
-- by userName, member adds and group lookups: each walked the new tenant's
-- users or groups, so an IdP's first sync of a second tenant slowed down
-- as it went (at 50,000 users the user phase had not ended after three
-- minutes). Autovacuum analyses again only after a tenth of the table has
-- changed, and a tenant created after that meets the same statistics.
--
-- Without statistics the planner takes tenant_id = x to hold for 1/200 of a
-- table's rows (1/n of a table of n < 200 rows), the same for every tenant,
-- known or new, large or small; the plans of the hot statements then rest
-- on the keys they name, in every state of the tables
-- (TestHotPlans_sameIndexWithoutStatistics). The tables are keyed by
-- tenant first, so nothing needs a tenant's size to choose its plan.
--
-- SET STATISTICS 0 stops ANALYZE from collecting them but keeps what it
-- collected; where some were collected, re-declaring the column's own type
-- removes them. That rewrites no table and checks no foreign key again (the
-- type is the same), but rebuilds the table's partial and expression
-- indexes: a one-off cost on a database that was analysed, none on a new
-- one. A table added later with a tenant_id column sets it too
-- (TestTenantIDKeepsNoStatistics checks every one).
do $$
declare
	t regclass;
	typ text;
	collected boolean;
begin
	for t, typ, collected in
		select c.oid::regclass, format_type(a.atttypid, a.atttypmod),
			exists (select 1 from pg_stats s where s.schemaname = current_schema() and s.tablename = c.relname and s.attname = 'tenant_id')
		from pg_class c
		join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
		where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p')
		order by c.relname
	loop
		execute format('alter table %s alter column tenant_id set statistics 0', t);
		if collected then
			execute format('alter table %s alter column tenant_id type %s', t, typ);
		end if;
	end loop;
end
$$;
