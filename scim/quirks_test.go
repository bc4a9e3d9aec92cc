package scim

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/roster-dev/roster/store"
)

// TestQuirks_boolReader: the one reader of booleans takes the JSON literals
// and the strings "true"/"false" in any case (what Entra and OneLogin send),
// and nothing else — not strconv.ParseBool's "1", "t", "F", nor padding.
func TestQuirks_boolReader(t *testing.T) {
	for _, tc := range []struct {
		in       string
		value    bool
		ok, null bool
	}{
		{`true`, true, true, false},
		{`false`, false, true, false},
		{`null`, false, true, true},
		{`"true"`, true, true, false},
		{`"false"`, false, true, false},
		{`"True"`, true, true, false},
		{`"False"`, false, true, false},
		{`"TRUE"`, true, true, false},
		{`"fAlSe"`, false, true, false},
		{`"1"`, false, false, false},
		{`"0"`, false, false, false},
		{`"t"`, false, false, false},
		{`"F"`, false, false, false},
		{`"yes"`, false, false, false},
		{`" true"`, false, false, false},
		{`"true "`, false, false, false},
		{`""`, false, false, false},
		{`1`, false, false, false},
		{`True`, false, false, false},
		{`"\u0074rue"`, true, true, false},
	} {
		v, ok := parseBoolJSON([]byte(tc.in))
		assert.Equal(t, tc.ok, ok, tc.in)
		if tc.ok {
			assert.Equal(t, tc.null, v == nil, tc.in)
			if v != nil {
				assert.Equal(t, tc.value, *v, tc.in)
			}
		}
		// The filter value reader agrees with the body reader on strings.
		if len(tc.in) >= 2 && tc.in[0] == '"' && tc.in != `"\u0074rue"` {
			b, ok := filterValueBool(tc.in[1 : len(tc.in)-1])
			assert.Equal(t, tc.ok, ok, "filter %s", tc.in)
			assert.Equal(t, tc.value, b, "filter %s", tc.in)
		}
	}
}

// TestQuirks_filterBools: string booleans become booleans where the
// attribute is boolean, and only there; a filter without one is returned as
// it was.
func TestQuirks_filterBools(t *testing.T) {
	for _, tc := range []struct {
		in, want store.Filter
	}{
		{store.Compare{Attr: "active", Op: store.OpEq, Value: "False"}, store.Compare{Attr: "active", Op: store.OpEq, Value: false}},
		{store.Compare{Attr: "ACTIVE", Op: store.OpNe, Value: "TRUE"}, store.Compare{Attr: "ACTIVE", Op: store.OpNe, Value: true}},
		{store.Compare{Attr: "title", Op: store.OpEq, Value: "true"}, store.Compare{Attr: "title", Op: store.OpEq, Value: "true"}},
		{store.Compare{Attr: "active", Op: store.OpEq, Value: "1"}, store.Compare{Attr: "active", Op: store.OpEq, Value: "1"}},
		{store.Compare{Attr: "emails.primary", Op: store.OpEq, Value: "True"}, store.Compare{Attr: "emails.primary", Op: store.OpEq, Value: true}},
		{
			store.ValuePath{Attr: "roles", Filter: store.And{
				Left:  store.Compare{Attr: "primary", Op: store.OpEq, Value: "True"},
				Right: store.Compare{Attr: "value", Op: store.OpEq, Value: "true"},
			}},
			store.ValuePath{Attr: "roles", Filter: store.And{
				Left:  store.Compare{Attr: "primary", Op: store.OpEq, Value: true},
				Right: store.Compare{Attr: "value", Op: store.OpEq, Value: "true"},
			}},
		},
		{
			store.Not{Filter: store.Or{Left: store.Compare{Attr: "userName", Op: store.OpEq, Value: "a"}, Right: store.Compare{Attr: "active", Op: store.OpEq, Value: "false"}}},
			store.Not{Filter: store.Or{Left: store.Compare{Attr: "userName", Op: store.OpEq, Value: "a"}, Right: store.Compare{Attr: "active", Op: store.OpEq, Value: false}}},
		},
	} {
		got, changed := filterBools(store.UserAttrs, tc.in)
		assert.Equal(t, tc.want, got)
		assert.Equal(t, tc.in != tc.want, changed, "%v", tc.in)
	}
}
