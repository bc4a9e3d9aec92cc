package scim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// everyString is a body that sets every simple string of the attribute
// table (store.UserStrings) to a value of its own, spelling each name as
// spell does (the core ones at the top, name's under name, the enterprise
// extension's under its URN).
func everyString(spell func(string) string) ([]byte, func(a store.StringAttr[store.User]) string) {
	value := func(a store.StringAttr[store.User]) string { return "v-" + a.Parent + "." + a.Name }
	body := map[string]any{}
	name, ent := map[string]any{}, map[string]any{}
	for _, a := range store.UserStrings {
		switch {
		case a.Parent == "name":
			name[spell(a.Name)] = value(a)
		case a.Schema == store.SchemaEnterprise:
			ent[spell(a.Name)] = value(a)
		default:
			body[spell(a.Name)] = value(a)
		}
	}
	body["name"], body[schemaEnterprise] = name, ent
	b, _ := json.Marshal(body)
	return b, value
}

// TestDecodeUser_everySimpleString: the decoder reads every simple string of
// the attribute table into its own field, as encoding/json matches names
// (case-insensitively), and a full replace clears them again.
func TestDecodeUser_everySimpleString(t *testing.T) {
	for _, spell := range []func(string) string{func(s string) string { return s }, strings.ToUpper} {
		body, value := everyString(spell)
		in, err := decodeUser(body)
		require.NoError(t, err)
		u := store.User{ID: "u1"}
		require.NoError(t, in.apply(&u, true))
		for _, a := range store.UserStrings {
			assert.Equal(t, value(a), *a.Field(&u), "%s %s", a.Parent, a.Name)
		}
		in, err = decodeUser([]byte(`{"userName":"ann"}`))
		require.NoError(t, err)
		require.NoError(t, in.apply(&u, false))
		for _, a := range store.UserStrings {
			if a.Name != "userName" {
				assert.Empty(t, *a.Field(&u), "%s %s", a.Parent, a.Name)
			}
		}
	}
}

// TestDecodeUser_typeErrorNamesTheAttribute: a simple string sent as
// another JSON type is refused naming it by its path, the first one in the
// body when there are several, whether it is core or the enterprise
// extension's.
func TestDecodeUser_typeErrorNamesTheAttribute(t *testing.T) {
	for body, want := range map[string]string{
		`{"userName":"a","title":5}`: `attribute "title" must be a string, not a JSON number`,
		`{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"costCenter":[]}}`:               `attribute "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.costCenter" must be a string, not a JSON array`,
		`{"userName":"a","locale":true,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"costCenter":[]}}`: `attribute "locale" must be a string, not a JSON bool`,
		`{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"costCenter":1},"locale":true}`:  `attribute "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.costCenter" must be a string, not a JSON number`,
	} {
		_, err := decodeUser([]byte(body))
		var e Error
		require.ErrorAs(t, err, &e, body)
		assert.Equal(t, want, e.Detail, body)
	}
}

// TestEncodeUser_everySimpleString: the encoder writes every simple string
// of the attribute table under its name, where the decoder reads it back.
func TestEncodeUser_everySimpleString(t *testing.T) {
	body, value := everyString(func(s string) string { return s })
	in, err := decodeUser(body)
	require.NoError(t, err)
	u := store.User{ID: "u1"}
	require.NoError(t, in.apply(&u, true))
	h := &handler{}
	out := h.userView("https://x/scim/v2/t", &u, nil, time.Now()).appendJSON(nil)
	in, err = decodeUser(out)
	require.NoError(t, err)
	var back store.User
	require.NoError(t, in.apply(&back, true))
	for _, a := range store.UserStrings {
		assert.Equal(t, value(a), *a.Field(&back), "%s %s", a.Parent, a.Name)
	}
}

// BenchmarkDecodeUser: decoding an Okta create and applying it, the SCIM
// layer's own cost of reading a POST body.
func BenchmarkDecodeUser(b *testing.B) {
	body := []byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@x.com",
 "name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"primary":true,"value":"ann@x.com","type":"work"}],
 "displayName":"Ann Lee","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"password":"1mz050nq","active":true,
 "title":"Store manager","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Retail"}}`)
	b.ReportAllocs()
	for b.Loop() {
		in, err := decodeUser(body)
		if err != nil {
			b.Fatal(err)
		}
		var u store.User
		if err := in.apply(&u, true); err != nil {
			b.Fatal(err)
		}
	}
}
