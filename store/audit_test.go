package store

import (
	"encoding/json"
	"testing"
)

// TestUserAudit_followsTheTable: the audit view of a user (userAudit, a
// mirror kept by hand because its JSON names are a stored contract) holds
// every simple string of the attribute table under the table's name and in
// its place (the core ones at the top, name's under name, the enterprise
// extension's under its URN), and no other string at the top besides id.
func TestUserAudit_followsTheTable(t *testing.T) {
	var u User
	for _, a := range UserStrings {
		*a.Field(&u) = "v-" + a.Path()
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(AuditJSON(u)), &m); err != nil {
		t.Fatal(err)
	}
	obj := func(k string) map[string]any { o, _ := m[k].(map[string]any); return o }
	core := map[string]bool{"id": true}
	for _, a := range UserStrings {
		at := m
		switch {
		case a.Parent != "":
			at = obj(a.Parent)
		case a.Schema == SchemaEnterprise:
			at = obj(enterpriseUserURN)
		default:
			core[a.Name] = true
		}
		if got := at[a.Name]; got != "v-"+a.Path() {
			t.Errorf("%s: the audit view has %v", a.Path(), got)
		}
	}
	for k, v := range m {
		if _, ok := v.(string); ok && !core[k] {
			t.Errorf("%s: a string of the audit view that the table does not declare", k)
		}
	}
}
