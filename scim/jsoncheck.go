package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"hash/maphash"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth caps the nesting of a request body: SCIM resources nest three
// levels deep, bulk requests five.
const maxJSONDepth = 16

// maxObjectKeys caps the attributes of one JSON object.
const maxObjectKeys = 2048

// checkJSON runs the checks encoding/json does not: invalid UTF-8 and lone
// UTF-16 surrogates written as escapes (\ud800), which it would silently
// replace with U+FFFD; NUL characters (raw or \u0000); duplicate object keys,
// compared as the decoder sees them (escapes decoded) and case-insensitively,
// as SCIM attribute names are (encoding/json would keep the last one, so
// {"userName":"a","user\u004eame":"b"} would name user b); more than
// maxObjectKeys keys in one object; nesting deeper than maxJSONDepth. Syntax
// errors are left to the decoder, which also refuses trailing data.
//
// It is one pass over the body, linear in its size whatever the shape: each
// open object keeps a set of its keys (a short list while it has few keys,
// a hash table beyond), and the buffers are reused from one object to the
// next.
func checkJSON(b []byte) error {
	if !utf8.Valid(b) {
		return badRequest(typeInvalidSyntax, "the request body is not valid UTF-8")
	}
	c := checkers.Get().(*jsonChecker)
	err := c.check(b)
	// A body may end, or be refused, inside objects: close them, which
	// empties the slots of their hash tables, before the next body.
	for c.depth > 0 {
		c.close()
	}
	checkers.Put(c)
	return err
}

// checkers keeps the buffers of checkJSON from one request to the next.
var checkers = sync.Pool{New: func() any { return &jsonChecker{seed: maphash.MakeSeed()} }}

// smallObjectKeys is how many keys an object keeps in a list, compared one by
// one, before they go into a hash table.
const smallObjectKeys = 16

type jsonChecker struct {
	seed   maphash.Seed
	stack  [maxJSONDepth + 1]jsonFrame
	depth  int
	keys   []jsonKey                 // the keys of the open objects, innermost last
	folded []byte                    // the keys' folded names, as keys[i].start:end
	tables [maxJSONDepth + 1][]int32 // hash tables of large objects, one per depth, reused
}

type jsonFrame struct {
	object   bool
	expected bool // an object expects a key next
	keys     int  // where this object's keys start in keys
	folded   int  // where they start in folded
	table    bool // its keys are in the hash table of its depth
}

// jsonKey is one key of an open object: the hash and the position of its
// folded name, and its slot in the hash table of a large object.
type jsonKey struct {
	hash       uint64
	start, end int32
	slot       int32
}

func (c *jsonChecker) check(b []byte) error {
	for i := 0; i < len(b); i++ {
		switch ch := b[i]; ch {
		case 0:
			return badRequest(typeInvalidSyntax, "the request body contains a NUL character")
		case '{', '[':
			if c.depth == maxJSONDepth {
				return badRequest(typeInvalidSyntax, "the request body is nested deeper than %d levels", maxJSONDepth)
			}
			c.stack[c.depth] = jsonFrame{object: ch == '{', expected: ch == '{', keys: len(c.keys), folded: len(c.folded)}
			c.depth++
		case '}', ']':
			if c.depth > 0 {
				c.close()
			}
		case ',':
			if c.depth > 0 && c.stack[c.depth-1].object {
				c.stack[c.depth-1].expected = true
			}
		case '"':
			var f *jsonFrame
			if c.depth > 0 && c.stack[c.depth-1].object && c.stack[c.depth-1].expected {
				f = &c.stack[c.depth-1]
			}
			folded := len(c.folded)
			end, ok, err := c.scanString(b, i+1, f != nil)
			if err != nil || !ok {
				return err // !ok: a syntax error the decoder reports
			}
			if f != nil {
				f.expected = false
				if err := c.addKey(f, folded); err != nil {
					return c.duplicate(err, b[i:end+1])
				}
			}
			i = end
		}
	}
	return nil
}

// close closes the innermost object or array, forgetting its keys.
func (c *jsonChecker) close() {
	f := &c.stack[c.depth-1]
	if f.table {
		// Empty the slots this object used, and only those: the table
		// serves the next large object at this depth as it is.
		slots := c.tables[c.depth-1]
		for _, k := range c.keys[f.keys:] {
			slots[k.slot] = 0
		}
	}
	c.keys, c.folded = c.keys[:f.keys], c.folded[:f.folded]
	c.depth--
}

