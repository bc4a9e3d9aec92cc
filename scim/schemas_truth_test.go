package scim_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// schemaAttr is an attribute as /Schemas declares it.
type schemaAttr struct {
	Name            string       `json:"name"`
	Type            string       `json:"type"`
	MultiValued     bool         `json:"multiValued"`
	Required        bool         `json:"required"`
	CaseExact       bool         `json:"caseExact"`
	Mutability      string       `json:"mutability"`
	Returned        string       `json:"returned"`
	CanonicalValues []string     `json:"canonicalValues"`
	SubAttributes   []schemaAttr `json:"subAttributes"`
}

// declared reads the attributes /Schemas declares for one schema.
func declared(t *testing.T, e *env, id string) []schemaAttr {
	r := e.must(200, "GET", "/Schemas/"+id, "")
	var s struct {
		Attributes []schemaAttr `json:"attributes"`
	}
	require.NoError(t, jsonUnmarshal([]byte(r.Raw), &s))
	require.NotEmpty(t, s.Attributes)
	return s.Attributes
}

// TestSchemas_tellTheTruth: every attribute /Schemas declares writable is
// kept and returned as written, one declared never returned is not, and what
// is declared readWrite and not required can be removed. The values are
// built from /Schemas itself, so an attribute declared later is checked too.
func TestSchemas_tellTheTruth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		_, err := e.st.CreateOutlet(ctx, tenantID, store.Outlet{ID: "v-stores", Name: "Main"}, store.ActorAdmin)
		require.NoError(t, err)
		manager := e.createUser("manager@x.com")

		// A value for a writable attribute, from its declaration.
		var value func(path string, a schemaAttr) any
		value = func(path string, a schemaAttr) any {
			var v any
			switch {
			case a.Type == "complex":
				obj := map[string]any{}
				for _, s := range a.SubAttributes {
					if s.Mutability == "readWrite" || s.Mutability == "writeOnly" || s.Mutability == "immutable" {
						obj[s.Name] = value(path+"."+s.Name, s)
					}
				}
				v = obj
			case a.Type == "boolean":
				v = true
			case a.Type == "dateTime":
				v = "2030-01-02T03:04:05Z"
			case a.Type == "reference":
				v = "https://example.com/" + path
			case len(a.CanonicalValues) > 0:
				v = a.CanonicalValues[0]
			default:
				v = "v-" + a.Name
			}
			switch path {
			case "userType":
				v = "External" // needs accessExpiresAt, which is declared too
			case "roles.value", "urn:ietf:params:scim:schemas:extension:roster:2.0:User.role":
				v = "supervisor" // a role the tenant has
			case "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager.value":
				v = manager
			}
			if a.MultiValued {
				return []any{v}
			}
			return v
		}
		body := map[string]any{}
		writable := map[string]any{} // path → the value written, for what is returned
		never := []string{}
		for _, schema := range []string{"urn:ietf:params:scim:schemas:core:2.0:User", ent, roster} {
			target := body
			if schema != "urn:ietf:params:scim:schemas:core:2.0:User" {
				target = map[string]any{}
				body[schema] = target
			}
			for _, a := range declared(t, e, schema) {
				switch a.Mutability {
				case "readWrite", "immutable", "writeOnly":
				default:
					continue
				}
				path := a.Name
				if target != nil && schema != "urn:ietf:params:scim:schemas:core:2.0:User" {
					path = schema + "." + a.Name
				}
				v := value(path, a)
				target[a.Name] = v
				if a.Returned == "never" {
					never = append(never, a.Name)
					continue
				}
				writable[path] = v
			}
		}
		created := e.must(201, "POST", "/Users", mustJSON(t, body))
		id := created.Body["id"].(string)
		for _, r := range []response{created, e.must(200, "GET", "/Users/"+id, "")} {
			for path, want := range writable {
				got := lookup(r.Body, path)
				assert.Equal(t, normalise(want), normalise(got), "%s is declared writable and returned, and comes back as written", path)
			}
			for _, n := range never {
				assert.NotContains(t, r.Body, n, "%s is declared returned never", n)
			}
		}

		// What is readWrite and not required can be removed.
		for _, a := range declared(t, e, "urn:ietf:params:scim:schemas:core:2.0:User") {
			if a.Mutability != "readWrite" || a.Required {
				continue
			}
			r := e.do("PATCH", "/Users/"+id, patch(`{"op":"remove","path":"`+a.Name+`"}`))
			assert.Equal(t, 200, r.Status, "remove %s: %s", a.Name, r.Raw)
		}
		got := e.must(200, "GET", "/Users/"+id, "")
		assert.Equal(t, false, got.Body["active"], "an unassigned active is not active")
	})
}

// lookup reads a value by a path of attribute names (an extension URN is one
// part); in a multi-valued attribute it reads the first value.
func lookup(m any, path string) any {
	var parts []string
	for _, urn := range []string{ent, roster} {
		if rest, ok := strings.CutPrefix(path, urn+"."); ok {
			parts = append([]string{urn}, strings.Split(rest, ".")...)
		}
	}
	if parts == nil {
		parts = strings.Split(path, ".")
	}
	for i, p := range parts {
		obj, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = obj[p]
		if list, ok := m.([]any); ok && i < len(parts)-1 && len(list) > 0 {
			m = list[0]
		}
	}
	return m
}

// normalise makes a written value and a returned one comparable: the
// references Roster writes itself ($ref) and nothing else are dropped.
func normalise(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			if k != "$ref" {
				out[k] = normalise(x)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalise(x)
		}
		return out
	}
	return v
}

// TestSchemas_rolesKeepDisplayAndType: roles display and type, declared
// readWrite, are kept and returned with the role the user holds; filters on
// them, which could not find what a GET shows, are refused.
func TestSchemas_rolesKeepDisplayAndType(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		r := e.must(201, "POST", "/Users", `{"userName":"r@x.com","roles":[{"primary":true,"type":"WindowsAzureActiveDirectoryRole","display":"Supervisor","value":"Supervisor"}]}`)
		id := r.Body["id"].(string)
		want := []any{map[string]any{"value": "supervisor", "primary": true, "type": "WindowsAzureActiveDirectoryRole", "display": "Supervisor"}}
		assert.Equal(t, want, r.Body["roles"])
		assert.Equal(t, want, e.must(200, "GET", "/Users/"+id, "").Body["roles"])
		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"replace","path":"roles","value":[{"primary":false,"display":"Agent","value":"agent"}]}`))
		assert.Equal(t, []any{map[string]any{"value": "agent", "primary": true, "display": "Agent"}}, r.Body["roles"])
		// The extension role wins over the core roles: what it names has no display.
		r = e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"replace","path":"`+roster+`:role","value":"supervisor"}`))
		assert.Equal(t, []any{map[string]any{"value": "supervisor", "primary": true}}, r.Body["roles"])

		for _, f := range []string{`roles[type eq "WindowsAzureActiveDirectoryRole"]`, `roles.display eq "Agent"`} {
			r := e.must(400, "GET", "/Users?filter="+url.QueryEscape(f), "")
			assert.Equal(t, "invalidFilter", r.Body["scimType"], f)
		}
		r = e.must(200, "GET", "/Users?filter="+url.QueryEscape(`roles[primary eq "True"].value eq "supervisor"`), "")
		assert.EqualValues(t, 1, r.Body["totalResults"])
	})
}
