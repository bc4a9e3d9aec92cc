package store

import (
	"errors"
	"fmt"
	"strings"
)

// Kind says what sort of failure a domain error is, in words every
// transport understands: scim, admin and session each turn a Kind into
// their own answer (status, scimType, error code, page) in one table of
// their own. The store itself knows no transport.
type Kind uint8

// The kinds. KindNone is the zero value: the error is not one of the
// store's refusals (a bug, a database fault) and transports answer it as an
// internal error, logging the cause.
const (
	KindNone Kind = iota
	// KindNotFound: the thing named does not exist (in this tenant).
	KindNotFound
	// KindConflict: the change collides with what exists (a taken unique
	// value, a role still held, a decision already made).
	KindConflict
	// KindInvalid: a value is refused; Fault.Field names it when known.
	KindInvalid
	// KindForbidden: the request is well formed but a rule refuses it (the
	// seat limit, the privileged-role policy, a sign-in refusal); the
	// Fault's Code says which rule.
	KindForbidden
	// KindPreconditionFailed: the caller's version of the resource is stale.
	KindPreconditionFailed
	// KindUnavailable: the store cannot answer now; retrying later may work.
	KindUnavailable
)

// Kinds lists every kind but KindNone, for transports' table tests.
func Kinds() []Kind {
	return []Kind{KindNotFound, KindConflict, KindInvalid, KindForbidden, KindPreconditionFailed, KindUnavailable}
}

func (k Kind) String() string {
	switch k {
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindInvalid:
		return "invalid"
	case KindForbidden:
		return "forbidden"
	case KindPreconditionFailed:
		return "precondition_failed"
	case KindUnavailable:
		return "unavailable"
	}
	return "none"
}

// Stable codes of the refusals a transport may want to tell apart within a
// kind. They never change once published; an error without one is fully
// described by its kind.
const (
	CodeSeatLimit      = "seat_limit"      // Forbidden: every purchased seat is in use
	CodePrivilegedRole = "privileged_role" // Forbidden: the tenant refuses privileged grants from this actor
	CodeSignInRefused  = "sign_in_refused" // Forbidden: the user may not sign in (SignInRefusedError.Reason says why)
	CodeReplay         = "replayed"        // Forbidden: a SAML assertion used twice
	CodeUnknownRole    = "unknown_role"    // Invalid: a role the tenant does not have
	CodeUnknownStores  = "unknown_stores"  // Invalid: stores outside the tenant's catalogue
	CodeUnknownMembers = "unknown_members" // Invalid: member ids that are not users of the tenant
	CodeAmbiguousEmail = "ambiguous_email" // Invalid: an import row's email matches several users
	CodeInvalidFilter  = "invalid_filter"  // Invalid: a filter the store cannot evaluate
	CodeUserExists     = "user_exists"     // Conflict: a create's userName belongs to a live user
	CodeRoleInUse      = "role_in_use"     // Conflict: a role to delete is held by users
	CodeIdPManaged     = "idp_managed"     // Conflict: a manual change of what the IdP pushes
	CodeRoleGroup      = "role_group"      // Conflict: a team write to the group of a role mapping
	CodeAlreadyDecided = "already_decided" // Conflict: an approval decided twice
	CodeLeaseLost      = "lease_lost"      // Conflict: a job's lease is held by another runner
	CodeNoJob          = "no_job"          // NotFound: nothing to claim
)

// Fault is how a domain error describes itself to a transport.
type Fault struct {
	Kind  Kind
	Code  string // one of the Code constants, or "" when the kind says it all
	Field string // the field or attribute at fault, when one is
	// Message is the error's text written for the person who reads the
	// answer (an IT admin, an operator). It is empty for a bare sentinel,
	// whose text is only a label: the transport then says it in its own
	// words.
	Message string
}

// KindCode keys a transport's answer table: a kind, refined by a code ("" for
// the kind's own row).
type KindCode struct {
	Kind Kind
	Code string
}

// Answer is the row of a transport's table for f: its (kind, code) row,
// else its kind's own row; false when there is none (KindNone: an internal
// error).
func Answer[V any](table map[KindCode]V, f Fault) (V, bool) {
	if v, ok := table[KindCode{f.Kind, f.Code}]; ok {
		return v, true
	}
	v, ok := table[KindCode{f.Kind, ""}]
	return v, ok
}

// faulter is implemented by every error of the store's vocabulary.
type faulter interface {
	error
	Fault() Fault
}

