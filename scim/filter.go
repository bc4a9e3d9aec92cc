package scim

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/roster-dev/roster/store"
)

// Schema URNs Roster speaks.
const (
	schemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	schemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	schemaRoster     = "urn:ietf:params:scim:schemas:extension:roster:2.0:User"
	schemaListResp   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	schemaPatchOp    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	schemaSearchReq  = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	schemaBulkReq    = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	schemaBulkResp   = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
	// Entra ID adds this schema to every group it creates.
	schemaEntraGroup = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
)

// Limits on filters: a filter longer than maxFilterLen or nested deeper than
// store.MaxFilterDepth is refused before any work is done on it.
const maxFilterLen = 8192

// parseFilter parses a SCIM filter (RFC 7644 §3.4.2.2) into a store.Filter
// checked against the resource's attribute table.
//
// Leniencies (docs/idp-decisions.md): operators, logical
// words and attribute names are case-insensitive; Entra's
// `emails[type eq "work"].value eq "x"` reads as
// `emails[type eq "work" and value eq "x"]` (likewise `roles[primary eq
// "True"].value eq "x"`). String values are JSON strings, escapes decoded.
// Unquoted words, unknown operators and unknown attributes are invalidFilter.
func parseFilter(res store.Resource, s string) (store.Filter, error) {
	if len(s) > maxFilterLen {
		return nil, badRequest(typeInvalidFilter, "the filter is %d characters long; at most %d are accepted", len(s), maxFilterLen)
	}
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return nil, badRequest(typeInvalidFilter, "the filter contains bytes that are not UTF-8 text")
	}
	p := filterParser{s: s, res: res}
	f, err := p.parseOr(0, false)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i < len(p.s) {
		return nil, p.errorf("unexpected %q", p.rest())
	}
	f, _ = filterBools(store.AttrsOf(res), f)
	n, err := store.Normalize(res, f)
	if err != nil {
		return nil, badRequest(typeInvalidFilter, "invalid filter: %s", strings.TrimPrefix(err.Error(), store.ErrInvalidFilter.Error()+": "))
	}
	return n, nil
}

type filterParser struct {
	s   string
	i   int
	res store.Resource
}

func (p *filterParser) errorf(format string, args ...any) error {
	return badRequest(typeInvalidFilter, "invalid filter at character %d: "+format, append([]any{p.i + 1}, args...)...)
}

func (p *filterParser) rest() string {
	r := p.s[p.i:]
	if len(r) > 40 {
		r = r[:40] + "…"
	}
	return r
}

func (p *filterParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

// word reads a run of characters up to a space, a bracket or a parenthesis.
func (p *filterParser) word() string {
	start := p.i
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r', '(', ')', '[', ']':
			return p.s[start:p.i]
		}
		p.i++
	}
	return p.s[start:p.i]
}

// peekWord says whether the next word is w (case-insensitively), without consuming it.
func (p *filterParser) peekWord(w string) bool {
	save := p.i
	got := p.word()
	p.i = save
	return strings.EqualFold(got, w)
}

func (p *filterParser) parseOr(depth int, inValuePath bool) (store.Filter, error) {
	left, err := p.parseAnd(depth, inValuePath)
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if !p.peekWord("or") {
			return left, nil
		}
		p.word()
		right, err := p.parseAnd(depth, inValuePath)
		if err != nil {
			return nil, err
		}
		left = store.Or{Left: left, Right: right}
	}
}

func (p *filterParser) parseAnd(depth int, inValuePath bool) (store.Filter, error) {
	left, err := p.parseUnary(depth, inValuePath)
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if !p.peekWord("and") {
			return left, nil
		}
		p.word()
		right, err := p.parseUnary(depth, inValuePath)
		if err != nil {
			return nil, err
		}
		left = store.And{Left: left, Right: right}
	}
}

func (p *filterParser) parseUnary(depth int, inValuePath bool) (store.Filter, error) {
	if depth >= store.MaxFilterDepth {
		return nil, p.errorf("nested deeper than %d levels", store.MaxFilterDepth)
	}
	p.skipSpace()
	if p.i >= len(p.s) {
		return nil, p.errorf("expression expected")
	}
	if p.s[p.i] == '(' {
		p.i++
		return p.parseClosed(depth, inValuePath, ')')
	}
	if p.peekWord("not") {
		save := p.i
		p.word()
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == '(' {
			p.i++
			f, err := p.parseClosed(depth, inValuePath, ')')
			if err != nil {
				return nil, err
			}
			return store.Not{Filter: f}, nil
		}
		p.i = save // an attribute named "not"
	}
	return p.parseAttrExpr(depth, inValuePath)
}

// parseClosed reads a filter one level deeper, after an opening bracket,
// and the closing bracket close.
func (p *filterParser) parseClosed(depth int, inValuePath bool, close byte) (store.Filter, error) {
	f, err := p.parseOr(depth+1, inValuePath)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i >= len(p.s) || p.s[p.i] != close {
		return nil, p.errorf("\"%c\" expected", close)
	}
	p.i++
	return f, nil
}

