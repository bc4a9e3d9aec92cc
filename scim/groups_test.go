package scim_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func memberIDs(t *testing.T, e *env, gid string) []string {
	t.Helper()
	g, err := e.st.GetGroup(context.Background(), tenantID, gid, true)
	require.NoError(t, err)
	ids := make([]string, 0, len(g.Members))
	for _, m := range g.Members {
		ids = append(ids, m.UserID)
	}
	return ids
}

// TestGroups_oktaPush replays Okta Group Push: lookup, create, rename with
// the id inside the value, member delta, full replace, PUT, delete.
func TestGroups_oktaPush(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		u1, u2, u3 := e.createUser("u1@x.com", `"displayName":"User One"`), e.createUser("u2@x.com"), e.createUser("u3@x.com")
		miss := e.must(200, "GET", "/Groups?filter="+url.QueryEscape(`displayName eq "Eng"`), "")
		assert.EqualValues(t, 0, miss.Body["totalResults"])
		r := e.must(201, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Eng","members":[]}`)
		gid := r.Body["id"].(string)
		assert.Equal(t, base+"/Groups/"+gid, r.Header.Get("Location"))
		assert.Equal(t, base+"/Groups/"+gid, get(r.Body, "meta.location"))
		assert.Equal(t, "Group", get(r.Body, "meta.resourceType"))
		e.must(409, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"ENG"}`)

		e.must(204, "PATCH", "/Groups/"+gid, patch(`{"op":"replace","value":{"id":"`+gid+`","displayName":"Engineering"}}`))
		e.must(204, "PATCH", "/Groups/"+gid, patch(`{"op":"add","path":"members","value":[{"value":"`+u1+`","display":"u1@x.com"},{"value":"`+u2+`"}]}`))
		assert.ElementsMatch(t, []string{u1, u2}, memberIDs(t, e, gid))
		e.must(204, "PATCH", "/Groups/"+gid, patch(`{"op":"remove","path":"members[value eq \"`+u1+`\"]"}`,
			`{"op":"add","path":"members","value":[{"value":"`+u3+`"}]}`))
		assert.ElementsMatch(t, []string{u2, u3}, memberIDs(t, e, gid))
		e.must(204, "PATCH", "/Groups/"+gid, patch(`{"op":"replace","path":"members","value":[{"value":"`+u1+`"},{"value":"`+u2+`"}]}`))
		assert.ElementsMatch(t, []string{u1, u2}, memberIDs(t, e, gid))

		got := e.must(200, "GET", "/Groups/"+gid, "")
		assert.Equal(t, "Engineering", got.Body["displayName"])
		require.Len(t, got.Body["members"], 2)
		assert.Equal(t, u1, get(got.Body, "members.0.value"))
		assert.Equal(t, "User One", get(got.Body, "members.0.display"))
		assert.Equal(t, base+"/Users/"+u1, get(got.Body, "members.0.$ref"))

		// The user's groups attribute lists the group.
		ur := e.must(200, "GET", "/Users/"+u1, "")
		assert.Equal(t, gid, get(ur.Body, "groups.0.value"))
		assert.Equal(t, "Engineering", get(ur.Body, "groups.0.display"))

		// AIW PUT: the full set, no id.
		put := e.must(200, "PUT", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Eng","members":[{"value":"`+u3+`"}]}`)
		assert.Equal(t, "Eng", put.Body["displayName"])
		assert.ElementsMatch(t, []string{u3}, memberIDs(t, e, gid))

		e.must(204, "DELETE", "/Groups/"+gid, "")
		e.must(404, "DELETE", "/Groups/"+gid, "")
		e.must(404, "GET", "/Groups/"+gid, "")
	})
}

