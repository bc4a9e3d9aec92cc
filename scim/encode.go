package scim

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/roster-dev/roster/store"
)

// Hand-written JSON encoding of the answers every IdP request gets (users,
// groups, list responses): byte for byte what encoding/json writes with HTML
// escaping off (TestEncode_matchesEncodingJSON and FuzzEncodeUser prove it),
// without reflection. Anything else goes through encoding/json.

// appender is a value that encodes itself.
type appender interface {
	appendJSON(b []byte) []byte
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json does
// with SetEscapeHTML(false).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// field appends ,"name": (or "name": first).
func field(b []byte, name string) []byte {
	if c := b[len(b)-1]; c != '{' && c != '[' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

func strField(b []byte, name, v string) []byte {
	return appendString(field(b, name), v)
}

func optStr(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return strField(b, name, v)
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendArray appends list as a JSON array, each element by elem.
func appendArray[T any](b []byte, list []T, elem func(b []byte, v *T) []byte) []byte {
	b = append(b, '[')
	for i := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, &list[i])
	}
	return append(b, ']')
}

func appendStrings(b []byte, list []string) []byte {
	return appendArray(b, list, func(b []byte, s *string) []byte { return appendString(b, *s) })
}

func appendMultiValue(b []byte, v *store.MultiValue) []byte {
	b = append(b, '{')
	b = optStr(b, "value", v.Value)
	b = optStr(b, "type", v.Type)
	b = optStr(b, "display", v.Display)
	if v.Primary {
		b = append(field(b, "primary"), "true"...)
	}
	return append(b, '}')
}

func appendAddress(b []byte, a *store.Address) []byte {
	b = append(b, '{')
	b = optStr(b, "formatted", a.Formatted)
	b = optStr(b, "streetAddress", a.StreetAddress)
	b = optStr(b, "locality", a.Locality)
	b = optStr(b, "region", a.Region)
	b = optStr(b, "postalCode", a.PostalCode)
	b = optStr(b, "country", a.Country)
	b = optStr(b, "type", a.Type)
	if a.Primary {
		b = append(field(b, "primary"), "true"...)
	}
	return append(b, '}')
}

func appendRef(b []byte, r *refOut) []byte { return r.appendJSON(b) }

func (r *refOut) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = strField(b, "value", r.Value)
	b = optStr(b, "$ref", r.Ref)
	b = optStr(b, "display", r.Display)
	b = optStr(b, "type", r.Type)
	return append(b, '}')
}

func (m *metaOut) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = strField(b, "resourceType", m.ResourceType)
	b = appendTime(field(b, "created"), m.Created)
	b = appendTime(field(b, "lastModified"), m.LastModified)
	b = strField(b, "location", m.Location)
	b = strField(b, "version", m.Version)
	return append(b, '}')
}

// MarshalJSON encodes a user as appendJSON does, for the answers that go
// through encoding/json (a projection reads the user back from it).
func (o *userOut) MarshalJSON() ([]byte, error) { return o.appendJSON(nil), nil }

// appendJSON writes a user in the order of the attribute table
// (store.UserSchema): the core attributes, the enterprise extension when the
// user has any of it, the Roster extension, then meta. A simple string is
// written through the table's Field, unless empty (a required one always);
// any other attribute by its writer in userWriters.
func (o *userOut) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendStrings(field(b, "schemas"), o.Schemas)
	b = o.appendSteps(b, userCoreSteps)
	if o.Enterprise != nil {
		b = append(field(b, schemaEnterprise), '{')
		b = o.appendSteps(b, userEnterpriseSteps)
		b = append(b, '}')
	}
	b = append(field(b, schemaRoster), '{')
	b = o.appendSteps(b, userRosterSteps)
	b = append(b, '}')
	b = o.Meta.appendJSON(field(b, "meta"))
	return append(b, '}')
}

func (o *userOut) appendSteps(b []byte, steps []userStep) []byte {
	for i := range steps {
		s := &steps[i]
		if s.write != nil {
			b = s.write(b, o)
			continue
		}
		if v := *s.field(o.user); v != "" || s.always {
			b = strField(b, s.name, v)
		}
	}
	return b
}

// userStep writes one attribute of a user: a simple string (field), else
// through write.
type userStep struct {
	name   string
	field  func(*store.User) *string
	always bool // required: written even when empty
	write  func(b []byte, o *userOut) []byte
}

