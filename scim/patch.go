package scim

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/store"
)

// maxPatchOps caps the operations of one PATCH request.
const maxPatchOps = 1000

type patchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// opKind is a PATCH operation, read case-insensitively (Entra sends "Replace").
type opKind int

const (
	opAdd opKind = iota + 1
	opReplace
	opRemove
)

// patchPath is a parsed PATCH path: attr[filter].sub, with the schema it
// belongs to. attr and sub are lower-cased; attr is "" for a path naming a
// whole extension schema.
type patchPath struct {
	schema string
	attr   string
	sub    string
	filter store.Filter // nil without [...]; attribute names as the client wrote them
	raw    string
}

// parsedOp is a validated operation.
type parsedOp struct {
	kind  opKind
	path  *patchPath // nil: pathless
	value json.RawMessage
}

// parsePatch decodes and validates a PATCH body, so that a bad operation is
// refused before anything is applied.
func parsePatch(res store.Resource, body []byte) ([]parsedOp, error) {
	var req patchRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if req.Schemas != nil && !containsFold(req.Schemas, schemaPatchOp) {
		return nil, badRequest(typeInvalidValue, "schemas must be [%q]", schemaPatchOp)
	}
	if len(req.Operations) == 0 {
		return nil, badRequest(typeInvalidValue, "Operations is empty: a PATCH needs at least one operation")
	}
	if len(req.Operations) > maxPatchOps {
		return nil, badRequest(typeInvalidValue, "a PATCH may carry at most %d operations, this one has %d", maxPatchOps, len(req.Operations))
	}
	ops := make([]parsedOp, 0, len(req.Operations))
	for i, o := range req.Operations {
		var p parsedOp
		switch strings.ToLower(o.Op) {
		case "add":
			p.kind = opAdd
		case "replace":
			p.kind = opReplace
		case "remove":
			p.kind = opRemove
		default:
			return nil, badRequest(typeInvalidSyntax, "operation %d: op %q is not add, replace or remove", i+1, o.Op)
		}
		if strings.TrimSpace(o.Path) != "" {
			pp, err := parsePatchPath(res, strings.TrimSpace(o.Path))
			if err != nil {
				return nil, err
			}
			p.path = pp
		} else if p.kind == opRemove {
			return nil, badRequest(typeNoTarget, "operation %d: remove needs a path", i+1)
		}
		if p.kind != opRemove && len(o.Value) == 0 {
			return nil, badRequest(typeInvalidValue, "operation %d: %s needs a value", i+1, strings.ToLower(o.Op))
		}
		if p.path == nil && firstByte(o.Value) != '{' {
			return nil, badRequest(typeInvalidValue, "operation %d: an operation without a path needs an object value", i+1)
		}
		p.value = o.Value
		ops = append(ops, p)
	}
	return ops, nil
}

func parsePatchPath(res store.Resource, s string) (*patchPath, error) {
	bad := func() error {
		return badRequest(typeInvalidPath, "path %q is not a valid attribute path", s)
	}
	if len(s) > 1024 {
		return nil, badRequest(typeInvalidPath, "path is longer than 1024 characters")
	}
	p := filterParser{s: s, res: res}
	name := p.word()
	pp := &patchPath{raw: s}
	if p.i < len(p.s) && p.s[p.i] == '[' {
		p.i++
		f, err := p.parseOr(1, true)
		if err != nil {
			return nil, badRequest(typeInvalidFilter, "path %q: %s", s, err.Error())
		}
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != ']' {
			return nil, bad()
		}
		p.i++
		pp.filter = f
		if p.i < len(p.s) && p.s[p.i] == '.' {
			p.i++
			pp.sub = p.word()
			if !validName(pp.sub) {
				return nil, bad()
			}
		}
	}
	if p.i != len(p.s) {
		return nil, bad()
	}
	schema, attr, err := splitPathURN(res, name)
	if err != nil {
		return nil, badRequest(typeInvalidPath, "path %q: %s", s, err.Error())
	}
	pp.schema = schema
	if attr != "" {
		head, sub, dotted := strings.Cut(attr, ".")
		if dotted && (pp.filter != nil || strings.Contains(sub, ".")) {
			return nil, bad()
		}
		if !validName(head) || (dotted && !validName(sub)) {
			return nil, bad()
		}
		pp.attr = strings.ToLower(head)
		if dotted {
			pp.sub = sub
		}
	} else if pp.filter != nil || pp.sub != "" {
		return nil, bad()
	}
	pp.sub = strings.ToLower(pp.sub)
	return pp, nil
}

