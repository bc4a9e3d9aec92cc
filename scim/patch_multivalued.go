package scim

// PATCH, the engine shared by users and groups: operations on a multi-valued attribute
// (a whole list, the elements a value filter selects, one sub-attribute of each) and on
// single string values, with the per-list caps.

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/roster-dev/roster/store"
)

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
		if one, ok := singleString(value); ok {
			return one, nil
		}
		return "", badRequest(typeInvalidValue, "%s must be a string", p.raw)
	}
	return s, nil
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
			want, ok := filterValueBool(f.Value)
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
			v.Primary, _ = filterValueBool(t)
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
