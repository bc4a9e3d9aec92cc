package scim

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/storetest"
)

// TestSCIMAnswers_everyKind: every store kind has a row in scimAnswers, and
// no row answers with a 5xx but the outage.
func TestSCIMAnswers_everyKind(t *testing.T) {
	storetest.EveryKindAnswered(t, scimAnswers, func(a scimAnswer) int { return a.status })
	for key, a := range scimAnswers {
		if key.Kind != store.KindUnavailable {
			assert.Less(t, a.status, 500, key.Kind.String())
		}
	}
}

// TestToSCIM_storeErrors pins the status, scimType and detail IdPs see for
// every error of the store's vocabulary, as they were when the errors
// carried their SCIM status themselves.
func TestToSCIM_storeErrors(t *testing.T) {
	unknownRole := &store.UnknownRoleError{Role: "wizard", Known: []string{"admin", "agent"}}
	privileged := &store.PrivilegedRoleError{Role: "admin", TenantID: "acme"}
	unknownStores := &store.UnknownStoresError{Stores: []string{"s9"}}
	exists := store.NewUserExistsError(store.User{ID: "u1", Role: "agent"}, store.User{UserName: "ann@x.com"})
	seats := &store.SeatLimitError{TenantID: "acme", InUse: 3, Purchased: 3}
	scimErr := func(status int, scimType, detail string) Error {
		return Error{Status: status, ScimType: scimType, Detail: detail}
	}
	for _, tc := range []struct {
		err  error
		want Error
	}{
		{unknownRole, scimErr(400, typeInvalidValue, unknownRole.Error())},
		{privileged, scimErr(403, "", privileged.Error())},
		{unknownStores, scimErr(400, typeInvalidValue, unknownStores.Error())},
		{exists, scimErr(409, typeUniqueness, exists.Error())},
		{&store.ConflictError{Field: "displayName", Value: "Eng"},
			scimErr(409, typeUniqueness, `displayName "Eng" is already taken in this tenant; choose another or update the existing resource`)},
		{store.ErrConflict, scimErr(409, typeUniqueness, "the resource already exists")},
		{seats, scimErr(403, "", seats.Error())},
		{store.ErrSeatLimit, scimErr(403, "", "every purchased seat is in use; raise the seat count or deactivate a user")},
		{&store.UnknownMembersError{IDs: []string{"u9"}}, scimErr(400, typeInvalidValue, "no such user in this tenant: u9")},
		{&store.InvalidError{Field: "title", Reason: "is too long"}, scimErr(400, typeInvalidValue, "title: is too long")},
		{fmt.Errorf("%w: nested deeper than 8", store.ErrInvalidFilter), scimErr(400, typeInvalidFilter, "invalid filter: nested deeper than 8")},
		{fmt.Errorf("%w: bad", store.ErrInvalid), scimErr(400, typeInvalidValue, "invalid value: bad")},
		{store.ErrVersionMismatch, scimErr(412, "", "the resource was changed since it was read (If-Match does not match meta.version); read it again and retry")},
		{fmt.Errorf("get: %w", store.ErrNotFound), scimErr(404, "", "resource not found")},
		{store.ErrUnavailable, scimErr(503, "", "the directory is temporarily unavailable; retry shortly")},
		{fmt.Errorf("query: %w", context.DeadlineExceeded), scimErr(503, "", "the directory is temporarily unavailable; retry shortly")},
		{badRequest(typeMutability, "id is readOnly"), scimErr(400, typeMutability, "id is readOnly")},
		{errors.New("pq: boom"), scimErr(500, "", "internal error; retry later, and contact support quoting the request id if it persists")},
	} {
		assert.Equal(t, tc.want, toSCIM(context.Background(), zerolog.Nop(), tc.err), "%v", tc.err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Equal(t, 499, toSCIM(ctx, zerolog.Nop(), context.Canceled).Status)
}
