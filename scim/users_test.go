package scim_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// TestUsers_oktaLifecycle replays Okta's conversation: lookup miss, create,
// duplicate, lookup hit (any casing), PUT round trip, deactivate, reactivate.
func TestUsers_oktaLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		miss := e.must(200, "GET", "/Users?filter="+url.QueryEscape(`userName eq "ann@x.com"`)+"&startIndex=1&count=100", "")
		assert.EqualValues(t, 0, miss.Body["totalResults"])
		assert.Equal(t, []any{}, miss.Body["Resources"])
		assert.Equal(t, "application/scim+json; charset=utf-8", miss.Header.Get("Content-Type"))

		created := e.must(201, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@x.com",
			"name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"primary":true,"value":"ann@x.com","type":"work"}],
			"displayName":"Ann Lee","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"password":"1mz050nq","active":true}`)
		id := created.Body["id"].(string)
		require.NotEmpty(t, id)
		assert.Equal(t, base+"/Users/"+id, created.Header.Get("Location"))
		assert.Equal(t, base+"/Users/"+id, get(created.Body, "meta.location"))
		assert.Equal(t, `W/"1"`, created.Header.Get("ETag"))
		assert.Equal(t, `W/"1"`, get(created.Body, "meta.version"))
		assert.Equal(t, "User", get(created.Body, "meta.resourceType"))
		assert.Equal(t, "Ann", get(created.Body, "name.givenName"))
		assert.Equal(t, true, created.Body["active"])
		assert.Equal(t, "00ujl29u0le5T6Aj10h7", created.Body["externalId"])
		assert.NotContains(t, created.Raw, "1mz050nq", "password is never echoed")
		assert.NotContains(t, created.Raw, "password")
		assert.Equal(t, "consumed", get(created.Body, roster+"|seat"))
		assert.Equal(t, "agent", get(created.Body, roster+"|role"))
		assert.Equal(t, []any{map[string]any{"value": "agent", "primary": true}}, created.Body["roles"])

		dup := e.must(409, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ANN@x.com"}`)
		assert.Equal(t, "uniqueness", dup.Body["scimType"])
		assert.Equal(t, "409", dup.Body["status"])
		assert.Equal(t, []any{"urn:ietf:params:scim:api:messages:2.0:Error"}, dup.Body["schemas"])

		for _, f := range []string{`userName eq "ann@x.com"`, `USERNAME EQ "ANN@X.COM"`, `userName Eq "Ann@X.com"`} {
			hit := e.must(200, "GET", "/Users?filter="+url.QueryEscape(f), "")
			assert.EqualValues(t, 1, hit.Body["totalResults"], f)
			assert.Equal(t, id, get(hit.Body, "Resources.0.id"), f)
			assert.EqualValues(t, 1, hit.Body["itemsPerPage"])
		}

		// PUT sends back what GET gave, changed.
		got := e.must(200, "GET", "/Users/"+id, "")
		got.Body["title"] = "Lead"
		got.Body["password"] = "xyz"
		body := mustJSON(t, got.Body)
		put := e.must(200, "PUT", "/Users/"+id, body)
		assert.Equal(t, "Lead", put.Body["title"])
		assert.Equal(t, `W/"2"`, put.Header.Get("ETag"))
		assert.Equal(t, "agent", get(put.Body, roster+"|role"))

		deact := e.must(200, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`)
		assert.Equal(t, false, deact.Body["active"])
		assert.Equal(t, "none", get(deact.Body, roster+"|seat"))
		react := e.must(200, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true}}]}`)
		assert.Equal(t, true, react.Body["active"])

		notFound := e.must(404, "GET", "/Users/00000000-0000-0000-0000-000000000000", "")
		assert.Equal(t, "404", notFound.Body["status"])
		assert.NotEmpty(t, notFound.Body["detail"])

		e.must(204, "DELETE", "/Users/"+id, "")
		e.must(404, "DELETE", "/Users/"+id, "")
		e.must(404, "GET", "/Users/"+id, "")
	})
}

