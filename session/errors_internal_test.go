package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/storetest"
)

// TestStoreAnswers_everyKind: every store kind has a row in storeAnswers,
// each with a reason and both sentences.
func TestStoreAnswers_everyKind(t *testing.T) {
	storetest.EveryKindAnswered(t, storeAnswers, func(a storeAnswer) int { return a.status })
	for key, a := range storeAnswers {
		assert.NotEmpty(t, a.reason, key.Kind.String())
		assert.NotEmpty(t, a.page, key.Kind.String())
		assert.NotEmpty(t, a.api, key.Kind.String())
	}
}

// TestStoreRefusal_byKind: the sign-in page of each store error, as the
// sign-in handlers answered them before the table: a replayed assertion is
// 403 replayed, a user's refusal names them, an outage is 503, anything
// else a 500 that keeps its cause for the log.
func TestStoreRefusal_byKind(t *testing.T) {
	acme := store.Tenant{ID: "acme", Name: "Acme"}
	for _, tc := range []struct {
		err    error
		status int
		reason string
		text   string
	}{
		{store.ErrReplay, 403, "replayed", "This sign-in response has already been used. Start signing in again."},
		{&store.SignInRefusedError{Reason: store.RefusedDeactivated}, 403, store.RefusedDeactivated, "Your Roster account in Acme is deactivated"},
		{fmt.Errorf("sign in: %w", store.ErrUnavailable), 503, "unavailable", "Roster cannot reach its database right now."},
		{fmt.Errorf("get: %w", store.ErrNotFound), 500, "internal", "Something went wrong on Roster's side."},
		{errors.New("boom"), 500, "internal", "Something went wrong on Roster's side."},
	} {
		rf := storeRefusal(tc.err, acme, "ann@acme.test")
		assert.Equal(t, tc.status, rf.status, tc.err.Error())
		assert.Equal(t, tc.reason, rf.reason, tc.err.Error())
		assert.Contains(t, rf.text, tc.text, tc.err.Error())
		if tc.status != 403 || tc.reason == "replayed" {
			assert.Equal(t, tc.err, rf.cause, "the cause goes to the log")
		}
	}
}

// TestServerError_byKind: the session API answers an outage 503 with
// Retry-After and anything else a 500 without its cause.
func TestServerError_byKind(t *testing.T) {
	s := &Service{}
	for _, tc := range []struct {
		err    error
		status int
		body   map[string]string
		retry  string
	}{
		{fmt.Errorf("get session: %w", store.ErrUnavailable), 503,
			map[string]string{"error": "unavailable", "message": "the database is unavailable; retry shortly"}, "5"},
		{errors.New("pq: secret detail"), 500,
			map[string]string{"error": "internal", "message": "internal error; the cause is in the server log"}, ""},
	} {
		rec := httptest.NewRecorder()
		s.serverError(rec, httptest.NewRequest(http.MethodGet, "/api/v1/session", nil), tc.err)
		assert.Equal(t, tc.status, rec.Code)
		var body map[string]string
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		assert.Equal(t, tc.body, body)
		assert.Equal(t, tc.retry, rec.Header().Get("Retry-After"))
	}
}

// TestEnded_andNoSession: the exported readers of Authenticate's answers
// tell an ended session (with its reason and sentence) from no session.
func TestEnded_andNoSession(t *testing.T) {
	reason, text, ok := Ended(&ended{reason: store.RefusedDeactivated})
	assert.True(t, ok)
	assert.Equal(t, store.RefusedDeactivated, reason)
	assert.Equal(t, "the account has been deactivated", text)
	_, _, ok = Ended(errNoSession)
	assert.False(t, ok)
	assert.True(t, NoSession(errNoSession))
	assert.False(t, NoSession(&ended{reason: "plan"}))
	assert.False(t, IsToken("rss_nope"))
	assert.True(t, HasPrefix("rss_nope"))
}
