package scim_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Handler benchmarks on the memory store: the SCIM layer's own cost per
// request (decoding, filter parsing, rendering), without network or database.
// go test ./scim -run XXX -bench . -benchmem

func benchEnv(b *testing.B) *env {
	return newEnv(b, backends[0].open, 1_000_000)
}

func serve(b *testing.B, e *env, method, path, body string) int {
	req := httptest.NewRequest(method, "/scim/v2/"+tenantID+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Code
}

const oktaUser = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s",
 "name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"primary":true,"value":"%s","type":"work"}],
 "displayName":"Ann Lee","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"password":"1mz050nq","active":true}`

func BenchmarkPostUser(b *testing.B) {
	e := benchEnv(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		name := fmt.Sprintf("user%d@x.com", i)
		if s := serve(b, e, http.MethodPost, "/Users", fmt.Sprintf(oktaUser, name, name)); s != 201 {
			b.Fatal(s)
		}
	}
}

func seedUsers(b *testing.B, e *env, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.createUser(fmt.Sprintf("seed%d@x.com", i))
	}
	return ids
}

func BenchmarkGetUserByID(b *testing.B) {
	e := benchEnv(b)
	ids := seedUsers(b, e, 1000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if s := serve(b, e, http.MethodGet, "/Users/"+ids[i%len(ids)], ""); s != 200 {
			b.Fatal(s)
		}
	}
}

func BenchmarkGetUserByUserNameFilter(b *testing.B) {
	e := benchEnv(b)
	seedUsers(b, e, 1000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		q := "/Users?filter=" + url.QueryEscape(fmt.Sprintf(`userName eq "seed%d@x.com"`, i%1000)) + "&startIndex=1&count=100"
		if s := serve(b, e, http.MethodGet, q, ""); s != 200 {
			b.Fatal(s)
		}
	}
}

func BenchmarkPatchGroupAdd100(b *testing.B) {
	e := benchEnv(b)
	ids := seedUsers(b, e, 100)
	var sb strings.Builder
	for i, id := range ids {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`{"value":"` + id + `"}`)
	}
	body := patch(`{"op":"add","path":"members","value":[` + sb.String() + `]}`)
	gid := e.createGroup("Bench")
	b.ReportAllocs()
	for b.Loop() {
		if s := serve(b, e, http.MethodPatch, "/Groups/"+gid, body); s != 204 {
			b.Fatal(s)
		}
	}
}
