package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/storetest"
)

// A store error that carries its own status reaches the operator with that
// status and its message, not as a 500.
func TestFail_typedStoreErrors(t *testing.T) {
	a := New(Config{})
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{&store.UnknownRoleError{Role: "boss", Known: []string{"admin", "supervisor", "agent"}}, 400, "unknown_role"},
		{fmt.Errorf("wrapped: %w", &store.PrivilegedRoleError{Role: "admin"}), 403, "forbidden"},
		{fmt.Errorf("something broke"), 500, "internal"},
	} {
		rec := httptest.NewRecorder()
		a.fail(rec, httptest.NewRequest(http.MethodGet, "/admin/v1/x", nil), tc.err)
		assert.Equal(t, tc.status, rec.Code, tc.err.Error())
		var body Error
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		assert.Equal(t, tc.code, body.Code)
		if tc.status < 500 {
			assert.Contains(t, tc.err.Error(), body.Message) // the store's own message, without wrapping
			assert.NotEmpty(t, body.Message)
		} else {
			assert.NotContains(t, body.Message, "something broke")
		}
	}
}

// TestAdminAnswers_everyKind: every store kind has a row in adminAnswers,
// each with an error code, and no row answers with a 5xx but the outage.
func TestAdminAnswers_everyKind(t *testing.T) {
	storetest.EveryKindAnswered(t, adminAnswers, func(a adminAnswer) int { return a.status })
	for key, a := range adminAnswers {
		assert.NotEmpty(t, a.code, key.Kind.String())
		if key.Kind != store.KindUnavailable {
			assert.Less(t, a.status, 500, key.Kind.String())
		}
	}
}

// TestFail_storeErrorBodies pins the admin body of each store error: status,
// code, message and the field at fault.
func TestFail_storeErrorBodies(t *testing.T) {
	a := New(Config{})
	unknownRole := &store.UnknownRoleError{Role: "boss", Known: []string{"admin", "agent"}}
	exists := store.NewUserExistsError(store.User{ID: "u1", Role: "agent"}, store.User{UserName: "ann@x.com"})
	seats := &store.SeatLimitError{TenantID: "acme", InUse: 10, Purchased: 10}
	stores := &store.UnknownStoresError{Stores: []string{"s9"}}
	for _, tc := range []struct {
		err        error
		want       Error
		retryAfter string
	}{
		{unknownRole, Error{Status: 400, Code: "unknown_role", Message: unknownRole.Error(), Fields: []FieldError{{"role", unknownRole.Error()}}}, ""},
		{&store.UnknownMembersError{IDs: []string{"u9"}}, Error{Status: 400, Code: "unknown_users", Message: "no such user in this tenant: u9",
			Fields: []FieldError{{"users", "no such user in this tenant: u9"}}}, ""},
		{&store.InvalidError{Field: "name", Reason: "is required"}, Error{Status: 400, Code: "invalid_request", Message: "name: is required",
			Fields: []FieldError{{"name", "is required"}}}, ""},
		{stores, Error{Status: 400, Code: "invalid_request", Message: stores.Error(),
			Fields: []FieldError{{"stores", strings.TrimPrefix(stores.Error(), "stores: ")}}}, ""},
		{exists, Error{Status: 409, Code: "conflict", Message: exists.Error()}, ""},
		{&store.ConflictError{Field: "id", Value: "acme"}, Error{Status: 409, Code: "conflict", Message: `id "acme" is already taken`}, ""},
		{&store.ApprovalDecidedError{ID: "a1", Status: "approved"}, Error{Status: 409, Code: "already_decided", Message: "approval a1 is already approved"}, ""},
		{seats, Error{Status: 403, Code: "seat_limit", Message: seats.Error()}, ""},
		{fmt.Errorf("get: %w", store.ErrNotFound), Error{Status: 404, Code: "not_found", Message: "not found"}, ""},
		{store.ErrVersionMismatch, Error{Status: 412, Code: "precondition_failed", Message: "the resource was changed since it was read; read it again and retry"}, ""},
		{fmt.Errorf("get: %w", store.ErrUnavailable), Error{Status: 503, Code: "unavailable", Message: "the database is unavailable; retry shortly"}, "5"},
	} {
		rec := httptest.NewRecorder()
		a.fail(rec, httptest.NewRequest(http.MethodGet, "/admin/v1/x", nil), tc.err)
		var body Error
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		body.Status = rec.Code
		assert.Equal(t, tc.want, body, tc.err.Error())
		assert.Equal(t, tc.retryAfter, rec.Header().Get("Retry-After"), tc.err.Error())
	}

	rec := httptest.NewRecorder()
	a.fail(rec, httptest.NewRequest(http.MethodDelete, "/admin/v1/x", nil), &store.RoleInUseError{Role: "auditor", Users: 2})
	assert.Equal(t, http.StatusConflict, rec.Code)
	assert.JSONEq(t, `{"error":"role_in_use","users":2,
		"message":"role \"auditor\" is held by 2 user(s); name the role they move to: DELETE …/roles/auditor?replacement=agent"}`, rec.Body.String())
}
