package scim

import (
	"errors"
	"testing"
	"time"

	"github.com/roster-dev/roster/store"
)

// Fuzz targets for the three places client text is interpreted: filters,
// PATCH application and request decoding. Each asserts that every failure is
// a 4xx SCIM error (never a panic, never a 5xx) and that what is accepted is
// well-formed.

var filterSeeds = []string{
	`userName eq "a@x.com"`, `USERNAME EQ "A"`, `title pr`, `active eq "True"`, `not (title co "x")`,
	`emails[type eq "work" and value co "@x.com"]`, `emails[type eq "work"].value eq "x"`,
	`(a eq "1" or b eq "2") and c eq "3"`, `meta.created ge "2026-01-02T15:04:05Z"`, `userName eq "\u00e9\"\\"`,
	`roles[primary eq "True"].value eq "admin"`, `urn:ietf:params:scim:schemas:extension:roster:2.0:User:role eq "agent"`,
	`externalId eq jyoung`, `userName eq`, `((((`, `x[y[z eq "1"]]`, `members[value eq "u"]`, `id eq 1.5e3`,
}

func FuzzFilter(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, res := range []store.Resource{store.Users, store.Groups} {
			flt, err := ParseFilter(res, s)
			if err != nil {
				var e Error
				if !errors.As(err, &e) || e.Status != 400 || e.ScimType != typeInvalidFilter || e.Detail == "" {
					t.Fatalf("%q: %#v", s, err)
				}
				continue
			}
			// What is accepted is in canonical form: normalising again is a no-op.
			if _, err := store.Normalize(res, flt); err != nil {
				t.Fatalf("%q: accepted filter does not normalise: %v", s, err)
			}
		}
	})
}

var patchSeeds = []string{
	`{"Operations":[{"op":"replace","value":{"active":false}}]}`,
	`{"Operations":[{"op":"Replace","path":"name.givenName","value":"K"},{"op":"Add","path":"emails[type eq \"work\"].value","value":"a@x"}]}`,
	`{"Operations":[{"op":"replace","value":{"displayName":"B","name.givenName":"K","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"1"}}]}`,
	`{"Operations":[{"op":"Add","path":"roles","value":[{"value":"{\"value\":\"admin\"}"}]}]}`,
	`{"Operations":[{"op":"remove","path":"emails[type eq \"home\"]"}]}`,
	`{"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":""}]}`,
	`{"Operations":[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:roster:2.0:User":{"stores":["s"]}}}]}`,
	`{"Operations":[{"op":"replace","path":"addresses[type eq \"work\"].locality","value":"Oslo"}]}`,
	`{"Operations":[{"op":"remove","path":"members[value eq \"u1\" or value eq \"u2\"]"},{"op":"add","path":"members","value":[{"value":"u3"}]}]}`,
	`{"Operations":[{"op":"replace","path":"id","value":"x"}]}`,
	`{"Operations":[{"op":"replace","value":{"title":"a","t\u0069tle":"b"}}]}`,
	`{"Operations":[{"op":"replace","path":"title","value":"\ud83d\u0041"}]}`,
	`{"Operations":[{"op":"add","path":"emails","value":[{"value":"b@x","primary":true}]}]}`,
	`{"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"schemas":["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"department":"D"}}]}`,
}

func FuzzPatch(f *testing.F) {
	for _, s := range patchSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(err error) {
			var e Error
			if err != nil && (!errors.As(err, &e) || e.Status < 400 || e.Status > 499 || e.Detail == "") {
				t.Fatalf("%q: %#v", body, err)
			}
		}
		if ops, err := parsePatch(store.Users, body); err != nil {
			check(err)
		} else {
			u := store.User{ID: "u1", UserName: "a@x.com", Active: true, Role: "agent",
				Emails: []store.MultiValue{{Value: "a@x.com", Type: "work", Primary: true}}}
			check(applyUserPatch(&u, ops))
		}
		if ops, err := parsePatch(store.Groups, body); err != nil {
			check(err)
		} else {
			g := store.GroupUpdate{Group: store.Group{ID: "g1", DisplayName: "G"}}
			check(applyGroupPatch(&g, ops))
			for _, op := range g.Members {
				for _, id := range op.UserIDs {
					if id == "" {
						t.Fatalf("%q: empty member id accepted", body)
					}
				}
			}
		}
	})
}

func FuzzDecodeUser(f *testing.F) {
	for _, s := range []string{
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@x.com","name":{"givenName":"A"},"emails":[{"primary":true,"value":"a@x.com","type":"work"}],"active":true,"password":"p"}`,
		`{"userName":"b","emails":{"value":"b@x.com","primary":"True"},"active":"false","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m1"}}`,
		`{"userName":"c","urn:ietf:params:scim:schemas:extension:roster:2.0:User":{"role":"admin","stores":"s1","accessExpiresAt":"2026-01-01T00:00:00Z"}}`,
		`{"userName":"d","userName":"e"}`, `{"userName":"\u0000"}`, `[[[[`, `{"userName":5}`,
		// Keys that decode to the same name, and lone surrogates.
		`{"userName":"d1@x.test","user\u004eame":"root@x.test"}`, `{"userName":"a","active":false,"\u0061ctive":true}`,
		`{"userName":"\ud800@x.test"}`, `{"userName":"a","title":"\udc00\ud800"}`, `{"userName":"\ud83d\ude00"}`,
		`{"userName":"a","emails":[{"value":"a@x","primary":true},{"value":"b@x","primary":"True"}]}`,
		`{"userName":"a","emails":[{"value":"a@x","type":"work"},{"value":"A@X","type":"work"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeUser(body)
		if err == nil {
			var u store.User
			err = in.apply(&u, true)
			if err == nil {
				if err := store.ValidateUser(&u); err != nil && u.UserName != "" {
					// The store may still refuse (e.g. no visible characters): as a 400.
					var inv *store.InvalidError
					if !errors.As(err, &inv) {
						t.Fatalf("%q: %v", body, err)
					}
				}
				h := &handler{now: time.Now}
				_ = h.userView("https://x/scim/v2/t", &u, nil, time.Now())
				return
			}
		}
		var e Error
		if !errors.As(err, &e) || e.Status != 400 || e.Detail == "" {
			t.Fatalf("%q: %#v", body, err)
		}
	})
}