// TestUsers_entraShapes covers Entra ID's create and both PATCH forms.
func TestUsers_entraShapes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		mgr := e.createUser("boss@contoso.com")
		created := e.must(201, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","`+ent+`"],
			"externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","userName":"Test_User_00aa@contoso.com","active":true,
			"emails":[{"primary":true,"type":"work","value":"t@contoso.com"}],"meta":{"resourceType":"User"},
			"name":{"formatted":"G F","familyName":"F","givenName":"G"},"roles":[],"title":null,"`+ent+`":{"manager":null}}`)
		id := created.Body["id"].(string)
		assert.Nil(t, created.Body["title"])

		// Default form: one op per attribute, capitalised ops, string booleans.
		r := e.must(200, "PATCH", "/Users/"+id, patch(
			`{"op":"Replace","path":"name.givenName","value":"Kkom"}`,
			`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"k@contoso.com"}`,
			`{"op":"Add","path":"`+ent+`:employeeNumber","value":"E42"}`,
			`{"op":"Replace","path":"`+ent+`:manager","value":{"value":"`+mgr+`"}}`,
			`{"op":"Add","path":"nickName","value":"Babs"}`,
		))
		assert.Equal(t, "Kkom", get(r.Body, "name.givenName"))
		assert.Equal(t, "k@contoso.com", get(r.Body, "emails.0.value"))
		assert.Len(t, r.Body["emails"], 1)
		assert.Equal(t, "E42", get(r.Body, ent+"|employeeNumber"))
		assert.Equal(t, mgr, get(r.Body, ent+"|manager.value"))
		assert.Equal(t, base+"/Users/"+mgr, get(r.Body, ent+"|manager.$ref"))
		assert.Equal(t, "Babs", r.Body["nickName"])

		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"Replace","path":"active","value":"False"}`))
		assert.Equal(t, false, r.Body["active"])
		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"replace","path":"active","value":true}`))
		assert.Equal(t, true, r.Body["active"])

		// aadOptscim062020: one pathless op with dotted and URN keys.
		r = e.must(200, "PATCH", "/Users/"+id, patch(
			`{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Ann","`+ent+`:employeeNumber":"Aklq"}}`,
			`{"op":"replace","path":"emails[type eq \"work\"].value","value":"a@contoso.com"}`))
		assert.Equal(t, "Bjfe", r.Body["displayName"])
		assert.Equal(t, "Ann", get(r.Body, "name.givenName"))
		assert.Equal(t, "F", get(r.Body, "name.familyName"), "other name parts stay")
		assert.Equal(t, "Aklq", get(r.Body, ent+"|employeeNumber"))
		assert.Equal(t, "a@contoso.com", get(r.Body, "emails.0.value"))

		// Nested extension object in a pathless value.
		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"add","value":{"`+ent+`":{"department":"Sales"}}}`))
		assert.Equal(t, "Sales", get(r.Body, ent+"|department"))

		// Manager as a bare id, then "" removes it.
		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"Replace","path":"`+ent+`:manager","value":"`+mgr+`"}`))
		assert.Equal(t, mgr, get(r.Body, ent+"|manager.value"))
		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"Replace","path":"`+ent+`:manager","value":""}`))
		assert.Nil(t, get(r.Body, ent+"|manager"))

		// Entra's Test Connection: a filter on a random GUID.
		miss := e.must(200, "GET", "/Users?filter="+url.QueryEscape(`externalId eq "7a7e1b6e-41f9-4bd1-a0a8-0a0de2d0a1e2"`), "")
		assert.EqualValues(t, 0, miss.Body["totalResults"])
		hit := e.must(200, "GET", "/Users?filter="+url.QueryEscape(`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`), "")
		assert.EqualValues(t, 1, hit.Body["totalResults"])
		// The alternative matching attribute.
		hit = e.must(200, "GET", "/Users?filter="+url.QueryEscape(`emails[type eq "work"].value eq "a@contoso.com"`), "")
		assert.EqualValues(t, 1, hit.Body["totalResults"])
	})
}

// TestUsers_replaceAddsMissingWorkEmail: replace on emails[type eq "work"].value
// when the user has no work email adds one (SCIM Validator).
func TestUsers_replaceAddsMissingWorkEmail(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser("nowork@x.com", `"emails":[{"type":"home","value":"h@x.com"}]`)
		r := e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"replace","path":"emails[type eq \"work\"].value","value":"w@x.com"}`))
		require.Len(t, r.Body["emails"], 2)
		assert.Equal(t, "h@x.com", get(r.Body, "emails.0.value"))
		assert.Equal(t, "w@x.com", get(r.Body, "emails.1.value"))
		assert.Equal(t, "work", get(r.Body, "emails.1.type"))
		// Same for addresses.
		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"replace","path":"addresses[type eq \"work\"].locality","value":"Oslo"}`))
		assert.Equal(t, "Oslo", get(r.Body, "addresses.0.locality"))
		assert.Equal(t, "work", get(r.Body, "addresses.0.type"))
	})
}

// TestUsers_oneLoginShapes: single-object emails, string booleans.
func TestUsers_oneLoginShapes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		r := e.must(201, "POST", "/Users", `{"userName":"ol@x.com","schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"emails":{"primary":"true","type":"work","value":"ol@x.com"},"active":"true",
			"`+ent+`":{"manager":{"value":""},"department":"Ops"}}`)
		assert.Equal(t, true, r.Body["active"])
		assert.Equal(t, "ol@x.com", get(r.Body, "emails.0.value"))
		assert.Equal(t, true, get(r.Body, "emails.0.primary"))
		id := r.Body["id"].(string)
		r = e.must(200, "PUT", "/Users/"+id, `{"userName":"ol@x.com","schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"active":"false"}`)
		assert.Equal(t, false, r.Body["active"])
		assert.Nil(t, r.Body["emails"], "PUT replaces the whole user")
	})
}

