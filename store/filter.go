package store

import (
	"fmt"
	"strings"
	"time"
)

// Filter is a predicate over users or groups. The SCIM layer builds it from a
// parsed SCIM filter; store/memory evaluates it and store/postgres translates it
// to SQL with bound parameters. Attribute names are those of the attribute
// tables below (Normalize resolves them case-insensitively).
//
// Semantics, identical in every backend (storetest checks it):
//   - An absent string attribute is the empty string. "pr" is true for a
//     non-empty string, a set time, any bool, a multi-valued attribute with at
//     least one value.
//   - TypeString compares case-insensitively: both sides lower-cased, ordered
//     byte-wise (PostgreSQL: lower(x) collate "C"). userName "eq" and "ne"
//     compare FoldKey of both sides (the uniqueness key, indexed).
//   - TypeExactString compares exactly, ordered byte-wise.
//   - co, sw, ew are substring, prefix and suffix tests on the same
//     (lower-cased or exact) strings; "%", "_" and "\" in the value are literal.
//   - TypeBool takes eq and ne only.
//   - TypeTime: an unset time is false for every operator but "ne", which is true.
//   - ValuePath is true when at least one value of the multi-valued attribute
//     satisfies the inner filter (all inner comparisons on that same value).
//   - Sorting (SortBy) orders by the same comparison, unset/empty first when
//     ascending, ties in creation order.
type Filter interface{ isFilter() }

// Op is a SCIM comparison operator.
type Op string

// The RFC 7644 §3.4.2.2 operators.
const (
	OpEq Op = "eq"
	OpNe Op = "ne"
	OpCo Op = "co"
	OpSw Op = "sw"
	OpEw Op = "ew"
	OpPr Op = "pr"
	OpGt Op = "gt"
	OpGe Op = "ge"
	OpLt Op = "lt"
	OpLe Op = "le"
)

// And is true when both sides are.
type And struct{ Left, Right Filter }

// Or is true when either side is.
type Or struct{ Left, Right Filter }

// Not negates a filter.
type Not struct{ Filter Filter }

// Compare compares one attribute with a value: string, bool, float64,
// time.Time, or nil for pr.
type Compare struct {
	Attr  string
	Op    Op
	Value any
}

// ValuePath is true when one value of a multi-valued attribute satisfies Filter,
// whose attribute names are the sub-attributes ("type", "value").
type ValuePath struct {
	Attr   string
	Filter Filter
}

func (And) isFilter()       {}
func (Or) isFilter()        {}
func (Not) isFilter()       {}
func (Compare) isFilter()   {}
func (ValuePath) isFilter() {}

// AttrType is the type of a filterable attribute.
type AttrType int

const (
	TypeString      AttrType = iota + 1 // compared case-insensitively
	TypeExactString                     // compared case-sensitively (ids)
	TypeBool
	TypeTime
	TypeMulti // multi-valued complex: filtered through sub-attributes
)

// Attr describes one filterable attribute, as the attribute table
// (attrs.go) declares it.
type Attr struct {
	Name string
	Type AttrType
	Sub  map[string]Attr // TypeMulti: the sub-attributes, by lower-case name
	// *Access is set on every attribute of UserAttrs and GroupAttrs. A
	// pointer keeps Attr small: Normalize copies it for every comparison
	// of every filter it checks.
	*Access
}

// Access is how each backend reads a filterable attribute.
type Access struct {
	// Column is the PostgreSQL expression (AttrDef.Column).
	Column string
	// UserValue, GroupValue read a single-valued attribute for the
	// in-memory evaluator (AttrDef.Get); nil for a multi-valued one.
	UserValue  func(*User) any
	GroupValue func(*Group) any
}

// Resource names what a filter applies to.
type Resource int

const (
	Users Resource = iota + 1
	Groups
)

// UserAttrs are the filterable user attributes, keyed by lower-case name,
// derived from UserSchema. The SCIM layer maps the enterprise and Roster
// extension URNs to the "enterprise." and "roster." names.
var UserAttrs = filterTable(UserSchema)

// GroupAttrs are the filterable group attributes, keyed by lower-case name,
// derived from GroupSchema.
var GroupAttrs = filterTable(GroupSchema)

// AttrsOf returns the attribute table of a resource.
func AttrsOf(r Resource) map[string]Attr {
	if r == Groups {
		return GroupAttrs
	}
	return UserAttrs
}

// MaxFilterDepth caps the nesting of a filter.
const MaxFilterDepth = 32

