package postgres

import (
	"strings"
	"testing"

	"github.com/roster-dev/roster/scim"
	"github.com/roster-dev/roster/store"
)

// FuzzFilterSQL proves that a client's filter text reaches SQL only through
// bind parameters: whatever the SCIM layer accepts translates to SQL whose
// text does not change when every value in the filter is replaced — the text
// depends on the filter's shape and the attribute whitelist alone.
func FuzzFilterSQL(f *testing.F) {
	for _, s := range []string{
		`userName eq "a@x.com"`, `userName eq "x' or 1=1 --"`, `title co "%_\\"`,
		`emails[type eq "work" and value co "@x.com"]`, `emails[type eq "work"].value eq "x"`,
		`not (active eq true) or meta.created gt "2026-01-01T00:00:00Z"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "m"`,
		`roles[primary eq "True"].value eq "admin"`, `displayName sw "$1"`, `members[value eq "u"]`,
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, users bool) {
		res, tbl := store.Groups, groupsTable
		if users {
			res, tbl = store.Users, usersTable
		}
		flt, err := scim.ParseFilter(res, s)
		if err != nil {
			if !strings.Contains(err.Error(), "filter") {
				t.Fatalf("%q: error %q does not say it is about the filter", s, err)
			}
			return
		}
		var b1, b2 sqlBuilder
		b1.arg("tenant")
		b2.arg("tenant")
		sql1, err1 := b1.filter(flt, tbl)
		sql2, err2 := b2.filter(replaceValues(flt), tbl)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%q: translation depends on values: %v / %v", s, err1, err2)
		}
		if sql1 != sql2 {
			t.Fatalf("%q: SQL text depends on a value:\n%s\n%s", s, sql1, sql2)
		}
		if len(b1.args) != len(b2.args) {
			t.Fatalf("%q: argument count depends on values", s)
		}
	})
}

// replaceValues returns f with every string value replaced.
func replaceValues(f store.Filter) store.Filter {
	switch f := f.(type) {
	case store.And:
		return store.And{Left: replaceValues(f.Left), Right: replaceValues(f.Right)}
	case store.Or:
		return store.Or{Left: replaceValues(f.Left), Right: replaceValues(f.Right)}
	case store.Not:
		return store.Not{Filter: replaceValues(f.Filter)}
	case store.ValuePath:
		return store.ValuePath{Attr: f.Attr, Filter: replaceValues(f.Filter)}
	case store.Compare:
		if _, ok := f.Value.(string); ok {
			f.Value = "replaced"
		}
		return f
	}
	return f
}
