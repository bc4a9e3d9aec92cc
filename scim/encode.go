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

func (o *userOut) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendStrings(field(b, "schemas"), o.Schemas)
	b = strField(b, "id", o.ID)
	b = optStr(b, "externalId", o.ExternalID)
	b = strField(b, "userName", o.UserName)
	if n := o.Name; n != nil {
		b = append(field(b, "name"), '{')
		b = optStr(b, "formatted", n.Formatted)
		b = optStr(b, "familyName", n.FamilyName)
		b = optStr(b, "givenName", n.GivenName)
		b = optStr(b, "middleName", n.MiddleName)
		b = optStr(b, "honorificPrefix", n.HonorificPrefix)
		b = optStr(b, "honorificSuffix", n.HonorificSuffix)
		b = append(b, '}')
	}
	b = optStr(b, "displayName", o.DisplayName)
	b = optStr(b, "nickName", o.NickName)
	b = optStr(b, "profileUrl", o.ProfileURL)
	b = optStr(b, "title", o.Title)
	b = optStr(b, "userType", o.UserType)
	b = optStr(b, "preferredLanguage", o.PreferredLanguage)
	b = optStr(b, "locale", o.Locale)
	b = optStr(b, "timezone", o.Timezone)
	b = strconv.AppendBool(field(b, "active"), o.Active)
	if len(o.Emails) > 0 {
		b = appendArray(field(b, "emails"), o.Emails, appendMultiValue)
	}
	if len(o.PhoneNumbers) > 0 {
		b = appendArray(field(b, "phoneNumbers"), o.PhoneNumbers, appendMultiValue)
	}
	if len(o.Addresses) > 0 {
		b = appendArray(field(b, "addresses"), o.Addresses, appendAddress)
	}
	if len(o.Roles) > 0 {
		b = appendArray(field(b, "roles"), o.Roles, appendMultiValue)
	}
	if len(o.Groups) > 0 {
		b = appendArray(field(b, "groups"), o.Groups, appendRef)
	}
	if e := o.Enterprise; e != nil {
		b = append(field(b, schemaEnterprise), '{')
		b = optStr(b, "employeeNumber", e.EmployeeNumber)
		b = optStr(b, "costCenter", e.CostCenter)
		b = optStr(b, "organization", e.Organization)
		b = optStr(b, "division", e.Division)
		b = optStr(b, "department", e.Department)
		if e.Manager != nil {
			b = e.Manager.appendJSON(field(b, "manager"))
		}
		b = append(b, '}')
	}
	r := &o.Roster
	b = append(field(b, schemaRoster), '{')
	b = optStr(b, "role", r.Role)
	if len(r.Stores) > 0 {
		b = appendStrings(field(b, "stores"), r.Stores)
	}
	if r.AccessExpiresAt != nil {
		b = appendTime(field(b, "accessExpiresAt"), *r.AccessExpiresAt)
	}
	if r.LastActiveAt != nil {
		b = appendTime(field(b, "lastActiveAt"), *r.LastActiveAt)
	}
	b = strField(b, "seat", r.Seat)
	b = append(b, '}')
	b = o.Meta.appendJSON(field(b, "meta"))
	return append(b, '}')
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
