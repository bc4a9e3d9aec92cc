package memory

import (
	"strings"
	"time"

	"github.com/roster-dev/roster/store"
)

// values gives a filter the attribute values of one record (or of one value
// of a multi-valued attribute). A string attribute that is absent is "".
type values interface {
	scalar(a store.Attr) any    // string, bool or *time.Time
	multi(attr string) []values // the values of a multi-valued attribute
}

// eval evaluates a filter that store.Normalize has checked, per the semantics
// documented on store.Filter.
func eval(f store.Filter, v values) bool {
	return evalIn(f, nil, v)
}

func evalIn(f store.Filter, sub map[string]store.Attr, v values) bool {
	switch f := f.(type) {
	case store.And:
		return evalIn(f.Left, sub, v) && evalIn(f.Right, sub, v)
	case store.Or:
		return evalIn(f.Left, sub, v) || evalIn(f.Right, sub, v)
	case store.Not:
		return !evalIn(f.Filter, sub, v)
	case store.ValuePath:
		attr := lookup(nil, f.Attr, v)
		for _, elem := range v.multi(f.Attr) {
			if evalIn(f.Filter, attr.Sub, elem) {
				return true
			}
		}
		return false
	case store.Compare:
		a := lookup(sub, f.Attr, v)
		return compare(a, f.Op, f.Value, v.scalar(a))
	}
	return false
}

// lookup finds an attribute's description: in the sub-attribute table inside
// a value path, else in the record's table. Normalize spells names as the
// table does, so the record's table is looked up by that name first (no
// lower-casing for every record a filter scans).
func lookup(sub map[string]store.Attr, name string, v values) store.Attr {
	if sub != nil {
		return sub[strings.ToLower(name)]
	}
	byName, attrs := userAttrsByName, store.UserAttrs
	if _, ok := v.(groupValues); ok {
		byName, attrs = groupAttrsByName, store.GroupAttrs
	}
	if a, ok := byName[name]; ok {
		return a
	}
	return attrs[strings.ToLower(name)]
}

// userAttrsByName and groupAttrsByName are the filter tables keyed by the
// names as spelled.
var (
	userAttrsByName  = byName(store.UserAttrs)
	groupAttrsByName = byName(store.GroupAttrs)
)

func byName(attrs map[string]store.Attr) map[string]store.Attr {
	m := make(map[string]store.Attr, len(attrs))
	for _, a := range attrs {
		m[a.Name] = a
	}
	return m
}

func compare(a store.Attr, op store.Op, want, got any) bool {
	switch a.Type {
	case store.TypeBool:
		b, _ := got.(bool)
		switch op {
		case store.OpPr:
			return true
		case store.OpEq:
			return b == want
		case store.OpNe:
			return b != want
		}
		return false
	case store.TypeTime:
		t, _ := got.(*time.Time)
		if op == store.OpPr {
			return t != nil
		}
		if t == nil {
			return op == store.OpNe
		}
		w := want.(time.Time)
		return ordered(op, t.Compare(w))
	default:
		s, _ := got.(string)
		if op == store.OpPr {
			return s != ""
		}
		w, _ := want.(string)
		switch {
		case a.Name == "userName" && (op == store.OpEq || op == store.OpNe):
			s, w = store.FoldKey(s), store.FoldKey(w)
		case a.Type == store.TypeString:
			s, w = strings.ToLower(s), strings.ToLower(w)
		}
		switch op {
		case store.OpCo:
			return strings.Contains(s, w)
		case store.OpSw:
			return strings.HasPrefix(s, w)
		case store.OpEw:
			return strings.HasSuffix(s, w)
		}
		return ordered(op, strings.Compare(s, w))
	}
}

// ordered answers an eq/ne/gt/ge/lt/le comparison from a three-way result.
func ordered(op store.Op, c int) bool {
	switch op {
	case store.OpEq:
		return c == 0
	case store.OpNe:
		return c != 0
	case store.OpGt:
		return c > 0
	case store.OpGe:
		return c >= 0
	case store.OpLt:
		return c < 0
	case store.OpLe:
		return c <= 0
	}
	return false
}

// sortKey is a comparable rendering of one attribute value for sortBy.
type sortKey struct {
	s string
	t *time.Time
	b bool
}

func (k sortKey) less(o sortKey) bool {
	switch {
	case k.t != nil || o.t != nil:
		return k.t == nil && o.t != nil || k.t != nil && o.t != nil && k.t.Before(*o.t)
	case k.b != o.b:
		return !k.b
	}
	return k.s < o.s
}

func keyOf(a store.Attr, v values) sortKey {
	switch x := v.scalar(a).(type) {
	case string:
		if a.Type == store.TypeString {
			x = strings.ToLower(x)
		}
		return sortKey{s: x}
	case bool:
		return sortKey{b: x}
	case *time.Time:
		return sortKey{t: x}
	}
	return sortKey{}
}

type userValues struct{ u *store.User }

// scalar reads a single-valued attribute through the attribute table's
// accessor (store/attrs.go), carried by the filter's store.Attr.
func (v userValues) scalar(a store.Attr) any {
	if a.Access != nil && a.UserValue != nil {
		return a.UserValue(v.u)
	}
	return nil
}

// multi reads a multi-valued attribute: each has its own field, and the
// sub-attributes of a value are read by multiValue.
func (v userValues) multi(attr string) []values {
	var vs []store.MultiValue
	switch attr {
	case "emails":
		vs = v.u.Emails
	case "phoneNumbers":
		vs = v.u.PhoneNumbers
	case "roles":
		vs = v.u.Roles
	}
	out := make([]values, len(vs))
	for i := range vs {
		out[i] = multiValue{&vs[i]}
	}
	return out
}

type multiValue struct{ m *store.MultiValue }

func (v multiValue) scalar(a store.Attr) any {
	switch a.Name {
	case "value":
		return v.m.Value
	case "type":
		return v.m.Type
	case "display":
		return v.m.Display
	case "primary":
		return v.m.Primary
	}
	return nil
}

func (multiValue) multi(string) []values { return nil }

type groupValues struct {
	t   *tenant
	rec *groupRec
}

func (v groupValues) scalar(a store.Attr) any {
	if a.Access != nil && a.GroupValue != nil {
		return a.GroupValue(&v.rec.g)
	}
	return nil
}

// multi reads members, which live in the tenant's membership index rather
// than on the group.
func (v groupValues) multi(attr string) []values {
	if attr != "members" {
		return nil
	}
	ms := v.t.membersOf(v.rec)
	out := make([]values, len(ms))
	for i := range ms {
		out[i] = memberValue{ms[i]}
	}
	return out
}

type memberValue struct{ m store.Member }

func (v memberValue) scalar(a store.Attr) any {
	switch a.Name {
	case "value":
		return v.m.UserID
	case "display":
		return v.m.Display
	}
	return nil
}

func (memberValue) multi(string) []values { return nil }
