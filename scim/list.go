package scim

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/roster-dev/roster/store"
)

// Paging: count defaults to 100 and is capped at 1000 (docs/contract.md "Responses and methods").
const (
	defaultCount = 100
	maxCount     = 1000
)

// listParams are the query parameters of a list or .search request.
type listParams struct {
	filter     string
	startIndex int
	count      int
	sortBy     string
	descending bool
	proj       projection
}

func (c *call) listParams() (listParams, error) {
	lp := listParams{startIndex: 1, count: defaultCount, filter: c.param("filter"), sortBy: c.param("sortBy")}
	var err error
	if s := c.param("startIndex"); s != "" {
		if lp.startIndex, err = intParam("startIndex", s); err != nil {
			return lp, err
		}
	}
	if s := c.param("count"); s != "" {
		if lp.count, err = intParam("count", s); err != nil {
			return lp, err
		}
	}
	if lp.descending, err = sortOrder(c.param("sortOrder")); err != nil {
		return lp, err
	}
	lp.proj, err = parseProjection(splitList(c.param("attributes")), splitList(c.param("excludedAttributes")))
	lp.clamp()
	return lp, err
}

// searchRequest is the body of POST …/.search (RFC 7644 §3.4.3).
type searchRequest struct {
	Schemas            []string        `json:"schemas"`
	Filter             string          `json:"filter"`
	StartIndex         json.RawMessage `json:"startIndex"`
	Count              json.RawMessage `json:"count"`
	SortBy             string          `json:"sortBy"`
	SortOrder          string          `json:"sortOrder"`
	Attributes         stringList      `json:"attributes"`
	ExcludedAttributes stringList      `json:"excludedAttributes"`
}

func (c *call) searchParams() (listParams, error) {
	lp := listParams{startIndex: 1, count: defaultCount}
	var req searchRequest
	if err := decodeBody(c.body, &req); err != nil {
		return lp, err
	}
	if req.Schemas != nil && !containsFold(req.Schemas, schemaSearchReq) {
		return lp, badRequest(typeInvalidValue, "schemas must be [%q]", schemaSearchReq)
	}
	lp.filter, lp.sortBy = req.Filter, req.SortBy
	var err error
	for _, f := range [...]struct {
		name string
		raw  json.RawMessage
		dst  *int
	}{{"startIndex", req.StartIndex, &lp.startIndex}, {"count", req.Count, &lp.count}} {
		if isNull(f.raw) {
			continue
		}
		s := string(f.raw)
		if firstByte(f.raw) == '"' {
			_ = json.Unmarshal(f.raw, &s)
		}
		if *f.dst, err = intParam(f.name, s); err != nil {
			return lp, err
		}
	}
	if lp.descending, err = sortOrder(req.SortOrder); err != nil {
		return lp, err
	}
	lp.proj, err = parseProjection(req.Attributes, req.ExcludedAttributes)
	lp.clamp()
	return lp, err
}

// clamp applies RFC 7644 §3.4.2.4: startIndex below 1 is 1, a negative
// count is 0; count is capped at maxCount.
func (lp *listParams) clamp() {
	if lp.startIndex < 1 {
		lp.startIndex = 1
	}
	if lp.count < 0 {
		lp.count = 0
	}
	if lp.count > maxCount {
		lp.count = maxCount
	}
}

// intParam reads an integer parameter; values beyond the int range are
// clamped (a huge startIndex is past the last result).
func intParam(name, s string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if ok := asNumError(err, &ne); ok && ne.Err == strconv.ErrRange {
			if strings.HasPrefix(s, "-") {
				return -1, nil
			}
			return math.MaxInt32, nil
		}
		return 0, badRequest(typeInvalidValue, "%s must be an integer, not %q", name, truncate(s, 40))
	}
	if n > math.MaxInt32 {
		n = math.MaxInt32
	}
	if n < math.MinInt32 {
		n = -1
	}
	return int(n), nil
}

func asNumError(err error, target **strconv.NumError) bool {
	ne, ok := err.(*strconv.NumError)
	if ok {
		*target = ne
	}
	return ok
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func sortOrder(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "ascending":
		return false, nil
	case "descending":
		return true, nil
	}
	return false, badRequest(typeInvalidValue, "sortOrder must be ascending or descending, not %q", truncate(s, 40))
}

func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// listOut is a ListResponse. Resources is always there, an empty array on
// an empty page and with count=0 (RFC 7644 §3.4.2): IdPs index it without
// checking totalResults first.
type listOut struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	ItemsPerPage int      `json:"itemsPerPage"`
	StartIndex   int      `json:"startIndex"`
	Resources    []any    `json:"Resources"`
}

var schemasList = []string{schemaListResp}

func listResult(lp listParams, total int, resources []any) result {
	if resources == nil {
		resources = []any{}
	}
	return result{status: 200, v: &listOut{Schemas: schemasList, TotalResults: total,
		ItemsPerPage: len(resources), StartIndex: lp.startIndex, Resources: resources}}
}

// Projection: attributes / excludedAttributes (RFC 7644 §3.4.2.5).

type attrRef struct {
	schema string // "" for the core schema
	attr   string // lower-case; "" names a whole extension
	sub    string // lower-case
}

type projection struct {
	include []attrRef
	exclude []attrRef
}

func (p projection) empty() bool { return p.include == nil && p.exclude == nil }

func parseProjection(include, exclude []string) (projection, error) {
	var p projection
	for _, list := range [...]struct {
		in  []string
		out *[]attrRef
	}{{include, &p.include}, {exclude, &p.exclude}} {
		for _, s := range list.in {
			r, err := parseAttrRef(s)
			if err != nil {
				return p, err
			}
			*list.out = append(*list.out, r)
		}
	}
	return p, nil
}

