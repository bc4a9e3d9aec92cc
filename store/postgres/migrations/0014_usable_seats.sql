-- 0014_usable_seats: the seat cap of a paid plan is its usable seats, not
-- only the purchased ones. A paid plan bills at least the contract minimum of
-- 8 seats (licensing.BillableSeats), so a tenant that bought fewer may still
-- use 8: usable = max(8, purchased) on enterprise, enterprise_bundle and
-- ultimate; on trial (and any other plan id) the purchased seats, as before.
--
-- roster_usable_seats mirrors licensing.UsableSeats: the paid plans and the
-- minimum are repeated here because the cap is checked in the statement that
-- moves the locked tenant row's seat counter (the plan can change
-- concurrently, so Go cannot pass the number in). store/postgres's tests
-- compare this function with licensing.UsableSeats for every plan the price
-- list has, so the two cannot drift apart unnoticed. Inlined by the planner
-- (a single-select SQL function).
create function roster_usable_seats(plan text, purchased integer)
returns integer
language sql immutable parallel safe
return case when plan in ('enterprise', 'enterprise_bundle', 'ultimate') then greatest(8, purchased) else purchased end;