// TestUsers_roles covers the role hooks: extension role, core roles with
// primary, Entra's JSON-encoded role value, and filters on them.
func TestUsers_roles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		for _, o := range []string{"s1", "s2"} {
			_, err := e.st.CreateOutlet(context.Background(), tenantID, store.Outlet{ID: o, Name: "Store " + o}, store.ActorSystem)
			require.NoError(t, err)
		}
		sup := e.must(201, "POST", "/Users", `{"userName":"sup@x.com","roles":[{"primary":"True","type":"WindowsAzureActiveDirectoryRole","value":"supervisor"}]}`)
		assert.Equal(t, "supervisor", get(sup.Body, roster+"|role"))
		assert.Equal(t, []any{map[string]any{"value": "supervisor", "primary": true, "type": "WindowsAzureActiveDirectoryRole"}}, sup.Body["roles"],
			"the role held, with the type sent with it")
		ext := e.must(201, "POST", "/Users", `{"userName":"ext@x.com","`+roster+`":{"role":"supervisor","stores":["s1","s2"]},"roles":[{"value":"agent"}]}`)
		assert.Equal(t, "supervisor", get(ext.Body, roster+"|role"), "the extension role beats the core roles")
		assert.Equal(t, []any{"s1", "s2"}, get(ext.Body, roster+"|stores"))
		plain := e.createUser("plain@x.com")

		id := plain
		r := e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"Add","path":"roles","value":[{"value":"{\"id\":\"06b07648-ecfe-589f-9d2f-6f7a6b1d7e4b\",\"value\":\"supervisor\",\"displayName\":\"Supervisor\"}"}]}`))
		assert.Equal(t, "supervisor", get(r.Body, roster+"|role"), "Entra's JSON-encoded role value is decoded")
		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"remove","path":"roles"}`))
		assert.Equal(t, "agent", get(r.Body, roster+"|role"), "removing the role falls back to the default")
		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"replace","path":"`+roster+`:role","value":"supervisor"}`))
		assert.Equal(t, "supervisor", get(r.Body, roster+"|role"))

		count := func(f string) int {
			r := e.must(200, "GET", "/Users?filter="+url.QueryEscape(f), "")
			return int(r.Body["totalResults"].(float64))
		}
		assert.Equal(t, 3, count(roster+`:role eq "supervisor"`))
		assert.Equal(t, 3, count(`roles.value eq "supervisor"`))
		assert.Equal(t, 3, count(`roles[primary eq "True"].value eq "supervisor"`))
		assert.Equal(t, 3, count(`roles[primary eq true and value eq "SUPERVISOR"]`))
		assert.Equal(t, 0, count(`roles[primary eq "False"].value eq "supervisor"`))
		assert.Equal(t, 0, count(`roles.value eq "agent"`))
		assert.Equal(t, 3, count(`roles pr`))
	})
}

// TestUsers_externalExpiry: from accessExpiresAt on an external user reads
// inactive with no seat, before any sweeper ran.
func TestUsers_externalExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		exp := e.clock().Add(time.Hour).Format(time.RFC3339)
		r := e.must(201, "POST", "/Users", `{"userName":"guest@x.com","userType":"External","`+roster+`":{"accessExpiresAt":"`+exp+`"}}`)
		id := r.Body["id"].(string)
		assert.Equal(t, true, r.Body["active"])
		assert.Equal(t, "External", r.Body["userType"])
		assert.Equal(t, exp, get(r.Body, roster+"|accessExpiresAt"))
		e.advance(2 * time.Hour)
		r = e.must(200, "GET", "/Users/"+id, "")
		assert.Equal(t, false, r.Body["active"])
		assert.Equal(t, "none", get(r.Body, roster+"|seat"))
	})
}

// TestUsers_readOnlyAndImmutable: readOnly attributes sent on write are
// ignored; PATCH targeting id, meta or groups is 400 mutability.
func TestUsers_readOnlyAndImmutable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		r := e.must(201, "POST", "/Users", `{"userName":"ro@x.com","id":"chosen-id","meta":{"created":"2001-01-01T00:00:00Z"},
			"groups":[{"value":"g1"}],"`+roster+`":{"seat":"light","lastActiveAt":"2001-01-01T00:00:00Z"}}`)
		id := r.Body["id"].(string)
		assert.NotEqual(t, "chosen-id", id)
		assert.NotContains(t, r.Raw, "2001-01-01")
		assert.Equal(t, "consumed", get(r.Body, roster+"|seat"))
		for _, p := range []string{"id", "meta", "meta.created", "groups", roster + ":seat", roster + ":lastActiveAt"} {
			bad := e.must(400, "PATCH", "/Users/"+id, patch(`{"op":"replace","path":"`+p+`","value":"x"}`))
			assert.Equal(t, "mutability", bad.Body["scimType"], p)
		}
		// Okta's pathless value with the id inside is fine.
		e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"replace","value":{"id":"`+id+`","displayName":"RO"}}`))
		got := e.must(200, "GET", "/Users/"+id, "")
		assert.Equal(t, `W/"2"`, get(got.Body, "meta.version"))
	})
}

