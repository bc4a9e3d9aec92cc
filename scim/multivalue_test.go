package scim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// TestMultiValued_onePrimary: a multi-valued attribute has at most one value
// with primary true (RFC 7643 §2.4). POST, PUT and a PATCH whose result has
// two are 400 invalidValue naming the attribute, and change nothing.
func TestMultiValued_onePrimary(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser("p@x.com", `"emails":[{"value":"p@x.com","type":"work","primary":true}]`)
		before := e.must(200, "GET", "/Users/"+id, "").Raw
		two := map[string]string{
			"emails":       `[{"value":"a@x.com","type":"work","primary":true},{"value":"b@x.com","type":"home","primary":"True"}]`,
			"phoneNumbers": `[{"value":"+1 555 0100","type":"work","primary":true},{"value":"+1 555 0101","type":"mobile","primary":true}]`,
			"addresses":    `[{"locality":"Oslo","type":"work","primary":true},{"locality":"Bergen","type":"home","primary":true}]`,
			"roles":        `[{"value":"agent","primary":true},{"value":"supervisor","primary":true}]`,
		}
		for attr, v := range two {
			for _, r := range []response{
				e.do("POST", "/Users", `{"userName":"p2@x.com","`+attr+`":`+v+`}`),
				e.do("PUT", "/Users/"+id, `{"userName":"p@x.com","`+attr+`":`+v+`}`),
				e.do("PATCH", "/Users/"+id, patch(`{"op":"replace","path":"`+attr+`","value":`+v+`}`)),
			} {
				require.Equal(t, 400, r.Status, "%s: %s", attr, r.Raw)
				assert.Equal(t, "invalidValue", r.Body["scimType"], attr)
				assert.Contains(t, r.Body["detail"], attr)
				assert.Contains(t, r.Body["detail"], "primary")
			}
		}
		// A PATCH that sets primary on a second value through a filter.
		e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"add","path":"emails[type eq \"home\"].value","value":"h@x.com"}`))
		before = e.must(200, "GET", "/Users/"+id, "").Raw
		r := e.must(400, "PATCH", "/Users/"+id, patch(`{"op":"replace","path":"emails[type eq \"home\"].primary","value":true}`))
		assert.Equal(t, "invalidValue", r.Body["scimType"])
		assert.Contains(t, r.Body["detail"], "emails")
		assert.Equal(t, before, e.must(200, "GET", "/Users/"+id, "").Raw, "a refused PATCH changes nothing")

		// Adding a primary value moves primary to it (RFC 7644 §3.5.2.1).
		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"add","path":"emails","value":[{"value":"n@x.com","type":"other","primary":true}]}`))
		primaries := 0
		for _, v := range r.Body["emails"].([]any) {
			if v.(map[string]any)["primary"] == true {
				primaries++
				assert.Equal(t, "n@x.com", v.(map[string]any)["value"])
			}
		}
		assert.Equal(t, 1, primaries, r.Raw)
		page, err := e.st.ListUsers(context.Background(), tenantID, store.UserQuery{Count: 10})
		require.NoError(t, err)
		assert.Equal(t, 1, page.Total, "no user was created")
	})
}

