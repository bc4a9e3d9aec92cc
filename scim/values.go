package scim

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/roster-dev/roster/store"
)

// Input value types: each accepts the IdP shapes docs/idp-decisions.md lists (the
// leniencies themselves are in quirks.go) and refuses anything else with an error naming
// the expected type.

// multiValueIn is one value of emails, phoneNumbers or roles.
type multiValueIn struct {
	Value   string   `json:"value"`
	Type    string   `json:"type"`
	Display string   `json:"display"`
	Primary flexBool `json:"primary"`
}

func (v multiValueIn) store() store.MultiValue {
	return store.MultiValue{Value: v.Value, Type: v.Type, Display: v.Display, Primary: v.Primary.Value}
}

// multiValues is a multi-valued attribute; a single object (older OneLogin
// templates send emails that way) is taken as a one-element array.
type multiValues []store.MultiValue

func (m *multiValues) UnmarshalJSON(data []byte) error {
	out, err := objectList(data, multiValueIn.store,
		"emails, phoneNumbers and roles take an array of objects {\"value\", \"type\", \"primary\"}")
	if err != nil {
		return err
	}
	*m = out
	return nil
}

type addressIn struct {
	Formatted     string   `json:"formatted"`
	StreetAddress string   `json:"streetAddress"`
	Locality      string   `json:"locality"`
	Region        string   `json:"region"`
	PostalCode    string   `json:"postalCode"`
	Country       string   `json:"country"`
	Type          string   `json:"type"`
	Primary       flexBool `json:"primary"`
}

func (a addressIn) store() store.Address {
	return store.Address{Formatted: a.Formatted, StreetAddress: a.StreetAddress, Locality: a.Locality,
		Region: a.Region, PostalCode: a.PostalCode, Country: a.Country, Type: a.Type, Primary: a.Primary.Value}
}

type addresses []store.Address

func (m *addresses) UnmarshalJSON(data []byte) error {
	out, err := objectList(data, addressIn.store, "addresses takes an array of address objects")
	if err != nil {
		return err
	}
	*m = out
	return nil
}

// dateTime is an RFC 3339 dateTime; null or "" is unset.
type dateTime struct{ T *time.Time }

func (d *dateTime) UnmarshalJSON(data []byte) error {
	if string(data) == "null" || string(data) == `""` {
		d.T = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return errString("accessExpiresAt takes a dateTime such as \"2026-01-02T15:04:05Z\"")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return errString("accessExpiresAt takes a dateTime such as \"2026-01-02T15:04:05Z\"")
	}
	t = store.Timestamp(t)
	d.T = &t
	return nil
}

// settleMultiValued applies RFC 7643 §2.4 to the multi-valued attributes of
// a user about to be written (POST, PUT, and the result of a PATCH):
//
//   - Identical values are kept once. Two values are identical when every
//     sub-attribute but primary is equal, compared case-insensitively: all
//     of Roster's multi-valued sub-attributes (value, type, display, the
//     address parts) are caseExact false in /Schemas; store ids, which are
//     caseExact, compare exactly. The first of them stays, in its place,
//     primary when any of them was.
//   - At most one value is primary; two are 400 invalidValue naming the
//     attribute.
func settleMultiValued(u *store.User) error {
	sameMV := func(a, b store.MultiValue) bool {
		return strings.EqualFold(a.Value, b.Value) && strings.EqualFold(a.Type, b.Type) && strings.EqualFold(a.Display, b.Display)
	}
	u.Emails = dedupe(u.Emails, sameMV, func(v *store.MultiValue) *bool { return &v.Primary })
	u.PhoneNumbers = dedupe(u.PhoneNumbers, sameMV, func(v *store.MultiValue) *bool { return &v.Primary })
	u.Roles = dedupe(u.Roles, sameMV, func(v *store.MultiValue) *bool { return &v.Primary })
	u.Addresses = dedupe(u.Addresses, func(a, b store.Address) bool {
		return strings.EqualFold(a.Formatted, b.Formatted) && strings.EqualFold(a.StreetAddress, b.StreetAddress) &&
			strings.EqualFold(a.Locality, b.Locality) && strings.EqualFold(a.Region, b.Region) &&
			strings.EqualFold(a.PostalCode, b.PostalCode) && strings.EqualFold(a.Country, b.Country) &&
			strings.EqualFold(a.Type, b.Type)
	}, func(a *store.Address) *bool { return &a.Primary })
	u.Stores = dedupe(u.Stores, func(a, b string) bool { return a == b }, nil) // store ids are caseExact
	for _, a := range [...]struct {
		name    string
		primary int
	}{
		{"emails", countPrimary(u.Emails, func(v store.MultiValue) bool { return v.Primary })},
		{"phoneNumbers", countPrimary(u.PhoneNumbers, func(v store.MultiValue) bool { return v.Primary })},
		{"roles", countPrimary(u.Roles, func(v store.MultiValue) bool { return v.Primary })},
		{"addresses", countPrimary(u.Addresses, func(v store.Address) bool { return v.Primary })},
	} {
		if a.primary > 1 {
			return badRequest(typeInvalidValue, "%s has %d values with primary true; at most one value of a multi-valued attribute may be primary (RFC 7643 §2.4)", a.name, a.primary)
		}
	}
	return nil
}

// dedupe drops the values of list identical to an earlier one (same), in
// place, comparing each value with those kept: callers cap the list first
// (100 values, 1,000 stores); primary, when not nil, gives a value's primary flag, which the kept
// value takes over.
func dedupe[T any](list []T, same func(a, b T) bool, primary func(*T) *bool) []T {
	if len(list) < 2 {
		return list
	}
	out := list[:0]
next:
	for _, v := range list {
		for i := range out {
			if same(out[i], v) {
				if primary != nil && *primary(&v) {
					*primary(&out[i]) = true
				}
				continue next
			}
		}
		out = append(out, v)
	}
	return out
}

func countPrimary[T any](list []T, primary func(T) bool) int {
	n := 0
	for _, v := range list {
		if primary(v) {
			n++
		}
	}
	return n
}

// firstByte is the first byte of a JSON value past white space (0 if none).
func firstByte(data []byte) byte {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 {
		return 0
	}
	return data[0]
}