// userWriters write the attributes of a user that are not simple strings,
// by filter name (store.AttrDef, filterName): each has semantics of its own.
// meta (a common attribute) is written last by appendJSON.
var userWriters = map[string]func(b []byte, o *userOut) []byte{
	"id": func(b []byte, o *userOut) []byte { return strField(b, "id", o.ID) },
	"name": func(b []byte, o *userOut) []byte {
		if !o.Name {
			return b
		}
		b = append(field(b, "name"), '{')
		b = o.appendSteps(b, userNameSteps)
		return append(b, '}')
	},
	"active":       func(b []byte, o *userOut) []byte { return strconv.AppendBool(field(b, "active"), o.Active) },
	"emails":       listWriter("emails", func(o *userOut) []store.MultiValue { return o.Emails }, appendMultiValue),
	"phoneNumbers": listWriter("phoneNumbers", func(o *userOut) []store.MultiValue { return o.PhoneNumbers }, appendMultiValue),
	"addresses":    listWriter("addresses", func(o *userOut) []store.Address { return o.Addresses }, appendAddress),
	"roles":        listWriter("roles", func(o *userOut) []store.MultiValue { return o.Roles }, appendMultiValue),
	"groups":       listWriter("groups", func(o *userOut) []refOut { return o.Groups }, appendRef),
	"enterprise.manager": func(b []byte, o *userOut) []byte {
		if m := o.Enterprise.Manager; m != nil {
			return m.appendJSON(field(b, "manager"))
		}
		return b
	},
	"roster.role": func(b []byte, o *userOut) []byte { return optStr(b, "role", o.Roster.Role) },
	"roster.stores": func(b []byte, o *userOut) []byte {
		if len(o.Roster.Stores) == 0 {
			return b
		}
		return appendStrings(field(b, "stores"), o.Roster.Stores)
	},
	"roster.accessExpiresAt": func(b []byte, o *userOut) []byte {
		if t := o.Roster.AccessExpiresAt; t != nil {
			return appendTime(field(b, "accessExpiresAt"), *t)
		}
		return b
	},
	"roster.lastActiveAt": func(b []byte, o *userOut) []byte {
		if t := o.Roster.LastActiveAt; t != nil {
			return appendTime(field(b, "lastActiveAt"), *t)
		}
		return b
	},
	"roster.seat": func(b []byte, o *userOut) []byte { return strField(b, "seat", o.Roster.Seat) },
}

// listWriter writes a multi-valued attribute, unless it has no value.
func listWriter[T any](name string, list func(*userOut) []T, elem func([]byte, *T) []byte) func([]byte, *userOut) []byte {
	return func(b []byte, o *userOut) []byte {
		if l := list(o); len(l) > 0 {
			return appendArray(field(b, name), l, elem)
		}
		return b
	}
}

// The steps of appendJSON, made from the table once: the core attributes
// (meta aside), name's sub-attributes, and each extension's.
var (
	userCoreSteps       = userSteps(store.SchemaCore)
	userNameSteps       = stringSteps("name")
	userEnterpriseSteps = userSteps(store.SchemaEnterprise)
	userRosterSteps     = userSteps(store.SchemaRoster)
)

// stringSteps are the simple strings of a single-valued complex attribute
// (name), in the table's order.
func stringSteps(parent string) []userStep {
	var steps []userStep
	for _, a := range store.UserStrings {
		if a.Parent == parent {
			steps = append(steps, userStep{name: a.Name, field: a.Field, always: a.Required})
		}
	}
	return steps
}

// userSteps are the returned attributes of one schema of store.UserSchema,
// in its order. An attribute that is neither a simple string nor in
// userWriters panics: the table and the encoder would disagree.
func userSteps(schema string) []userStep {
	var steps []userStep
	for _, a := range store.UserSchema {
		if a.Schema != schema || a.Returned == store.ReturnedNever || a.Common {
			continue
		}
		if a.Field != nil {
			steps = append(steps, userStep{name: a.Name, field: a.Field, always: a.Required})
			continue
		}
		key := a.Name
		if schema != store.SchemaCore {
			key = schema + "." + a.Name
		}
		w := userWriters[key]
		if w == nil {
			panic("scim: no writer for the user attribute " + key)
		}
		steps = append(steps, userStep{name: a.Name, write: w})
	}
	return steps
}

func (o *groupOut) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendStrings(field(b, "schemas"), o.Schemas)
	b = strField(b, "id", o.ID)
	b = optStr(b, "externalId", o.ExternalID)
	b = strField(b, "displayName", o.DisplayName)
	if len(o.Members) > 0 {
		b = appendArray(field(b, "members"), o.Members, appendRef)
	}
	b = o.Meta.appendJSON(field(b, "meta"))
	return append(b, '}')
}

func (o *listOut) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendStrings(field(b, "schemas"), o.Schemas)
	b = strconv.AppendInt(field(b, "totalResults"), int64(o.TotalResults), 10)
	b = strconv.AppendInt(field(b, "itemsPerPage"), int64(o.ItemsPerPage), 10)
	b = strconv.AppendInt(field(b, "startIndex"), int64(o.StartIndex), 10)
	b = appendArray(field(b, "Resources"), o.Resources, func(b []byte, r *any) []byte { return appendAny(b, *r) })
	return append(b, '}')
}

// appendAny appends v: by itself when it can, else through encoding/json.
func appendAny(b []byte, v any) []byte {
	if a, ok := v.(appender); ok {
		return a.appendJSON(b)
	}
	return appendMarshal(b, v)
}

func appendMarshal(b []byte, v any) []byte {
	var buf jsonBuffer
	buf.b = b
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return append(b, "null"...)
	}
	out := buf.b
	if n := len(out); n > 0 && out[n-1] == '\n' {
		out = out[:n-1]
	}
	return out
}

// jsonBuffer is an io.Writer appending to a byte slice.
type jsonBuffer struct{ b []byte }

func (j *jsonBuffer) Write(p []byte) (int, error) {
	j.b = append(j.b, p...)
	return len(p), nil
}
