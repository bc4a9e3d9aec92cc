package store

// People is the admin API's list of a tenant's users (Store.ListPeople):
// newest first, filtered, paged by a keyset position, so that a page costs
// the same however deep it is and never skips or repeats a user when others
// are created meanwhile.

// UserPos is a position in the people list: the creation sequence of a user
// within its tenant. 0 is "from the newest".
type UserPos int64

// PeopleQuery selects a page of people.
type PeopleQuery struct {
	// Filter is over the user attribute table (UserSchema), as a SCIM
	// filter is: the admin API builds q, role and active into it.
	Filter Filter
	// Team keeps the members of this group (an id); "" any.
	Team string
	// Managed keeps users of that owner (ManagedSCIM, or ManagedManual
	// which takes in unset ones); "" any.
	Managed string
	// Seat keeps users holding that seat class; "" any.
	Seat SeatClass
	// Before keeps users created before this position (the Next of the
	// previous page); 0 from the newest.
	Before UserPos
	// Limit is the page size, at least 1.
	Limit int
}

// PeoplePage is a page of people, newest first. Next is the position to
// pass as Before for the following page; 0 when this page is the last.
type PeoplePage struct {
	Users []User
	Next  UserPos
}
