package postgres

// purchasedSQL is the purchased full-seat count in force at the time at (a
// SQL expression) of the tenant row alias: seats, or a pending reduction once
// its renewal has come (migration 0006, store.Tenant.PurchasedAt). Every seat
// cap reads it on the tenant row the write has locked.
func purchasedSQL(alias, at string) string {
	return "roster_purchased_seats(" + alias + ".seats, " + alias + ".seats_at_renewal, " + alias + ".seats_at_renewal_from, " + at + ")"
}
