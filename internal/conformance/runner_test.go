package conformance_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests check the harness itself: a runner that passes everything
// proves nothing.

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v))
	return v
}

func TestLookup(t *testing.T) {
	doc := decode(t, `{"Resources":[{"id":"u1","name":{"givenName":"Ann"},"emails":[{"value":"a@x"},{"value":"b@x"}]}],"totalResults":1}`)
	tests := []struct {
		path string
		want any
		ok   bool
	}{
		{"totalResults", 1.0, true},
		{"Resources[0].id", "u1", true},
		{"Resources[0].name.givenName", "Ann", true},
		{"Resources[0].emails[1].value", "b@x", true},
		{"Resources[0].emails.value", []any{"a@x", "b@x"}, true},
		{"Resources[1].id", nil, false},
		{"Resources[0].name.familyName", nil, false},
		{"nope", nil, false},
		{"totalResults.x", nil, false},
	}
	for _, tt := range tests {
		got, ok := lookup(doc, tt.path)
		assert.Equal(t, tt.ok, ok, tt.path)
		assert.Equal(t, tt.want, got, tt.path)
	}
}

func ptr(s string) *string { return &s }

func TestCheck(t *testing.T) {
	res := response{status: 404, elapsed: 12e6, json: decode(t,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"","active":false,"n":0,"list":[]}`)}
	vars := map[string]string{"x": "404"}
	tests := []struct {
		name string
		a    runscopeAssertion
		pass bool
	}{
		{"status equal_number", runscopeAssertion{Comparison: "equal_number", Source: "response_status", Value: ptr("404")}, true},
		{"status equal_number wrong", runscopeAssertion{Comparison: "equal_number", Source: "response_status", Value: ptr("200")}, false},
		{"status as a variable", runscopeAssertion{Comparison: "equal_number", Source: "response_status", Value: ptr("{{x}}")}, true},
		{"equal on a string status", runscopeAssertion{Comparison: "equal", Source: "response_json", Property: "status", Value: ptr("404")}, true},
		{"equal_number on a string status fails", runscopeAssertion{Comparison: "equal_number", Source: "response_json", Property: "status", Value: ptr("404")}, false},
		{"equal on a boolean", runscopeAssertion{Comparison: "equal", Source: "response_json", Property: "active", Value: ptr("false")}, true},
		{"equal on zero", runscopeAssertion{Comparison: "equal", Source: "response_json", Property: "n", Value: ptr("0")}, true},
		{"has_value in array", runscopeAssertion{Comparison: "has_value", Source: "response_json", Property: "schemas", Value: ptr("urn:ietf:params:scim:api:messages:2.0:Error")}, true},
		{"has_value missing", runscopeAssertion{Comparison: "has_value", Source: "response_json", Property: "schemas", Value: ptr("urn:x")}, false},
		{"contains in array", runscopeAssertion{Comparison: "contains", Source: "response_json", Property: "schemas", Value: ptr("urn:ietf:params:scim:api:messages:2.0:Error")}, true},
		{"not_empty on empty string", runscopeAssertion{Comparison: "not_empty", Source: "response_json", Property: "detail"}, false},
		{"not_empty on empty list", runscopeAssertion{Comparison: "not_empty", Source: "response_json", Property: "list"}, false},
		{"not_empty on a boolean", runscopeAssertion{Comparison: "not_empty", Source: "response_json", Property: "active"}, true},
		{"not_empty on absent", runscopeAssertion{Comparison: "not_empty", Source: "response_json", Property: "absent"}, false},
		{"is_a_number", runscopeAssertion{Comparison: "is_a_number", Source: "response_json", Property: "n"}, true},
		{"is_a_number on a string", runscopeAssertion{Comparison: "is_a_number", Source: "response_json", Property: "status"}, false},
		{"response_time under", runscopeAssertion{Comparison: "is_less_than", Source: "response_time", Value: ptr("400")}, true},
		{"response_time over", runscopeAssertion{Comparison: "is_less_than", Source: "response_time", Value: ptr("10")}, false},
		{"unknown comparison", runscopeAssertion{Comparison: "matches_regex", Source: "response_status", Value: ptr(".*")}, false},
		{"undefined variable", runscopeAssertion{Comparison: "equal", Source: "response_json", Property: "status", Value: ptr("{{nope}}")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := check(tt.a, res, vars)
			if tt.pass {
				assert.Empty(t, f)
			} else {
				assert.NotEmpty(t, f)
			}
		})
	}
}

func TestEncodeURI(t *testing.T) {
	assert.Equal(t, `http://h/scim/v2/acme/Users?filter=userName%20eq%20%22a@b.com%22`,
		encodeURI(`http://h/scim/v2/acme/Users?filter=userName eq "a@b.com"`))
	assert.Equal(t, "/Users?count=1&startIndex=1", encodeURI("/Users?count=1&startIndex=1"))
	assert.Equal(t, "/x%C3%A9%2541", encodeURI("/xé%2541"), "UTF-8 bytes escaped, escapes kept")
}

