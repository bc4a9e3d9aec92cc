package scimwire

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, false, Error{Status: 400, ScimType: "invalidValue", Detail: `a <b> & "c"`})
	assert.Equal(t, 400, rec.Code)
	assert.Equal(t, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidValue","detail":"a <b> & \"c\""}`+"\n",
		rec.Body.String(), "status as a string, no HTML escaping")
	assert.Equal(t, "application/scim+json; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
	assert.Empty(t, rec.Header().Get("WWW-Authenticate"))

	rec = httptest.NewRecorder()
	WriteError(rec, true, Error{Status: 401, Detail: "a token is required"})
	assert.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Equal(t, DefaultChallenge, rec.Header().Get("WWW-Authenticate"), "a 401 always challenges")
	assert.NotContains(t, rec.Body.String(), "scimType", "no scimType when there is none")

	rec = httptest.NewRecorder()
	rec.Header().Set("WWW-Authenticate", `Bearer realm="roster", error="invalid_token"`)
	WriteError(rec, false, Error{Status: 401, Detail: "revoked"})
	assert.Equal(t, `Bearer realm="roster", error="invalid_token"`, rec.Header().Get("WWW-Authenticate"), "the caller's challenge stays")

	rec = httptest.NewRecorder()
	WriteError(rec, false, Error{Status: 499, Detail: "request cancelled"})
	assert.Equal(t, 400, rec.Code, "499 is no status a client knows")
	assert.Contains(t, rec.Body.String(), `"status":"499"`)
}

func TestOnlyJSON(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                             false,
		"application/json":             true,
		"application/json, text/plain": true,
		"application/scim+json":        false,
		"application/json, application/scim+json": false,
		"application/json, */*":                   false,
		"*/*":                                     false,
	} {
		assert.Equal(t, want, OnlyJSON(accept), accept)
	}
}