func patch(ops ...string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

// TestUsers_storeErrors: seat limit, unknown role and privileged grant reach
// the IdP as SCIM errors whose detail says what to change; nothing changes.
func TestUsers_storeErrors(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			// 1 seat purchased on a paid plan: the 8 of the minimum are usable.
			e := newEnv(t, b.open, 1)
			for i := range 8 {
				e.createUser(fmt.Sprintf("u%d@x.com", i))
			}
			full := e.must(403, "POST", "/Users", `{"userName":"second@x.com","active":true}`)
			assert.Equal(t, "403", full.Body["status"])
			assert.Contains(t, full.Body["detail"], "8 of 8 seats")
			inactive := e.must(201, "POST", "/Users", `{"userName":"second@x.com","active":false}`)
			assert.Equal(t, "none", get(inactive.Body, roster+"|seat"), "an inactive user consumes no seat")
			id := inactive.Body["id"].(string)
			e.must(403, "PATCH", "/Users/"+id, patch(`{"op":"replace","path":"active","value":true}`))

			unknown := e.must(400, "PATCH", "/Users/"+id, patch(`{"op":"replace","path":"`+roster+`:role","value":"wizard"}`))
			assert.Equal(t, "invalidValue", unknown.Body["scimType"])
			assert.Contains(t, unknown.Body["detail"], "wizard")
			priv := e.do("POST", "/Users", `{"userName":"boss@x.com","active":false,"`+roster+`":{"role":"admin"}}`)
			assert.Equal(t, 403, priv.Status, priv.Raw)
			assert.Contains(t, priv.Body["detail"], "admin")
			got := e.must(200, "GET", "/Users/"+id, "")
			assert.Equal(t, `W/"1"`, get(got.Body, "meta.version"), "nothing changed")
			assert.NotContains(t, got.Raw, "wizard")
		})
	}
}

