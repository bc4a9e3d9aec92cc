package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// TestCheckJSON: what checkJSON refuses, and what it leaves to the decoder.
// Keys compare as the decoder sees them: after JSON escapes are decoded, and
// case-insensitively (SCIM attribute names are).
func TestCheckJSON(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		detail     string // "" accepted; else a part of the 400 invalidSyntax detail
	}{
		{"plain", `{"userName":"a","name":{"givenName":"x"},"emails":[{"value":"a"},{"value":"b"}]}`, ""},
		{"same key in sibling objects", `{"a":{"k":1},"b":{"k":2},"c":[{"k":1},{"k":2}]}`, ""},
		{"same key at two depths", `{"k":{"k":{"k":1}}}`, ""},
		{"keys that are values", `{"a":"a","b":["a","a"]}`, ""},
		{"duplicate", `{"userName":"a","userName":"b"}`, `"userName" appears twice`},
		{"duplicate, other case", `{"userName":"a","USERNAME":"b"}`, "appears twice"},
		{"duplicate, non-ASCII case", `{"straße":1,"STRASSE":2,"ÄRGER":1,"ärger":2}`, `"ärger" appears twice`},
		{"duplicate, escaped letter", `{"userName":"d1@x.test","user\u004eame":"root@x.test"}`, `"userName" appears twice`},
		{"duplicate, escaped first letter", `{"active":false,"\u0061ctive":true}`, `"active" appears twice`},
		{"duplicate, escaped upper case", `{"active":false,"\u0041CTIVE":true}`, "appears twice"},
		{"duplicate, escaped slash", `{"a/b":1,"a\/b":2}`, "appears twice"},
		{"duplicate, surrogate pair and raw", `{"😀":1,"\ud83d\ude00":2}`, "appears twice"},
		{"duplicate after a nested object", `{"a":{"b":1,"c":[1,{"d":2}]},"e":1,"A":2}`, `"A" appears twice`},
		{"duplicate in a nested object", `{"name":{"givenName":"a","givenName":"b"}}`, "appears twice"},
		{"duplicate in the 2,000th object", `[` + strings.Repeat(`{"a":1,"b":2},`, 1999) + `{"a":1,"\u0061":2}]`, "appears twice"},
		{"surrogate pair", `{"userName":"\ud83d\ude00@x.test"}`, ""},
		{"lone high surrogate", `{"userName":"\ud800@x.test"}`, "lone UTF-16 surrogate"},
		{"high surrogate at the end", `{"userName":"x\uD800"}`, "lone UTF-16 surrogate"},
		{"high surrogate then a letter", `{"userName":"\ud800\u0041"}`, "lone UTF-16 surrogate"},
		{"two high surrogates", `{"userName":"\ud800\ud800"}`, "lone UTF-16 surrogate"},
		{"lone low surrogate", `{"userName":"\udc00"}`, "lone UTF-16 surrogate"},
		{"lone surrogate in a key", `{"user\udfffName":"a"}`, "lone UTF-16 surrogate"},
		{"lone surrogate in an array", `{"emails":[{"value":"a\udbff"}]}`, "lone UTF-16 surrogate"},
		{"escaped NUL", `{"userName":"\u0000"}`, "NUL"},
		{"raw NUL", "{\"userName\":\"\x00\"}", "NUL"},
		{"invalid UTF-8", "{\"userName\":\"\xff\"}", "UTF-8"},
		{"too deep", strings.Repeat("[", 17) + strings.Repeat("]", 17), "nested deeper"},
		{"too many keys", manyKeys(1, 2049), "more than 2048 attributes"},
		{"2048 keys", manyKeys(1, 2048), ""},
		{"bad escape: the decoder reports it", `{"a":"\x"}`, ""},
		{"short \\u: the decoder reports it", `{"a":"\u12"}`, ""},
		{"unterminated: the decoder reports it", `{"a":"b`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkJSON([]byte(tc.body))
			if tc.detail == "" {
				assert.NoError(t, err)
				return
			}
			var e Error
			require.True(t, errors.As(err, &e), "%v", err)
			assert.Equal(t, 400, e.Status)
			assert.Equal(t, typeInvalidSyntax, e.ScimType)
			assert.Contains(t, e.Detail, tc.detail)
		})
	}
}