// FaultOf describes err: the Fault of the outermost error in its chain that
// has one (an error of another package may declare one too, with a Fault
// method), or, for an error that only matches a sentinel through its own Is
// method, that sentinel's kind. Any other error is KindNone.
func FaultOf(err error) Fault {
	if err == nil {
		return Fault{}
	}
	var f faulter
	if errors.As(err, &f) {
		out := f.Fault()
		if _, bare := f.(*sentinel); !bare {
			out.Message = f.Error()
		}
		return out
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s.Fault()
		}
	}
	return Fault{}
}

// sentinel is a sentinel error value that knows its kind.
type sentinel struct {
	msg   string
	fault Fault
}

func (e *sentinel) Error() string { return e.msg }

// Fault returns the kind and code of the sentinel.
func (e *sentinel) Fault() Fault { return e.fault }

func newSentinel(kind Kind, code, msg string) *sentinel {
	s := &sentinel{msg: msg, fault: Fault{Kind: kind, Code: code}}
	sentinels = append(sentinels, s)
	return s
}

// sentinels are tried in this order by FaultOf for errors that only match
// one through an Is method.
var sentinels []*sentinel

// Sentinel errors. Backends return these (or the typed errors below, which
// match them with errors.Is); transports map their kinds to their own
// vocabulary in one table each (scim/errors.go, admin/admin.go, session).
var (
	ErrNotFound        error = newSentinel(KindNotFound, "", "not found")
	ErrConflict        error = newSentinel(KindConflict, "", "already exists")
	ErrSeatLimit       error = newSentinel(KindForbidden, CodeSeatLimit, "seat limit reached")
	ErrInvalidFilter   error = newSentinel(KindInvalid, CodeInvalidFilter, "invalid filter")
	ErrInvalid         error = newSentinel(KindInvalid, "", "invalid value")
	ErrVersionMismatch error = newSentinel(KindPreconditionFailed, "", "version mismatch")
	ErrRoleInUse       error = newSentinel(KindConflict, CodeRoleInUse, "role in use")
	ErrUnavailable     error = newSentinel(KindUnavailable, "", "store unavailable")
)

// ConflictError says which unique attribute collided.
type ConflictError struct {
	Field string // userName, displayName, id, name
	Value string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s %q is already taken", e.Field, e.Value)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Fault: a Conflict on the attribute that collided.
func (e *ConflictError) Fault() Fault { return Fault{Kind: KindConflict, Field: e.Field} }

// SeatLimitError is returned when a change would consume a full seat beyond the
// purchased count of a tenant that does not allow overage.
type SeatLimitError struct {
	TenantID string
	InUse    int
	// Purchased is the cap in force: the purchased seats, raised to the
	// contract minimum on a paid plan (licensing.UsableSeats).
	Purchased int
}

func (e *SeatLimitError) Error() string {
	if e.InUse > e.Purchased { // a seat reduction took effect at the renewal, or overage was turned off
		return fmt.Sprintf("%d seats are in use on tenant %s, more than the %d purchased; deactivate %d user(s) or raise the seat count",
			e.InUse, e.TenantID, e.Purchased, e.InUse-e.Purchased+1)
	}
	return fmt.Sprintf("%d of %d seats are in use on tenant %s; raise the seat count or deactivate a user",
		e.InUse, e.Purchased, e.TenantID)
}

// Is makes errors.Is(err, ErrSeatLimit) true.
func (e *SeatLimitError) Is(target error) bool { return target == ErrSeatLimit }

// Fault: Forbidden by the seat limit.
func (e *SeatLimitError) Fault() Fault { return Fault{Kind: KindForbidden, Code: CodeSeatLimit} }

// UnknownMembersError lists member ids that are not users of the tenant.
type UnknownMembersError struct {
	IDs []string
}

func (e *UnknownMembersError) Error() string {
	return "no such user in this tenant: " + strings.Join(e.IDs, ", ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *UnknownMembersError) Is(target error) bool { return target == ErrInvalid }

// Fault: the members named are Invalid.
func (e *UnknownMembersError) Fault() Fault {
	return Fault{Kind: KindInvalid, Code: CodeUnknownMembers, Field: "members"}
}

// RoleInUseError says how many users hold a role that was to be deleted.
type RoleInUseError struct {
	Role  string
	Users int
}

func (e *RoleInUseError) Error() string {
	return fmt.Sprintf("role %q is held by %d user(s); name a replacement role to move them to", e.Role, e.Users)
}

// Is makes errors.Is(err, ErrRoleInUse) true.
func (e *RoleInUseError) Is(target error) bool { return target == ErrRoleInUse }

// Fault: a Conflict with the users who hold the role.
func (e *RoleInUseError) Fault() Fault { return Fault{Kind: KindConflict, Code: CodeRoleInUse} }

// InvalidError is a value the store refuses, naming the field.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Fault: the field is Invalid.
func (e *InvalidError) Fault() Fault { return Fault{Kind: KindInvalid, Field: e.Field} }
