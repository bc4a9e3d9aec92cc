package store

import (
	"fmt"
	"strings"
	"time"
)

// This file holds the domain types of sign-in and the user lifecycle (issue
// 7): application sessions, spent SAML assertions, the tenant's store
// catalogue and the access-expiry sweep.

// Session is a signed-in user's application session. The token the user
// holds is rss_<ID>_<secret>; only Hash (SHA-256 of the whole token) is
// stored. IDs are unique across tenants: the token names its session, and so
// its tenant, the way a SCIM token names its tenant.
type Session struct {
	ID        string
	TenantID  string
	UserID    string
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time // the session ends at this instant
	// ConsoleLink says a console link started it rather than SAML SSO: it
	// does not end when the tenant's plan lacks SAML SSO (console links
	// are how tenants without SSO reach the console).
	ConsoleLink bool
}

// Clone returns a deep copy of the session.
func (s Session) Clone() Session {
	s.Hash = cloneSlice(s.Hash)
	return s
}

// Assertion is a SAML assertion being spent by a sign-in. (TenantID, Issuer,
// ID) is accepted once; it is remembered until ExpiresAt, after which the
// library refuses the assertion anyway.
type Assertion struct {
	Issuer    string
	ID        string
	ExpiresAt time.Time
}

// AuthnRequest is an SP-initiated SAML login in flight: the request ID the
// IdP's response must answer, found again by the opaque RelayState the IdP
// echoes, and tied to the browser that started it by BrowserHash (SHA-256
// of a cookie value; empty when none was set).
type AuthnRequest struct {
	TenantID    string
	RelayState  string
	RequestID   string
	BrowserHash []byte
	ExpiresAt   time.Time
	// Next is the path on Roster's host the browser asked to land on once
	// signed in (a console page); "" lands on the fixed default. Kept with
	// the request, never taken from the IdP's RelayState.
	Next string
}