// TestMultiValued_noDuplicates: values that are identical — every
// sub-attribute but primary equal, compared case-insensitively as all of
// Roster's multi-valued sub-attributes are caseExact false — are kept once
// (RFC 7643 §2.4), primary if any of them was.
func TestMultiValued_noDuplicates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		r := e.must(201, "POST", "/Users", `{"userName":"d@x.com",
			"emails":[{"type":"work","value":"dup@example.com"},{"type":"work","value":"dup@example.com"},
				{"type":"WORK","value":"DUP@example.com","primary":true},{"type":"home","value":"dup@example.com"}],
			"phoneNumbers":[{"value":"+1 555 0100"},{"value":"+1 555 0100"}],
			"addresses":[{"locality":"Oslo","type":"work"},{"locality":"oslo","type":"work"},{"locality":"Oslo","type":"work","country":"NO"}],
			"urn:ietf:params:scim:schemas:extension:roster:2.0:User":{"stores":[]}}`)
		id := r.Body["id"].(string)
		assert.Equal(t, []any{
			map[string]any{"type": "work", "value": "dup@example.com", "primary": true},
			map[string]any{"type": "home", "value": "dup@example.com"},
		}, r.Body["emails"], "the first of the identical values is kept, primary as one of them was")
		assert.Len(t, r.Body["phoneNumbers"], 1)
		assert.Len(t, r.Body["addresses"], 2, "a different country makes a different address")

		r = e.must(200, "PUT", "/Users/"+id, `{"userName":"d@x.com","emails":[{"type":"work","value":"a@x.com"},{"type":"work","value":"a@x.com"}]}`)
		assert.Len(t, r.Body["emails"], 1, r.Raw)
		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"replace","path":"emails","value":[{"type":"work","value":"b@x.com"},{"type":"work","value":"B@x.com"}]}`))
		assert.Len(t, r.Body["emails"], 1, r.Raw)
		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"add","path":"addresses","value":[{"locality":"Oslo"},{"locality":"Oslo"}]}`))
		assert.Len(t, r.Body["addresses"], 1, r.Raw)
		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"add","path":"addresses","value":[{"locality":"OSLO"}]}`))
		assert.Len(t, r.Body["addresses"], 1, "adding a value that is there changes nothing: %s", r.Raw)

		got, err := e.st.GetUser(context.Background(), tenantID, id)
		require.NoError(t, err)
		assert.Len(t, got.Emails, 1, "stored once")
		assert.Len(t, got.Addresses, 1, "stored once")
	})
}

// TestPatch_noOpKeepsVersion: a User PATCH that changes nothing (RFC 7644
// §3.5.2.1: adding a value that is there, replacing a value with itself)
// changes neither meta.version nor meta.lastModified, and writes no audit
// event; a PATCH that does change something still does.
func TestPatch_noOpKeepsVersion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser("n@x.com", `"displayName":"Ann","title":"T","name":{"givenName":"Ann"}`,
			`"emails":[{"value":"n@x.com","type":"work","primary":true}]`,
			`"urn:ietf:params:scim:schemas:extension:roster:2.0:User":{"stores":[]}`)
		created := e.must(200, "GET", "/Users/"+id, "")
		audit := func() int {
			events, err := e.st.ListAudit(context.Background(), tenantID, store.EventQuery{Limit: 1000})
			require.NoError(t, err)
			return len(events)
		}
		seats := func() int {
			events, err := e.st.ListSeatEvents(context.Background(), tenantID, store.EventQuery{Limit: 1000})
			require.NoError(t, err)
			return len(events)
		}
		auditBefore, seatsBefore := audit(), seats()
		e.advance(3600e9)
		for _, op := range []string{
			`{"op":"add","path":"displayName","value":"Ann"}`,
			`{"op":"replace","path":"displayName","value":"Ann"}`,
			`{"op":"add","path":"emails","value":[{"value":"n@x.com","type":"work","primary":true}]}`,
			`{"op":"replace","path":"active","value":true}`,
			`{"op":"Replace","path":"active","value":"True"}`,
			`{"op":"replace","value":{"active":true,"title":"T","name.givenName":"Ann"}}`,
			`{"op":"replace","path":"emails[type eq \"work\"].value","value":"n@x.com"}`,
			`{"op":"remove","path":"nickName"}`,
			`{"op":"remove","path":"phoneNumbers"}`,
		} {
			r := e.must(200, "PATCH", "/Users/"+id, patch(op))
			assert.Equal(t, get(created.Body, "meta.version"), get(r.Body, "meta.version"), op)
			assert.Equal(t, get(created.Body, "meta.lastModified"), get(r.Body, "meta.lastModified"), op)
			assert.Equal(t, get(created.Body, "meta.version"), r.Header.Get("ETag"), op)
		}
		assert.Equal(t, auditBefore, audit(), "no audit event for a PATCH that changes nothing")
		assert.Equal(t, seatsBefore, seats(), "no seat event")
		after := e.must(200, "GET", "/Users/"+id, "")
		assert.Equal(t, created.Raw, after.Raw)

		r := e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"replace","path":"displayName","value":"Ann Lee"}`))
		assert.Equal(t, `W/"2"`, get(r.Body, "meta.version"))
		assert.NotEqual(t, get(created.Body, "meta.lastModified"), get(r.Body, "meta.lastModified"))
		assert.Equal(t, auditBefore+1, audit())

		// Groups: re-adding a member, removing one who is not there.
		other := e.createUser("o@x.com")
		gid := e.createGroup("Team", id)
		group := e.must(200, "GET", "/Groups/"+gid, "")
		for _, op := range []string{
			`{"op":"add","path":"members","value":[{"value":"` + id + `"}]}`,
			`{"op":"remove","path":"members[value eq \"` + other + `\"]"}`,
			`{"op":"replace","path":"members","value":[{"value":"` + id + `"}]}`,
			`{"op":"replace","path":"displayName","value":"Team"}`,
		} {
			e.must(204, "PATCH", "/Groups/"+gid, patch(op))
		}
		assert.Equal(t, group.Raw, e.must(200, "GET", "/Groups/"+gid, "").Raw, "no group PATCH above changed anything")
	})
}