// splitPathURN is splitURN that also accepts a path naming a whole extension.
func splitPathURN(res store.Resource, name string) (string, string, error) {
	if res == store.Users {
		for _, s := range [...]string{schemaEnterprise, schemaRoster} {
			if strings.EqualFold(name, s) {
				return s, "", nil
			}
		}
	}
	return splitURN(res, name)
}

// userPatch applies PATCH operations to a user inside the update transaction.
type userPatch struct {
	u       *store.User
	extRole string // the extension role, as far as it can be told from ExplicitRole
	roleSet bool
	rolesOK bool
	keys    attrKeys // the attributes the current pathless operation names
}

// attrKeys records the attributes one pathless operation names, so that
// one named twice under different spellings — plain and URN-qualified
// (displayName, urn:…:User:displayName), dotted and nested (name.givenName,
// name), a key of an extension and the extension's object — is refused: the
// keys come out of a map in no set order, so which one won would be chance.
type attrKeys struct {
	whole map[string]string // schema:attr → the key that names it whole
	parts map[string]string // schema:attr.sub → the key that names it
	subOf map[string]string // schema:attr → a key that names one of its parts
}

func (a *attrKeys) add(p *patchPath, key string) error {
	if a.whole == nil {
		a.whole, a.parts, a.subOf = map[string]string{}, map[string]string{}, map[string]string{}
	}
	id := p.schema + ":" + p.attr
	other, twice := a.whole[id]
	if p.sub == "" {
		if !twice {
			other, twice = a.subOf[id]
		}
		a.whole[id] = key
	} else {
		if !twice {
			other, twice = a.parts[id+"."+p.sub]
		}
		a.parts[id+"."+p.sub], a.subOf[id] = key, key
	}
	if twice {
		return badRequest(typeInvalidSyntax, "attribute %q appears twice in one operation, also as %q: send it once",
			truncate(key, 100), truncate(other, 100))
	}
	return nil
}

func applyUserPatch(u *store.User, ops []parsedOp) error {
	up := userPatch{u: u}
	// The explicit role came from the extension when the core roles do not
	// name it; keep it unless an operation changes it.
	if u.ExplicitRole != "" && u.ExplicitRole != access.ExplicitRole("", u.Roles) {
		up.extRole = u.ExplicitRole
	}
	for i, op := range ops {
		if err := up.apply(op); err != nil {
			if e, ok := err.(Error); ok && i > 0 && len(ops) > 1 {
				e.Detail = "operation " + itoa(i+1) + ": " + e.Detail
				return e
			}
			return err
		}
	}
	if up.roleSet || up.rolesOK {
		u.ExplicitRole = access.ExplicitRole(up.extRole, u.Roles)
	}
	return checkUser(u)
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func (up *userPatch) apply(op parsedOp) error {
	if op.path == nil {
		up.keys = attrKeys{}
		return up.applyObject(op.kind, schemaUser, op.value, true)
	}
	return up.applyPath(op.kind, op.path, op.value, false)
}

// applyObject applies a pathless operation: each key of the object is a path
// (dotted and URN-qualified keys included); a key naming an extension holds
// that extension's attributes. readOnly keys (id, meta, groups…) and
// schemas are ignored, as Okta sends the id inside a rename.
func (up *userPatch) applyObject(kind opKind, schema string, value json.RawMessage, top bool) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(value, &obj); err != nil {
		return badRequest(typeInvalidValue, "the value of an operation without a path must be an object")
	}
	for k, v := range obj {
		if !top && strings.EqualFold(k, "schemas") {
			// An extension's value may repeat its schemas list, as the
			// extension object of a POST may: ignored there too.
			continue
		}
		var pp *patchPath
		var err error
		if top {
			pp, err = parsePatchPath(store.Users, k)
		} else {
			pp, err = parsePatchPath(store.Users, schema+":"+k)
		}
		if err != nil {
			return err
		}
		if pp.attr != "" {
			if err := up.keys.add(pp, k); err != nil {
				return err
			}
		}
		if err := up.applyPath(kind, pp, v, true); err != nil {
			return err
		}
	}
	return nil
}