// Outlet is one store of a tenant's store catalogue (the payments portal's
// "stores", merchant ids). It is called Outlet in Go only to keep it apart
// from the Store interface; the API calls it a store.
type Outlet struct {
	TenantID  string
	ID        string // chosen by the admin, e.g. "store-1"; what users' Stores hold
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ValidateOutlet checks a catalogue entry before it is written.
func ValidateOutlet(o *Outlet) error {
	switch {
	case strings.TrimSpace(o.ID) == "" || o.ID != strings.TrimSpace(o.ID):
		return &InvalidError{Field: "id", Reason: "is required, without leading or trailing spaces"}
	case len(o.ID) > 200:
		return &InvalidError{Field: "id", Reason: "is longer than 200 bytes"}
	case strings.ContainsAny(o.ID, "/?#%"):
		return &InvalidError{Field: "id", Reason: "may not contain / ? # or %: it appears in URLs"}
	case strings.TrimSpace(o.Name) == "":
		return &InvalidError{Field: "name", Reason: "is required"}
	}
	if err := checkString("id", o.ID); err != nil {
		return err
	}
	return checkString("name", o.Name)
}

// UserRef names one user of one tenant.
type UserRef struct {
	TenantID string
	UserID   string
}

// Sign-in refusals: why a user may not sign in or keep a session.
var (
	ErrReplay          error = newSentinel(KindForbidden, CodeReplay, "SAML assertion already used")
	ErrSignInRefused   error = newSentinel(KindForbidden, CodeSignInRefused, "sign-in refused")
	ErrSessionNotFound error = newSentinel(KindNotFound, "", "no such session")
)

// Refusal reasons of a SignInRefusedError.
const (
	RefusedUnknown     = "unknown"     // no such user in the tenant
	RefusedDeactivated = "deactivated" // active is false
	RefusedDeleted     = "deleted"     // the user was deleted
	RefusedExpired     = "expired"     // accessExpiresAt has passed
)

// SignInRefusedError says why a user may not sign in (or keep a session).
type SignInRefusedError struct {
	Reason string // one of the Refused* constants
}

func (e *SignInRefusedError) Error() string { return "sign-in refused: user " + e.Reason }

// Is makes errors.Is(err, ErrSignInRefused) true.
func (e *SignInRefusedError) Is(target error) bool { return target == ErrSignInRefused }

// Fault: Forbidden; Reason says why.
func (e *SignInRefusedError) Fault() Fault {
	return Fault{Kind: KindForbidden, Code: CodeSignInRefused}
}

// CanSignIn says whether a live user may sign in or use a session at now:
// active and, for users with an access expiry, before it. nil means yes.
func CanSignIn(u User, now time.Time) error {
	switch {
	case Expired(u.AccessExpiresAt, now):
		return &SignInRefusedError{Reason: RefusedExpired}
	case !u.Active:
		return &SignInRefusedError{Reason: RefusedDeactivated}
	}
	return nil
}

// UnknownStoresError is a user's stores naming stores that are not in the
// tenant's catalogue: the stores are Invalid on every transport.
type UnknownStoresError struct {
	Stores []string
}

func (e *UnknownStoresError) Error() string {
	quoted := make([]string, len(e.Stores))
	for i, s := range e.Stores {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	verb := "are"
	if len(quoted) == 1 {
		verb = "is"
	}
	return fmt.Sprintf("stores: %s %s not in this tenant's store catalogue; add the store in Roster "+
		"(POST /admin/v1/tenants/{id}/stores) or remove it from the user", strings.Join(quoted, ", "), verb)
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *UnknownStoresError) Is(target error) bool { return target == ErrInvalid }

// Fault: the stores are Invalid.
func (e *UnknownStoresError) Fault() Fault {
	return Fault{Kind: KindInvalid, Code: CodeUnknownStores, Field: "stores"}
}

// MissingStores returns the entries of stores that are not in catalogue, in
// order, each once. Both backends check users' stores with it (the memory
// backend) or with the same rule in SQL (PostgreSQL).
func MissingStores(stores []string, catalogue func(id string) bool) []string {
	var missing []string
	seen := map[string]bool{}
	for _, s := range stores {
		if !catalogue(s) && !seen[s] {
			missing = append(missing, s)
		}
		seen[s] = true
	}
	return missing
}

// IsExternal says whether a userType names an external user (case-insensitive).
func IsExternal(userType string) bool {
	return strings.EqualFold(strings.TrimSpace(userType), "External")
}

// UserExistsError is a create whose userName belongs to an existing user. It
// names the role and stores that user holds: one role covers all of a
// user's stores, so an invitation "for another store" with another role is
// answered with the role they hold (and what to do), never a bare conflict.
// It is a *ConflictError for errors.As, and a Conflict on userName.
type UserExistsError struct {
	ConflictError
	UserID        string
	Role          string   // the role the existing user holds
	Stores        []string // the stores they may see
	RequestedRole string   // the role the create asked for, "" when none
	// RequestedStores are the stores the create asked for: a hint to add a
	// store to the existing user only makes sense when it named some.
	RequestedStores []string
}

// NewUserExistsError describes existing, whose userName the create of
// requested collided with.
func NewUserExistsError(existing, requested User) *UserExistsError {
	want := requested.ExplicitRole
	if want == "" {
		want = requested.Role
	}
	return &UserExistsError{
		ConflictError: ConflictError{Field: "userName", Value: requested.UserName},
		UserID:        existing.ID, Role: existing.Role, Stores: cloneSlice(existing.Stores), RequestedRole: want,
		RequestedStores: cloneSlice(requested.Stores),
	}
}

func (e *UserExistsError) Error() string {
	stores := "no stores"
	if len(e.Stores) > 0 {
		stores = "stores " + strings.Join(e.Stores, ", ")
	}
	if e.RequestedRole != "" && !strings.EqualFold(e.RequestedRole, e.Role) {
		return fmt.Sprintf("userName %q already exists with role %q (%s); one role covers all of a user's stores, so they cannot also hold %q for another store: "+
			"add the store to their stores and keep role %q, or change their role for all their stores", e.Value, e.Role, stores, e.RequestedRole, e.Role)
	}
	if len(e.RequestedStores) > 0 {
		return fmt.Sprintf("userName %q already exists with role %q (%s); update that user instead, e.g. add the store to their stores", e.Value, e.Role, stores)
	}
	// An IdP retrying a create it already made: point it at the user.
	return fmt.Sprintf("userName %q already exists (id %s, role %q); update that user instead of creating it again", e.Value, e.UserID, e.Role)
}

// Unwrap exposes the plain *ConflictError.
func (e *UserExistsError) Unwrap() error { return &e.ConflictError }

// Fault: a Conflict on userName, whose message names the role the user
// holds (it overrides the embedded ConflictError's).
func (e *UserExistsError) Fault() Fault {
	return Fault{Kind: KindConflict, Code: CodeUserExists, Field: e.Field}
}
