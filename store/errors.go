package store

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Backends return these (or the typed errors below, which
// match them with errors.Is); transports map them to their own vocabulary in
// one place (scim/errors.go, admin).
var (
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("already exists")
	ErrSeatLimit       = errors.New("seat limit reached")
	ErrInvalid         = errors.New("invalid value")
	ErrInvalidFilter   = errors.New("invalid filter")
	ErrVersionMismatch = errors.New("version mismatch")
	ErrRoleInUse       = errors.New("role in use")
	ErrUnavailable     = errors.New("store unavailable")
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

// UnknownMembersError lists member ids that are not users of the tenant.
type UnknownMembersError struct {
	IDs []string
}

func (e *UnknownMembersError) Error() string {
	return "no such user in this tenant: " + strings.Join(e.IDs, ", ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *UnknownMembersError) Is(target error) bool { return target == ErrInvalid }

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

// InvalidError is a value the store refuses, naming the field.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }
