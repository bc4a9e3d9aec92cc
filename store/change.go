package store

// The transactional API the directory's use cases run on (docs/architecture.md
// "The directory layer"): a backend locks and reads what a Lock names, hands
// it to the use case as a View, and writes the Plan the use case decides, in
// one transaction. The use case decides in Go and never touches SQL; the
// backend decides nothing.

import (
	"slices"
	"time"

	"github.com/roster-dev/roster/licensing"
)

// Lock names what Store.Change locks and reads before its closure decides.
type Lock struct {
	// Spend is an assertion to spend once (the SAML assertion a sign-in
	// presents). The backend spends it first, before the other locks, and
	// across processes once only (PostgreSQL: the primary key of
	// saml_assertions); a spent one still remembered (until its ExpiresAt)
	// sets View.Replayed instead. The spend is kept when the change
	// commits, that is when the closure answers no error and its plan is
	// written; otherwise nothing of it remains.
	Spend *Assertion

	// Link is the SHA-256 of a console link's code, to redeem: the link's
	// user is locked (and read, as Users are), then the link itself;
	// View.Link holds it, nil when the tenant has no such link.
	Link []byte

	// Users are locked against other writers (live ones; an id that is no
	// live user of the tenant is absent from View.Users), in id order, the
	// order every multi-user write takes. Their groups' displayNames, as
	// the transaction sees them after the locks, are in View.Groups.
	Users []string
	// Approval is an approval to decide: its user is locked first (the
	// order every user write takes), then the approval; View.Approval holds
	// it. ErrNotFound from Change when there is no such approval.
	Approval string

	// Role-administration locks, taken before the users. Mappings takes the
	// tenant's role-mapping lock exclusively: writers of mappings and of
	// roles serialise on it, and a group write (which reads the mappings
	// under it, shared) either sees the change or is seen by it.
	Mappings bool
	// Holders also locks the live users who hold this role or name it
	// explicitly. With Role the same name, the role's row is locked after
	// them (no new holder can appear) and holders who committed in
	// between are locked too; View.Holders lists them all, in id order.
	Holders string
	// Role locks a custom role's row (View.Role); ErrNotFound when there
	// is none.
	Role string
	// Unassigned also locks every live user without an explicit role
	// (View.Unassigned, in id order): the users a new default role moves.
	Unassigned bool
	// Tenant locks the tenant's row, after the users (View.Tenant).
	Tenant bool
	// Remap also locks the live users without an explicit role who are in
	// a group that the tenant's current mappings name or that Remap names
	// (displayNames): the users a new mapping list can move. View.Remapped
	// lists them, in id order.
	Remap []string
	// Users found by key, and teams (the reads of an import; change_keys.go).
	//
	// UserNames and EmailKeys name users by key rather than by id: the live
	// users holding one of the userNames (compared by FoldKey), and those
	// whose EmailKey is one of the addresses (lower-cased, as EmailKeys
	// answers them), are read into View.Users and indexed in View.Named and
	// View.Emailed. They are locked after Teams and Users — the userNames'
	// holders, then the addresses', each in id order — unless Peek.
	UserNames []string
	EmailKeys []string
	// Peek only looks the keys up, as committed and without locks: View.
	// NamesHeld and View.EmailsHeld say which of them a live user holds,
	// and no user is read. For a plan that only creates users where the
	// keys are free, whose creations the uniqueness of userNames still
	// guards.
	Peek bool
	// Teams are groups (ids) locked before any user, in id order, with the
	// role mappings held (shared) so that none becomes a role group
	// meanwhile, as a membership change locks them. View.Teams holds those
	// that exist, View.InTeams which of them each user of View.Users is in.
	Teams []string
}

// View is what Store.Change read under its locks.
type View struct {
	Roles    *RoleContext        // the tenant's settings, custom roles and role mappings
	Users    map[string]User     // the live users of Lock.Users (and of Lock.Approval's user)
	Groups   map[string][]string // displayNames of each locked user's groups, in creation order
	Approval *Approval           // Lock.Approval
	Holders  []string            // Lock.Holders
	Role     *Role               // Lock.Role
	Tenant   *Tenant             // Lock.Tenant
	// Unassigned lists the users of Lock.Unassigned.
	Unassigned []string
	Remapped   []string  // Lock.Remap
	Now        time.Time // the store's clock, for everything the plan stamps

	// Replayed says Lock.Spend was spent already: the use case refuses it
	// (ErrReplay); a plan written anyway does not spend it again.
	Replayed bool
	// Deleted holds the ids of Lock.Users (and Lock.Approval's user) that
	// name a deleted user of the tenant. They are absent from Users, as
	// unknown ids are: this tells the two apart.
	Deleted map[string]bool
	// Link is the console link of Lock.Link, nil when there is none.
	Link *ConsoleLink

	// Users found by key, and teams (Lock.UserNames, Lock.EmailKeys,
	// Lock.Teams; change_keys.go).
	Named   map[string]string   // FoldKey(userName) → id of the live user holding it
	Emailed map[string][]string // email key → ids of the live users whose EmailKey it is, in id order
	Teams   map[string]Group    // the groups of Lock.Teams that exist: ID and DisplayName, no members
	InTeams map[string][]string // user id (of Users) → the ids of the Lock.Teams they are in, in id order
	// With Lock.Peek: the userName keys (FoldKey) and addresses a live user holds.
	NamesHeld, EmailsHeld map[string]bool
}

