package scim

import (
	"encoding/json"
	"strings"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/store"
)

// IdP leniencies: every place where Roster reads input that RFC 7643/7644 would refuse,
// because Okta, Entra or OneLogin send it. They normalise input only; answers are always
// strict RFC form. Each entry names the IdP, the payload shape, the RFC section it bends and
// its section of docs/idp-decisions.md ("decision N"), which also lists the tests and
// recorded IdP conversations that prove it. A new leniency goes here and there.
//
// Where a leniency is one branch of a larger algorithm, the branch stays there and is listed
// here with the function that holds it:
//
//   - decision 3 (Entra with aadOptscim062020: a pathless PATCH value with dotted or
//     URN-qualified keys, {"name.givenName": "Pat", "urn:…:enterprise:2.0:User:employeeNumber": "702"};
//     RFC 7644 §3.5.2.1) — pathlessKey, called by userPatch.applyObject and applyGroupOp;
//   - decision 4 (Okta Group Push: {"op":"replace","value":{"id":…,"displayName":…}};
//     RFC 7644 §3.5.2, id is readOnly) — readOnlyAttr;
//   - decision 5 (Entra and OneLogin: {"op":"remove","path":"members","value":[{"value":id}]};
//     RFC 7644 §3.5.2.2 would remove every member) — removeMembers; the same reading for a
//     user's emails, phoneNumbers, roles (applyMulti) and stores (applyStringList);
//   - decision 9 (Entra: emails[type eq "work"].value eq "x"; RFC 7644 §3.4.2.2 ABNF) —
//     filterParser.parseAttrExpr (filter.go);
//   - decision 11 (Microsoft's SCIM Validator: replace on emails[type eq "work"].value with
//     no work email; RFC 7644 §3.5.2.3 says noTarget) — applyElements and multiValueFromEq
//     (patch_multivalued.go);
//   - decision 13 (Okta's 2016 SPEC Test: bodies without Content-Type; OneLogin: answers in
//     application/json; RFC 7644 §3.1/§8.1) — readBody (scim.go) and scimwire.OnlyJSON;
//   - decision 14 (Okta's password placeholder, Entra's nulls and ADSCIM group schema;
//     RFC 7644 §3.3) — userIn (user_json.go) and checkSchemas;
//   - decision 15 (Entra's ?aadOptscim062020 on every request; RFC 7644 §3.4.2) — call.param
//     (scim.go).

// Decision 1, booleans sent as strings. Entra deactivates with
// {"op":"Replace","path":"active","value":"False"} and filters on roles[primary eq "True"];
// OneLogin's templates send "active":"true" and "primary":"true". RFC 7643 §2.3.2 says a
// boolean is the JSON literal true or false. Roster reads, everywhere a boolean is accepted
// (bodies, PATCH values, filters, PATCH value filters), exactly these: the JSON literals and
// the strings "true" and "false" in any case. Other spellings ("1", "t", "F", "yes",
// " true") are sent by no IdP Roster knows of and are refused with 400, naming the two
// accepted forms.

// boolWord reads a string boolean: "true" or "false" in any case.
func boolWord(s string) (value, ok bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// flexBool is a boolean of a request body: a JSON boolean or a string boolean
// (boolWord); null leaves it unset.
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

// parseBoolJSON reads a JSON value as a boolean: true, false, a string
// boolean (boolWord) or null (nil). ok is false for anything else.
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
		v, ok := boolWord(s)
		if !ok {
			return nil, false
		}
		if v {
			return &boolTrue, true
		}
		return &boolFalse, true
	}
	return nil, false
}

// filterBools turns the string booleans of a parsed filter (active eq "False",
// roles[primary eq "True"]) into booleans where the attribute compared is a
// boolean of attrs, so that the store sees only booleans. A string that is
// not a boolean is left for store.Normalize to refuse. f is returned as is,
// without allocating, when it holds none.
func filterBools(attrs map[string]store.Attr, f store.Filter) (store.Filter, bool) {
	switch x := f.(type) {
	case store.And:
		l, lc := filterBools(attrs, x.Left)
		r, rc := filterBools(attrs, x.Right)
		if lc || rc {
			return store.And{Left: l, Right: r}, true
		}
	case store.Or:
		l, lc := filterBools(attrs, x.Left)
		r, rc := filterBools(attrs, x.Right)
		if lc || rc {
			return store.Or{Left: l, Right: r}, true
		}
	case store.Not:
		if in, c := filterBools(attrs, x.Filter); c {
			return store.Not{Filter: in}, true
		}
	case store.ValuePath:
		if a, ok := attrs[strings.ToLower(x.Attr)]; ok && a.Type == store.TypeMulti {
			if in, c := filterBools(a.Sub, x.Filter); c {
				return store.ValuePath{Attr: x.Attr, Filter: in}, true
			}
		}
	case store.Compare:
		s, ok := x.Value.(string)
		if !ok {
			break
		}
		if b, ok := boolWord(s); ok && isBoolAttr(attrs, x.Attr) {
			x.Value = b
			return x, true
		}
	}
	return f, false
}