// TestGroups_entraShapes: create without members, excludedAttributes=members,
// capitalised ops, both remove-member forms, $ref null.
func TestGroups_entraShapes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		u1, u2 := e.createUser("e1@x.com"), e.createUser("e2@x.com")
		r := e.must(201, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
			"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"Sales","meta":{"resourceType":"Group"}}`)
		gid := r.Body["id"].(string)
		lookup := e.must(200, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "Sales"`), "")
		assert.EqualValues(t, 1, lookup.Body["totalResults"])
		e.must(204, "PATCH", "/Groups/"+gid, patch(`{"op":"Add","path":"members","value":[{"$ref":null,"value":"`+u1+`"},{"$ref":null,"value":"`+u2+`"}]}`))
		e.must(204, "PATCH", "/Groups/"+gid, patch(`{"op":"Replace","path":"displayName","value":"Sales EU"}`))
		got := e.must(200, "GET", "/Groups/"+gid+"?excludedAttributes=members", "")
		assert.Nil(t, got.Body["members"])
		assert.Equal(t, "Sales EU", got.Body["displayName"])
		assert.Equal(t, "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", got.Body["externalId"])

		// Default form: remove with a value list removes only those.
		e.must(204, "PATCH", "/Groups/"+gid, patch(`{"op":"Remove","path":"members","value":[{"value":"`+u1+`"}]}`))
		assert.Equal(t, []string{u2}, memberIDs(t, e, gid))
		// aadOptscim062020 form.
		e.must(204, "PATCH", "/Groups/"+gid, patch(`{"op":"remove","path":"members[value eq \"`+u2+`\"]"}`))
		assert.Empty(t, memberIDs(t, e, gid))

		// PATCH with attributes answers 200 with the group.
		withAttrs := e.must(200, "PATCH", "/Groups/"+gid+"?attributes=displayName", patch(`{"op":"add","path":"members","value":[{"value":"`+u1+`"}]}`))
		assert.Equal(t, "Sales EU", withAttrs.Body["displayName"])
		assert.Nil(t, withAttrs.Body["members"])
		assert.Equal(t, gid, withAttrs.Body["id"])

		// filter on members.
		byMember := e.must(200, "GET", "/Groups?filter="+url.QueryEscape(`members[value eq "`+u1+`"]`), "")
		assert.EqualValues(t, 1, byMember.Body["totalResults"])
	})
}

// TestGroups_oneLogin: POST without members, add member, remove member.
func TestGroups_oneLogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		u := e.createUser("o1@x.com")
		r := e.must(201, "POST", "/Groups", `{"displayName":"Group C","schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]}`)
		gid := r.Body["id"].(string)
		e.must(204, "PATCH", "/Groups/"+gid, `{"Operations":[{"value":[{"value":"`+u+`"}],"op":"add","path":"members"}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`)
		assert.Equal(t, []string{u}, memberIDs(t, e, gid))
		e.must(204, "PATCH", "/Groups/"+gid, `{"Operations":[{"value":[{"value":"`+u+`"}],"op":"remove","path":"members"}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`)
		assert.Empty(t, memberIDs(t, e, gid))
		list := e.must(200, "GET", "/Groups?count=100&startIndex=1", "")
		assert.EqualValues(t, 1, list.Body["totalResults"])
	})
}

// TestGroups_unknownMember: a member id that is not a user of the tenant is a
// 400 invalidValue naming it, and nothing of the request is applied.
func TestGroups_unknownMember(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		u := e.createUser("k1@x.com")
		gid := e.createGroup("Known", u)
		bad := e.must(400, "PATCH", "/Groups/"+gid, patch(`{"op":"replace","path":"displayName","value":"Renamed"}`,
			`{"op":"add","path":"members","value":[{"value":"no-such-user"}]}`))
		assert.Equal(t, "invalidValue", bad.Body["scimType"])
		assert.Contains(t, bad.Body["detail"], "no-such-user")
		got := e.must(200, "GET", "/Groups/"+gid, "")
		assert.Equal(t, "Known", got.Body["displayName"], "nothing applied")
		assert.Equal(t, `W/"1"`, get(got.Body, "meta.version"))
		e.must(400, "POST", "/Groups", `{"displayName":"X","members":[{"value":"ghost"}]}`)
		e.must(400, "PUT", "/Groups/"+gid, `{"displayName":"Known","members":[{"value":"ghost"}]}`)
		assert.Equal(t, []string{u}, memberIDs(t, e, gid))
	})
}

// TestGroups_manyMembersOnePatch: one PATCH adding 2,000 members, answered
// 204, applied as row operations.
func TestGroups_manyMembersOnePatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ids := make([]string, 0, 300)
		for i := 0; i < 300; i++ {
			u, err := e.st.CreateUser(context.Background(), tenantID, storeUser(i), tokenActor)
			require.NoError(t, err)
			ids = append(ids, u.ID)
		}
		gid := e.createGroup("Big")
		body := `[`
		for i, id := range ids {
			if i > 0 {
				body += ","
			}
			body += `{"value":"` + id + `"}`
		}
		body += `]`
		e.must(204, "PATCH", "/Groups/"+gid, patch(`{"op":"add","path":"members","value":`+body+`}`))
		assert.Len(t, memberIDs(t, e, gid), 300)
		small := e.must(200, "GET", "/Groups/"+gid+"?excludedAttributes=members", "")
		assert.Nil(t, small.Body["members"])
		full := e.must(200, "GET", "/Groups/"+gid, "")
		assert.Len(t, full.Body["members"], 300)
	})
}

// TestGroups_listMembers: lists carry members unless excluded; user lists
// carry groups unless excluded (listgroups_test.go has the rest).
func TestGroups_listMembers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		u := e.createUser("lm@x.com")
		gid := e.createGroup("Listed", u)
		list := e.must(200, "GET", "/Groups", "")
		assert.Equal(t, u, get(list.Body, "Resources.0.members.0.value"))
		excluded := e.must(200, "GET", "/Groups?excludedAttributes=members", "")
		assert.Nil(t, get(excluded.Body, "Resources.0.members"))
		assert.Equal(t, gid, get(excluded.Body, "Resources.0.id"))
		users := e.must(200, "GET", "/Users?attributes=userName,groups", "")
		assert.Equal(t, gid, get(users.Body, "Resources.0.groups.0.value"))
		plain := e.must(200, "GET", "/Users", "")
		assert.Equal(t, gid, get(plain.Body, "Resources.0.groups.0.value"))
		noGroups := e.must(200, "GET", "/Users?excludedAttributes=groups", "")
		assert.Nil(t, get(noGroups.Body, "Resources.0.groups"))
	})
}