func (p *filterParser) parseAttrExpr(depth int, inValuePath bool) (store.Filter, error) {
	start := p.i
	name := p.word()
	if name == "" {
		return nil, p.errorf("attribute name expected")
	}
	if !inValuePath {
		var err error
		if name, err = filterAttr(p.res, name); err != nil {
			p.i = start
			return nil, p.errorf("%s", err.Error())
		}
	}
	if p.i < len(p.s) && p.s[p.i] == '[' {
		if inValuePath {
			return nil, p.errorf("a value filter cannot contain another one")
		}
		p.i++
		inner, err := p.parseClosed(depth, true, ']')
		if err != nil {
			return nil, err
		}
		if p.i < len(p.s) && p.s[p.i] == '.' {
			// emails[type eq "work"].value eq "x": Entra's matching attribute.
			p.i++
			sub := p.word()
			if !validName(sub) {
				return nil, p.errorf("sub-attribute name expected after \"].\"")
			}
			cmp, err := p.parseComparison(sub)
			if err != nil {
				return nil, err
			}
			inner = store.And{Left: inner, Right: cmp}
		}
		return store.ValuePath{Attr: name, Filter: inner}, nil
	}
	return p.parseComparison(name)
}

func (p *filterParser) parseComparison(attr string) (store.Filter, error) {
	p.skipSpace()
	opWord := p.word()
	if opWord == "" {
		return nil, p.errorf("operator expected after %q", attr)
	}
	op := store.Op(strings.ToLower(opWord))
	switch op {
	case store.OpPr:
		return store.Compare{Attr: attr, Op: op}, nil
	case store.OpEq, store.OpNe, store.OpCo, store.OpSw, store.OpEw, store.OpGt, store.OpGe, store.OpLt, store.OpLe:
	default:
		return nil, p.errorf("unknown operator %q; use eq, ne, co, sw, ew, pr, gt, ge, lt or le", opWord)
	}
	p.skipSpace()
	start := p.i
	v, err := p.value()
	if err != nil {
		if p.i == start && p.i < len(p.s) && p.s[p.i] != '"' {
			// An unquoted word (Entra's tutorial sends externalId eq jyoung).
			w := p.word()
			p.i = start
			return nil, p.errorf("the value %s must be quoted: %s %s \"%s\"", truncate(w, 60), attr, opWord, truncate(w, 60))
		}
		return nil, err
	}
	return store.Compare{Attr: attr, Op: op, Value: v}, nil
}

// value reads a comparison value: a JSON string, true, false, null or a number.
func (p *filterParser) value() (any, error) {
	if p.i >= len(p.s) {
		return nil, p.errorf("value expected")
	}
	if p.s[p.i] == '"' {
		start := p.i
		p.i++
		escaped := false
		for p.i < len(p.s) {
			c := p.s[p.i]
			if c == '\\' {
				escaped = true
				p.i += 2
				continue
			}
			if c == '"' {
				p.i++
				lit := p.s[start:p.i]
				if !escaped {
					return lit[1 : len(lit)-1], nil
				}
				var s string
				if err := json.Unmarshal([]byte(lit), &s); err != nil || strings.IndexByte(s, 0) >= 0 {
					p.i = start
					return nil, p.errorf("malformed string %s", truncate(lit, 60))
				}
				// encoding/json would turn a lone surrogate escape into U+FFFD.
				var c jsonChecker
				if _, _, err := c.scanString([]byte(lit), 1, false); err != nil {
					p.i = start
					return nil, p.errorf("malformed string %s: it has a lone UTF-16 surrogate escape", truncate(lit, 60))
				}
				return s, nil
			}
			p.i++
		}
		p.i = start
		return nil, p.errorf("unterminated string")
	}
	start := p.i
	w := p.word()
	switch strings.ToLower(w) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	if f, err := strconv.ParseFloat(w, 64); err == nil && w != "" && (w[0] == '-' || (w[0] >= '0' && w[0] <= '9')) {
		return f, nil
	}
	p.i = start
	return nil, p.errorf("value %q must be a quoted string, true, false, null or a number", w)
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '-' || c == '$'):
		default:
			return false
		}
	}
	return true
}

// filterAttr resolves an attribute path of a filter or sortBy to the name of
// store's attribute table: schema URNs are stripped, extension attributes get
// their "enterprise." or "roster." prefix.
func filterAttr(res store.Resource, name string) (string, error) {
	schema, attr, err := splitURN(res, name)
	if err != nil {
		return "", err
	}
	for _, part := range strings.Split(attr, ".") {
		if !validName(part) {
			return "", errString("\"" + name + "\" is not an attribute name")
		}
	}
	switch schema {
	case schemaEnterprise:
		if strings.EqualFold(attr, "manager") {
			attr = "manager.value"
		}
		return "enterprise." + attr, nil
	case schemaRoster:
		return "roster." + attr, nil
	}
	return attr, nil
}

type errString string

func (e errString) Error() string { return string(e) }

// splitURN splits a possibly URN-qualified attribute path into the schema it
// belongs to and the path within it. Unqualified paths are the core schema's.
func splitURN(res store.Resource, name string) (schema, attr string, err error) {
	core := schemaUser
	if res == store.Groups {
		core = schemaGroup
	}
	if len(name) < 4 || !strings.EqualFold(name[:4], "urn:") {
		return core, name, nil
	}
	schemas := []string{core}
	if res == store.Users {
		schemas = append(schemas, schemaEnterprise, schemaRoster)
	}
	for _, s := range schemas {
		if len(name) > len(s)+1 && strings.EqualFold(name[:len(s)], s) && name[len(s)] == ':' {
			return s, name[len(s)+1:], nil
		}
	}
	return "", "", errString("\"" + name + "\" names an unknown schema")
}

// ParseFilter parses a SCIM filter as the endpoint does, into the store
// filter the backends run: for users, roles value paths read as the resolved
// role. Errors are 400 invalidFilter SCIM errors.
func ParseFilter(res store.Resource, s string) (store.Filter, error) {
	if res == store.Users {
		return userFilter(s)
	}
	return parseFilter(res, s)
}
