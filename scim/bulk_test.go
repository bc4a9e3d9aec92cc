package scim_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBulk: bulkId references, results in order, each operation on its own.
func TestBulk(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		existing := e.createUser("existing@x.com")
		r := e.must(200, "POST", "/Bulk", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[
			{"method":"POST","path":"/Users","bulkId":"qwerty","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bulk1@x.com"}},
			{"method":"POST","path":"/Users","bulkId":"dup","data":{"userName":"existing@x.com"}},
			{"method":"POST","path":"/Groups","bulkId":"ytrewq","data":{"displayName":"Bulk Team","members":[{"type":"User","value":"bulkId:qwerty"}]}},
			{"method":"PATCH","path":"/Users/bulkId:qwerty","data":{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Bulked"}]}},
			{"method":"PUT","path":"/Users/`+existing+`","version":"W/\"1\"","data":{"userName":"existing@x.com","title":"Put"}},
			{"method":"DELETE","path":"/Users/`+existing+`","version":"W/\"1\""},
			{"method":"PATCH","path":"/Groups/bulkId:nope","data":{"Operations":[{"op":"add","path":"members","value":[]}]}}
		]}`)
		assert.Equal(t, []any{"urn:ietf:params:scim:api:messages:2.0:BulkResponse"}, r.Body["schemas"])
		ops := r.Body["Operations"].([]any)
		require.Len(t, ops, 7)
		status := func(i int) string { return ops[i].(map[string]any)["status"].(string) }
		assert.Equal(t, "201", status(0))
		userID := strings.TrimPrefix(ops[0].(map[string]any)["location"].(string), base+"/Users/")
		assert.Equal(t, "qwerty", ops[0].(map[string]any)["bulkId"])
		assert.Equal(t, `W/"1"`, ops[0].(map[string]any)["version"])
		assert.Equal(t, "409", status(1))
		assert.Equal(t, "uniqueness", get(ops[1], "response.scimType"))
		assert.Equal(t, "201", status(2))
		assert.Equal(t, "200", status(3))
		assert.Equal(t, "200", status(4))
		assert.Equal(t, "412", status(5), "the PUT changed the version")
		assert.Equal(t, "409", status(6))

		gid := strings.TrimPrefix(ops[2].(map[string]any)["location"].(string), base+"/Groups/")
		assert.Equal(t, []string{userID}, memberIDs(t, e, gid))
		u := e.must(200, "GET", "/Users/"+userID, "")
		assert.Equal(t, "Bulked", u.Body["title"])
		assert.Equal(t, "Put", e.must(200, "GET", "/Users/"+existing, "").Body["title"])
	})
}

// TestBulk_failOnErrors stops after that many errors.
func TestBulk_failOnErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		r := e.must(200, "POST", "/Bulk", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"failOnErrors":1,"Operations":[
			{"method":"POST","path":"/Users","bulkId":"a","data":{"userName":""}},
			{"method":"POST","path":"/Users","bulkId":"b","data":{"userName":"never@x.com"}}]}`)
		ops := r.Body["Operations"].([]any)
		require.Len(t, ops, 1)
		assert.Equal(t, "400", get(ops[0], "status"))
		e.must(200, "GET", "/Users?filter=userName%20eq%20%22never@x.com%22", "")
		assert.EqualValues(t, 0, e.must(200, "GET", "/Users?filter=userName%20eq%20%22never@x.com%22", "").Body["totalResults"])
	})
}

// TestBulk_limits: more than 1000 operations is 413; bad operations are
// answered per operation.
func TestBulk_limits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		var b strings.Builder
		b.WriteString(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[`)
		for i := 0; i < 1001; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"method":"DELETE","path":"/Users/x%d"}`, i)
		}
		b.WriteString("]}")
		r := e.must(413, "POST", "/Bulk", b.String())
		assert.Equal(t, "tooMany", r.Body["scimType"])

		r = e.must(200, "POST", "/Bulk", `{"Operations":[{"method":"GET","path":"/Users"},{"method":"POST","path":"/Users","data":{"userName":"nobulkid@x.com"}},
			{"method":"POST","path":"/Tenants","bulkId":"t","data":{}},{"method":"DELETE","path":"/Users/missing"}]}`)
		ops := r.Body["Operations"].([]any)
		require.Len(t, ops, 4)
		for i, want := range []string{"400", "400", "400", "404"} {
			assert.Equal(t, want, get(ops[i], "status"), i)
		}
		e.must(400, "POST", "/Bulk", `{"Operations":[{"method":"POST","bulkId":"x","path":"/Users","data":{"userName":"a@x.com"}},{"method":"POST","bulkId":"x","path":"/Users","data":{"userName":"b@x.com"}}]}`)
		e.must(405, "GET", "/Bulk", "")
	})
}

