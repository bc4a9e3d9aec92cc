package scim

import (
	"bytes"
	"unicode/utf8"
)

// maxJSONDepth caps the nesting of a request body: SCIM resources nest three
// levels deep, bulk requests five.
const maxJSONDepth = 16

// checkJSON runs the checks encoding/json does not: invalid UTF-8 (which it
// would silently replace), NUL characters (raw or \u0000), duplicate object
// keys (compared case-insensitively, as SCIM attribute names are) and
// nesting deeper than maxJSONDepth. Syntax errors are left to the decoder,
// which also refuses trailing data. The scan allocates only for objects with
// many keys.
func checkJSON(b []byte) error {
	if !utf8.Valid(b) {
		return badRequest(typeInvalidSyntax, "the request body is not valid UTF-8")
	}
	type frame struct {
		object   bool
		keys     int  // where this object's keys start in keyBuf
		expected bool // an object expects a key next
	}
	var (
		stackBuf [maxJSONDepth + 1]frame
		keyArr   [64][2]int // the keys of the open objects, as offsets into b
	)
	stack, keyBuf := stackBuf[:0], keyArr[:0]
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case 0:
			return badRequest(typeInvalidSyntax, "the request body contains a NUL character")
		case '{', '[':
			if len(stack) == maxJSONDepth {
				return badRequest(typeInvalidSyntax, "the request body is nested deeper than %d levels", maxJSONDepth)
			}
			stack = append(stack, frame{object: c == '{', expected: c == '{', keys: len(keyBuf)})
		case '}', ']':
			if n := len(stack); n > 0 {
				keyBuf = keyBuf[:stack[n-1].keys]
				stack = stack[:n-1]
			}
		case ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].expected = true
			}
		case '"':
			start := i + 1
			j := start
			for ; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					if bytes.HasPrefix(b[j:], []byte(`\u0000`)) {
						return badRequest(typeInvalidSyntax, "the request body contains a NUL character (\\u0000)")
					}
					j++
				}
			}
			if j >= len(b) {
				return nil // unterminated: the decoder reports it
			}
			i = j
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expected {
				f := &stack[n-1]
				f.expected = false
				key := b[start:j]
				if len(keyBuf)-f.keys >= 2048 {
					return badRequest(typeInvalidSyntax, "an object has more than 2048 attributes")
				}
				for _, k := range keyBuf[f.keys:] {
					if bytes.EqualFold(b[k[0]:k[1]], key) {
						return badRequest(typeInvalidSyntax, "attribute %q appears twice in one object", truncate(string(key), 100))
					}
				}
				keyBuf = append(keyBuf, [2]int{start, j})
			}
		}
	}
	return nil
}