// Plan is what a use case asks Store.Change to write, all or nothing.
type Plan struct {
	By Actor // who causes the change: every event the plan writes names them
	// Moves are users whose role (and so perhaps seat) changes: each is
	// written with Version+1 and UpdatedAt = View.Now, its ledger entries,
	// a user.updated audit event whose detail names the move and Why, and
	// what its RoleDecision asks for (RecordsOf). Their full-seat moves
	// together must fit the cap (*SeatLimitError otherwise, nothing
	// written).
	Moves []Move
	Why   string
	// Session, when set, is a session to start for one of the locked live
	// users, stored as given for the tenant (the use case sets UserID,
	// Hash, CreatedAt and ExpiresAt). Session ids are unique across
	// tenants: a taken one is a *ConflictError on "id", nothing written.
	Session *Session
	// LastActive are locked live users whose lastActiveAt becomes
	// View.Now. Activity is not a provisioning change: their version,
	// updatedAt and seat stay, and no audit event is written for it.
	LastActive []string
	// NewLink, when set, is a console link to store for one of the locked
	// live users (the use case sets every field); a hash already stored is
	// a *ConflictError on "code", nothing written.
	NewLink *ConsoleLink
	// UseLink marks the link of Lock.Link used at View.Now.
	UseLink bool
	// Audit are further audit events, written after the rest of the plan,
	// in order; the backend sets their TenantID, Time (View.Now) and Actor
	// (By).
	Audit []AuditEvent

	// Approval, when set, is the decided approval to store (Status,
	// DecidedAt, DecidedBy) with its audit event; written before the moves.
	Approval *Approval
	// Tenant, when set, is the locked tenant as it is to be stored (name,
	// plan, seats, add-ons, settings, contract terms; UpdatedAt =
	// View.Now), with its tenant.updated audit event; first of all, so
	// that the moves' seat cap is the updated tenant's.
	Tenant *Tenant
	// Role, when set, is the locked custom role as it is to be stored
	// (description, permissions, privileged, seat class; UpdatedAt =
	// View.Now), with its role.updated audit event; before the moves.
	Role *Role
	// DeleteRole deletes the custom role of that name, closes the pending
	// approvals of it as superseded, and writes role.deleted.
	DeleteRole string
	// Mappings, when not nil, replaces the tenant's role-mapping list (in
	// precedence order) and writes role_mappings.updated; before the moves.
	Mappings []RoleMapping

	// Writes are users to create or update, and the teams they join
	// (change_keys.go). A plan with Writes has no Moves and no Approval.
	Writes []UserWrite
}

// Move is one user's re-resolved role, decided and ready to write.
type Move struct {
	Before, After User
	Decision      RoleDecision
	Transitions   []licensing.Transition
}

// PlanMoves re-resolves each listed user found in users (each once, in the
// order listed) under rc, after mutate (when given) edits the user, with the
// groups each is in. mutate may change the explicit role, and active (a bulk
// deactivation: the seat follows through licensing.SeatFor) with the drift
// mark that comes with it; nothing else of a move is written. Users whose
// role, explicit role, active and seat stay, and who ask for no approval,
// are left out. It checks no cap: the backend does, for all moves together,
// when it writes them.
func PlanMoves(ids []string, users map[string]User, groups map[string][]string, rc *RoleContext, by Actor,
	mutate func(*User)) ([]Move, error) {
	var moves []Move
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		old, ok := users[id]
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		u := old.Clone()
		if mutate != nil {
			mutate(&u)
		}
		d, err := DecideRole(rc, &old, &u, groups[id], by)
		if err != nil {
			return nil, err
		}
		u.Seat = licensing.SeatFor(u.Active, d.Class)
		if u.Role == old.Role && u.ExplicitRole == old.ExplicitRole && u.Seat == old.Seat && u.Active == old.Active && d.Pending == nil {
			continue
		}
		moves = append(moves, Move{Before: old, After: u, Decision: d,
			Transitions: licensing.SeatTransitions(licensing.OnUpdate, old.Seat, u.Seat, false)})
	}
	return moves, nil
}

// MovesDelta is the change of seats in use of all moves together.
func MovesDelta(moves []Move) SeatCounts {
	var all []licensing.Transition
	for _, m := range moves {
		all = append(all, m.Transitions...)
	}
	return licensing.Delta(all)
}

// MoveDetail is the detail of a move's user.updated audit event: the
// deactivation or reactivation when active changes, else the role change.
func MoveDetail(m Move, why string) string {
	switch {
	case m.Before.Active && !m.After.Active:
		return "deactivated (" + why + ")"
	case !m.Before.Active && m.After.Active:
		return "reactivated (" + why + ")"
	}
	return "role " + m.Before.Role + " → " + m.After.Role + " (" + why + ")"
}

// LockOrder is ids as Store.Change locks them: sorted, each once.
func LockOrder(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
