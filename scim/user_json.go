package scim

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/store"
)

// userIn is a User as POST and PUT send it. Attribute names match
// case-insensitively (encoding/json); readOnly attributes (id, meta, groups,
// lastActiveAt, seat) are not declared and so ignored; password is read and
// dropped. Its simple strings (store.UserStrings, name's and the enterprise
// extension's included) are not fields: decodeUser decodes them in the same
// pass, through userInType.
type userIn struct {
	Schemas      []string    `json:"schemas"`
	Active       flexBool    `json:"active"`
	Password     ignored     `json:"password"`
	Emails       multiValues `json:"emails"`
	PhoneNumbers multiValues `json:"phoneNumbers"`
	Addresses    addresses   `json:"addresses"`
	Roles        multiValues `json:"roles"`
	Roster       *rosterIn   `json:"urn:ietf:params:scim:schemas:extension:roster:2.0:User"`

	// Set by decodeUser: the value of userInType decoded, which holds the
	// simple strings, and the enterprise extension's manager.
	decoded reflect.Value
	manager managerRef
}

// ignored accepts any JSON value and keeps nothing (password).
type ignored struct{}

func (ignored) UnmarshalJSON([]byte) error { return nil }

// enterpriseIn is the enterprise extension's attribute that is not a simple
// string.
type enterpriseIn struct {
	Manager managerRef `json:"manager"`
}

type rosterIn struct {
	Role            string     `json:"role"`
	Stores          stringList `json:"stores"`
	AccessExpiresAt dateTime   `json:"accessExpiresAt"`
}

// userInType is the struct a user body is decoded into, made once from
// the attribute table so that encoding/json reads everything in one pass,
// with its own rules (names matched case-insensitively, the first type error
// naming the attribute's path): userIn embedded, then the enterprise
// extension (enterpriseIn embedded and a string per simple string of its
// own), then name (a string per sub-attribute), then a string per core
// simple string.
var userInType, enterpriseInType, nameInType = func() (*stringsStruct, *stringsStruct, *stringsStruct) {
	ent := withStrings(reflect.TypeFor[enterpriseIn](), store.SchemaEnterprise, "")
	name := withStrings(nil, store.SchemaCore, "name")
	user := withStrings(reflect.TypeFor[userIn](), store.SchemaCore, "",
		reflect.StructField{Name: "Enterprise", Type: reflect.PointerTo(ent.typ), Tag: `json:"` + schemaEnterprise + `"`},
		reflect.StructField{Name: "Name", Type: reflect.PointerTo(name.typ), Tag: `json:"name"`})
	return user, ent, name
}()

// Where userInType has the enterprise extension and name (the extra fields
// of withStrings, after userIn).
const (
	userInEnterprise = 1
	userInName       = 2
)

// stringsStruct is a struct type made by withStrings, and its string
// fields: where each is and which simple string of the user it holds.
type stringsStruct struct {
	typ     reflect.Type
	strings []stringField
}

type stringField struct {
	index int
	field func(*store.User) *string
}

// withStrings makes a struct type of base (embedded, its fields promoted;
// none when nil), the extra fields, and one string field per simple string
// of schema under parent ("" for the top), tagged with the attribute's name.
func withStrings(base reflect.Type, schema, parent string, extra ...reflect.StructField) *stringsStruct {
	var fields []reflect.StructField
	if base != nil {
		fields = append(fields, reflect.StructField{Name: "Base", Type: base, Anonymous: true})
	}
	fields = append(fields, extra...)
	s := &stringsStruct{}
	for i, a := range store.UserStrings {
		if a.Schema == schema && a.Parent == parent {
			s.strings = append(s.strings, stringField{index: len(fields), field: a.Field})
			fields = append(fields, reflect.StructField{Name: "S" + strconv.Itoa(i), Type: reflect.TypeFor[string](),
				Tag: reflect.StructTag(`json:"` + a.Name + `"`)})
		}
	}
	s.typ = reflect.StructOf(fields)
	return s
}

