package scim

// PATCH, the request (RFC 7644 §3.5.2): the body, the operations, the path grammar
// attr[filter].sub, and the numbering of an operation's errors, for users and groups.
// patch_multivalued.go holds the operations on multi-valued attributes, patch_user.go and
// patch_group.go apply the operations to one resource; the IdP leniencies are in quirks.go.

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/roster-dev/roster/store"
)

// maxPatchOps caps the operations of one PATCH request.
const maxPatchOps = 1000

type patchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// opKind is a PATCH operation (parseOpKind reads it).
type opKind int

const (
	opAdd opKind = iota + 1
	opReplace
	opRemove
)

// String is the operation as RFC 7644 §3.5.2 spells it.
func (k opKind) String() string {
	switch k {
	case opAdd:
		return "add"
	case opReplace:
		return "replace"
	case opRemove:
		return "remove"
	}
	return "unknown"
}

// patchPath is a parsed PATCH path: attr[filter].sub, with the schema it
// belongs to. attr and sub are lower-cased; attr is "" for a path naming a
// whole extension schema.
type patchPath struct {
	schema string
	attr   string
	sub    string
	filter store.Filter // nil without [...]; attribute names as the client wrote them
	raw    string
}

// parsedOp is a validated operation.
type parsedOp struct {
	kind  opKind
	path  *patchPath // nil: pathless
	value json.RawMessage
}

// parsePatch decodes and validates a PATCH body, so that a bad operation is
// refused before anything is applied.
func parsePatch(res store.Resource, body []byte) ([]parsedOp, error) {
	var req patchRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if req.Schemas != nil && !containsFold(req.Schemas, schemaPatchOp) {
		return nil, badRequest(typeInvalidValue, "schemas must be [%q]", schemaPatchOp)
	}
	if len(req.Operations) == 0 {
		return nil, badRequest(typeInvalidValue, "Operations is empty: a PATCH needs at least one operation")
	}
	if len(req.Operations) > maxPatchOps {
		return nil, badRequest(typeInvalidValue, "a PATCH may carry at most %d operations, this one has %d", maxPatchOps, len(req.Operations))
	}
	ops := make([]parsedOp, 0, len(req.Operations))
	for i, o := range req.Operations {
		p, err := parseOp(res, o)
		if err != nil {
			return nil, numbered(err, i, len(req.Operations))
		}
		ops = append(ops, p)
	}
	return ops, nil
}

// parseOp validates one operation of a PATCH request.
func parseOp(res store.Resource, o patchOp) (parsedOp, error) {
	var p parsedOp
	kind, ok := parseOpKind(o.Op)
	if !ok {
		return p, badRequest(typeInvalidSyntax, "op %q is not add, replace or remove", o.Op)
	}
	p.kind = kind
	if strings.TrimSpace(o.Path) != "" {
		pp, err := parsePatchPath(res, strings.TrimSpace(o.Path))
		if err != nil {
			return p, err
		}
		p.path = pp
	} else if p.kind == opRemove {
		return p, badRequest(typeNoTarget, "remove needs a path")
	}
	if p.kind != opRemove && len(o.Value) == 0 {
		return p, badRequest(typeInvalidValue, "%s needs a value", p.kind)
	}
	if p.path == nil && firstByte(o.Value) != '{' {
		return p, badRequest(typeInvalidValue, "an operation without a path needs an object value")
	}
	p.value = o.Value
	return p, nil
}

// applyOps applies the operations of one PATCH, users and groups alike, in
// order, stopping at the first error; the error names its operation as
// parsePatch does (numbered).
func applyOps(ops []parsedOp, apply func(parsedOp) error) error {
	for i, op := range ops {
		if err := apply(op); err != nil {
			return numbered(err, i, len(ops))
		}
	}
	return nil
}

// numbered prefixes the detail of a SCIM error about operation i (counted
// from 0) with "operation i+1: " when the request has more than one
// operation, so the admin knows which one failed; a one-operation request
// needs no number. Parsing and applying, users and groups count alike.
func numbered(err error, i, n int) error {
	if e, ok := err.(Error); ok && n > 1 {
		e.Detail = "operation " + strconv.Itoa(i+1) + ": " + e.Detail
		return e
	}
	return err
}

func parsePatchPath(res store.Resource, s string) (*patchPath, error) {
	bad := func() error {
		return badRequest(typeInvalidPath, "path %q is not a valid attribute path", s)
	}
	if len(s) > 1024 {
		return nil, badRequest(typeInvalidPath, "path is longer than 1024 characters")
	}
	p := filterParser{s: s, res: res}
	name := p.word()
	pp := &patchPath{raw: s}
	if p.i < len(p.s) && p.s[p.i] == '[' {
		p.i++
		f, err := p.parseOr(1, true)
		if err != nil {
			return nil, badRequest(typeInvalidFilter, "path %q: %s", s, err.Error())
		}
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != ']' {
			return nil, bad()
		}
		p.i++
		pp.filter = f
		if p.i < len(p.s) && p.s[p.i] == '.' {
			p.i++
			pp.sub = p.word()
			if !validName(pp.sub) {
				return nil, bad()
			}
		}
	}
	if p.i != len(p.s) {
		return nil, bad()
	}
	schema, attr, err := splitPathURN(res, name)
	if err != nil {
		return nil, badRequest(typeInvalidPath, "path %q: %s", s, err.Error())
	}
	pp.schema = schema
	if attr != "" {
		head, sub, dotted := strings.Cut(attr, ".")
		if dotted && (pp.filter != nil || strings.Contains(sub, ".")) {
			return nil, bad()
		}
		if !validName(head) || (dotted && !validName(sub)) {
			return nil, bad()
		}
		pp.attr = strings.ToLower(head)
		if dotted {
			pp.sub = sub
		}
	} else if pp.filter != nil || pp.sub != "" {
		return nil, bad()
	}
	pp.sub = strings.ToLower(pp.sub)
	return pp, nil
}

// splitPathURN is splitURN that also accepts a path naming a whole extension.
func splitPathURN(res store.Resource, name string) (string, string, error) {
	if res == store.Users {
		for _, s := range [...]string{schemaEnterprise, schemaRoster} {
			if strings.EqualFold(name, s) {
				return s, "", nil
			}
		}
	}
	return splitURN(res, name)
}

// attrKeys records the attributes one pathless operation names, so that
// one named twice under different spellings — plain and URN-qualified
// (displayName, urn:…:User:displayName), dotted and nested (name.givenName,
// name), a key of an extension and the extension's object — is refused: the
// keys come out of a map in no set order, so which one won would be chance.
type attrKeys struct {
	whole map[string]string // schema:attr → the key that names it whole
	parts map[string]string // schema:attr.sub → the key that names it
	subOf map[string]string // schema:attr → a key that names one of its parts
}

func (a *attrKeys) add(p *patchPath, key string) error {
	if a.whole == nil {
		a.whole, a.parts, a.subOf = map[string]string{}, map[string]string{}, map[string]string{}
	}
	id := p.schema + ":" + p.attr
	other, twice := a.whole[id]
	if p.sub == "" {
		if !twice {
			other, twice = a.subOf[id]
		}
		a.whole[id] = key
	} else {
		if !twice {
			other, twice = a.parts[id+"."+p.sub]
		}
		a.parts[id+"."+p.sub], a.subOf[id] = key, key
	}
	if twice {
		return badRequest(typeInvalidSyntax, "attribute %q appears twice in one operation, also as %q: send it once",
			truncate(key, 100), truncate(other, 100))
	}
	return nil
}
