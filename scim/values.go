package scim

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/store"
)

// Input value types: each accepts the IdP shapes docs/idp-decisions.md lists and refuses
// anything else with an error naming the expected type.

// flexBool is a boolean that also accepts the string forms IdPs send
// ("True", "false", "1").
type flexBool struct {
	Set   bool
	Value bool
}

func (b *flexBool) UnmarshalJSON(data []byte) error {
	v, ok := parseBoolJSON(data)
	if !ok {
		return errString("active and primary take true or false, not " + truncate(string(data), 40))
	}
	if v != nil {
		*b = flexBool{Set: true, Value: *v}
	}
	return nil
}

var (
	boolTrue  = true
	boolFalse = false
)

// parseBoolJSON reads a JSON boolean, a string boolean or null (nil).
func parseBoolJSON(data []byte) (*bool, bool) {
	switch string(data) {
	case "true":
		return &boolTrue, true
	case "false":
		return &boolFalse, true
	case "null":
		return nil, true
	}
	if len(data) >= 2 && data[0] == '"' {
		var s string
		if json.Unmarshal(data, &s) != nil {
			return nil, false
		}
		v, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, false
		}
		if v {
			return &boolTrue, true
		}
		return &boolFalse, true
	}
	return nil, false
}

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

// objectList decodes a multi-valued attribute of objects and converts each
// with conv: an array, a single object as a one-element array, or null (nil).
// Any other JSON value is refused with other.
func objectList[In, Out any](data []byte, conv func(In) Out, other string) ([]Out, error) {
	var list []In
	switch firstByte(data) {
	case '{':
		var one In
		if err := json.Unmarshal(data, &one); err != nil {
			return nil, err
		}
		list = []In{one}
	case '[':
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, err
		}
	case 'n':
		return nil, nil
	default:
		return nil, errString(other)
	}
	out := make([]Out, 0, len(list))
	for _, v := range list {
		out = append(out, conv(v))
	}
	return out, nil
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

// managerRef is the enterprise manager: {"value": id}, a bare id string, or
// "" / null for none.
type managerRef string

func (m *managerRef) UnmarshalJSON(data []byte) error {
	switch firstByte(data) {
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*m = managerRef(s)
	case '{':
		var v struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		*m = managerRef(v.Value)
	case 'n':
		*m = ""
	default:
		return errString("manager takes an object {\"value\": id} or an id")
	}
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

// stringList is a multi-valued string (the Roster extension's stores); a
// single string is taken as a one-element list.
type stringList []string

func (l *stringList) UnmarshalJSON(data []byte) error {
	switch firstByte(data) {
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*l = []string{s}
		return nil
	case 'n':
		*l = nil
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return errString("stores takes an array of store ids")
	}
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		var s string
		switch firstByte(r) {
		case '"':
			if err := json.Unmarshal(r, &s); err != nil {
				return err
			}
		case '{': // [{"value": "store-1"}]
			var v struct {
				Value string `json:"value"`
			}
			if err := json.Unmarshal(r, &v); err != nil {
				return err
			}
			s = v.Value
		default:
			return errString("stores takes an array of store ids")
		}
		if s != "" {
			out = append(out, s)
		}
	}
	*l = out
	return nil
}

func firstByte(data []byte) byte {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 {
		return 0
	}
	return data[0]
}

// decodeRoleValue decodes the role value Entra sends in its default PATCH
// form, a JSON-encoded object {"id","value","displayName"} inside the string
// (access.RoleValue: one place for it).
func decodeRoleValue(v string) string {
	if r := access.RoleValue(v); r != "" {
		return r
	}
	return v
}

func decodeRoles(roles []store.MultiValue) []store.MultiValue {
	for i := range roles {
		roles[i].Value = decodeRoleValue(roles[i].Value)
	}
	return roles
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
