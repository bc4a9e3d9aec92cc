package access_test

import (
	"strings"
	"testing"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/store"
)

// FuzzExplicitRole: whatever an IdP sends, the explicit role is canonical
// (trimmed, lower-case) and is one of the values sent, decoded.
func FuzzExplicitRole(f *testing.F) {
	for _, seed := range [][3]string{
		{"", "Admin", "true"}, {"supervisor", "", "false"}, {"", `{"id":"06b0","value":"Agent","displayName":"Agent"}`, "false"},
		{" ", `{"displayName":"Role1234"}`, "true"}, {"", `{"value":25}`, "false"}, {"", "{", "true"},
	} {
		f.Add(seed[0], seed[1], seed[2] == "true")
	}
	f.Fuzz(func(t *testing.T, ext, value string, primary bool) {
		got := access.ExplicitRole(ext, []store.MultiValue{{Value: value, Primary: primary}, {Value: "agent"}})
		if got != strings.ToLower(strings.TrimSpace(got)) {
			t.Fatalf("not canonical: %q", got)
		}
		candidates := []string{access.Canonical(access.RoleValue(ext)), access.Canonical(access.RoleValue(value)), "agent"}
		found := false
		for _, c := range candidates {
			found = found || (c == got && c != "")
		}
		if !found {
			t.Fatalf("ExplicitRole(%q, %q) = %q: not a value sent", ext, value, got)
		}
	})
}

// FuzzValidateFlags: accepted flags are all in the catalogue, each once.
func FuzzValidateFlags(f *testing.F) {
	for _, s := range []string{"conversations.reply", "teams.*", "billing.manage,billing.manage", "x.y", "", "."} {
		f.Add(s)
	}
	all := access.AllFlags()
	f.Fuzz(func(t *testing.T, list string) {
		got, err := access.ValidateFlags(strings.Split(list, ","))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, g := range got {
			if seen[g] {
				t.Fatalf("%q twice", g)
			}
			seen[g] = true
			ok := false
			for _, a := range all {
				ok = ok || a == g
			}
			if !ok {
				t.Fatalf("%q is not in the catalogue", g)
			}
		}
	})
}
