package scim_test

import (
	"fmt"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (e *env) userNames(r response) []string {
	var out []string
	for _, res := range r.Body["Resources"].([]any) {
		out = append(out, res.(map[string]any)["userName"].(string))
	}
	return out
}

func (e *env) filter(f string) []string {
	e.t.Helper()
	r := e.must(200, "GET", "/Users?filter="+url.QueryEscape(f), "")
	names := e.userNames(r)
	sort.Strings(names)
	return names
}

// TestFilters: every operator, logical expressions, grouping, value paths,
// extension attributes, meta times, on both stores.
func TestFilters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.createUser("alice@x.com", `"title":"Engineer","name":{"givenName":"Alice","familyName":"Smith"}`,
			`"emails":[{"type":"work","value":"alice@x.com","primary":true},{"type":"home","value":"alice@home.org"}]`,
			`"externalId":"ext-A"`, `"`+ent+`":{"department":"R&D","employeeNumber":"100"}`)
		e.advance(time.Minute)
		e.createUser("bob@x.com", `"title":"Manager"`, `"emails":[{"type":"work","value":"bob@y.com"}]`, `"active":false`, `"externalId":"ext-B"`)
		e.advance(time.Minute)
		e.createUser("carol@z.com", `"userType":"Contractor"`)

		cases := map[string][]string{
			`userName eq "alice@x.com"`:                        {"alice@x.com"},
			`userName ne "alice@x.com"`:                        {"bob@x.com", "carol@z.com"},
			`userName co "ro"`:                                 {"carol@z.com"},
			`userName sw "AL"`:                                 {"alice@x.com"},
			`userName ew "@x.com"`:                             {"alice@x.com", "bob@x.com"},
			`title pr`:                                         {"alice@x.com", "bob@x.com"},
			`title gt "F"`:                                     {"bob@x.com"},
			`title ge "engineer"`:                              {"alice@x.com", "bob@x.com"},
			`title lt "F"`:                                     {"alice@x.com", "carol@z.com"},
			`title le "Engineer"`:                              {"alice@x.com", "carol@z.com"},
			`active eq false`:                                  {"bob@x.com"},
			`active eq "True"`:                                 {"alice@x.com", "carol@z.com"},
			`active eq "False"`:                                {"bob@x.com"},
			`emails[primary eq "TRUE"]`:                        {"alice@x.com"},
			`emails.primary eq "true"`:                         {"alice@x.com"},
			`emails[primary eq "False"]`:                       {"alice@x.com", "bob@x.com"},
			`title eq "Engineer" or title eq "Manager"`:        {"alice@x.com", "bob@x.com"},
			`userName ew "x.com" and not (title eq "Manager")`: {"alice@x.com"},
			`(userName sw "a" or userName sw "b") and active eq true`: {"alice@x.com"},
			`emails[type eq "work" and value co "@x.com"]`:            {"alice@x.com"},
			`emails[type eq "home"]`:                                  {"alice@x.com"},
			`emails.value ew "y.com"`:                                 {"bob@x.com"},
			`emails co "home.org"`:                                    {"alice@x.com"},
			`emails pr`:                                               {"alice@x.com", "bob@x.com"},
			`name.givenName eq "alice"`:                               {"alice@x.com"},
			`externalId eq "ext-B"`:                                   {"bob@x.com"},
			`externalId eq "EXT-B"`:                                   nil, // caseExact
			`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "carol@z.com"`: {"carol@z.com"},
			ent + `:department eq "R&D"`:                  {"alice@x.com"},
			ent + `:employeeNumber pr`:                    {"alice@x.com"},
			`meta.created gt "2026-11-22T10:00:30Z"`:      {"bob@x.com", "carol@z.com"},
			`meta.lastModified lt "2026-11-22T10:00:30Z"`: {"alice@x.com"},
			`userType eq "Contractor"`:                    {"carol@z.com"},
			`userName eq "a\"b"`:                          nil,
			`userName eq "alic\u0065@x.com"`:              {"alice@x.com"},
		}
		for f, want := range cases {
			assert.Equal(t, want, e.filter(f), f)
		}
		// The id filter.
		r := e.must(200, "GET", "/Users?filter="+url.QueryEscape(`userName eq "bob@x.com"`), "")
		id := get(r.Body, "Resources.0.id").(string)
		assert.Equal(t, []string{"bob@x.com"}, e.filter(`id eq "`+id+`"`))
	})
}