// TestDiscovery: what ServiceProviderConfig, ResourceTypes and Schemas say,
// and 405 on other methods.
func TestDiscovery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		spc := e.must(200, "GET", "/ServiceProviderConfig", "")
		assert.Equal(t, true, get(spc.Body, "patch.supported"))
		assert.Equal(t, true, get(spc.Body, "bulk.supported"))
		assert.EqualValues(t, 1000, get(spc.Body, "bulk.maxOperations"))
		assert.EqualValues(t, 4<<20, get(spc.Body, "bulk.maxPayloadSize"))
		assert.EqualValues(t, 1000, get(spc.Body, "filter.maxResults"))
		assert.Equal(t, true, get(spc.Body, "sort.supported"))
		assert.Equal(t, true, get(spc.Body, "etag.supported"))
		assert.Equal(t, false, get(spc.Body, "changePassword.supported"))
		assert.Equal(t, "oauthbearertoken", get(spc.Body, "authenticationSchemes.0.type"))
		assert.Equal(t, base+"/ServiceProviderConfig", get(spc.Body, "meta.location"))

		rts := e.must(200, "GET", "/ResourceTypes", "")
		assert.EqualValues(t, 2, rts.Body["totalResults"])
		user := e.must(200, "GET", "/ResourceTypes/User", "")
		assert.Equal(t, "/Users", user.Body["endpoint"])
		assert.Len(t, user.Body["schemaExtensions"], 2)

		schemas := e.must(200, "GET", "/Schemas", "")
		assert.EqualValues(t, 4, schemas.Body["totalResults"])
		rs := e.must(200, "GET", "/Schemas/"+roster, "")
		names := []string{}
		for _, a := range rs.Body["attributes"].([]any) {
			names = append(names, a.(map[string]any)["name"].(string))
		}
		assert.Equal(t, []string{"role", "stores", "accessExpiresAt", "lastActiveAt", "seat"}, names)
		e.must(404, "GET", "/Schemas/urn:nope", "")

		for _, p := range []string{"/ServiceProviderConfig", "/ResourceTypes", "/Schemas"} {
			for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
				r := e.must(405, m, p, `{}`)
				assert.Equal(t, "GET", r.Header.Get("Allow"))
				assert.Equal(t, "405", r.Body["status"])
			}
		}
		e.must(405, "DELETE", "/Users", "")
		e.must(405, "POST", "/Users/some-id", `{}`)
		e.must(404, "GET", "/Nope", "")
		e.must(404, "GET", "/Users/a/b", "")
		e.must(501, "GET", "/Me", "")
		// Accept: application/json only → application/json.
		r := e.must(200, "GET", "/ServiceProviderConfig", "", "Accept", "application/json")
		assert.Equal(t, "application/json; charset=utf-8", r.Header.Get("Content-Type"))
		// Unknown query parameters (Entra's aadOptscim062020) are ignored.
		e.must(200, "GET", "/Users?aadOptscim062020", "")
	})
}

// TestBulk_forwardReference: an operation may reference the bulkId of a
// later POST (RFC 7644 §3.7.2); circular references fail with 409.
func TestBulk_forwardReference(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		r := e.must(200, "POST", "/Bulk", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[
			{"method":"POST","path":"/Groups","bulkId":"g","data":{"displayName":"Forward","members":[{"value":"bulkId:u"}]}},
			{"method":"POST","path":"/Users","bulkId":"u","data":{"userName":"fwd@x.com"}},
			{"method":"POST","path":"/Groups","bulkId":"a","data":{"displayName":"A","members":[{"value":"bulkId:b"}]}},
			{"method":"POST","path":"/Groups","bulkId":"b","data":{"displayName":"B","members":[{"value":"bulkId:a"}]}}]}`)
		ops := r.Body["Operations"].([]any)
		require.Len(t, ops, 4)
		assert.Equal(t, "g", get(ops[0], "bulkId"), "results in request order")
		assert.Equal(t, "201", get(ops[0], "status"))
		assert.Equal(t, "201", get(ops[1], "status"))
		assert.Equal(t, "409", get(ops[2], "status"))
		assert.Equal(t, "409", get(ops[3], "status"))
		uid := strings.TrimPrefix(get(ops[1], "location").(string), base+"/Users/")
		gid := strings.TrimPrefix(get(ops[0], "location").(string), base+"/Groups/")
		assert.Equal(t, []string{uid}, memberIDs(t, e, gid))
	})
}
