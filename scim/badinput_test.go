package scim_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// TestBadInput: every malformed request is a 4xx with the right scimType
// and a detail, never a 5xx, and changes nothing.
func TestBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser("target@x.com", `"title":"Before"`)
		gid := e.createGroup("Target Team", id)
		before := e.must(200, "GET", "/Users/"+id, "").Raw
		beforeGroup := e.must(200, "GET", "/Groups/"+gid, "").Raw

		deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
		mb := strings.Repeat("a", 1<<20)
		type tc struct {
			name, method, path, body string
			status                   int
			scimType                 string
			contentType              string
		}
		cases := []tc{
			{"malformed JSON", "POST", "/Users", `{"userName":`, 400, "invalidSyntax", ""},
			{"not an object", "POST", "/Users", `["userName"]`, 400, "invalidSyntax", ""},
			{"trailing data", "POST", "/Users", `{"userName":"t1@x.com"} {}`, 400, "invalidSyntax", ""},
			{"empty body", "POST", "/Users", ``, 400, "invalidSyntax", ""},
			{"invalid UTF-8", "POST", "/Users", "{\"userName\":\"a\xff\xfe@x.com\"}", 400, "invalidSyntax", ""},
			{"invalid UTF-8 in a key", "POST", "/Users", "{\"user\xffName\":\"a@x.com\"}", 400, "invalidSyntax", ""},
			{"duplicate keys", "POST", "/Users", `{"userName":"d1@x.com","userName":"d2@x.com"}`, 400, "invalidSyntax", ""},
			{"duplicate keys, other case", "POST", "/Users", `{"userName":"d1@x.com","USERNAME":"d2@x.com"}`, 400, "invalidSyntax", ""},
			{"duplicate nested keys", "PUT", "/Users/" + id, `{"userName":"target@x.com","name":{"givenName":"a","givenName":"b"}}`, 400, "invalidSyntax", ""},
			{"duplicate keys, escaped", "POST", "/Users", `{"userName":"d1@x.test","user\u004eame":"root@x.test"}`, 400, "invalidSyntax", ""},
			{"duplicate active, escaped", "POST", "/Users", `{"userName":"d1@x.test","active":false,"\u0061ctive":true}`, 400, "invalidSyntax", ""},
			{"duplicate keys, escaped, in PATCH", "PATCH", "/Users/" + id, patch(`{"op":"replace","value":{"title":"a","t\u0069tle":"b"}}`), 400, "invalidSyntax", ""},
			{"lone high surrogate", "POST", "/Users", `{"userName":"\ud800@x.test"}`, 400, "invalidSyntax", ""},
			{"lone low surrogate", "PUT", "/Users/" + id, `{"userName":"target@x.com","title":"a\udc00"}`, 400, "invalidSyntax", ""},
			{"high surrogate, no low one", "PATCH", "/Users/" + id, patch(`{"op":"replace","path":"title","value":"\ud83d\u0041"}`), 400, "invalidSyntax", ""},
			{"lone surrogate in a key", "POST", "/Groups", `{"displayName":"S","\udbff":1}`, 400, "invalidSyntax", ""},
			{"10,000 deep", "POST", "/Users", `{"userName":"deep@x.com","x":` + deep + `}`, 400, "invalidSyntax", ""},
			{"raw NUL", "POST", "/Users", "{\"userName\":\"n\x00@x.com\"}", 400, "invalidSyntax", ""},
			{"escaped NUL", "POST", "/Users", `{"userName":"n\u0000@x.com"}`, 400, "invalidSyntax", ""},
			{"unknown schema", "POST", "/Users", `{"schemas":["urn:example:evil"],"userName":"s@x.com"}`, 400, "invalidValue", ""},
			{"schemas without core", "POST", "/Users", `{"schemas":["` + ent + `"],"userName":"s@x.com"}`, 400, "invalidValue", ""},
			{"group schema on a user", "PUT", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"userName":"target@x.com"}`, 400, "invalidValue", ""},
			{"userName a number", "POST", "/Users", `{"userName":5}`, 400, "invalidValue", ""},
			{"active not a boolean", "POST", "/Users", `{"userName":"b@x.com","active":"yes"}`, 400, "invalidValue", ""},
			// Only "true" and "false" (any case) stand for booleans: no IdP sends
			// strconv.ParseBool's other spellings (docs/idp-decisions.md, 1).
			{"active \"1\"", "POST", "/Users", `{"userName":"b@x.com","active":"1"}`, 400, "invalidValue", ""},
			{"primary \"t\"", "POST", "/Users", `{"userName":"b@x.com","emails":[{"value":"b@x.com","primary":"t"}]}`, 400, "invalidValue", ""},
			{"PATCH active \"F\"", "PATCH", "/Users/" + id, patch(`{"op":"Replace","path":"active","value":"F"}`), 400, "invalidValue", ""},
			{"PATCH active \" true\"", "PATCH", "/Users/" + id, patch(`{"op":"Replace","path":"active","value":" true"}`), 400, "invalidValue", ""},
			{"PATCH primary \"0\"", "PATCH", "/Users/" + id, patch(`{"op":"add","path":"emails","value":[{"value":"p@x.com","primary":"0"}]}`), 400, "invalidValue", ""},
			{"filter active \"1\"", "GET", "/Users?filter=" + url.QueryEscape(`active eq "1"`), "", 400, "invalidFilter", ""},
			{"filter primary \"T\"", "GET", "/Users?filter=" + url.QueryEscape(`emails[primary eq "T"]`), "", 400, "invalidFilter", ""},
			{"emails a string", "POST", "/Users", `{"userName":"b@x.com","emails":"b@x.com"}`, 400, "invalidValue", ""},
			{"name a string", "POST", "/Users", `{"userName":"b@x.com","name":"Bob"}`, 400, "invalidValue", ""},
			{"manager a number", "POST", "/Users", `{"userName":"b@x.com","` + ent + `":{"manager":7}}`, 400, "invalidValue", ""},
			{"bad dateTime", "POST", "/Users", `{"userName":"b@x.com","` + roster + `":{"accessExpiresAt":"tomorrow"}}`, 400, "invalidValue", ""},
			{"missing userName", "POST", "/Users", `{"name":{"givenName":"x"}}`, 400, "invalidValue", ""},
			{"blank userName", "PUT", "/Users/" + id, `{"userName":"   "}`, 400, "invalidValue", ""},
			{"1 MB userName", "POST", "/Users", `{"userName":"` + mb + `"}`, 400, "invalidValue", ""},
			{"1 MB title", "PUT", "/Users/" + id, `{"userName":"target@x.com","title":"` + mb + `"}`, 400, "invalidValue", ""},
			{"5 MB body", "POST", "/Users", `{"userName":"big@x.com","title":"` + strings.Repeat(mb, 5) + `"}`, 413, "tooMany", ""},
			{"XML", "POST", "/Users", `<user/>`, 415, "", "application/xml"},
			{"group displayName a number", "POST", "/Groups", `{"displayName":1}`, 400, "invalidValue", ""},
			{"group without displayName", "PUT", "/Groups/" + gid, `{"members":[]}`, 400, "invalidValue", ""},
			{"member without value", "PUT", "/Groups/" + gid, `{"displayName":"Target Team","members":[{"display":"x"}]}`, 400, "invalidValue", ""},
			{"members an object of junk", "PUT", "/Groups/" + gid, `{"displayName":"Target Team","members":"x"}`, 400, "invalidValue", ""},
			// PATCH.
			{"no operations", "PATCH", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}`, 400, "invalidValue", ""},
			{"wrong schema", "PATCH", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"Operations":[{"op":"add","path":"title","value":"x"}]}`, 400, "invalidValue", ""},
			{"unknown op", "PATCH", "/Users/" + id, patch(`{"op":"move","path":"title","value":"x"}`), 400, "invalidSyntax", ""},
			{"remove without path", "PATCH", "/Users/" + id, patch(`{"op":"remove"}`), 400, "noTarget", ""},
			{"add without value", "PATCH", "/Users/" + id, patch(`{"op":"add","path":"title"}`), 400, "invalidValue", ""},
			{"pathless string value", "PATCH", "/Users/" + id, patch(`{"op":"replace","value":"x"}`), 400, "invalidValue", ""},
			{"path syntax", "PATCH", "/Users/" + id, patch(`{"op":"replace","path":"name..givenName","value":"x"}`), 400, "invalidPath", ""},
			{"unclosed filter", "PATCH", "/Users/" + id, patch(`{"op":"replace","path":"emails[type eq \"work\"","value":"x"}`), 400, "invalidPath", ""},
			{"bad path filter", "PATCH", "/Users/" + id, patch(`{"op":"replace","path":"emails[type zz \"work\"].value","value":"x"}`), 400, "invalidFilter", ""},
			{"unknown attribute", "PATCH", "/Users/" + id, patch(`{"op":"replace","path":"shoeSize","value":"x"}`), 400, "invalidPath", ""},
			{"unknown attribute in value", "PATCH", "/Users/" + id, patch(`{"op":"replace","value":{"title":"x","shoeSize":"43"}}`), 400, "invalidPath", ""},
			{"unknown schema path", "PATCH", "/Users/" + id, patch(`{"op":"replace","path":"urn:example:x:title","value":"x"}`), 400, "invalidPath", ""},
			{"target id", "PATCH", "/Users/" + id, patch(`{"op":"replace","path":"id","value":"x"}`), 400, "mutability", ""},
			{"target meta", "PATCH", "/Users/" + id, patch(`{"op":"remove","path":"meta.lastModified"}`), 400, "mutability", ""},
			{"active maybe", "PATCH", "/Users/" + id, patch(`{"op":"replace","path":"title","value":"x"}`, `{"op":"replace","path":"active","value":"maybe"}`), 400, "invalidValue", ""},
			{"title a number", "PATCH", "/Users/" + id, patch(`{"op":"replace","path":"title","value":5}`), 400, "invalidValue", ""},
			{"filter on a single value", "PATCH", "/Users/" + id, patch(`{"op":"replace","path":"title[value eq \"x\"]","value":"x"}`), 400, "invalidPath", ""},
			{"1 MB in PATCH", "PATCH", "/Users/" + id, patch(`{"op":"replace","path":"title","value":"` + mb + `"}`), 400, "invalidValue", ""},
			{"group target id", "PATCH", "/Groups/" + gid, patch(`{"op":"replace","path":"id","value":"x"}`), 400, "mutability", ""},
			{"group remove displayName", "PATCH", "/Groups/" + gid, patch(`{"op":"remove","path":"displayName"}`), 400, "mutability", ""},
			{"group member filter", "PATCH", "/Groups/" + gid, patch(`{"op":"remove","path":"members[display co \"x\"]"}`), 400, "invalidFilter", ""},
			{"group unknown attr", "PATCH", "/Groups/" + gid, patch(`{"op":"add","path":"owner","value":"x"}`), 400, "invalidPath", ""},
			{"group members not a list", "PATCH", "/Groups/" + gid, patch(`{"op":"add","path":"members","value":"u1"}`), 400, "invalidValue", ""},
			// Queries.
			{"unknown operator", "GET", "/Users?filter=" + url.QueryEscape(`userName like "a"`), "", 400, "invalidFilter", ""},
			{"count not a number", "GET", "/Users?count=ten", "", 400, "invalidValue", ""},
			{"startIndex not a number", "GET", "/Groups?startIndex=x", "", 400, "invalidValue", ""},
			{"bad search body", "POST", "/Users/.search", `{"count":"many"}`, 400, "invalidValue", ""},
			{"bad bulk body", "POST", "/Bulk", `{"Operations":{}}`, 400, "invalidValue", ""},
		}
		for _, c := range cases {
			req := []string{}
			if c.contentType != "" {
				req = append(req, "Content-Type", c.contentType)
			}
			r := e.do(c.method, c.path, c.body, req...)
			if !assert.Equal(t, c.status, r.Status, "%s: %.300s", c.name, r.Raw) {
				continue
			}
			var scimType any
			if c.scimType != "" {
				scimType = c.scimType
			}
			assert.Equal(t, scimType, r.Body["scimType"], "%s: %.300s", c.name, r.Raw)
			assert.Equal(t, fmt.Sprint(c.status), r.Body["status"], c.name)
			assert.NotEmpty(t, r.Body["detail"], c.name)
		}
		assert.Equal(t, before, e.must(200, "GET", "/Users/"+id, "").Raw, "the user is unchanged")
		assert.Equal(t, beforeGroup, e.must(200, "GET", "/Groups/"+gid, "").Raw, "the group is unchanged")
		page, err := e.st.ListUsers(context.Background(), tenantID, store.UserQuery{Count: 10})
		require.NoError(t, err)
		assert.Equal(t, 1, page.Total, "no user was created")
	})
}

// TestConcurrency_oneUserName: 20 concurrent POSTs of one userName create
// exactly one user; the others are 409.
func TestConcurrency_oneUserName(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		statuses := run(20, func(i int) int {
			return e.do("POST", "/Users", fmt.Sprintf(`{"userName":"same@x.com","externalId":"%d"}`, i)).Status
		})
		assert.Equal(t, 1, statuses[201], "%v", statuses)
		assert.Equal(t, 19, statuses[409], "%v", statuses)
		page, err := e.st.ListUsers(context.Background(), tenantID, store.UserQuery{Count: 10})
		require.NoError(t, err)
		assert.Equal(t, 1, page.Total)
	})
}

// TestConcurrency_memberAdds: 30 concurrent member-add PATCHes on one group
// keep all 30 members.
func TestConcurrency_memberAdds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ids := make([]string, 30)
		for i := range ids {
			ids[i] = e.createUser(fmt.Sprintf("m%02d@x.com", i))
		}
		gid := e.createGroup("Concurrent")
		statuses := run(30, func(i int) int {
			return e.do("PATCH", "/Groups/"+gid, patch(`{"op":"add","path":"members","value":[{"value":"`+ids[i]+`"}]}`)).Status
		})
		assert.Equal(t, 30, statuses[204], "%v", statuses)
		assert.ElementsMatch(t, ids, memberIDs(t, e, gid))
	})
}

// TestConcurrency_ifMatch: concurrent PUTs with the same If-Match: one
// winner, the rest 412.
func TestConcurrency_ifMatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser("race@x.com")
		statuses := run(10, func(i int) int {
			return e.do("PUT", "/Users/"+id, fmt.Sprintf(`{"userName":"race@x.com","title":"writer %d"}`, i), "If-Match", `W/"1"`).Status
		})
		assert.Equal(t, 1, statuses[200], "%v", statuses)
		assert.Equal(t, 9, statuses[412], "%v", statuses)
		got := e.must(200, "GET", "/Users/"+id, "")
		assert.Equal(t, `W/"2"`, get(got.Body, "meta.version"))
	})
}

// run calls fn n times concurrently and counts the statuses.
func run(n int, fn func(i int) int) map[int]int {
	var mu sync.Mutex
	out := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			s := fn(i)
			mu.Lock()
			out[s]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return out
}