// Normalize checks a filter against the resource's attribute table and returns
// it in canonical form: attribute names spelled as in the table, a comparison
// on a multi-valued attribute ("emails eq x", "emails.value eq x") turned into
// a ValuePath, time values parsed, operators checked against the type. Any
// fault is an error wrapping ErrInvalidFilter that names it.
func Normalize(r Resource, f Filter) (Filter, error) {
	return normalize(AttrsOf(r), f, 0)
}

func normalize(attrs map[string]Attr, f Filter, depth int) (Filter, error) {
	if depth > MaxFilterDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrInvalidFilter, MaxFilterDepth)
	}
	switch f := f.(type) {
	case nil:
		return nil, nil
	case And:
		l, r, err := normalizePair(attrs, f.Left, f.Right, depth)
		return And{l, r}, err
	case Or:
		l, r, err := normalizePair(attrs, f.Left, f.Right, depth)
		return Or{l, r}, err
	case Not:
		in, err := normalize(attrs, f.Filter, depth+1)
		return Not{in}, err
	case ValuePath:
		a, ok := attrs[strings.ToLower(f.Attr)]
		if !ok || a.Type != TypeMulti {
			return nil, fmt.Errorf("%w: %q is not a filterable multi-valued attribute", ErrInvalidFilter, f.Attr)
		}
		in, err := normalize(a.Sub, f.Filter, depth+1)
		if err != nil {
			return nil, err
		}
		return ValuePath{Attr: a.Name, Filter: in}, nil
	case Compare:
		name := strings.ToLower(f.Attr)
		if a, ok := attrs[name]; ok && a.Type == TypeMulti {
			// "emails eq x" compares the value sub-attribute.
			name += ".value"
		}
		if head, sub, ok := strings.Cut(name, "."); ok {
			if a, ok := attrs[head]; ok && a.Type == TypeMulti {
				in, err := normalize(a.Sub, Compare{Attr: sub, Op: f.Op, Value: f.Value}, depth+1)
				if err != nil {
					return nil, err
				}
				return ValuePath{Attr: a.Name, Filter: in}, nil
			}
		}
		a, ok := attrs[name]
		if !ok {
			return nil, fmt.Errorf("%w: %q is not a filterable attribute", ErrInvalidFilter, f.Attr)
		}
		v, err := checkCompare(a, f.Op, f.Value)
		if err != nil {
			return nil, err
		}
		return Compare{Attr: a.Name, Op: f.Op, Value: v}, nil
	default:
		return nil, fmt.Errorf("%w: unsupported expression %T", ErrInvalidFilter, f)
	}
}

func normalizePair(attrs map[string]Attr, l, r Filter, depth int) (Filter, Filter, error) {
	nl, err := normalize(attrs, l, depth+1)
	if err != nil {
		return nil, nil, err
	}
	nr, err := normalize(attrs, r, depth+1)
	return nl, nr, err
}

func checkCompare(a Attr, op Op, v any) (any, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: %s %s: %s", ErrInvalidFilter, a.Name, op, why)
	}
	switch op {
	case OpPr:
		return nil, nil
	case OpEq, OpNe, OpCo, OpSw, OpEw, OpGt, OpGe, OpLt, OpLe:
	default:
		return nil, bad("unknown operator")
	}
	switch a.Type {
	case TypeString, TypeExactString:
		s, ok := v.(string)
		if !ok {
			return nil, bad("needs a quoted string")
		}
		return s, nil
	case TypeBool:
		if op != OpEq && op != OpNe {
			return nil, bad("a boolean compares only with eq or ne")
		}
		// Only a boolean: the string forms IdPs send ("True") are read by
		// the transport that accepts them (the SCIM layer), not here.
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, bad("needs true or false")
	case TypeTime:
		if op == OpCo || op == OpSw || op == OpEw {
			return nil, bad("a dateTime compares only with eq, ne, gt, ge, lt, le")
		}
		switch t := v.(type) {
		case time.Time:
			return Timestamp(t), nil
		case string:
			p, err := time.Parse(time.RFC3339Nano, t)
			if err != nil {
				return nil, bad("needs an RFC 3339 dateTime such as \"2026-01-02T15:04:05Z\"")
			}
			return Timestamp(p), nil
		}
		return nil, bad("needs a dateTime string")
	}
	return nil, bad("cannot be compared")
}

// SortAttr resolves a sortBy attribute name; empty means creation order.
func SortAttr(r Resource, name string) (Attr, error) {
	if name == "" {
		return Attr{}, nil
	}
	a, ok := AttrsOf(r)[strings.ToLower(name)]
	if !ok || a.Type == TypeMulti {
		return Attr{}, &InvalidError{Field: "sortBy", Reason: fmt.Sprintf("cannot sort by %q", name)}
	}
	return a, nil
}
