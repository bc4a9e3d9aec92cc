package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
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
