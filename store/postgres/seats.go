package postgres

// usableSQL is the full-seat cap in force at the time at (a SQL expression)
// of the tenant row alias: the purchased seats in force — seats, or a pending
// reduction once its renewal has come (migration 0006,
// store.Tenant.PurchasedAt) — raised to the contract minimum on a paid plan
// (migration 0014, licensing.UsableSeats). Every seat cap reads it on the
// tenant row the write has locked.
func usableSQL(alias, at string) string {
	return "roster_usable_seats(" + alias + ".plan, roster_purchased_seats(" + alias + ".seats, " + alias + ".seats_at_renewal, " + alias + ".seats_at_renewal_from, " + at + "))"
}