// TestUsers_patchSemantics: multi-valued add/replace/remove with and without
// filters, complex merges, removals, extension paths.
func TestUsers_patchSemantics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		for _, o := range []string{"s1", "s2", "s3"} {
			_, err := e.st.CreateOutlet(context.Background(), tenantID, store.Outlet{ID: o, Name: o}, store.ActorSystem)
			require.NoError(t, err)
		}
		mgr := e.createUser("mgr@x.com")
		id := e.createUser("p@x.com", `"name":{"givenName":"P","familyName":"Q"}`,
			`"emails":[{"type":"work","value":"p@x.com","primary":true},{"type":"home","value":"p@home.org"}]`)
		steps := []struct {
			ops   []string
			check func(r response)
		}{
			{[]string{`{"op":"add","path":"emails","value":[{"type":"other","value":"o@x.com","primary":true}]}`}, func(r response) {
				require.Len(t, r.Body["emails"], 3)
				assert.Nil(t, get(r.Body, "emails.0.primary"), "the new primary clears the old")
				assert.Equal(t, true, get(r.Body, "emails.2.primary"))
			}},
			{[]string{`{"op":"remove","path":"emails[type eq \"home\"]"}`}, func(r response) {
				assert.Len(t, r.Body["emails"], 2)
			}},
			{[]string{`{"op":"remove","path":"emails","value":[{"value":"o@x.com"}]}`}, func(r response) {
				assert.Len(t, r.Body["emails"], 1)
				assert.Equal(t, "p@x.com", get(r.Body, "emails.0.value"))
			}},
			{[]string{`{"op":"replace","path":"phoneNumbers[type eq \"mobile\"].value","value":"+47 1234"}`}, func(r response) {
				assert.Equal(t, "+47 1234", get(r.Body, "phoneNumbers.0.value"))
				assert.Equal(t, "mobile", get(r.Body, "phoneNumbers.0.type"))
			}},
			{[]string{`{"op":"replace","path":"name","value":{"givenName":"Pat"}}`}, func(r response) {
				assert.Equal(t, map[string]any{"givenName": "Pat", "familyName": "Q"}, r.Body["name"])
			}},
			{[]string{`{"op":"remove","path":"name.familyName"}`}, func(r response) {
				assert.Equal(t, map[string]any{"givenName": "Pat"}, r.Body["name"])
			}},
			{[]string{`{"op":"add","path":"` + roster + `:stores","value":["s1","s2"]}`, `{"op":"add","path":"` + roster + `:stores","value":["s3","s1"]}`}, func(r response) {
				assert.Equal(t, []any{"s1", "s2", "s3"}, get(r.Body, roster+"|stores"))
			}},
			{[]string{`{"op":"remove","path":"` + roster + `:stores","value":["s2"]}`}, func(r response) {
				assert.Equal(t, []any{"s1", "s3"}, get(r.Body, roster+"|stores"))
			}},
			{[]string{`{"op":"replace","path":"` + roster + `:accessExpiresAt","value":"2030-01-02T03:04:05Z"}`}, func(r response) {
				assert.Equal(t, "2030-01-02T03:04:05Z", get(r.Body, roster+"|accessExpiresAt"))
			}},
			{[]string{`{"op":"remove","path":"` + roster + `:accessExpiresAt"}`}, func(r response) {
				assert.Nil(t, get(r.Body, roster+"|accessExpiresAt"))
			}},
			{[]string{`{"op":"replace","path":"` + ent + `:manager.value","value":"` + mgr + `"}`}, func(r response) {
				assert.Equal(t, mgr, get(r.Body, ent+"|manager.value"))
			}},
			{[]string{`{"op":"remove","path":"` + ent + `:manager"}`}, func(r response) {
				assert.Nil(t, r.Body[ent])
			}},
			{[]string{`{"op":"replace","path":"emails[type eq \"work\"]","value":{"type":"work","value":"new@x.com"}}`}, func(r response) {
				assert.Equal(t, "new@x.com", get(r.Body, "emails.0.value"))
			}},
			{[]string{`{"op":"replace","path":"emails","value":[]}`}, func(r response) {
				assert.Nil(t, r.Body["emails"])
			}},
		}
		for i, s := range steps {
			r := e.must(200, "PATCH", "/Users/"+id, patch(s.ops...))
			t.Run(fmt.Sprint(i), func(t *testing.T) { s.check(r) })
		}
	})
}