func (up *userPatch) applyPath(kind opKind, p *patchPath, value json.RawMessage, pathless bool) error {
	u := up.u
	if p.attr == "" { // a whole extension
		if kind == opRemove {
			switch p.schema {
			case schemaEnterprise:
				u.Enterprise = store.Enterprise{}
			case schemaRoster:
				u.Stores, u.AccessExpiresAt = nil, nil
				up.extRole, up.roleSet = "", true
			}
			return nil
		}
		return up.applyObject(kind, p.schema, value, false)
	}
	readOnly := func() error {
		if pathless {
			return nil
		}
		return badRequest(typeMutability, "%s is read-only and cannot be changed", p.raw)
	}
	switch p.schema {
	case schemaEnterprise:
		return up.enterprise(kind, p, value)
	case schemaRoster:
		switch p.attr {
		case "role":
			s, err := stringValue(kind, p, value)
			if err != nil {
				return err
			}
			up.extRole, up.roleSet = decodeRoleValue(s), true
			return nil
		case "stores":
			if err := applyStringList(kind, p, value, &u.Stores); err != nil {
				return err
			}
			return tooMany("stores", len(u.Stores), maxStores)
		case "accessexpiresat":
			if kind == opRemove || isNull(value) {
				u.AccessExpiresAt = nil
				return nil
			}
			var d dateTime
			if err := json.Unmarshal(value, &d); err != nil {
				return badRequest(typeInvalidValue, "%s must be a dateTime such as \"2026-01-02T15:04:05Z\"", p.raw)
			}
			u.AccessExpiresAt = d.T
			return nil
		case "lastactiveat", "seat":
			return readOnly()
		}
		return unknownAttr(p)
	}
	if p.filter != nil {
		switch p.attr {
		case "emails", "phonenumbers", "roles", "addresses":
		default:
			return badRequest(typeInvalidPath, "path %q: only multi-valued attributes take a [filter]", p.raw)
		}
	}
	if field := userStringField(u, p.attr); field != nil {
		if p.sub != "" {
			return unknownAttr(p)
		}
		return setString(kind, p, value, field)
	}
	switch p.attr {
	case "active":
		if p.sub != "" {
			return unknownAttr(p)
		}
		if kind == opRemove {
			// /Schemas declares active readWrite and not required: removing
			// it leaves it unassigned, which is not active.
			u.Active = false
			return nil
		}
		b, ok := parseBoolJSON(value)
		if !ok || b == nil {
			return badRequest(typeInvalidValue, "active must be true or false")
		}
		u.Active = *b
		return nil
	case "name":
		return applyName(kind, p, value, &u.Name)
	case "emails", "phonenumbers", "roles":
		list := &u.Emails
		switch p.attr {
		case "phonenumbers":
			list = &u.PhoneNumbers
		case "roles":
			list = &u.Roles
			up.rolesOK = true
		}
		if err := applyMulti(kind, p, value, list); err != nil {
			return err
		}
		if err := tooMany(p.attr, len(*list), maxMultiValues); err != nil {
			return err
		}
		if p.attr == "roles" {
			decodeRoles(*list)
		}
		return nil
	case "addresses":
		if err := applyAddresses(kind, p, value, &u.Addresses); err != nil {
			return err
		}
		return tooMany("addresses", len(u.Addresses), maxMultiValues)
	case "password":
		return nil // accepted, never stored
	case "id", "meta", "schemas", "groups":
		if pathless {
			return nil // Okta sends the id inside a pathless value
		}
		return badRequest(typeMutability, "%s is read-only and cannot be changed", p.raw)
	}
	return unknownAttr(p)
}

