package scim_test

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzHandler drives the whole handler on the memory store with arbitrary
// methods, paths, queries and bodies: no request ever gets a 5xx, and every
// error is a SCIM error body.
func FuzzHandler(f *testing.F) {
	seeds := []struct{ method, path, body string }{
		{"POST", "/Users", `{"userName":"a@x.com","emails":[{"value":"a@x.com","primary":"True"}]}`},
		{"GET", "/Users?filter=userName%20eq%20%22a%40x.com%22&attributes=userName,name.givenName", ""},
		{"PATCH", "/Users/u1", patch(`{"op":"replace","value":{"active":false}}`)},
		{"PATCH", "/Groups/g1", patch(`{"op":"remove","path":"members[value eq \"u1\"]"}`)},
		{"POST", "/Bulk", `{"Operations":[{"method":"POST","path":"/Users","bulkId":"x","data":{"userName":"b"}},{"method":"POST","path":"/Groups","bulkId":"g","data":{"displayName":"G","members":[{"value":"bulkId:x"}]}}]}`},
		{"POST", "/.search", `{"filter":"displayName sw \"G\"","sortBy":"displayName","count":"5"}`},
		{"GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", ""},
		{"PUT", "/Groups/g1?excludedAttributes=members", `{"displayName":"G2","members":[]}`},
		{"GET", "/Users?startIndex=-1&count=99999999999999999999999&sortBy=meta.created&sortOrder=descending", ""},
		{"POST", "/Users", `{"userName":"d1@x.test","user\u004eame":"root@x.test","\u0061ctive":true}`},
		{"PUT", "/Users/u1", `{"userName":"\ud800@x.test","emails":[{"value":"a@x","primary":true},{"value":"b@x","primary":true}]}`},
		{"PATCH", "/Users/u1", patch(`{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"schemas":["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"department":"D"}}`, `{"op":"remove","path":"active"}`)},
		{"GET", "/Users?filter=roles%5Btype%20eq%20%22x%22%5D", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, []byte(s.body))
	}
	e := newEnv(f, backends[0].open, 5)
	uid := e.createUser("fixed@x.com")
	gid := e.createGroup("Fixed", uid)
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") || len(method) == 0 || strings.ContainsAny(method, " \r\n\t") {
			return
		}
		path = strings.ReplaceAll(strings.ReplaceAll(path, "u1", uid), "g1", gid)
		defer func() {
			if v := recover(); v != nil {
				if strings.Contains(stringOf(v), "invalid NewRequest arguments") {
					return // httptest.NewRequest refuses what a server would never see
				}
				t.Fatalf("%s %s %q: panic %v", method, path, body, v)
			}
		}()
		req := httptest.NewRequest(method, "/scim/v2/"+tenantID+path, strings.NewReader(string(body)))
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"urn:ietf:params:scim:api:messages:2.0:Error"`) {
			t.Fatalf("%s %s %q: %d without a SCIM error body: %s", method, path, body, rec.Code, rec.Body.String())
		}
	})
}

func stringOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if e, ok := v.(error); ok {
		return e.Error()
	}
	return ""
}