// TestFilters_invalid: each is 400 invalidFilter with a detail, never 5xx.
func TestFilters_invalid(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		deep := ""
		for i := 0; i < 100; i++ {
			deep += "("
		}
		deep += `userName eq "x"`
		for i := 0; i < 100; i++ {
			deep += ")"
		}
		long := `userName eq "x"`
		for len(long) < 20000 {
			long += ` or userName eq "x"`
		}
		for _, f := range []string{
			`externalId eq jyoung`, `userName xx "a"`, `userName eq`, `userName`, `(userName eq "a"`,
			`userName eq "a")`, `noSuchAttr eq "a"`, `emails[type eq "work"`, `emails[nosub eq "a"]`,
			`active gt true`, `meta.created eq "yesterday"`, `userName eq 42`, `userName eq "unterminated`,
			`urn:example:foo:bar eq "x"`, `name[givenName eq "a"]`, `emails[type eq "a" and emails[value eq "b"]]`,
			`userName eq "a" and`, `not userName eq "a"`, deep, long, `title co "\u00"`, "",
		} {
			if f == "" {
				continue
			}
			r := e.do("GET", "/Users?filter="+url.QueryEscape(f), "")
			require.Equal(t, 400, r.Status, "%.80s: %s", f, r.Raw)
			assert.Equal(t, "invalidFilter", r.Body["scimType"], f)
			assert.NotEmpty(t, r.Body["detail"])
		}
		r := e.do("GET", "/Groups?filter="+url.QueryEscape(`userName eq "a"`), "")
		assert.Equal(t, 400, r.Status)
	})
}

// TestPaging: stable creation order, startIndex/count edges, count=0.
func TestPaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		for i := 0; i < 7; i++ {
			e.createUser(fmt.Sprintf("p%d@x.com", i))
		}
		all := e.userNames(e.must(200, "GET", "/Users", ""))
		require.Equal(t, []string{"p0@x.com", "p1@x.com", "p2@x.com", "p3@x.com", "p4@x.com", "p5@x.com", "p6@x.com"}, all)
		var paged []string
		for start := 1; start <= 7; start += 3 {
			r := e.must(200, "GET", fmt.Sprintf("/Users?startIndex=%d&count=3", start), "")
			assert.EqualValues(t, 7, r.Body["totalResults"])
			assert.EqualValues(t, start, r.Body["startIndex"])
			assert.EqualValues(t, len(r.Body["Resources"].([]any)), r.Body["itemsPerPage"])
			paged = append(paged, e.userNames(r)...)
		}
		assert.Equal(t, all, paged)

		zero := e.must(200, "GET", "/Users?count=0", "")
		assert.EqualValues(t, 7, zero.Body["totalResults"])
		assert.Equal(t, []any{}, zero.Body["Resources"])
		neg := e.must(200, "GET", "/Users?count=-5&startIndex=-3", "")
		assert.EqualValues(t, 7, neg.Body["totalResults"])
		assert.EqualValues(t, 1, neg.Body["startIndex"])
		startZero := e.must(200, "GET", "/Users?startIndex=0&count=2", "")
		assert.Equal(t, []string{"p0@x.com", "p1@x.com"}, e.userNames(startZero))
		huge := e.must(200, "GET", "/Users?startIndex=99999999999999999999&count=99999999999999999999", "")
		assert.EqualValues(t, 7, huge.Body["totalResults"])
		assert.Empty(t, huge.Body["Resources"])
		capped := e.must(200, "GET", "/Users?count=5000", "")
		assert.Len(t, capped.Body["Resources"], 7)
		for _, q := range []string{"count=abc", "startIndex=1.5", "count=", "sortOrder=sideways", "sortBy=emails", "sortBy=nope"} {
			if q == "count=" {
				continue
			}
			r := e.do("GET", "/Users?"+q, "")
			assert.Equal(t, 400, r.Status, q)
			assert.Equal(t, "invalidValue", r.Body["scimType"], q)
		}
		// userName lookup paging: the fast path pages like the list.
		r := e.must(200, "GET", "/Users?startIndex=2&filter="+url.QueryEscape(`userName eq "p3@x.com"`), "")
		assert.EqualValues(t, 1, r.Body["totalResults"])
		assert.Empty(t, r.Body["Resources"])
	})
}

