package scim

// PATCH of a user: the core attributes, name, the enterprise and Roster extensions, and
// the explicit role an operation sets.

import (
	"encoding/json"
	"strings"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/store"
)

// userPatch applies PATCH operations to a user inside the update transaction.
type userPatch struct {
	u       *store.User
	extRole string // the extension role, as far as it can be told from ExplicitRole
	roleSet bool
	rolesOK bool
	keys    attrKeys // the attributes the current pathless operation names
}

func applyUserPatch(u *store.User, ops []parsedOp) error {
	up := userPatch{u: u}
	// The explicit role came from the extension when the core roles do not
	// name it; keep it unless an operation changes it.
	if u.ExplicitRole != "" && u.ExplicitRole != access.ExplicitRole("", u.Roles) {
		up.extRole = u.ExplicitRole
	}
	if err := applyOps(ops, up.apply); err != nil {
		return err
	}
	if up.roleSet || up.rolesOK {
		u.ExplicitRole = access.ExplicitRole(up.extRole, u.Roles)
	}
	return checkUser(u)
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
		pp, err := pathlessKey(store.Users, schema, k, top)
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
			return readOnlyAttr(p, pathless)
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
	if field := userFields[fieldKey{store.SchemaCore, p.attr, ""}]; field != nil {
		if p.sub != "" {
			return unknownAttr(p)
		}
		return setString(kind, p, value, field(u))
	}
	// The rest is explicit: each has semantics of its own (a boolean that
	// removal clears, name as a whole, multi-valued values and their caps,
	// roles that name the explicit role).
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
		return applyName(kind, p, value, u)
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
		return readOnlyAttr(p, pathless)
	}
	return unknownAttr(p)
}

// fieldKey names a simple single-valued string of the user attribute table:
// its table schema, lower-case attribute and, for a part of a single-valued
// complex attribute (name.givenName), lower-case sub-attribute.
type fieldKey struct{ schema, attr, sub string }

// userFields are the PATCH setters of the attribute table's simple
// single-valued strings (store.AttrDef.Field).
var userFields = func() map[fieldKey]func(*store.User) *string {
	m := map[fieldKey]func(*store.User) *string{}
	for _, a := range store.UserStrings {
		if a.Parent == "" {
			m[fieldKey{a.Schema, strings.ToLower(a.Name), ""}] = a.Field
		} else {
			m[fieldKey{a.Schema, strings.ToLower(a.Parent), strings.ToLower(a.Name)}] = a.Field
		}
	}
	return m
}()

func (up *userPatch) enterprise(kind opKind, p *patchPath, value json.RawMessage) error {
	if field := userFields[fieldKey{store.SchemaEnterprise, p.attr, ""}]; field != nil {
		if p.sub != "" {
			return unknownAttr(p)
		}
		return setString(kind, p, value, field(up.u))
	}
	// manager is explicit: an object or a bare id, its $ref derived.
	e := &up.u.Enterprise
	switch p.attr {
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
	}
	return unknownAttr(p)
}

// applyName applies an operation on name: as a whole it is explicit (an
// object whose keys are the parts); each part is a simple string of the
// attribute table.
func applyName(kind opKind, p *patchPath, value json.RawMessage, u *store.User) error {
	if p.sub == "" {
		if kind == opRemove {
			u.Name = store.Name{}
			return nil
		}
		var in map[string]json.RawMessage
		if err := json.Unmarshal(value, &in); err != nil {
			return badRequest(typeInvalidValue, "name must be an object")
		}
		for k, v := range in {
			if err := applyName(kind, &patchPath{attr: "name", sub: strings.ToLower(k), raw: "name." + k}, v, u); err != nil {
				return err
			}
		}
		return nil
	}
	field := userFields[fieldKey{store.SchemaCore, "name", p.sub}]
	if field == nil {
		return unknownAttr(p)
	}
	return setString(kind, p, value, field(u))
}
