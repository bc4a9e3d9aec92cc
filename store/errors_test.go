package store_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/roster-dev/roster/store"
)

// isInvalid matches store.ErrInvalid through an Is method only, as errors
// of other packages do (access.FlagError).
type isInvalid struct{}

func (isInvalid) Error() string        { return "permissions: no such flag" }
func (isInvalid) Is(target error) bool { return target == store.ErrInvalid }

// TestFaultOf_everyError: every sentinel and typed error of the store says
// its kind (and code, field where it has one); typed errors keep their
// message for people, bare sentinels leave the words to the transport; the
// kind survives wrapping; an error of another package that matches a
// sentinel by Is takes that sentinel's kind; anything else is KindNone.
func TestFaultOf_everyError(t *testing.T) {
	unknownRole := &store.UnknownRoleError{Role: "wizard", Known: []string{"agent"}}
	for _, tc := range []struct {
		err  error
		want store.Fault
	}{
		{store.ErrNotFound, store.Fault{Kind: store.KindNotFound}},
		{store.ErrSessionNotFound, store.Fault{Kind: store.KindNotFound}},
		{store.ErrNoJob, store.Fault{Kind: store.KindNotFound, Code: store.CodeNoJob}},
		{store.ErrConflict, store.Fault{Kind: store.KindConflict}},
		{store.ErrRoleInUse, store.Fault{Kind: store.KindConflict, Code: store.CodeRoleInUse}},
		{store.ErrLeaseLost, store.Fault{Kind: store.KindConflict, Code: store.CodeLeaseLost}},
		{store.ErrInvalid, store.Fault{Kind: store.KindInvalid}},
		{fmt.Errorf("%w: nested too deep", store.ErrInvalidFilter), store.Fault{Kind: store.KindInvalid, Code: store.CodeInvalidFilter}},
		{store.ErrSeatLimit, store.Fault{Kind: store.KindForbidden, Code: store.CodeSeatLimit}},
		{store.ErrPrivilegedRole, store.Fault{Kind: store.KindForbidden, Code: store.CodePrivilegedRole}},
		{store.ErrReplay, store.Fault{Kind: store.KindForbidden, Code: store.CodeReplay}},
		{store.ErrSignInRefused, store.Fault{Kind: store.KindForbidden, Code: store.CodeSignInRefused}},
		{store.ErrVersionMismatch, store.Fault{Kind: store.KindPreconditionFailed}},
		{store.ErrUnavailable, store.Fault{Kind: store.KindUnavailable}},
		{&store.ConflictError{Field: "displayName", Value: "Eng"},
			store.Fault{Kind: store.KindConflict, Field: "displayName", Message: `displayName "Eng" is already taken`}},
		{&store.RoleInUseError{Role: "auditor", Users: 2},
			store.Fault{Kind: store.KindConflict, Code: store.CodeRoleInUse, Message: `role "auditor" is held by 2 user(s); name a replacement role to move them to`}},
		{&store.ApprovalDecidedError{ID: "a1", Status: "approved"},
			store.Fault{Kind: store.KindConflict, Code: store.CodeAlreadyDecided, Message: "approval a1 is already approved"}},
		{&store.SeatLimitError{TenantID: "acme", InUse: 3, Purchased: 3},
			store.Fault{Kind: store.KindForbidden, Code: store.CodeSeatLimit, Message: "3 of 3 seats are in use on tenant acme; raise the seat count or deactivate a user"}},
		{&store.InvalidError{Field: "title", Reason: "is too long"},
			store.Fault{Kind: store.KindInvalid, Field: "title", Message: "title: is too long"}},
		{&store.UnknownMembersError{IDs: []string{"u9"}},
			store.Fault{Kind: store.KindInvalid, Code: store.CodeUnknownMembers, Field: "members", Message: "no such user in this tenant: u9"}},
		{fmt.Errorf("decide: %w", unknownRole),
			store.Fault{Kind: store.KindInvalid, Code: store.CodeUnknownRole, Field: "role", Message: unknownRole.Error()}},
		{&store.AmbiguousEmailError{Email: "a@x", UserNames: []string{"a", "b"}},
			store.Fault{Kind: store.KindInvalid, Code: store.CodeAmbiguousEmail, Field: "email",
				Message: "email a@x belongs to 2 users (a, b); give the userName of the one to update in the userName column"}},
		{&store.SignInRefusedError{Reason: store.RefusedExpired},
			store.Fault{Kind: store.KindForbidden, Code: store.CodeSignInRefused, Message: "sign-in refused: user expired"}},
		{isInvalid{}, store.Fault{Kind: store.KindInvalid}},
		{errors.New("pq: connection reset"), store.Fault{}},
		{nil, store.Fault{}},
	} {
		assert.Equal(t, tc.want, store.FaultOf(tc.err), "%v", tc.err)
	}
	for _, err := range []error{
		&store.UnknownStoresError{Stores: []string{"s9"}},
		&store.PrivilegedRoleError{Role: "admin", TenantID: "acme"},
		store.NewUserExistsError(store.User{ID: "u1", Role: "agent"}, store.User{UserName: "ann"}),
	} {
		f := store.FaultOf(err)
		assert.NotEqual(t, store.KindNone, f.Kind, "%T", err)
		assert.NotEmpty(t, f.Code, "%T", err)
		assert.Equal(t, err.Error(), f.Message, "%T", err)
	}
}

// TestKinds_named: every kind has a name for logs, and none is KindNone.
func TestKinds_named(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range store.Kinds() {
		assert.NotEqual(t, store.KindNone, k)
		assert.NotEqual(t, "none", k.String())
		assert.False(t, seen[k.String()], "%s twice", k)
		seen[k.String()] = true
	}
}