// write sets u's simple strings from v, a value of the type.
func (s *stringsStruct) write(v reflect.Value, u *store.User) {
	for _, w := range s.strings {
		*w.field(u) = v.Field(w.index).String()
	}
}

// decodeUser decodes a User body (decodeBody's checks, then one
// encoding/json pass into userInType).
func decodeUser(body []byte) (*userIn, error) {
	if err := checkJSON(body); err != nil {
		return nil, err
	}
	v := reflect.New(userInType.typ)
	if err := json.Unmarshal(body, v.Interface()); err != nil {
		return nil, decodeError(err)
	}
	e := v.Elem()
	in := e.Field(0).Addr().Interface().(*userIn)
	in.decoded = e
	if ent := e.Field(userInEnterprise); !ent.IsNil() {
		in.manager = ent.Elem().Field(0).Addr().Interface().(*enterpriseIn).Manager
	}
	return in, nil
}

// setStrings writes the decoded simple strings onto u; name and the
// enterprise extension, when absent, leave theirs as they are.
func (in *userIn) setStrings(u *store.User) {
	userInType.write(in.decoded, u)
	if ent := in.decoded.Field(userInEnterprise); !ent.IsNil() {
		enterpriseInType.write(ent.Elem(), u)
	}
	if name := in.decoded.Field(userInName); !name.IsNil() {
		nameInType.write(name.Elem(), u)
	}
}

// decodeBody decodes a JSON request body into v, turning decoder errors into
// SCIM errors that name the attribute.
func decodeBody(body []byte, v any) error {
	if err := checkJSON(body); err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return decodeError(err)
	}
	return nil
}

func decodeError(err error) error {
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
		msg       errString
	)
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return badRequest(typeInvalidSyntax, "the request body must be a JSON object")
		}
		return badRequest(typeInvalidValue, "attribute %q must be %s, not a JSON %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return badRequest(typeInvalidSyntax, "the request body is not valid JSON: %s (at byte %d)", syntaxErr.Error(), syntaxErr.Offset)
	case errors.As(err, &msg):
		return badRequest(typeInvalidValue, "%s", string(msg))
	}
	return badRequest(typeInvalidSyntax, "the request body is not valid JSON")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "a boolean"
	}
	return "a " + k
}