// tooMany refuses a list of more than max values. A PATCH checks the value
// of each operation and the list after it, before the next: adding to a
// list compares each new value with those there, which must stay cheap
// however many values a request sends.
func tooMany(name string, n, max int) error {
	if n > max {
		return badRequest(typeInvalidValue, "%s has %d values; at most %d are accepted", multiValuedName(name), n, max)
	}
	return nil
}

// multiValuedName is the attribute name a PATCH path's lower-cased attr
// stands for, for messages.
func multiValuedName(attr string) string {
	if attr == "phonenumbers" {
		return "phoneNumbers"
	}
	return attr
}

func unknownAttr(p *patchPath) error {
	return badRequest(typeInvalidPath, "%q is not an attribute Roster stores", p.raw)
}

func userStringField(u *store.User, attr string) *string {
	switch attr {
	case "externalid":
		return &u.ExternalID
	case "username":
		return &u.UserName
	case "displayname":
		return &u.DisplayName
	case "nickname":
		return &u.NickName
	case "profileurl":
		return &u.ProfileURL
	case "title":
		return &u.Title
	case "usertype":
		return &u.UserType
	case "preferredlanguage":
		return &u.PreferredLanguage
	case "locale":
		return &u.Locale
	case "timezone":
		return &u.Timezone
	}
	return nil
}