// scanString scans the string starting at b[start] (after the opening
// quote), checking its escapes; a key's name is decoded, case-folded, and
// appended to c.folded. It answers the index of the closing quote; ok is
// false when the string is malformed (for the decoder to report).
func (c *jsonChecker) scanString(b []byte, start int, key bool) (int, bool, error) {
	if !key {
		// Most values hold no escape and no NUL: three vectorised scans
		// find the end.
		if q := bytes.IndexByte(b[start:], '"'); q >= 0 {
			seg := b[start : start+q]
			if bytes.IndexByte(seg, '\\') < 0 && bytes.IndexByte(seg, 0) < 0 {
				return start + q, true, nil
			}
		}
	}
	for j := start; j < len(b); j++ {
		ch := b[j]
		switch {
		case ch == '"':
			return j, true, nil
		case ch == 0:
			return 0, false, badRequest(typeInvalidSyntax, "the request body contains a NUL character")
		case ch == '\\':
			if j+1 >= len(b) {
				return 0, false, nil
			}
			j++
			var r rune
			switch b[j] {
			case '"', '\\', '/':
				r = rune(b[j])
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			case 'u':
				u, ok := hex4(b, j+1)
				if !ok {
					return 0, false, nil
				}
				j += 4
				r = rune(u)
				switch {
				case r == 0:
					return 0, false, badRequest(typeInvalidSyntax, "the request body contains a NUL character (\\u0000)")
				case utf16.IsSurrogate(r):
					// A high surrogate must be followed by an escaped low one.
					low, ok := rune(0), false
					if r < 0xdc00 && j+6 < len(b) && b[j+1] == '\\' && b[j+2] == 'u' {
						var l uint16
						if l, ok = hex4(b, j+3); ok {
							low = rune(l)
						}
					}
					pair := utf16.DecodeRune(r, low)
					if !ok || pair == utf8.RuneError {
						return 0, false, badRequest(typeInvalidSyntax,
							"the request body contains a lone UTF-16 surrogate (\\u%04x) in a string: a surrogate escape must be a high one followed by a low one", r)
					}
					j += 6
					r = pair
				}
			default:
				return 0, false, nil
			}
			if key {
				c.folded = utf8.AppendRune(c.folded, foldRune(r))
			}
		case !key:
		case ch < utf8.RuneSelf:
			if 'A' <= ch && ch <= 'Z' {
				ch += 'a' - 'A'
			}
			c.folded = append(c.folded, ch)
		default:
			r, size := utf8.DecodeRune(b[j:])
			c.folded = utf8.AppendRune(c.folded, foldRune(r))
			j += size - 1
		}
	}
	return 0, false, nil
}

// hex4 reads the four hex digits at b[i:].
func hex4(b []byte, i int) (uint16, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var v uint16
	for _, h := range b[i : i+4] {
		switch {
		case '0' <= h && h <= '9':
			h -= '0'
		case 'a' <= h && h <= 'f':
			h -= 'a' - 10
		case 'A' <= h && h <= 'F':
			h -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(h)
	}
	return v, true
}

// foldRune is the representative of r's case-folding orbit, the smallest
// rune of it: two names are equal under strings.EqualFold exactly when their
// runes fold to the same representatives.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}

// addKey adds the key just folded (c.folded[start:]) to the object f,
// refusing a duplicate (errDuplicate) or one key too many.
func (c *jsonChecker) addKey(f *jsonFrame, start int) error {
	n := len(c.keys) - f.keys
	if n >= maxObjectKeys {
		return badRequest(typeInvalidSyntax, "an object has more than %d attributes", maxObjectKeys)
	}
	name := c.folded[start:]
	h := maphash.Bytes(c.seed, name)
	c.keys = append(c.keys, jsonKey{hash: h, start: int32(start), end: int32(len(c.folded))})
	if n < smallObjectKeys {
		for i := f.keys; i < len(c.keys)-1; i++ {
			if c.keys[i].hash == h && c.same(i, name) {
				return errDuplicate
			}
		}
		return nil
	}
	slots := c.tables[c.depth-1]
	if !f.table || 2*(n+1) > len(slots) {
		// The object's keys go into the table of its depth (now, or again
		// into a larger one), which holds at most half as many keys as
		// it has slots.
		size := max(len(slots), 4*smallObjectKeys)
		for 2*(n+1) > size {
			size *= 2
		}
		if size > len(slots) {
			slots = make([]int32, size)
			c.tables[c.depth-1] = slots
		}
		f.table = true
		for i := f.keys; i < len(c.keys)-1; i++ {
			c.insert(slots, i, nil)
		}
	}
	return c.insert(slots, len(c.keys)-1, name)
}

// insert puts key i into the hash table slots (open addressing, linear
// probing); with name set it first looks for an equal key.
func (c *jsonChecker) insert(slots []int32, i int, name []byte) error {
	mask := uint64(len(slots) - 1)
	s := c.keys[i].hash & mask
	for ; slots[s] != 0; s = (s + 1) & mask {
		if o := int(slots[s] - 1); name != nil && c.keys[o].hash == c.keys[i].hash && c.same(o, name) {
			return errDuplicate
		}
	}
	slots[s] = int32(i + 1)
	c.keys[i].slot = int32(s)
	return nil
}

func (c *jsonChecker) same(i int, name []byte) bool {
	k := c.keys[i]
	return string(c.folded[k.start:k.end]) == string(name)
}

var errDuplicate = errors.New("duplicate key")

// duplicate turns errDuplicate into the SCIM error naming the key as it
// decodes (quoted is the key as the body has it, quotes included).
func (c *jsonChecker) duplicate(err error, quoted []byte) error {
	if err != errDuplicate {
		return err
	}
	var name string
	_ = json.Unmarshal(quoted, &name) // checked above: it decodes
	return badRequest(typeInvalidSyntax, "attribute %q appears twice in one object", truncate(name, 100))
}
