-- 0006_seat_contract: a tenant's contract terms (issue 5, seats).
--
-- contract_start: the first day of the annual contract; renewals fall on its
-- anniversaries. seats_at_renewal / seats_at_renewal_from: a pending seat
-- reduction and the renewal it takes effect at (reductions wait for the
-- renewal; licensing.Contract.SeatsInForce). seat_changes: the changes of the
-- purchased seats in the current term, for proration (JSON array of
-- {"at","from","to"}; null when none).

alter table tenants
    add column contract_start        timestamptz,
    add column seats_at_renewal      integer,
    add column seats_at_renewal_from timestamptz,
    add column seat_changes          jsonb;

update tenants set contract_start = created_at;

alter table tenants
    alter column contract_start set not null,
    add constraint tenants_seats_at_renewal_check
        check ((seats_at_renewal is null) = (seats_at_renewal_from is null) and seats_at_renewal >= 0);

-- roster_purchased_seats is the purchased full-seat count in force at a
-- time: the pending reduction once its renewal has come, else seats. The
-- seat cap of every write reads it, on the locked tenant row, so that a
-- reduction takes effect at the renewal with nothing having to run then.
-- Inlined by the planner (a single-select SQL function).
create function roster_purchased_seats(seats integer, at_renewal integer, at_renewal_from timestamptz, at timestamptz)
returns integer
language sql immutable parallel safe
return case when at_renewal is not null and at_renewal_from <= at then at_renewal else seats end;
