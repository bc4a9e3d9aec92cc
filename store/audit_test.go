package store

import (
	"encoding/json"
	"testing"
	"time"
)

// TestUserAudit_followsTheTable: the audit view of a user holds every simple
// string of the attribute table under the table's name and in its place (the
// core ones at the top, name's under name, the enterprise extension's under
// its URN), and no other string at the top besides id.
func TestUserAudit_followsTheTable(t *testing.T) {
	var u User
	for _, a := range UserStrings {
		*a.Field(&u) = "v-" + a.Path
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
		if got := at[a.Name]; got != "v-"+a.Path {
			t.Errorf("%s: the audit view has %v", a.Path, got)
		}
	}
	for k, v := range m {
		if _, ok := v.(string); ok && !core[k] {
			t.Errorf("%s: a string of the audit view that the table does not declare", k)
		}
	}
}

// TestUserAudit_namesAndOrder: the audit JSON of a user is a stored
// contract (audit rows are never rewritten, and SameUser compares users
// through it): with every attribute set, these exact bytes — names, order,
// HTML escaping as encoding/json does by default — whatever builds them.
func TestUserAudit_namesAndOrder(t *testing.T) {
	when := time.Date(2026, 11, 28, 8, 1, 2, 345678000, time.UTC)
	u := User{ID: "u1", TenantID: "t", ExternalID: "x<&>", UserName: "ann@x.com", DisplayName: "d", NickName: "k", ProfileURL: "https://p",
		Title: "t", UserType: "External", PreferredLanguage: "en", Locale: "en-GB", Timezone: "Europe/London", Active: true,
		Name:   Name{Formatted: "f", FamilyName: "fa", GivenName: "g", MiddleName: "m", HonorificPrefix: "hp", HonorificSuffix: "hs"},
		Emails: []MultiValue{{Value: "a@x.com", Type: "work", Primary: true}}, PhoneNumbers: []MultiValue{{Value: "1"}},
		Roles: []MultiValue{{Value: "agent", Display: "A"}}, Role: "agent", ExplicitRole: "agent",
		Addresses:  []Address{{Formatted: "f", Country: "GB", Primary: true}},
		Enterprise: Enterprise{EmployeeNumber: "1", CostCenter: "c", Organization: "o", Division: "d", Department: "dp", ManagerID: "m1"},
		Stores:     []string{"s"}, AccessExpiresAt: &when, LastActiveAt: &when, Seat: SeatFull,
		Version: 4, CreatedAt: when, UpdatedAt: when}
	for u, want := range map[*User]string{
		&u: `{"id":"u1","externalId":"x\u003c\u0026\u003e","userName":"ann@x.com","name":{"formatted":"f","familyName":"fa","givenName":"g","middleName":"m","honorificPrefix":"hp","honorificSuffix":"hs"},"displayName":"d","nickName":"k","profileUrl":"https://p","title":"t","userType":"External","preferredLanguage":"en","locale":"en-GB","timezone":"Europe/London","active":true,"emails":[{"value":"a@x.com","type":"work","primary":true}],"phoneNumbers":[{"value":"1"}],"addresses":[{"formatted":"f","country":"GB","primary":true}],"roles":[{"value":"agent","display":"A"}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"1","costCenter":"c","organization":"o","division":"d","department":"dp","manager":{"value":"m1"}},"urn:ietf:params:scim:schemas:extension:roster:2.0:User":{"role":"agent","explicitRole":"agent","stores":["s"],"accessExpiresAt":"2026-11-28T08:01:02.345678Z","lastActiveAt":"2026-11-28T08:01:02.345678Z","seat":"consumed"},"meta":{"created":"2026-11-28T08:01:02.345678Z","lastModified":"2026-11-28T08:01:02.345678Z","version":"W/\"4\""}}`,
		{}: `{"id":"","userName":"","active":false,"urn:ietf:params:scim:schemas:extension:roster:2.0:User":{"role":"","seat":""},"meta":{"created":"0001-01-01T00:00:00Z","lastModified":"0001-01-01T00:00:00Z","version":"W/\"0\""}}`,
		{UserName: "c", Enterprise: Enterprise{ManagerID: "m"}, Name: Name{GivenName: "g"}}: `{"id":"","userName":"c","name":{"givenName":"g"},"active":false,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m"}},"urn:ietf:params:scim:schemas:extension:roster:2.0:User":{"role":"","seat":""},"meta":{"created":"0001-01-01T00:00:00Z","lastModified":"0001-01-01T00:00:00Z","version":"W/\"0\""}}`,
	} {
		if got := AuditJSON(*u); got != want {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
		if got := AuditJSON(u); got != want {
			t.Errorf("pointer:\n got %s\nwant %s", got, want)
		}
	}
}