// TestSorting: sortBy and sortOrder.
func TestSorting(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.createUser("b@x.com", `"title":"beta"`)
		e.createUser("a@x.com", `"title":"Gamma"`)
		e.createUser("c@x.com", `"title":"alpha"`)
		assert.Equal(t, []string{"a@x.com", "b@x.com", "c@x.com"}, e.userNames(e.must(200, "GET", "/Users?sortBy=userName", "")))
		assert.Equal(t, []string{"c@x.com", "b@x.com", "a@x.com"}, e.userNames(e.must(200, "GET", "/Users?sortBy=userName&sortOrder=descending", "")))
		assert.Equal(t, []string{"c@x.com", "b@x.com", "a@x.com"}, e.userNames(e.must(200, "GET", "/Users?sortBy=title", "")))
	})
}

// TestAttributes: attributes and excludedAttributes on reads and writes.
func TestAttributes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser("attr@x.com", `"name":{"givenName":"A","familyName":"B"}`, `"title":"T"`,
			`"emails":[{"type":"work","value":"attr@x.com"}]`, `"`+ent+`":{"department":"D"}`)
		r := e.must(200, "GET", "/Users/"+id+"?attributes=userName,name.givenName,emails.value", "")
		assert.Equal(t, "attr@x.com", r.Body["userName"])
		assert.Equal(t, map[string]any{"givenName": "A"}, r.Body["name"])
		assert.Equal(t, []any{map[string]any{"value": "attr@x.com"}}, r.Body["emails"])
		assert.Nil(t, r.Body["title"])
		assert.Nil(t, r.Body[ent])
		assert.Equal(t, id, r.Body["id"], "id is returned always")
		assert.NotNil(t, r.Body["meta"])

		r = e.must(200, "GET", "/Users/"+id+"?excludedAttributes=title,name.familyName,"+url.QueryEscape(ent), "")
		assert.Nil(t, r.Body["title"])
		assert.Equal(t, map[string]any{"givenName": "A"}, r.Body["name"])
		assert.Nil(t, r.Body[ent])
		assert.Equal(t, "attr@x.com", r.Body["userName"])

		r = e.must(200, "GET", "/Users?attributes="+url.QueryEscape(ent+":department"), "")
		assert.Equal(t, map[string]any{"department": "D"}, get(r.Body, "Resources.0").(map[string]any)[ent])
		assert.Nil(t, get(r.Body, "Resources.0.userName"))

		r = e.must(200, "PATCH", "/Users/"+id+"?attributes=title", patch(`{"op":"replace","path":"title","value":"New"}`))
		assert.Equal(t, "New", r.Body["title"])
		assert.Nil(t, r.Body["userName"])

		r = e.must(201, "POST", "/Users?excludedAttributes=emails", `{"userName":"attr2@x.com","emails":[{"value":"a2@x.com"}]}`)
		assert.Nil(t, r.Body["emails"])
		e.must(400, "GET", "/Users?attributes="+url.QueryEscape("urn:nope:x"), "")
	})
}

// TestSearch: POST /Users/.search and POST /.search.
func TestSearch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.createUser("s1@x.com")
		e.createUser("s2@x.com")
		e.createGroup("Search Team")
		r := e.must(200, "POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
			"filter":"userName sw \"s\"","startIndex":1,"count":1,"attributes":["userName"],"sortBy":"userName","sortOrder":"descending"}`)
		assert.EqualValues(t, 2, r.Body["totalResults"])
		assert.Equal(t, []string{"s2@x.com"}, e.userNames(r))
		all := e.must(200, "POST", "/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}`)
		assert.EqualValues(t, 3, all.Body["totalResults"])
		assert.Len(t, all.Body["Resources"], 3)
		groups := e.must(200, "POST", "/.search", `{"filter":"displayName eq \"Search Team\""}`)
		assert.EqualValues(t, 1, groups.Body["totalResults"])
		e.must(405, "GET", "/Users/.search", "")
		e.must(400, "POST", "/Users/.search", `{"filter":"nope nope"}`)
	})
}

