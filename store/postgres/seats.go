package postgres

// usableSQL is the full-seat cap in force at the time at (a SQL expression)
// of the tenant row alias: the purchased seats in force — seats, or a pending
// reduction once its renewal has come (migration 0006,
// licensing.Contract.SeatsInForce) — raised to the contract minimum on a paid
// plan (migration 0014, licensing.UsableSeats): licensing.Contract.UsableAt
// in SQL. Every seat cap reads it on the tenant row the write has locked;
// TestSeats_inForceAgreesWithLicensing compares the two.
func usableSQL(alias, at string) string {
	return "roster_usable_seats(" + alias + ".plan, roster_purchased_seats(" + alias + ".seats, " + alias + ".seats_at_renewal, " + alias + ".seats_at_renewal_from, " + at + "))"
}

// overageSQL is the overage setting of the tenant row alias (a SQL boolean):
// licensing.Contract.Overage, read where the cap is.
func overageSQL(alias string) string {
	return "coalesce((" + alias + ".settings ->> 'overage')::boolean, false)"
}

// capSQL is licensing.CapAllows in SQL (a boolean expression): whether the
// tenant row alias, whose seats_full are the full seats in use, admits a
// change of delta full seats (a SQL expression) at the time at, under its
// usable seats (usableSQL) and its overage setting. The statements that
// create users put it in the where clause of the update that moves the
// locked tenant row's counters (createUserSQL, createBatchSQL), so that the
// check and the move are one step however many writers race;
// TestSeats_capPredicateAgreesWithLicensing compares it with CapAllows.
func capSQL(alias, delta, at string) string {
	return "(" + delta + " <= 0 or " + alias + ".seats_full + " + delta + " <= " + usableSQL(alias, at) + " or " + overageSQL(alias) + ")"
}

// auditSeatSQL is the audited user JSON audit (a SQL text expression) with its
// seat changed from the seat from to the seat to (SQL expressions of seat
// classes): a statement that chooses between two seat plans in SQL (the cap
// decides) audits the user encoded in Go under the first plan, with the seat
// the chosen plan gave. The audit JSON names the seat as SCIM shows it
// (store.AuditJSON, store.SCIMSeat: a full seat is "consumed"); "seat" is a
// key only there, never inside a string value (its quotes would be escaped).
func auditSeatSQL(audit, from, to string) string {
	return "replace(" + audit + ", '\"seat\":\"' || " + scimSeatSQL(from) + " || '\"', '\"seat\":\"' || " + scimSeatSQL(to) + " || '\"')"
}

// scimSeatSQL is store.SCIMSeat in SQL.
func scimSeatSQL(class string) string {
	return "(case " + class + " when 'full' then 'consumed' else " + class + " end)"
}
