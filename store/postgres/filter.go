package postgres

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roster-dev/roster/store"
)

// table is a resource's filter whitelist (store.UserAttrs or
// store.GroupAttrs, whose Column is the SQL expression of each attribute,
// from the attribute table in store/attrs.go) for a query that reads the
// resource under a fixed alias. Values never enter the SQL text; they become
// $n placeholders.
type table struct {
	attrs map[string]store.Attr
	seq   string // the creation-order column
	// multi returns the exists(…) test of a multi-valued attribute, given
	// the inner condition on one value. The shape of that subquery is
	// special to each resource (a JSON array; the group_members rows), so it
	// stays here rather than in the attribute table.
	multi func(a store.Attr, inner string) string
}

var usersTable = &table{
	attrs: store.UserAttrs,
	seq:   "u.seq",
	multi: func(a store.Attr, inner string) string {
		// A null column (no values) gives no rows: the test is false.
		return "exists (select 1 from jsonb_array_elements(" + a.Column + ") e where " + inner + ")"
	},
}

// memberDisplay is a member's display (the user's displayName, else
// userName): the column of members.display in the attribute table, which
// every member listing reads too.
var memberDisplay = store.GroupAttrs["members"].Sub["display"].Column

var groupsTable = &table{
	attrs: store.GroupAttrs,
	seq:   "g.seq",
	multi: func(_ store.Attr, inner string) string {
		return `exists (select 1 from group_members m
	join users mu on mu.tenant_id = m.tenant_id and mu.id = m.user_id
	where m.tenant_id = g.tenant_id and m.group_id = g.id and ` + inner + `)`
	},
}

// sqlBuilder collects the arguments of a statement; $1 is the tenant.
type sqlBuilder struct {
	args []any
}

func (b *sqlBuilder) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// filter translates a filter that store.Normalize has checked into a SQL
// condition that is never NULL (so that "not" is exact), per the semantics on
// store.Filter. A nil filter is true.
func (b *sqlBuilder) filter(f store.Filter, t *table) (string, error) {
	if f == nil {
		return "true", nil
	}
	return b.cond(f, t, "")
}

// cond translates f; inside a value path, multi names the attribute.
func (b *sqlBuilder) cond(f store.Filter, t *table, multi string) (string, error) {
	switch f := f.(type) {
	case store.And:
		return b.pair(f.Left, f.Right, "and", t, multi)
	case store.Or:
		return b.pair(f.Left, f.Right, "or", t, multi)
	case store.Not:
		in, err := b.cond(f.Filter, t, multi)
		if err != nil {
			return "", err
		}
		return "(not " + in + ")", nil
	case store.ValuePath:
		a, ok := t.attrs[strings.ToLower(f.Attr)]
		if !ok || a.Type != store.TypeMulti || multi != "" {
			return "", fmt.Errorf("%w: %q is not a filterable multi-valued attribute", store.ErrInvalidFilter, f.Attr)
		}
		in, err := b.cond(f.Filter, t, a.Name)
		if err != nil {
			return "", err
		}
		return t.multi(a, in), nil
	case store.Compare:
		attrs := t.attrs
		if multi != "" {
			attrs = t.attrs[strings.ToLower(multi)].Sub
		}
		a, ok := attrs[strings.ToLower(f.Attr)]
		if !ok || a.Column == "" || a.Type == store.TypeMulti {
			return "", fmt.Errorf("%w: %q is not a filterable attribute", store.ErrInvalidFilter, f.Attr)
		}
		col := a.Column
		userName := multi == "" && t == usersTable && a.Name == "userName"
		return b.compare(a, col, f.Op, f.Value, userName)
	}
	return "", fmt.Errorf("%w: unsupported expression %T", store.ErrInvalidFilter, f)
}

func (b *sqlBuilder) pair(l, r store.Filter, op string, t *table, multi string) (string, error) {
	ls, err := b.cond(l, t, multi)
	if err != nil {
		return "", err
	}
	rs, err := b.cond(r, t, multi)
	if err != nil {
		return "", err
	}
	return "(" + ls + " " + op + " " + rs + ")", nil
}