// isBoolAttr says whether name (active, emails.primary) is a boolean of attrs.
func isBoolAttr(attrs map[string]store.Attr, name string) bool {
	name = strings.ToLower(name)
	if a, ok := attrs[name]; ok {
		return a.Type == store.TypeBool
	}
	if head, sub, ok := strings.Cut(name, "."); ok {
		if a, ok := attrs[head]; ok && a.Type == store.TypeMulti {
			s, ok := a.Sub[sub]
			return ok && s.Type == store.TypeBool
		}
	}
	return false
}

// filterValueBool reads the value a PATCH value filter compares a boolean
// sub-attribute with (emails[primary eq "True"]): a boolean or a string
// boolean.
func filterValueBool(v any) (value, ok bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		return boolWord(v)
	}
	return false, false
}

// Decision 2, PATCH op in any case. Entra's default form sends "op":"Replace", "Add",
// "Remove"; RFC 7644 §3.5.2 spells them add, remove, replace.

// parseOpKind reads a PATCH op in any case.
func parseOpKind(op string) (opKind, bool) {
	switch {
	case strings.EqualFold(op, "add"):
		return opAdd, true
	case strings.EqualFold(op, "replace"):
		return opReplace, true
	case strings.EqualFold(op, "remove"):
		return opRemove, true
	}
	return 0, false
}

// Decision 3, dotted and URN-qualified keys in a pathless value (see the list above).

// pathlessKey reads a key of a pathless PATCH value as an attribute path: a key
// of the resource's own value (top) may be dotted or URN-qualified; a key
// inside an extension's object belongs to that extension (schema).
func pathlessKey(res store.Resource, schema, key string, top bool) (*patchPath, error) {
	if top {
		return parsePatchPath(res, key)
	}
	return parsePatchPath(res, schema+":"+key)
}

// Decision 4, readOnly keys inside a pathless value (see the list above).

// readOnlyAttr answers an operation naming a readOnly attribute (id, meta,
// schemas, a user's groups, lastActiveAt and seat): inside a pathless value
// it is ignored, as Okta sends the id inside every group rename; named by a
// path it is 400 mutability.
func readOnlyAttr(p *patchPath, pathless bool) error {
	if pathless {
		return nil
	}
	return badRequest(typeMutability, "%s is read-only and cannot be changed", p.raw)
}

// Decision 5, remove on members with a value list (see the list above).

// removeMembers applies a remove on path "members": with a value, only the
// members it lists go (Entra and OneLogin remove one member that way); with
// none, every member goes, as RFC 7644 §3.5.2.2 says.
func removeMembers(g *store.GroupUpdate, value json.RawMessage, ids []string) {
	if isNull(value) {
		g.Replace()
	} else if len(ids) > 0 {
		g.Remove(ids...)
	}
}

// Decision 6, the enterprise manager as an object, a bare id, or "". Entra sends
// {"value":"mgr-id"}, Microsoft's SCIM Validator a bare "mgr-id" and "" to remove it, Entra
// creates with null. RFC 7643 §4.3 makes manager complex (value, $ref, displayName).

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
		id, err := refValue(data)
		if err != nil {
			return err
		}
		*m = managerRef(id)
	case 'n':
		*m = ""
	default:
		return errString("manager takes an object {\"value\": id} or an id")
	}
	return nil
}

// refValue reads a reference object {"value": id} as its id.
func refValue(data []byte) (string, error) {
	var v struct {
		Value string `json:"value"`
	}
	err := json.Unmarshal(data, &v)
	return v.Value, err
}

// Decision 7, a single value where an array is due. Older OneLogin templates send
// "emails":{"primary":true,"type":"work","value":"max.berg@globex.com"}; RFC 7643 §2.4 says
// a multi-valued attribute is a JSON array. Entra wraps a single string value in a
// one-element array at times ("value":["x"]), the other way round.

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

// stringList is a multi-valued string (the Roster extension's stores); a
// single string is taken as a one-element list, and {"value": id} as the id.
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
			id, err := refValue(r)
			if err != nil {
				return err
			}
			s = id
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

// singleString reads Entra's one-element array ["x"] where a string is due.
func singleString(value json.RawMessage) (string, bool) {
	var list []string
	if json.Unmarshal(value, &list) == nil && len(list) == 1 {
		return list[0], true
	}
	return "", false
}

// Decision 8, Entra's role as a JSON-encoded string. Entra's single-app-role PATCH sends
// {"op":"Add","path":"roles","value":[{"value":"{\"id\":\"06b0…\",\"value\":\"supervisor\",\"displayName\":\"Supervisor\"}"}]}.
// RFC 7643 §4.1.2 makes a role value a string; the meaning is inside the encoding.

// decodeRoleValue decodes the role value Entra sends in its default PATCH form,
// a JSON-encoded object {"id","value","displayName"} inside the string
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