func TestSubstitute(t *testing.T) {
	out, err := substitute("{{a}}/{{ b }}", map[string]string{"a": "1", "b": "2"})
	require.NoError(t, err)
	assert.Equal(t, "1/2", out)
	_, err = substitute("{{a}}/{{c}}", map[string]string{"a": "1"})
	assert.ErrorContains(t, err, "[c]")
}

func TestMask(t *testing.T) {
	in := `{"id":"0f8fad5b-d9cb-469f-a165-70867728950e","other":"7c9e6679-7425-40de-944b-e07fc1f90ae7",` +
		`"created":"2026-11-28T08:01:02.123456789Z","at":"2026-11-28T09:01:02+01:00"}`
	got := mask(in, map[string]string{"ann": "0f8fad5b-d9cb-469f-a165-70867728950e"})
	assert.Equal(t, `{"id":"{{ann}}","other":"<uuid>","created":"<time>","at":"<time>"}`, got)
}

// TestRunStep_detectsAWrongServer runs Okta's 2024 export against a server
// that answers 200 and an empty object to everything: almost every step
// must report faults (the runner is not a rubber stamp).
func TestRunStep_detectsAWrongServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	rt := loadRunscope(t, filepath.Join("..", "..", "testdata", "idp", "okta", "spec-test", "Okta-SCIM-20-SPEC-Test.2024.json"))
	vars := initialVariables(srv.URL+"/scim/v2/acme", "tok")
	vars["ISVUserid"], vars["idUserOne"] = "u1", "u2" // what earlier steps would have extracted
	steps, failing := 0, 0
	for _, st := range rt.Steps {
		if st.StepType != "request" {
			continue
		}
		steps++
		faults, _, err := runStep(srv.Client(), st, vars)
		require.NoError(t, err)
		if len(faults) > 0 {
			failing++
		} else {
			assert.Contains(t, st.Note, "Username Case Sensitivity Check", "the one step that asserts only a 200")
		}
		if strings.Contains(st.Note, "Check status 401") {
			assert.Contains(t, strings.Join(faults, "\n"), "response_status equal_number \"401\" failed: actual 200")
		}
	}
	assert.Equal(t, 11, steps)
	assert.Equal(t, steps-1, failing, "every other step checks something a blank 200 lacks")
}

// TestRunScript checks the translated 2016 Groups script.
func TestRunScript(t *testing.T) {
	ok := response{json: decode(t, `{"totalResults":1,"Resources":[{}]}`)}
	empty := response{json: decode(t, `{"totalResults":0,"Resources":[]}`)}
	assert.Empty(t, runScript(groupsScript, ok))
	assert.NotEmpty(t, runScript(groupsScript, empty))
	assert.Empty(t, runScript("", empty))
	assert.Contains(t, runScript("assert.ok(false)", ok), "not translated")
}