// TestETags: meta.version, If-Match → 412, If-None-Match → 304.
func TestETags(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser("etag@x.com")
		r := e.must(200, "GET", "/Users/"+id, "")
		v1 := r.Header.Get("ETag")
		require.Equal(t, `W/"1"`, v1)
		e.must(304, "GET", "/Users/"+id, "", "If-None-Match", v1)
		e.must(200, "GET", "/Users/"+id, "", "If-None-Match", `W/"7"`)
		up := e.must(200, "PATCH", "/Users/"+id, patch(`{"op":"replace","path":"title","value":"x"}`), "If-Match", v1)
		assert.Equal(t, `W/"2"`, up.Header.Get("ETag"))
		stale := e.must(412, "PATCH", "/Users/"+id, patch(`{"op":"replace","path":"title","value":"y"}`), "If-Match", v1)
		assert.Equal(t, "412", stale.Body["status"])
		e.must(412, "PUT", "/Users/"+id, `{"userName":"etag@x.com"}`, "If-Match", v1)
		e.must(412, "DELETE", "/Users/"+id, "", "If-Match", v1)
		got := e.must(200, "GET", "/Users/"+id, "")
		assert.Equal(t, "x", got.Body["title"], "nothing changed by the stale writes")
		e.must(200, "PUT", "/Users/"+id, `{"userName":"etag@x.com"}`, "If-Match", "*")
		gid := e.createGroup("ETag Team")
		e.must(412, "PATCH", "/Groups/"+gid, patch(`{"op":"replace","path":"displayName","value":"Z"}`), "If-Match", `W/"9"`)
		e.must(204, "PATCH", "/Groups/"+gid, patch(`{"op":"replace","path":"displayName","value":"Z"}`), "If-Match", `W/"1"`)
		e.must(304, "GET", "/Groups/"+gid, "", "If-None-Match", `W/"2"`)
		e.must(204, "DELETE", "/Users/"+id, "", "If-Match", `W/"3"`)
	})
}

// TestFilters_userNameLookupMatchesList: the userName eq lookup (one indexed
// read) answers exactly what the general filter path answers, for every
// spelling that folds to the same name.
func TestFilters_userNameLookupMatchesList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.createUser("Ｍａｒｉｅ@Example.com")
		e.createUser("other@example.com")
		for _, v := range []string{"marie@example.com", "MARIE@EXAMPLE.COM", " Marie@example.com ", "ｍａｒｉｅ@example.com", "nobody@example.com"} {
			fast := e.must(200, "GET", "/Users?filter="+url.QueryEscape(`userName eq "`+v+`"`), "")
			// "and active pr" is always true but takes the general path.
			general := e.must(200, "GET", "/Users?filter="+url.QueryEscape(`userName eq "`+v+`" and active pr`), "")
			assert.Equal(t, general.Body, fast.Body, v)
		}
	})
}

// TestList_emptyPagesCarryResources: every list answer carries
// "Resources", an empty array when the page holds nothing — count=0, a
// startIndex past the end, a filter that matches nothing, an empty search
// (RFC 7644 §3.4.2: Resources is required when totalResults is not 0, and
// IdPs that index it unconditionally must not break when it is 0).
func TestList_emptyPagesCarryResources(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.createGroup("Empty") // no users yet: /Users lists nothing
		search := func(count int) string {
			return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"count":%d}`, count)
		}
		check := func(method, path, body string, total int) {
			t.Helper()
			r := e.must(200, method, path, body)
			assert.Contains(t, r.Raw, `"Resources":[]`, "%s %s", method, path)
			assert.Equal(t, []any{}, r.Body["Resources"], "%s %s", method, path)
			assert.EqualValues(t, 0, r.Body["itemsPerPage"], "%s %s", method, path)
			assert.EqualValues(t, total, r.Body["totalResults"], "%s %s", method, path)
		}
		check("GET", "/Users", "", 0)
		check("GET", "/Users?count=0", "", 0)
		e.createUser("a@x.com")
		for _, c := range []struct {
			method, path, body string
			total              int
		}{
			{"GET", "/Users?count=0", "", 1},
			{"GET", "/Groups?count=0", "", 1},
			{"GET", "/Users?count=0&filter=" + url.QueryEscape(`userName eq "a@x.com"`), "", 1},
			{"GET", "/Users?startIndex=5", "", 1},
			{"GET", "/Groups?startIndex=5", "", 1},
			{"GET", "/Groups?excludedAttributes=members&count=0", "", 1},
			{"GET", "/Users?filter=" + url.QueryEscape(`userName eq "nobody@x.com"`), "", 0},
			{"GET", "/Groups?filter=" + url.QueryEscape(`displayName eq "nobody"`), "", 0},
			{"POST", "/Users/.search", search(0), 1},
			{"POST", "/Groups/.search", search(0), 1},
			{"POST", "/.search", search(0), 2},
		} {
			check(c.method, c.path, c.body, c.total)
		}
	})
}