// checkSchemas refuses schema URNs a resource does not have. An absent
// schemas attribute is accepted; a present one must name the core schema.
func checkSchemas(got []string, core string, allowed ...string) error {
	if got == nil {
		return nil
	}
	hasCore := false
	for _, s := range got {
		switch {
		case strings.EqualFold(s, core):
			hasCore = true
			continue
		case containsFold(allowed, s):
			continue
		}
		return badRequest(typeInvalidValue, "unknown schema %q; this resource accepts %s", s, strings.Join(append([]string{core}, allowed...), ", "))
	}
	if !hasCore {
		return badRequest(typeInvalidValue, "schemas must include %q", core)
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// apply writes the decoded user onto u: a full replace of every attribute
// the client may write (PUT semantics; on POST u is empty). Role: the
// extension role and the core roles name the explicit role; echoing back
// the resolved role of a user who has no explicit one (a GET followed by a
// PUT) does not pin it.
func (in *userIn) apply(u *store.User, create bool) error {
	if err := checkSchemas(in.Schemas, schemaUser, schemaEnterprise, schemaRoster); err != nil {
		return err
	}
	u.Name, u.Enterprise = store.Name{}, store.Enterprise{ManagerID: string(in.manager)}
	in.setStrings(u)
	switch {
	case in.Active.Set:
		u.Active = in.Active.Value
	case create:
		u.Active = true
	}
	u.Emails, u.PhoneNumbers, u.Addresses = in.Emails, in.PhoneNumbers, in.Addresses
	roles := decodeRoles([]store.MultiValue(in.Roles))
	var extRole string
	u.Stores, u.AccessExpiresAt = nil, nil
	if r := in.Roster; r != nil {
		extRole = r.Role
		u.Stores = r.Stores
		u.AccessExpiresAt = r.AccessExpiresAt.T
	}
	if !create && u.ExplicitRole == "" {
		if strings.EqualFold(strings.TrimSpace(extRole), u.Role) {
			extRole = ""
		}
		if len(roles) == 1 && strings.EqualFold(strings.TrimSpace(roles[0].Value), u.Role) {
			roles = nil
		}
	}
	u.Roles = roles
	u.ExplicitRole = access.ExplicitRole(extRole, roles)
	return checkUser(u)
}

// The most values of one multi-valued attribute: emails, phoneNumbers,
// addresses, roles; the Roster extension's stores.
const (
	maxMultiValues = 100
	maxStores      = 1000
)

// checkUser checks every string of a user: length, UTF-8, NUL (the store
// checks the main ones; this covers the rest with the attribute's name) and
// the size of its lists, then settles its multi-valued attributes
// (settleMultiValued).
func checkUser(u *store.User) error {
	check := func(field, v string) error {
		switch {
		case len(v) > store.MaxStringLen:
			return badRequest(typeInvalidValue, "%s is %d bytes long; at most %d are accepted", field, len(v), store.MaxStringLen)
		case !utf8.ValidString(v), strings.IndexByte(v, 0) >= 0:
			return badRequest(typeInvalidValue, "%s contains characters that are not allowed", field)
		}
		return nil
	}
	for i := range store.UserStrings {
		a := &store.UserStrings[i]
		if err := check(a.Path, *a.Field(u)); err != nil {
			return err
		}
	}
	for _, f := range [...]struct{ n, v string }{{"manager", u.Enterprise.ManagerID}, {"role", u.ExplicitRole}} {
		if err := check(f.n, f.v); err != nil {
			return err
		}
	}
	for _, list := range [...]struct {
		n string
		v []store.MultiValue
	}{{"emails", u.Emails}, {"phoneNumbers", u.PhoneNumbers}, {"roles", u.Roles}} {
		if err := tooMany(list.n, len(list.v), maxMultiValues); err != nil {
			return err
		}
		for _, v := range list.v {
			for _, s := range [...]string{v.Value, v.Type, v.Display} {
				if err := check(list.n, s); err != nil {
					return err
				}
			}
		}
	}
	if err := tooMany("addresses", len(u.Addresses), maxMultiValues); err != nil {
		return err
	}
	for _, a := range u.Addresses {
		for _, s := range [...]string{a.Formatted, a.StreetAddress, a.Locality, a.Region, a.PostalCode, a.Country, a.Type} {
			if err := check("addresses", s); err != nil {
				return err
			}
		}
	}
	if err := tooMany("stores", len(u.Stores), maxStores); err != nil {
		return err
	}
	for _, s := range u.Stores {
		if err := check("stores", s); err != nil {
			return err
		}
	}
	if err := settleMultiValued(u); err != nil { // after the caps above: it compares values pairwise
		return err
	}
	if strings.TrimSpace(u.UserName) == "" {
		return badRequest(typeInvalidValue, "userName is required")
	}
	if u.Enterprise.ManagerID != "" && u.Enterprise.ManagerID == u.ID {
		return badRequest(typeInvalidValue, "a user cannot be their own manager")
	}
	return nil
}

// Output.

type metaOut struct {
	ResourceType string    `json:"resourceType"`
	Created      time.Time `json:"created"`
	LastModified time.Time `json:"lastModified"`
	Location     string    `json:"location"`
	Version      string    `json:"version"`
}

type refOut struct {
	Value   string `json:"value"`
	Ref     string `json:"$ref,omitempty"`
	Display string `json:"display,omitempty"`
	Type    string `json:"type,omitempty"`
}

// userOut is a user as SCIM answers it. Its simple strings (the attribute
// table's store.UserStrings) are not copied: the encoder (encode.go) reads
// them from user through the table. The rest is what userView decided.
type userOut struct {
	user         *store.User
	Schemas      []string
	ID           string
	Name         bool // name is written: the user has one of its sub-attributes
	Active       bool
	Emails       []store.MultiValue
	PhoneNumbers []store.MultiValue
	Addresses    []store.Address
	Roles        []store.MultiValue
	Groups       []refOut
	Enterprise   *enterpriseOut // the enterprise extension is written: the user has one of its attributes
	Roster       rosterOut
	Meta         metaOut
}

type enterpriseOut struct {
	Manager *refOut
}

type rosterOut struct {
	Role            string     `json:"role,omitempty"`
	Stores          []string   `json:"stores,omitempty"`
	AccessExpiresAt *time.Time `json:"accessExpiresAt,omitempty"`
	LastActiveAt    *time.Time `json:"lastActiveAt,omitempty"`
	Seat            string     `json:"seat"`
}

var (
	schemasUser           = []string{schemaUser, schemaRoster}
	schemasUserEnterprise = []string{schemaUser, schemaEnterprise, schemaRoster}
)

func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// userView renders a user. From accessExpiresAt on an external user reads
// inactive with no seat, even before the sweeper has deactivated them.
func (h *handler) userView(base string, u *store.User, groups []store.Group, now time.Time) *userOut {
	o := &userOut{
		user: u, Schemas: schemasUser, ID: u.ID, Name: u.Name != (store.Name{}),
		Active: u.Active, Emails: u.Emails, PhoneNumbers: u.PhoneNumbers, Addresses: u.Addresses,
		Meta: metaOut{ResourceType: "User", Created: u.CreatedAt, LastModified: u.UpdatedAt,
			Location: base + "/Users/" + u.ID, Version: etag(u.Version)},
	}
	if u.Role != "" {
		o.Roles = []store.MultiValue{shownRole(u)}
	}
	seat := seatName(u.Seat)
	if store.Expired(u.AccessExpiresAt, now) {
		o.Active, seat = false, seatName(store.SeatNone)
	}
	o.Roster = rosterOut{Role: u.Role, Stores: u.Stores, AccessExpiresAt: u.AccessExpiresAt, LastActiveAt: u.LastActiveAt, Seat: seat}
	if e := u.Enterprise; e != (store.Enterprise{}) {
		o.Schemas = schemasUserEnterprise
		o.Enterprise = &enterpriseOut{}
		if e.ManagerID != "" {
			o.Enterprise.Manager = &refOut{Value: e.ManagerID, Ref: base + "/Users/" + e.ManagerID}
		}
	}
	for _, g := range groups {
		o.Groups = append(o.Groups, refOut{Value: g.ID, Ref: base + "/Groups/" + g.ID, Display: g.DisplayName, Type: "direct"})
	}
	return o
}

// shownRole is the one value of roles a user is shown with: the role they
// hold, primary, with the display and type the IdP sent with that role in
// the core roles attribute (the primary such value first), if it did. A role
// that comes from the Roster extension, a group mapping or the tenant's
// default has none.
func shownRole(u *store.User) store.MultiValue {
	v := store.MultiValue{Value: u.Role, Primary: true}
	found := false
	for _, r := range u.Roles {
		if store.CanonicalRole(r.Value) == u.Role && (!found || r.Primary) {
			v.Display, v.Type, found = r.Display, r.Type, true
			if r.Primary {
				break
			}
		}
	}
	return v
}

// seatName is the Roster extension's seat value (docs/contract.md "Roster's extension schema").
func seatName(s store.SeatClass) string {
	switch s {
	case store.SeatFull:
		return "consumed"
	case store.SeatLight:
		return "light"
	}
	return "none"
}
