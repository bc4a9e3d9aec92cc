package scim

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/roster-dev/roster/store"
)

func stdJSON(t testing.TB, v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func sampleUser(s1, s2, s3 string, flag bool, when time.Time) *userOut {
	h := &handler{}
	u := &store.User{ID: s1, UserName: s2, ExternalID: s3, DisplayName: s1 + s2, Title: s3, Active: flag, Role: s2,
		Name:         store.Name{GivenName: s1, FamilyName: s3},
		Emails:       []store.MultiValue{{Value: s2, Type: "work", Primary: flag}, {Value: s3, Display: s1}},
		PhoneNumbers: []store.MultiValue{{Value: s3}}, Addresses: []store.Address{{Locality: s1, Country: s2, Primary: !flag}},
		Roles: []store.MultiValue{{Value: s1}}, Enterprise: store.Enterprise{Department: s3, ManagerID: s1},
		Stores: []string{s1, s2}, AccessExpiresAt: &when, LastActiveAt: &when, Seat: store.SeatFull,
		Version: 7, CreatedAt: when, UpdatedAt: when.Add(time.Second)}
	if flag {
		u.Name, u.Enterprise, u.Emails, u.Stores, u.AccessExpiresAt = store.Name{}, store.Enterprise{}, nil, nil, nil
	}
	return h.userView("https://x/scim/v2/t", u, []store.Group{{ID: s3, DisplayName: s1}}, when)
}

// refUser is a user's answer spelled out field by field, for encoding/json:
// the independent reference the table-driven encoder is held to, so it is
// written by hand and not derived from the table it checks.
type refUser struct {
	Schemas           []string           `json:"schemas"`
	ID                string             `json:"id"`
	ExternalID        string             `json:"externalId,omitempty"`
	UserName          string             `json:"userName"`
	Name              *store.Name        `json:"name,omitempty"`
	DisplayName       string             `json:"displayName,omitempty"`
	NickName          string             `json:"nickName,omitempty"`
	ProfileURL        string             `json:"profileUrl,omitempty"`
	Title             string             `json:"title,omitempty"`
	UserType          string             `json:"userType,omitempty"`
	PreferredLanguage string             `json:"preferredLanguage,omitempty"`
	Locale            string             `json:"locale,omitempty"`
	Timezone          string             `json:"timezone,omitempty"`
	Active            bool               `json:"active"`
	Emails            []store.MultiValue `json:"emails,omitempty"`
	PhoneNumbers      []store.MultiValue `json:"phoneNumbers,omitempty"`
	Addresses         []store.Address    `json:"addresses,omitempty"`
	Roles             []store.MultiValue `json:"roles,omitempty"`
	Groups            []refOut           `json:"groups,omitempty"`
	Enterprise        *refEnterprise     `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User,omitempty"`
	Roster            rosterOut          `json:"urn:ietf:params:scim:schemas:extension:roster:2.0:User"`
	Meta              metaOut            `json:"meta"`
}

type refEnterprise struct {
	EmployeeNumber string  `json:"employeeNumber,omitempty"`
	CostCenter     string  `json:"costCenter,omitempty"`
	Organization   string  `json:"organization,omitempty"`
	Division       string  `json:"division,omitempty"`
	Department     string  `json:"department,omitempty"`
	Manager        *refOut `json:"manager,omitempty"`
}

func refOf(o *userOut) *refUser {
	u := o.user
	r := &refUser{Schemas: o.Schemas, ID: o.ID, ExternalID: u.ExternalID, UserName: u.UserName,
		DisplayName: u.DisplayName, NickName: u.NickName, ProfileURL: u.ProfileURL, Title: u.Title,
		UserType: u.UserType, PreferredLanguage: u.PreferredLanguage, Locale: u.Locale, Timezone: u.Timezone,
		Active: o.Active, Emails: o.Emails, PhoneNumbers: o.PhoneNumbers, Addresses: o.Addresses, Roles: o.Roles,
		Groups: o.Groups, Roster: o.Roster, Meta: o.Meta}
	if o.Name {
		r.Name = &u.Name
	}
	if o.Enterprise != nil {
		e := u.Enterprise
		r.Enterprise = &refEnterprise{EmployeeNumber: e.EmployeeNumber, CostCenter: e.CostCenter,
			Organization: e.Organization, Division: e.Division, Department: e.Department, Manager: o.Enterprise.Manager}
	}
	return r
}

// TestEncode_matchesEncodingJSON: the hand-written encoders write exactly
// what encoding/json writes for the same values (for a user, for refUser);
// a user through encoding/json (MarshalJSON, as a projection reads it) is
// the same bytes.
func TestEncode_matchesEncodingJSON(t *testing.T) {
	when := time.Date(2026, 11, 28, 8, 1, 2, 345678000, time.UTC)
	for _, s := range []string{"", "plain", `q"uote\back`, "ctl\x00\x01\x1f\b\f\n\r\t", "<&>", "\u2028\u2029é漢字🙂", "bad\xffutf8", "R&D"} {
		for _, flag := range []bool{true, false} {
			u := sampleUser(s, s+"x", "y"+s, flag, when)
			if got, want := string(u.appendJSON(nil)), stdJSON(t, refOf(u)); got != want {
				t.Fatalf("user %q:\n got %s\nwant %s", s, got, want)
			}
			if got, want := stdJSON(t, u), stdJSON(t, refOf(u)); got != want {
				t.Fatalf("user %q through encoding/json:\n got %s\nwant %s", s, got, want)
			}
			g := &groupOut{Schemas: schemasGroup, ID: s, DisplayName: s + "g", ExternalID: s,
				Members: []refOut{{Value: s, Ref: "r" + s, Display: s, Type: "User"}}, Meta: u.Meta}
			if got, want := string(g.appendJSON(nil)), stdJSON(t, g); got != want {
				t.Fatalf("group %q:\n got %s\nwant %s", s, got, want)
			}
			l := &listOut{Schemas: schemasList, TotalResults: 3, ItemsPerPage: 2, StartIndex: 1, Resources: []any{u, g, map[string]any{"a": s}}}
			ref := *l
			ref.Resources = []any{refOf(u), g, map[string]any{"a": s}}
			if got, want := string(l.appendJSON(nil)), stdJSON(t, &ref); got != want {
				t.Fatalf("list %q:\n got %s\nwant %s", s, got, want)
			}
		}
	}
	empty := &listOut{Schemas: schemasList, Resources: []any{}}
	if got, want := string(empty.appendJSON(nil)), stdJSON(t, empty); got != want {
		t.Fatalf("empty list:\n got %s\nwant %s", got, want)
	}
}

func FuzzEncodeUser(f *testing.F) {
	f.Add("a", "b", "c", true, int64(0))
	f.Add("\x00\"\\", "<>&\u2028", "\xff\xfe", false, int64(1<<40))
	f.Fuzz(func(t *testing.T, s1, s2, s3 string, flag bool, ns int64) {
		when := time.Unix(0, ns%(1<<62)).UTC()
		if when.Year() < 0 || when.Year() > 9999 {
			return
		}
		u := sampleUser(s1, s2, s3, flag, when)
		if got, want := string(u.appendJSON(nil)), stdJSON(t, refOf(u)); got != want {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

// TestEncode_returnsWhatTheTableSays: the hand-written user encoder (kept
// for speed) writes exactly the attributes — and, of the complex ones, the
// sub-attributes — that the attribute table (store.UserSchema) says are
// returned, for a user with every attribute set. An attribute added to the
// table and not to the encoder, or the other way round, fails here.
func TestEncode_returnsWhatTheTableSays(t *testing.T) {
	when := time.Date(2026, 11, 28, 8, 1, 2, 0, time.UTC)
	mv := func(v string) []store.MultiValue {
		return []store.MultiValue{{Value: v, Display: "d", Type: "work", Primary: true}}
	}
	u := &store.User{ID: "u1", ExternalID: "x", UserName: "n", DisplayName: "d", NickName: "k", ProfileURL: "https://p",
		Title: "t", UserType: "External", PreferredLanguage: "en", Locale: "en-GB", Timezone: "Europe/London", Active: true,
		Name:   store.Name{Formatted: "f", FamilyName: "fa", GivenName: "g", MiddleName: "m", HonorificPrefix: "hp", HonorificSuffix: "hs"},
		Emails: mv("a@x.com"), PhoneNumbers: mv("1"), Roles: mv("agent"), Role: "agent",
		Addresses:  []store.Address{{Formatted: "f", StreetAddress: "s", Locality: "l", Region: "r", PostalCode: "p", Country: "GB", Type: "work", Primary: true}},
		Enterprise: store.Enterprise{EmployeeNumber: "1", CostCenter: "c", Organization: "o", Division: "d", Department: "dp", ManagerID: "m1"},
		Stores:     []string{"s"}, AccessExpiresAt: &when, LastActiveAt: &when, Seat: store.SeatFull,
		Version: 1, CreatedAt: when, UpdatedAt: when}
	h := &handler{}
	out := h.userView("https://x/scim/v2/t", u, []store.Group{{ID: "g1", DisplayName: "G"}}, when.Add(-time.Hour))
	var got map[string]any
	if err := json.Unmarshal(out.appendJSON(nil), &got); err != nil {
		t.Fatal(err)
	}
	ext := map[string]string{store.SchemaEnterprise: schemaEnterprise, store.SchemaRoster: schemaRoster}

	// object is the JSON object at a path of keys (of an array, its first
	// element); keys lists its keys.
	object := func(path ...string) map[string]any {
		var v any = got
		for _, k := range path {
			m, _ := v.(map[string]any)
			v = m[k]
			if a, ok := v.([]any); ok && len(a) > 0 {
				v = a[0]
			}
		}
		m, _ := v.(map[string]any)
		return m
	}
	type objPath struct{ ext, attr string }
	want := map[objPath]map[string]bool{{}: {"schemas": true}}
	returned := func(a store.AttrDef[store.User]) bool { return a.Returned != store.ReturnedNever }
	for _, a := range store.UserSchema {
		if !returned(a) {
			continue
		}
		at := objPath{ext: ext[a.Schema]}
		if at.ext != "" {
			want[objPath{}][at.ext] = true
		}
		if want[at] == nil {
			want[at] = map[string]bool{}
		}
		want[at][a.Name] = true
		if a.Type == "complex" && !a.Common { // meta's sub-attributes are RFC 7643 §3.1's, not the table's
			sub := objPath{at.ext, a.Name}
			want[sub] = map[string]bool{}
			for _, s := range a.Sub {
				if returned(s) {
					want[sub][s.Name] = true
				}
			}
		}
	}
	for at, w := range want {
		var path []string
		for _, k := range []string{at.ext, at.attr} {
			if k != "" {
				path = append(path, k)
			}
		}
		g := object(path...)
		for k := range w {
			if _, ok := g[k]; !ok {
				t.Errorf("%v: the table says %q is returned; the encoder does not write it", path, k)
			}
		}
		for k := range g {
			if !w[k] {
				t.Errorf("%v: the encoder writes %q; the table does not declare it returned", path, k)
			}
		}
	}
}

// benchUser is a user as an IdP typically provisions one: names, one email,
// a few simple strings, the enterprise department, one group.
func benchUser(i int, when time.Time) (*store.User, []store.Group) {
	id := "u" + strconv.Itoa(i)
	u := &store.User{ID: id, ExternalID: "00ujl29u0le5T6Aj10h7", UserName: id + "@example.com", DisplayName: "Ann Lee",
		Title: "Store manager", Locale: "en-GB", Timezone: "Europe/London", Active: true, Role: "agent",
		Name:       store.Name{GivenName: "Ann", FamilyName: "Lee"},
		Emails:     []store.MultiValue{{Value: id + "@example.com", Type: "work", Primary: true}},
		Enterprise: store.Enterprise{Department: "Retail", ManagerID: "u0"},
		Seat:       store.SeatFull, Version: 3, CreatedAt: when, UpdatedAt: when}
	return u, []store.Group{{ID: "g1", DisplayName: "Team 1"}}
}

// BenchmarkEncodeUser: rendering one user (userView) and encoding it, the
// SCIM layer's own cost of a GET.
func BenchmarkEncodeUser(b *testing.B) {
	when := time.Date(2026, 11, 28, 8, 1, 2, 345678000, time.UTC)
	h := &handler{}
	u, groups := benchUser(1, when)
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = h.userView("https://x/scim/v2/t", u, groups, when).appendJSON(buf[:0])
	}
}

// BenchmarkEncodeUserPage100: rendering and encoding a list page of 100
// users, the SCIM layer's own cost of a list.
func BenchmarkEncodeUserPage100(b *testing.B) {
	when := time.Date(2026, 11, 28, 8, 1, 2, 345678000, time.UTC)
	h := &handler{}
	users := make([]*store.User, 100)
	groups := make([][]store.Group, 100)
	for i := range users {
		users[i], groups[i] = benchUser(i, when)
	}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		l := &listOut{Schemas: schemasList, TotalResults: 1000, ItemsPerPage: 100, StartIndex: 1, Resources: make([]any, len(users))}
		for i, u := range users {
			l.Resources[i] = h.userView("https://x/scim/v2/t", u, groups[i], when)
		}
		buf = l.appendJSON(buf[:0])
	}
}
