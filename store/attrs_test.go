package store

import (
	"strings"
	"testing"
)

var lower = strings.ToLower

// TestAttrTables_complete: every filterable attribute the tables derive has
// what each backend needs to filter and sort by it, so that adding one to a
// table cannot leave a backend without it: a PostgreSQL column, an
// accessor for the in-memory evaluator (single-valued), filterable
// sub-attributes with their columns (multi-valued; the value accessors of
// those are explicit in store/memory).
func TestAttrTables_complete(t *testing.T) {
	for name, attrs := range map[string]map[string]Attr{"User": UserAttrs, "Group": GroupAttrs} {
		for key, a := range attrs {
			switch {
			case a.Type == TypeMulti:
				if len(a.Sub) == 0 {
					t.Errorf("%s %s: multi-valued without filterable sub-attributes", name, a.Name)
				}
				for _, s := range a.Sub {
					if s.Column == "" {
						t.Errorf("%s %s.%s: no column", name, a.Name, s.Name)
					}
				}
				if name == "User" && a.Column == "" {
					t.Errorf("%s %s: no column", name, a.Name)
				}
			case a.Column == "":
				t.Errorf("%s %s: no column", name, a.Name)
			case name == "User" && a.UserValue == nil, name == "Group" && a.GroupValue == nil:
				t.Errorf("%s %s: no accessor", name, a.Name)
			}
			if key != lower(a.Name) {
				t.Errorf("%s %s: keyed %q", name, a.Name, key)
			}
		}
	}
	// The names a filter uses, as clients and the SCIM layer spell them.
	for _, n := range []string{"userName", "name.givenName", "meta.lastModified", "emails", "enterprise.manager.value", "roster.accessExpiresAt"} {
		if _, ok := UserAttrs[lower(n)]; !ok {
			t.Errorf("User %s: not filterable", n)
		}
	}
}