// TestPatch_extensionPathIgnoresSchemas: a PATCH whose path is an extension
// URN and whose value repeats that extension's schemas list applies the
// value, ignoring schemas as POST does.
func TestPatch_extensionPathIgnoresSchemas(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser("x@x.com")
		r := e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"add","path":"`+ent+`","value":{"schemas":["`+ent+`"],"department":"Sales"}}`))
		assert.Equal(t, "Sales", get(r.Body, ent+"|department"))
		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"replace","path":"`+roster+`","value":{"schemas":["`+roster+`"],"role":"supervisor"}}`))
		assert.Equal(t, "supervisor", get(r.Body, roster+"|role"))
		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"replace","value":{"`+ent+`":{"schemas":["`+ent+`"],"division":"North"}}}`))
		assert.Equal(t, "North", get(r.Body, ent+"|division"))
		assert.False(t, strings.Contains(r.Raw, `"schemas":["`+ent+`"]`))
	})
}

// hugeListPatches are PATCH bodies with tens of thousands of values (a 4 MiB
// body holds about 100,000), or many operations each adding some: each must
// be refused for its size before its values are compared with each other,
// which took quadratic time (24 s for 100,000 emails, 96 s for 200,000
// stores). BenchmarkPatch_hugeListsRefused measures the refusal.
func hugeListPatches() map[string]string {
	list := func(n int, format string) string {
		var sb strings.Builder
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, format, i)
		}
		return sb.String()
	}
	ops := make([]string, 0, 1000)
	for i := range 1000 {
		ops = append(ops, `{"op":"add","path":"phoneNumbers","value":[`+list(30, `{"value":"+1 555 %04d`+fmt.Sprint(i)+`"}`)+`]}`)
	}
	return map[string]string{
		"60,000 emails":    patch(`{"op":"add","path":"emails","value":[` + list(60000, `{"value":"u%d@x"}`) + `]}`),
		"120,000 stores":   patch(`{"op":"add","path":"` + roster + `:stores","value":[` + list(120000, `"s%d"`) + `]}`),
		"50,000 addresses": patch(`{"op":"add","path":"addresses","value":[` + list(50000, `{"locality":"l%d"}`) + `]}`),
		"1,000 adds of 30": patch(ops...),
	}
}

// TestPatch_hugeListsRefused: each huge list is a 400 naming the limit, and
// changes nothing. (How fast: BenchmarkPatch_hugeListsRefused, not a timed
// test, which a loaded machine would fail.)
func TestPatch_hugeListsRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser("huge@x.com")
		before := e.must(200, "GET", "/Users/"+id, "").Raw
		for name, body := range hugeListPatches() {
			r := e.must(400, "PATCH", "/Users/"+id, body)
			assert.Equal(t, "invalidValue", r.Body["scimType"], name)
			assert.Contains(t, r.Body["detail"], "at most", name)
		}
		assert.Equal(t, before, e.must(200, "GET", "/Users/"+id, "").Raw)
	})
}

// TestPatch_aliasedKeysRefused: one pathless operation naming an attribute
// twice under different spellings (plain and URN-qualified, dotted and
// nested, an extension key and the extension object) would apply them in
// whatever order a map gives: it is refused as a duplicate attribute, and
// changes nothing.
func TestPatch_aliasedKeysRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser("alias@x.com")
		gid := e.createGroup("Alias Team")
		before := e.must(200, "GET", "/Users/"+id, "").Raw
		for _, value := range []string{
			`{"displayName":"A","urn:ietf:params:scim:schemas:core:2.0:User:displayName":"B"}`,
			`{"name.givenName":"A","name":{"givenName":"B"}}`,
			`{"name":{"familyName":"A"},"name.givenName":"B"}`,
			`{"` + ent + `:department":"A","` + ent + `":{"department":"B"}}`,
			`{"` + roster + `:role":"agent","` + roster + `":{"role":"supervisor"}}`,
		} {
			r := e.must(400, "PATCH", "/Users/"+id, patch(`{"op":"replace","value":`+value+`}`))
			assert.Equal(t, "invalidSyntax", r.Body["scimType"], value)
			assert.Contains(t, r.Body["detail"], "twice", value)
		}
		assert.Equal(t, before, e.must(200, "GET", "/Users/"+id, "").Raw)
		r := e.must(400, "PATCH", "/Groups/"+gid, patch(`{"op":"replace","value":{"displayName":"A","urn:ietf:params:scim:schemas:core:2.0:Group:displayName":"B"}}`))
		assert.Equal(t, "invalidSyntax", r.Body["scimType"])
		// Keys that do not overlap still apply together (Entra's aadOptscim062020 form).
		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"replace","value":{"displayName":"D","name.givenName":"G","name.familyName":"F","`+ent+`:department":"X"}}`))
		assert.Equal(t, "G", get(r.Body, "name.givenName"))
		assert.Equal(t, "X", get(r.Body, ent+"|department"))
	})
}
