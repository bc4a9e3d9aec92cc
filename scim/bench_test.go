package scim_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/roster-dev/roster/scim"
	"github.com/roster-dev/roster/store"
)

// Handler benchmarks: the whole SCIM handler called in-process (no network),
// on the memory store (the SCIM layer's own cost) and on PostgreSQL.
//
//	go test ./scim -run '^$' -bench . -benchmem

// forEachBench runs a benchmark on each store.
func forEachBench(b *testing.B, fn func(b *testing.B, e *env)) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) { fn(b, newEnv(b, be.open, 1_000_000)) })
	}
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
	forEachBench(b, func(b *testing.B, e *env) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			name := fmt.Sprintf("user%d@x.com", i)
			if s := serve(b, e, http.MethodPost, "/Users", fmt.Sprintf(oktaUser, name, name)); s != 201 {
				b.Fatal(s)
			}
		}
	})
}

func seedUsers(b *testing.B, e *env, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		u, err := e.st.CreateUser(b.Context(), tenantID, store.User{UserName: fmt.Sprintf("seed%d@x.com", i), Active: true}, tokenActor)
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = u.ID
	}
	return ids
}

func BenchmarkGetUserByID(b *testing.B) {
	forEachBench(b, func(b *testing.B, e *env) {
		ids := seedUsers(b, e, 1000)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if s := serve(b, e, http.MethodGet, "/Users/"+ids[i%len(ids)], ""); s != 200 {
				b.Fatal(s)
			}
		}
	})
}

func BenchmarkGetUserByIDNoGroups(b *testing.B) {
	forEachBench(b, func(b *testing.B, e *env) {
		ids := seedUsers(b, e, 1000)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if s := serve(b, e, http.MethodGet, "/Users/"+ids[i%len(ids)]+"?excludedAttributes=groups", ""); s != 200 {
				b.Fatal(s)
			}
		}
	})
}

func BenchmarkGetUserByUserNameFilter(b *testing.B) {
	forEachBench(b, func(b *testing.B, e *env) {
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
	})
}

func BenchmarkPatchGroupAdd100(b *testing.B) {
	forEachBench(b, func(b *testing.B, e *env) {
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
	})
}

// BenchmarkParseFilter is the filter parser alone (the pinned library's
// costs about 115 µs and 2,000 allocations for the same filter).
func BenchmarkParseFilter(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := scim.ParseFilter(store.Users, `userName eq "ann.lee@example.com"`); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefuseWideObjects is the body a reviewer used against the
// duplicate-key check: about 4.2 MB of 55 objects with 2,048 keys each,
// refused for a duplicate key in the last one, after the whole body was
// scanned (the handler on the memory store: the SCIM layer's own cost).
func BenchmarkRefuseWideObjects(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"userName":"wide@x.com","x":[`)
	for o := range 55 {
		if o > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('{')
		for k := range 2048 {
			if k > 0 {
				sb.WriteByte(',')
			}
			name := k
			if o == 54 && k == 2047 {
				name = 0 // the duplicate, last
			}
			fmt.Fprintf(&sb, `"attribute-%018d":%d`, name, k)
		}
		sb.WriteByte('}')
	}
	sb.WriteString(`]}`)
	body := sb.String()
	if len(body) > scim.MaxBodyBytes {
		b.Fatalf("%d bytes: over the body limit", len(body))
	}
	e := newEnv(b, backends[0].open, 10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if s := serve(b, e, http.MethodPost, "/Users", body); s != 400 {
			b.Fatal(s)
		}
	}
}

// BenchmarkPatch_hugeListsRefused: the refusal of each huge PATCH list
// (hugeListPatches) on the memory store — milliseconds, where comparing the
// values with each other took tens of seconds.
func BenchmarkPatch_hugeListsRefused(b *testing.B) {
	e := newEnv(b, backends[0].open, 10)
	id := e.createUser("huge@x.com")
	for name, body := range hugeListPatches() {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if s := serve(b, e, http.MethodPatch, "/Users/"+id, body); s != 400 {
					b.Fatal(s)
				}
			}
		})
	}
}

// BenchmarkFilterScan: a filter no index answers, evaluated on every user of
// the tenant (the memory store's accessors; PostgreSQL's column expressions).
func BenchmarkFilterScan(b *testing.B) {
	forEachBench(b, func(b *testing.B, e *env) {
		seedUsers(b, e, 1000)
		q := "/Users?filter=" + url.QueryEscape(`active eq true and (displayName co "zz" or meta.created lt "2000-01-01T00:00:00Z")`) + "&count=100"
		b.ReportAllocs()
		for b.Loop() {
			if s := serve(b, e, http.MethodGet, q, ""); s != 200 {
				b.Fatal(s)
			}
		}
	})
}

// BenchmarkPatchGroupAddNew100 is the PATCH an IdP sends to fill a group:
// 100 members not yet in it, each iteration (a new group every 100), the
// whole SCIM handler in process on PostgreSQL — the load tool's 100 small
// PATCHes without the network.
func BenchmarkPatchGroupAddNew100(b *testing.B) {
	e := newEnv(b, backends[1].open, 1_000_000)
	ids := seedUsers(b, e, 10_000)
	bodies := make([]string, 100)
	for c := range bodies {
		var sb strings.Builder
		for i, id := range ids[c*100 : (c+1)*100] {
			if i > 0 {
				sb.WriteString(",")
			}
			sb.WriteString(`{"value":"` + id + `"}`)
		}
		bodies[c] = patch(`{"op":"add","path":"members","value":[` + sb.String() + `]}`)
	}
	var gid string
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if i%100 == 0 {
			b.StopTimer()
			gid = e.createGroup(fmt.Sprintf("Bench %d", i))
			b.StartTimer()
		}
		if s := serve(b, e, http.MethodPatch, "/Groups/"+gid, bodies[i%100]); s != 204 {
			b.Fatal(s)
		}
		i++
	}
}