func isNull(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

// setString sets *field to the string value of an operation (stringValue).
func setString(kind opKind, p *patchPath, value json.RawMessage, field *string) error {
	s, err := stringValue(kind, p, value)
	if err != nil {
		return err
	}
	*field = s
	return nil
}

// stringValue is the string an add or replace sets ("" for remove or null).
func stringValue(kind opKind, p *patchPath, value json.RawMessage) (string, error) {
	if kind == opRemove || isNull(value) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(value, &s); err != nil {
		// Entra wraps single values in a one-element array at times.
		var list []string
		if json.Unmarshal(value, &list) == nil && len(list) == 1 {
			return list[0], nil
		}
		return "", badRequest(typeInvalidValue, "%s must be a string", p.raw)
	}
	return s, nil
}

func (up *userPatch) enterprise(kind opKind, p *patchPath, value json.RawMessage) error {
	e := &up.u.Enterprise
	var field *string
	switch p.attr {
	case "employeenumber":
		field = &e.EmployeeNumber
	case "costcenter":
		field = &e.CostCenter
	case "organization":
		field = &e.Organization
	case "division":
		field = &e.Division
	case "department":
		field = &e.Department
	case "manager":
		if p.sub != "" && p.sub != "value" {
			if p.sub == "displayname" || p.sub == "$ref" {
				return nil // derived
			}
			return unknownAttr(p)
		}
		if kind == opRemove || isNull(value) {
			e.ManagerID = ""
			return nil
		}
		var m managerRef
		if err := json.Unmarshal(value, &m); err != nil {
			return badRequest(typeInvalidValue, "manager must be an object {\"value\": id} or an id")
		}
		e.ManagerID = string(m)
		return nil
	default:
		return unknownAttr(p)
	}
	if p.sub != "" {
		return unknownAttr(p)
	}
	return setString(kind, p, value, field)
}

func applyName(kind opKind, p *patchPath, value json.RawMessage, n *store.Name) error {
	if p.sub == "" {
		if kind == opRemove {
			*n = store.Name{}
			return nil
		}
		var in map[string]json.RawMessage
		if err := json.Unmarshal(value, &in); err != nil {
			return badRequest(typeInvalidValue, "name must be an object")
		}
		for k, v := range in {
			if err := applyName(kind, &patchPath{attr: "name", sub: strings.ToLower(k), raw: "name." + k}, v, n); err != nil {
				return err
			}
		}
		return nil
	}
	var field *string
	switch p.sub {
	case "formatted":
		field = &n.Formatted
	case "familyname":
		field = &n.FamilyName
	case "givenname":
		field = &n.GivenName
	case "middlename":
		field = &n.MiddleName
	case "honorificprefix":
		field = &n.HonorificPrefix
	case "honorificsuffix":
		field = &n.HonorificSuffix
	default:
		return unknownAttr(p)
	}
	return setString(kind, p, value, field)
}

// applyStringList applies an operation to the Roster extension's stores,
// whose ids compare exactly (caseExact in /Schemas), as the catalogue does.
func applyStringList(kind opKind, p *patchPath, value json.RawMessage, list *[]string) error {
	var vals stringList
	if !isNull(value) {
		if err := json.Unmarshal(value, &vals); err != nil {
			return badRequest(typeInvalidValue, "%s must be an array of strings", p.raw)
		}
	}
	if err := tooMany(p.raw, len(vals), maxStores); err != nil {
		return err
	}
	switch kind {
	case opReplace:
		*list = vals
	case opAdd:
		for _, v := range vals {
			if !slices.Contains(*list, v) {
				*list = append(*list, v)
			}
		}
	case opRemove:
		if vals == nil {
			*list = nil
			return nil
		}
		out := (*list)[:0:0]
		for _, v := range *list {
			if !slices.Contains(vals, v) {
				out = append(out, v)
			}
		}
		*list = out
	}
	return nil
}

// element is one value of a multi-valued attribute as a filter sees it.
type element interface {
	get(sub string) (string, bool, bool) // string value, or bool value with isBool
}

type mvElem struct{ v *store.MultiValue }

func (e mvElem) get(sub string) (string, bool, bool) {
	switch strings.ToLower(sub) {
	case "value":
		return e.v.Value, false, false
	case "type":
		return e.v.Type, false, false
	case "display":
		return e.v.Display, false, false
	case "primary":
		return "", e.v.Primary, true
	}
	return "", false, false
}

type addrElem struct{ a *store.Address }

func (e addrElem) get(sub string) (string, bool, bool) {
	a := e.a
	switch strings.ToLower(sub) {
	case "type":
		return a.Type, false, false
	case "formatted":
		return a.Formatted, false, false
	case "streetaddress":
		return a.StreetAddress, false, false
	case "locality":
		return a.Locality, false, false
	case "region":
		return a.Region, false, false
	case "postalcode":
		return a.PostalCode, false, false
	case "country":
		return a.Country, false, false
	case "primary":
		return "", a.Primary, true
	}
	return "", false, false
}

// matches evaluates a PATCH value filter on one element: strings compare
// case-insensitively, booleans also match their string forms ("True").
func matches(f store.Filter, e element) bool {
	switch f := f.(type) {
	case store.And:
		return matches(f.Left, e) && matches(f.Right, e)
	case store.Or:
		return matches(f.Left, e) || matches(f.Right, e)
	case store.Not:
		return !matches(f.Filter, e)
	case store.Compare:
		s, b, isBool := e.get(f.Attr)
		if isBool {
			want, ok := f.Value.(bool)
			if str, isStr := f.Value.(string); isStr {
				want, ok = strings.EqualFold(str, "true"), strings.EqualFold(str, "true") || strings.EqualFold(str, "false")
			}
			switch f.Op {
			case store.OpPr:
				return true
			case store.OpEq:
				return ok && b == want
			case store.OpNe:
				return !ok || b != want
			}
			return false
		}
		return constCompare(strings.ToLower(s), f.Op, f.Value)
	}
	return false
}

// eqTerms collects the sub-attribute = string terms of a filter made of eq and
// and, to build the value a replace on a missing element adds
// (emails[type eq "work"].value when there is no work email).
func eqTerms(f store.Filter, out map[string]any) bool {
	switch f := f.(type) {
	case store.And:
		return eqTerms(f.Left, out) && eqTerms(f.Right, out)
	case store.Compare:
		if f.Op != store.OpEq {
			return false
		}
		out[strings.ToLower(f.Attr)] = f.Value
		return true
	}
	return false
}

func decodeMultiValues(p *patchPath, value json.RawMessage) ([]store.MultiValue, error) {
	var vals multiValues
	if isNull(value) {
		return nil, nil
	}
	if err := json.Unmarshal(value, &vals); err != nil {
		return nil, badRequest(typeInvalidValue, "%s must be an array of objects with value, type, display and primary", p.raw)
	}
	return vals, tooMany(p.raw, len(vals), maxMultiValues)
}

func applyMulti(kind opKind, p *patchPath, value json.RawMessage, list *[]store.MultiValue) error {
	if p.filter != nil || p.sub != "" {
		return applyElements(kind, p, list, elemOps[store.MultiValue]{
			view:   func(v *store.MultiValue) element { return mvElem{v} },
			setSub: func(v *store.MultiValue) error { return setMultiSub(kind, p, value, v) },
			decode: func() ([]store.MultiValue, error) { return decodeMultiValues(p, value) },
			fromEq: multiValueFromEq,
		})
	}
	vals, err := decodeMultiValues(p, value)
	if err != nil {
		return err
	}
	switch kind {
	case opReplace:
		*list = vals
	case opAdd:
		for _, v := range vals {
			if v.Primary {
				for i := range *list {
					(*list)[i].Primary = false
				}
			}
			dup := false
			for i, have := range *list {
				if strings.EqualFold(have.Value, v.Value) && strings.EqualFold(have.Type, v.Type) {
					(*list)[i] = v
					dup = true
					break
				}
			}
			if !dup {
				*list = append(*list, v)
			}
		}
	case opRemove:
		if vals == nil {
			*list = nil
			return nil
		}
		out := (*list)[:0:0]
		for _, have := range *list {
			keep := true
			for _, v := range vals {
				if strings.EqualFold(have.Value, v.Value) {
					keep = false
				}
			}
			if keep {
				out = append(out, have)
			}
		}
		*list = out
	}
	return nil
}

// multiValueFromEq is the value a filter's eq terms describe
// (emails[type eq "work"] describes {"type": "work"}).
func multiValueFromEq(terms map[string]any) store.MultiValue {
	var v store.MultiValue
	for k, t := range terms {
		s, _ := t.(string)
		switch k {
		case "type":
			v.Type = s
		case "value":
			v.Value = s
		case "display":
			v.Display = s
		case "primary":
			b, _ := t.(bool)
			v.Primary = b || strings.EqualFold(s, "true")
		}
	}
	return v
}

func setMultiSub(kind opKind, p *patchPath, value json.RawMessage, v *store.MultiValue) error {
	if p.sub == "primary" {
		if kind == opRemove {
			v.Primary = false
			return nil
		}
		b, ok := parseBoolJSON(value)
		if !ok || b == nil {
			return badRequest(typeInvalidValue, "%s must be true or false", p.raw)
		}
		v.Primary = *b
		return nil
	}
	var field *string
	switch p.sub {
	case "value":
		field = &v.Value
	case "type":
		field = &v.Type
	case "display":
		field = &v.Display
	default:
		return unknownAttr(p)
	}
	return setString(kind, p, value, field)
}

func applyAddresses(kind opKind, p *patchPath, value json.RawMessage, list *[]store.Address) error {
	if p.filter != nil || p.sub != "" {
		return applyElements(kind, p, list, elemOps[store.Address]{
			view:   func(a *store.Address) element { return addrElem{a} },
			setSub: func(a *store.Address) error { return setAddressSub(kind, p, value, a) },
			decode: func() ([]store.Address, error) { return decodeAddresses(p, value) },
			fromEq: func(terms map[string]any) store.Address {
				t, _ := terms["type"].(string)
				return store.Address{Type: t}
			},
		})
	}
	vals, err := decodeAddresses(p, value)
	if err != nil {
		return err
	}
	switch kind {
	case opReplace:
		*list = vals
	case opAdd:
		*list = append(*list, vals...)
	case opRemove:
		*list = nil
	}
	return nil
}

func decodeAddresses(p *patchPath, value json.RawMessage) ([]store.Address, error) {
	var vals addresses
	if isNull(value) {
		return nil, nil
	}
	if err := json.Unmarshal(value, &vals); err != nil {
		return nil, badRequest(typeInvalidValue, "%s must be an array of address objects", p.raw)
	}
	return vals, tooMany(p.raw, len(vals), maxMultiValues)
}

func setAddressSub(kind opKind, p *patchPath, value json.RawMessage, a *store.Address) error {
	if p.sub == "primary" {
		b, ok := parseBoolJSON(value)
		if kind != opRemove && (!ok || b == nil) {
			return badRequest(typeInvalidValue, "%s must be true or false", p.raw)
		}
		a.Primary = kind != opRemove && *b
		return nil
	}
	var field *string
	switch p.sub {
	case "type":
		field = &a.Type
	case "formatted":
		field = &a.Formatted
	case "streetaddress":
		field = &a.StreetAddress
	case "locality":
		field = &a.Locality
	case "region":
		field = &a.Region
	case "postalcode":
		field = &a.PostalCode
	case "country":
		field = &a.Country
	default:
		return unknownAttr(p)
	}
	return setString(kind, p, value, field)
}

// elemOps are the parts of a PATCH on a multi-valued attribute that depend on
// its element type (store.MultiValue for emails, phoneNumbers and roles,
// store.Address for addresses), bound to one operation.
type elemOps[T any] struct {
	view   func(*T) element             // the element as a filter sees it
	setSub func(*T) error               // sets the path's sub-attribute from the value
	decode func() ([]T, error)          // the value as a list of elements
	fromEq func(terms map[string]any) T // the element a filter's eq terms describe
}

// applyElements applies an operation whose path names a sub-attribute of
// every element (emails.value) or carries a filter (emails[type eq "work"],
// emails[type eq "work"].value): the matching elements are changed, or
// removed. An add or replace that matches none adds the element the filter's
// eq terms describe.
func applyElements[T any](kind opKind, p *patchPath, list *[]T, ops elemOps[T]) error {
	if p.filter == nil {
		for i := range *list {
			if err := ops.setSub(&(*list)[i]); err != nil {
				return err
			}
		}
		return nil
	}
	matched := false
	out := (*list)[:0:0]
	for i := range *list {
		v := (*list)[i]
		if !matches(p.filter, ops.view(&v)) {
			out = append(out, v)
			continue
		}
		matched = true
		if kind == opRemove && p.sub == "" {
			continue
		}
		if err := ops.set(p, &v, "replace a filtered value with"); err != nil {
			return err
		}
		out = append(out, v)
	}
	if !matched && kind != opRemove {
		// replace on emails[type eq "work"].value with no work email adds one.
		terms := map[string]any{}
		if !eqTerms(p.filter, terms) {
			return badRequest(typeNoTarget, "%s matches no value", p.raw)
		}
		v := ops.fromEq(terms)
		if err := ops.set(p, &v, "add"); err != nil {
			return err
		}
		out = append(out, v)
	}
	*list = out
	return nil
}

// set sets one element: the path's sub-attribute, or the whole element from a
// value holding exactly one object (verb: what the operation does with it).
func (ops elemOps[T]) set(p *patchPath, v *T, verb string) error {
	if p.sub != "" {
		return ops.setSub(v)
	}
	vals, err := ops.decode()
	if err != nil {
		return err
	}
	if len(vals) != 1 {
		return badRequest(typeInvalidValue, "%s: %s exactly one object", p.raw, verb)
	}
	*v = vals[0]
	return nil
}

// Groups.

type memberIn struct {
	Value string `json:"value"`
}

// memberIDs decodes a members value: an array of {"value": id} (or a single
// object), every id non-empty.
func memberIDs(raw json.RawMessage) ([]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var list []memberIn
	switch firstByte(raw) {
	case '{':
		var one memberIn
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, badRequest(typeInvalidValue, "members must be an array of objects {\"value\": user id}")
		}
		list = []memberIn{one}
	default:
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, badRequest(typeInvalidValue, "members must be an array of objects {\"value\": user id}")
		}
	}
	ids := make([]string, 0, len(list))
	for _, m := range list {
		if strings.TrimSpace(m.Value) == "" {
			return nil, badRequest(typeInvalidValue, "every member needs a value: the user's id")
		}
		ids = append(ids, m.Value)
	}
	return ids, nil
}