var sqlOps = map[store.Op]string{
	store.OpEq: "=", store.OpNe: "<>", store.OpGt: ">", store.OpGe: ">=", store.OpLt: "<", store.OpLe: "<=",
}

// likeEscaper makes %, _ and \ literal in a LIKE pattern (escape '\').
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func (b *sqlBuilder) compare(a store.Attr, col string, op store.Op, v any, userName bool) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: %s %s: %s", store.ErrInvalidFilter, a.Name, op, why)
	}
	switch a.Type {
	case store.TypeBool:
		switch op {
		case store.OpPr:
			return "true", nil
		case store.OpEq, store.OpNe:
			bv, ok := v.(bool)
			if !ok {
				return "", bad("needs true or false")
			}
			return "(" + col + " " + sqlOps[op] + " " + b.arg(bv) + "::boolean)", nil
		}
		return "", bad("a boolean compares only with eq or ne")

	case store.TypeTime:
		if op == store.OpPr {
			return "(" + col + " is not null)", nil
		}
		tv, ok := v.(time.Time)
		sop, okOp := sqlOps[op]
		if !ok || !okOp {
			return "", bad("needs a dateTime and eq, ne, gt, ge, lt or le")
		}
		p := b.arg(store.Timestamp(tv)) + "::timestamptz"
		if op == store.OpNe { // an unset time is "ne" anything
			return "(" + col + " is null or " + col + " <> " + p + ")", nil
		}
		return "(" + col + " is not null and " + col + " " + sop + " " + p + ")", nil

	case store.TypeString, store.TypeExactString:
		if op == store.OpPr {
			return "(" + col + " <> '')", nil
		}
		sv, ok := v.(string)
		if !ok {
			return "", bad("needs a quoted string")
		}
		if !utf8.ValidString(sv) || strings.ContainsRune(sv, 0) {
			return "", bad("the value is not valid UTF-8 text")
		}
		if userName && (op == store.OpEq || op == store.OpNe) {
			// The uniqueness key, indexed: FoldKey of both sides.
			return "(u.user_name_key " + sqlOps[op] + " " + b.arg(store.FoldKey(sv)) + "::text)", nil
		}
		left, right := col, b.arg(sv)+"::text"
		if a.Type == store.TypeString {
			left, right = "lower("+col+")", "lower("+right+")"
		}
		switch op {
		case store.OpCo, store.OpSw, store.OpEw:
			pattern := likeEscaper.Replace(sv)
			switch op {
			case store.OpCo:
				pattern = "%" + pattern + "%"
			case store.OpSw:
				pattern += "%"
			case store.OpEw:
				pattern = "%" + pattern
			}
			b.args[len(b.args)-1] = pattern
			return "(" + left + " like " + right + ` escape '\')`, nil
		case store.OpEq, store.OpNe:
			return "(" + left + " " + sqlOps[op] + " " + right + ")", nil
		case store.OpGt, store.OpGe, store.OpLt, store.OpLe:
			// Ordered byte-wise, like the in-memory store.
			return "(" + left + ` collate "C" ` + sqlOps[op] + " " + right + ")", nil
		}
		return "", bad("unknown operator")
	}
	return "", bad("cannot be compared")
}

// orderBy is the ORDER BY list for a sort attribute (zero: creation order):
// the same comparison as the filter, unset/empty first when ascending, ties
// in creation order.
func orderBy(a store.Attr, t *table, desc bool) string {
	if a.Name == "" {
		return t.seq
	}
	col := a.Column
	dir := "asc nulls first"
	if desc {
		dir = "desc nulls last"
	}
	switch a.Type {
	case store.TypeString:
		col = "lower(" + col + `) collate "C"`
	case store.TypeExactString:
		col += ` collate "C"`
	}
	return col + " " + dir + ", " + t.seq
}