func parseAttrRef(s string) (attrRef, error) {
	var r attrRef
	rest := s
	if len(s) > 4 && strings.EqualFold(s[:4], "urn:") {
		found := false
		for _, urn := range [...]string{schemaUser, schemaGroup, schemaEnterprise, schemaRoster} {
			if strings.EqualFold(s, urn) {
				r.schema, rest, found = urn, "", true
				break
			}
			if len(s) > len(urn)+1 && strings.EqualFold(s[:len(urn)], urn) && s[len(urn)] == ':' {
				r.schema, rest, found = urn, s[len(urn)+1:], true
				break
			}
		}
		if !found {
			return r, badRequest(typeInvalidValue, "attribute %q names an unknown schema", truncate(s, 100))
		}
		if r.schema == schemaUser || r.schema == schemaGroup {
			r.schema = ""
		}
	}
	if rest != "" {
		head, sub, _ := strings.Cut(rest, ".")
		if !validName(head) || (sub != "" && !validName(sub)) {
			return r, badRequest(typeInvalidValue, "%q is not an attribute name", truncate(s, 100))
		}
		r.attr, r.sub = strings.ToLower(head), strings.ToLower(sub)
	}
	return r, nil
}

// wants says whether the projection returns the core attribute attr
// (for attributes loaded at a cost: members, groups). explicit says it
// must have been named in attributes.
func (p projection) wants(attr string, explicit bool) bool {
	for _, r := range p.exclude {
		if r.schema == "" && r.attr == attr && r.sub == "" {
			return false
		}
	}
	if p.include == nil {
		return !explicit
	}
	for _, r := range p.include {
		if r.schema == "" && r.attr == attr {
			return true
		}
	}
	return false
}

// apply projects a rendered resource: it round-trips it through a map, which
// is only paid for when attributes or excludedAttributes is given.
func (p projection) apply(v any) any {
	if p.empty() || p.onlyUnloaded() {
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return v
	}
	for k, val := range m {
		schema := ""
		if strings.HasPrefix(k, "urn:") {
			schema = k
		}
		switch k {
		case "id", "schemas", "meta":
			continue // returned always
		}
		if schema != "" {
			ext, _ := val.(map[string]any)
			for ek, ev := range ext {
				if keep, sub := p.keep(schema, strings.ToLower(ek)); !keep {
					delete(ext, ek)
				} else if sub != nil {
					ext[ek] = sub(ev)
				}
			}
			if len(ext) == 0 || (p.include != nil && !p.mentions(schema)) {
				delete(m, k)
			}
			continue
		}
		if keep, sub := p.keep("", strings.ToLower(k)); !keep {
			delete(m, k)
		} else if sub != nil {
			m[k] = sub(val)
		}
	}
	return m
}

// onlyUnloaded says the projection only excludes members or groups, which
// the handlers then do not load: nothing is left to project (Entra's
// excludedAttributes=members costs nothing).
func (p projection) onlyUnloaded() bool {
	if p.include != nil {
		return false
	}
	for _, r := range p.exclude {
		if r.schema != "" || r.sub != "" || (r.attr != "members" && r.attr != "groups") {
			return false
		}
	}
	return true
}

func (p projection) mentions(schema string) bool {
	for _, r := range p.include {
		if r.schema == schema {
			return true
		}
	}
	return false
}

// keep decides one attribute; sub, when not nil, projects its sub-attributes.
func (p projection) keep(schema, attr string) (bool, func(any) any) {
	for _, r := range p.exclude {
		if r.schema == schema && (r.attr == "" || r.attr == attr) && r.sub == "" {
			return false, nil
		}
	}
	var excludedSubs []string
	for _, r := range p.exclude {
		if r.schema == schema && r.attr == attr && r.sub != "" {
			excludedSubs = append(excludedSubs, r.sub)
		}
	}
	if p.include == nil {
		if excludedSubs == nil {
			return true, nil
		}
		return true, subFilter(func(s string) bool { return !contains(excludedSubs, s) })
	}
	var subs []string
	whole := false
	for _, r := range p.include {
		if r.schema != schema || (r.attr != "" && r.attr != attr) {
			continue
		}
		if r.attr == "" || r.sub == "" {
			whole = true
		} else {
			subs = append(subs, r.sub)
		}
	}
	switch {
	case whole:
		if excludedSubs == nil {
			return true, nil
		}
		return true, subFilter(func(s string) bool { return !contains(excludedSubs, s) })
	case subs != nil:
		return true, subFilter(func(s string) bool { return contains(subs, s) && !contains(excludedSubs, s) })
	}
	return false, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// subFilter keeps the sub-attributes of a complex value, or of each value of
// a multi-valued one, that keep accepts.
func subFilter(keep func(string) bool) func(any) any {
	var apply func(any) any
	apply = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k := range v {
				if !keep(strings.ToLower(k)) {
					delete(v, k)
				}
			}
			return v
		case []any:
			for i := range v {
				v[i] = apply(v[i])
			}
			return v
		}
		return v
	}
	return apply
}

// sortAttr resolves sortBy to a store attribute name.
func sortAttr(res store.Resource, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	name, err := filterAttr(res, s)
	if err != nil {
		return "", badRequest(typeInvalidValue, "sortBy %q: %s", truncate(s, 100), err.Error())
	}
	if _, err := store.SortAttr(res, name); err != nil {
		return "", badRequest(typeInvalidValue, "cannot sort by %q; sort by a single-valued attribute such as userName or meta.created", truncate(s, 100))
	}
	return name, nil
}