// memberFilterIDs reads members[value eq "a" or value eq "b"].
func memberFilterIDs(f store.Filter, out []string) ([]string, bool) {
	switch f := f.(type) {
	case store.Or:
		out, ok := memberFilterIDs(f.Left, out)
		if !ok {
			return nil, false
		}
		return memberFilterIDs(f.Right, out)
	case store.Compare:
		s, ok := f.Value.(string)
		if f.Op != store.OpEq || !strings.EqualFold(f.Attr, "value") || !ok {
			return nil, false
		}
		return append(out, s), true
	}
	return nil, false
}

// applyGroupPatch applies PATCH operations to a group inside the update
// transaction; member changes become row-level MemberOps.
func applyGroupPatch(g *store.GroupUpdate, ops []parsedOp) error {
	for i, op := range ops {
		if err := applyGroupOp(g, op); err != nil {
			if e, ok := err.(Error); ok && len(ops) > 1 {
				e.Detail = "operation " + itoa(i+1) + ": " + e.Detail
				return e
			}
			return err
		}
	}
	return checkGroup(&g.Group)
}

func applyGroupOp(g *store.GroupUpdate, op parsedOp) error {
	if op.path == nil {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(op.value, &obj); err != nil {
			return badRequest(typeInvalidValue, "the value of an operation without a path must be an object")
		}
		var keys attrKeys
		for k, v := range obj {
			p, err := parsePatchPath(store.Groups, k)
			if err != nil {
				return err
			}
			if err := keys.add(p, k); err != nil {
				return err
			}
			switch p.attr {
			case "id", "meta", "schemas":
				continue // Okta sends the id inside a rename
			}
			if err := applyGroupPath(g, op.kind, p, v); err != nil {
				return err
			}
		}
		return nil
	}
	return applyGroupPath(g, op.kind, op.path, op.value)
}