// manyKeys is objects objects of keys keys each, in one array.
func manyKeys(objects, keys int) string {
	var b strings.Builder
	b.WriteByte('[')
	for o := range objects {
		if o > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('{')
		for k := range keys {
			if k > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"attribute%06d":%d`, k, k)
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return b.String()
}

// TestCheckJSON_linear: the duplicate-key check costs the same per byte
// whatever the number of keys per object, so a body of a few objects with
// thousands of keys each is no slower to check than one of many small
// objects of the same size. A quadratic check took about 130 times longer on
// the wide body; the bound leaves room for a noisy machine.
func TestCheckJSON_linear(t *testing.T) {
	narrow := []byte(manyKeys(8192, 16)) // about 3 MB each
	wide := []byte(manyKeys(64, 2048))
	perByte := func(b []byte) float64 { // ns per byte, the best of 5
		best := time.Duration(1 << 62)
		for range 5 {
			start := time.Now()
			require.NoError(t, checkJSON(b))
			best = min(best, time.Since(start))
		}
		return float64(best) / float64(len(b))
	}
	n, w := perByte(narrow), perByte(wide)
	t.Logf("ns per byte: 16 keys per object %.2f, 2048 keys per object %.2f", n, w)
	assert.Less(t, w, 5*n, "2048 keys per object must cost about what 16 do per byte")
}

// BenchmarkCheckJSON: time per byte (see MB/s) of the duplicate-key check
// is flat across key counts per object, at equal body size (about 3 MB).
//
//	go test ./scim -run '^$' -bench CheckJSON
func BenchmarkCheckJSON(b *testing.B) {
	for _, keys := range []int{4, 16, 64, 256, 2048} {
		body := []byte(manyKeys(131072/keys, keys))
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := checkJSON(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzCheckJSON: checkJSON never panics, and whatever it accepts that the
// decoder also accepts has no two keys of one object that decode to the same
// name (case-insensitively) and no lone surrogate.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{
		`{"userName":"d1@x.test","user\u004eame":"root@x.test"}`, `{"active":false,"\u0061ctive":true}`,
		`{"userName":"\ud800"}`, `{"a":"\udc00\ud800"}`, `{"😀":1,"\ud83d\ude00":2}`, `{"a":{"a":{"a":1}},"A":2}`,
		`{"straße":1,"STRASSE":2}`, `{"k":"\\u0061","\\u0061":1}`, `[{"a":1},{"a":1}]`, `{"a":"\u12"}`,
		manyKeys(2, 40),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if err := checkJSON(body); err != nil {
			var e Error
			if !errors.As(err, &e) || e.Status != 400 || e.ScimType != typeInvalidSyntax || e.Detail == "" {
				t.Fatalf("%q: %#v", body, err)
			}
			return
		}
		if k, dup := duplicateKey(body); dup {
			t.Fatalf("%q: accepted with %q twice in one object", body, k)
		}
	})
}

// duplicateKey is the oracle of FuzzCheckJSON: the decoder's own tokens,
// each object's keys compared with strings.EqualFold, quadratically. Bodies
// the decoder refuses have none.
func duplicateKey(body []byte) (string, bool) {
	type frame struct {
		object, key bool
		keys        []string
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			k, _ := tok.(string)
			for _, have := range top.keys {
				if strings.EqualFold(have, k) {
					return k, true
				}
			}
			top.keys = append(top.keys, k)
			top.key = false
			continue
		}
		if top != nil && top.object {
			top.key = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, key: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].key = true
			}
		}
	}
}

// TestCheckJSON_reuse: a checker goes back to its pool whatever the body
// was; a body that ended inside a large object, or was refused there, leaves
// nothing behind for the next one.
func TestCheckJSON_reuse(t *testing.T) {
	wide := manyKeys(1, 40)
	for _, first := range []string{
		wide[:len(wide)/2], // ends inside the object
		wide[:len(wide)-2] + `,"attribute000001":1}]`, // a duplicate
		wide[:len(wide)/2] + `"\ud800"`,               // a lone surrogate
		`[` + wide + `,{"a":"\x"}]`,                   // a bad escape
	} {
		for range 3 {
			_ = checkJSON([]byte(first))
			require.NoError(t, checkJSON([]byte(wide)), "after %.60q", first)
		}
	}
}

// TestFilter_loneSurrogate: a filter value with a lone surrogate escape is
// refused as the body's strings are, not searched for as U+FFFD.
func TestFilter_loneSurrogate(t *testing.T) {
	for _, f := range []string{`userName eq "\ud800"`, `title co "a\udc00"`, `emails[value eq "\ud83dx"]`} {
		_, err := ParseFilter(store.Users, f)
		var e Error
		require.True(t, errors.As(err, &e), "%s: %v", f, err)
		assert.Equal(t, typeInvalidFilter, e.ScimType, f)
		assert.Contains(t, e.Detail, "surrogate", f)
	}
	_, err := ParseFilter(store.Users, `userName eq "\ud83d\ude00"`)
	assert.NoError(t, err, "a surrogate pair is a character")
}
