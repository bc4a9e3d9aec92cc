-- 0023_not_all_added: a statement's way to fail on purpose.
--
-- A group PATCH that only adds members to a team commits in the round trip
-- of its add (store/postgres/groups.go, addAllSQL): the add must then fail
-- unless it added every id asked, so that nothing partial is committed; the
-- store catches this error (SQLSTATE RS002), rolls back to the savepoint
-- taken before the add and adds again with the checks that say why some ids
-- were not added. It is never an answer to a client.
create function roster_not_all_added() returns boolean
language plpgsql as $$
begin
	raise exception 'not every member asked was added' using errcode = 'RS002';
end
$$;
