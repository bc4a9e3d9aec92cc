package store

// The part of the transactional API (change.go) that finds users by key
// and writes whole users: the reads and writes of a CSV import, decided by
// the directory's import.

// UserWrite is one user a Plan creates or updates, and the teams it joins.
//
// Change writes each as CreateUser or UpdateUser writes a user —
// validation, uniqueness of the userName, the role resolved with
// DecideRole (for an update with the user's groups as the transaction sees
// them), the seat move checked against the cap, the ledger and the audit
// events — then adds the user to Join, each membership with its group's new
// version and a group.updated audit event. The writes of a plan are all or
// nothing: when one cannot be written (a *UserExistsError for a userName
// taken meanwhile, a *SeatLimitError, …) Change answers its error and
// writes nothing. A plan with several Writes only creates.
type UserWrite struct {
	// Before is the user as View read it, to be updated to After (nothing
	// of the user is written when SameUser(*Before, After)); nil to create
	// After (an empty ID is made).
	Before *User
	After  User
	// Join are teams (ids among View.Teams) the user is not in yet.
	Join []string
	// Written is filled by Change: the user as written (or as it was, when
	// nothing of it changed), with its Role, Seat and Version.
	Written User
}

// Creates says whether every write of the plan creates a user.
func (p *Plan) Creates() bool {
	for _, w := range p.Writes {
		if w.Before != nil {
			return false
		}
	}
	return true
}