func applyGroupPath(g *store.GroupUpdate, kind opKind, p *patchPath, value json.RawMessage) error {
	switch p.attr {
	case "displayname", "externalid":
		if p.filter != nil || p.sub != "" {
			return unknownAttr(p)
		}
		field := &g.Group.DisplayName
		if p.attr == "externalid" {
			field = &g.Group.ExternalID
		}
		if kind == opRemove && p.attr == "displayname" {
			return badRequest(typeMutability, "displayName is required and cannot be removed")
		}
		return setString(kind, p, value, field)
	case "members":
		if p.sub != "" && p.sub != "value" {
			return unknownAttr(p)
		}
		if p.filter != nil {
			ids, ok := memberFilterIDs(p.filter, nil)
			if !ok {
				return badRequest(typeInvalidFilter, "%s: a member filter may only compare value with eq, joined by or", p.raw)
			}
			if kind != opRemove {
				return badRequest(typeInvalidPath, "%s: add members with path \"members\" and a value list", p.raw)
			}
			for _, id := range ids {
				if strings.TrimSpace(id) == "" {
					return badRequest(typeInvalidFilter, "%s: a member filter compares value with a user's id, not an empty string", p.raw)
				}
			}
			g.Remove(ids...)
			return nil
		}
		ids, err := memberIDs(value)
		if err != nil {
			return err
		}
		switch kind {
		case opAdd:
			if len(ids) > 0 {
				g.Add(ids...)
			}
		case opReplace:
			g.Replace(ids...)
		case opRemove:
			if isNull(value) {
				g.Replace() // no value: remove every member (RFC 7644 §3.5.2.2)
			} else if len(ids) > 0 {
				g.Remove(ids...) // Entra and OneLogin: remove only the listed members
			}
		}
		return nil
	case "id", "meta", "schemas":
		return badRequest(typeMutability, "%s is read-only and cannot be changed", p.raw)
	}
	return unknownAttr(p)
}
