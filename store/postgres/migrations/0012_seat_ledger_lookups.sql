-- 0012_seat_ledger_lookups: one user's seat history (GET …/seats/events?user=…)
-- walked the tenant's whole ledger (161 ms over 200,000 entries, BENCHMARKS.md
-- "Seats and billing"). Migration 0003 dropped this index to keep creation
-- cheap; creations are now written in batches (store/postgres/createbatch.go),
-- which leaves room for it. Time ranges still walk the ledger by sequence: an
-- index on the time is not chosen while the answer is ordered by sequence.
create index seat_events_user_idx on seat_events (tenant_id, user_id, seq);
