package admin_test

// The OpenAPI description (admin/openapi.json) is tested both ways: its
// paths are the route table's, and a realistic session against the real
// handler, on both stores, answers only what it documents.
//
// Adding a route to the API:
//  1. describe it in admin/openapi.json: the path (its parameters once per
//     path), the operation with operationId, x-roster-permission (as the
//     route table says: operator, any, or the flag), parameters, request
//     body, and every status it answers with its schema (the shared
//     refusals are components/responses; schemas are closed with
//     additionalProperties: false, so a field the handler adds later fails);
//  2. add one entry to operationChecks below that calls it through s.do,
//     s.bad or s.call with its success answer and its own errors (400, 404,
//     409, …) — the refusals every route shares (401, 403, another tenant's
//     404) are called for it by checkRefusals.
//
// A route already described as planned (pendingRoutes) needs step 2 and
// the removal of its pendingRoutes line and its "x-roster-planned"; check
// its schemas against what the handler really answers, which the session
// then shows.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/admin"
	"github.com/roster-dev/roster/session"
	"github.com/roster-dev/roster/store"
)

// pendingRoutes are operations the document describes (marked
// "x-roster-planned") whose routes are not built yet. When one lands:
// remove it here and its "x-roster-planned" in admin/openapi.json, and add
// its entry to operationChecks. TestOpenAPI_documentMatchesRouteTable
// fails until all three are done.
var pendingRoutes = []string{}

// publicRoute is the one documented route outside the route table: the
// document itself, served without a credential.
var publicRoute = "GET " + admin.OpenAPIPath

func init() {
	// Request bodies the document describes as text: the validator reads
	// them as strings (JSON and text/csv it knows).
	for _, ct := range []string{"application/samlmetadata+xml", "application/xml", "text/xml"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
	openapi3filter.RegisterBodyDecoder("application/csv", openapi3filter.CsvBodyDecoder)
}

var loadOpenAPI = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(admin.OpenAPI())
	if err != nil {
		return nil, err
	}
	return doc, doc.Validate(context.Background())
})

func openAPIDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := loadOpenAPI()
	require.NoError(t, err, "admin/openapi.json must be a valid OpenAPI document")
	return doc
}

// documentedOps is every operation of the document: "METHOD /path" → it.
func documentedOps(doc *openapi3.T) map[string]*openapi3.Operation {
	out := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out[method+" "+path] = op
		}
	}
	return out
}

func permissionOf(op *openapi3.Operation) string {
	p, _ := op.Extensions["x-roster-permission"].(string)
	return p
}

func TestOpenAPI_documentIsValid(t *testing.T) {
	doc := openAPIDoc(t)
	assert.Equal(t, "3.1.0", doc.OpenAPI)
	for name, want := range map[string]string{"operatorToken": "bearer", "apiKey": "bearer", "session": "bearer"} {
		require.Contains(t, doc.Components.SecuritySchemes, name)
		assert.Equal(t, want, doc.Components.SecuritySchemes[name].Value.Scheme, name)
	}
	cookie := doc.Components.SecuritySchemes["sessionCookie"].Value
	assert.Equal(t, []string{"apiKey", "cookie", session.CookieName}, []string{cookie.Type, cookie.In, cookie.Name})
	ids := map[string]string{}
	for name, op := range documentedOps(doc) {
		assert.NotEmpty(t, op.OperationID, name)
		if other, dup := ids[op.OperationID]; dup {
			t.Errorf("operationId %s is used by %s and %s", op.OperationID, other, name)
		}
		ids[op.OperationID] = name
		assert.NotEmpty(t, permissionOf(op), "%s names its permission in x-roster-permission", name)
	}
}

// TestOpenAPI_servedWithoutCredential: the document is public, as JSON,
// byte for byte what is embedded.
func TestOpenAPI_servedWithoutCredential(t *testing.T) {
	c := newClient(t, backends["memory"])
	res, err := http.Get(c.srv.URL + admin.OpenAPIPath)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
	assert.Equal(t, admin.OpenAPI(), body)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(body, &doc))
	assert.Equal(t, "3.1.0", doc["openapi"])
}

// TestOpenAPI_documentMatchesRouteTable keeps the document and the route
// table from drifting apart either way: every route of the table is
// documented with the permission it needs, and every documented operation
// is a route — or one of pendingRoutes, marked planned in the document.
func TestOpenAPI_documentMatchesRouteTable(t *testing.T) {
	doc := openAPIDoc(t)
	c := newClient(t, backends["memory"])
	table := c.api.RouteNeeds()
	delete(table, "/admin/") // the catch-all 404
	ops := documentedOps(doc)

	for pattern, need := range table {
		op, ok := ops[pattern]
		if !assert.True(t, ok, "route %s is missing from admin/openapi.json", pattern) {
			continue
		}
		if need == "" {
			need = "any"
		}
		assert.Equal(t, need, permissionOf(op), "x-roster-permission of %s", pattern)
		assert.NotContains(t, op.Extensions, "x-roster-planned", "%s is built: remove x-roster-planned", pattern)
		assert.NotContains(t, pendingRoutes, pattern, "%s is built: remove it from pendingRoutes", pattern)
		switch need {
		case "operator":
			require.NotNil(t, op.Security, pattern)
			assert.Equal(t, openapi3.SecurityRequirements{{"operatorToken": {}}}, *op.Security, "%s is the operator's alone", pattern)
		default:
			assert.Nil(t, op.Security, "%s takes every credential of the document", pattern)
		}
	}
	for name, op := range ops {
		_, route := table[name]
		switch {
		case name == publicRoute:
			assert.Equal(t, "public", permissionOf(op))
			require.NotNil(t, op.Security)
			assert.Empty(t, *op.Security, "the document needs no credential")
		case slices.Contains(pendingRoutes, name):
			assert.Equal(t, true, op.Extensions["x-roster-planned"], "%s is pending: mark it x-roster-planned", name)
		default:
			assert.True(t, route, "admin/openapi.json documents %s, which is no route", name)
			assert.NotContains(t, op.Extensions, "x-roster-planned", name)
		}
	}
	for _, p := range pendingRoutes {
		assert.Contains(t, ops, p, "pending route %s is documented", p)
	}
}

// TestOpenAPI_realAnswersMatchDocument runs a realistic session against
// the real handler on both stores: every documented operation is called
// for its success answer and its errors, each request is checked against
// the document (unless it breaks it on purpose) and every answer — status,
// headers, body — must be one the document describes. Then every status
// the document lists for an operation among exercised must have been
// answered, so that the document promises nothing untested. (413, 429, 500
// and 503 are on every route; the session causes 429 once, the others not.)
func TestOpenAPI_realAnswersMatchDocument(t *testing.T) {
	doc := openAPIDoc(t)
	forEachBackend(t, func(t *testing.T, c *client) {
		s := &apiSession{t: t, c: c, doc: doc, seen: map[string]map[int]bool{}}
		s.fixture()
		checked := map[string]bool{}
		for _, oc := range operationChecks {
			checked[oc.op] = true
			t.Run(oc.op, func(t *testing.T) {
				s.t = t
				oc.run(s)
			})
		}
		s.t = t
		s.checkRefusals()

		for name, op := range documentedOps(doc) {
			if slices.Contains(pendingRoutes, name) {
				continue
			}
			assert.True(t, checked[name], "operationChecks has no entry for %s", name)
			for code := range op.Responses.Map() {
				var status int
				if _, err := fmt.Sscan(code, &status); err != nil || !exercised[status] {
					continue
				}
				assert.True(t, s.seen[name][status], "%s documents %d, which the session never answered", name, status)
			}
		}
	})
}

// exercised are the statuses the session must cause wherever the document
// lists them.
var exercised = map[int]bool{200: true, 201: true, 202: true, 204: true, 400: true, 401: true, 403: true, 404: true, 409: true, 415: true}

// apiSession calls the admin API and checks every exchange against the
// document.
type apiSession struct {
	t    *testing.T
	c    *client
	doc  *openapi3.T
	seen map[string]map[int]bool // operation → statuses answered

	// the fixture: tenant acme's person ann, and a key of tenant globex
	annID     string
	globexKey cred
	hookID    string // acme's webhook endpoint for every event type
}

// req is one request of the session.
type req struct {
	path    string // with its query
	body    string
	as      *cred // nil: the operator
	headers []string
	// invalid: the request breaks the document on purpose (bad input, no
	// or a wrong credential), so only the answer is checked.
	invalid bool
}

// do calls op as the operator with a request the document allows.
func (s *apiSession) do(op string, want int, path, body string, headers ...string) response {
	s.t.Helper()
	return s.call(op, want, req{path: path, body: body, headers: headers})
}

// bad calls op as the operator with a request the document refuses.
func (s *apiSession) bad(op string, want int, path, body string, headers ...string) response {
	s.t.Helper()
	return s.call(op, want, req{path: path, body: body, headers: headers, invalid: true})
}

// call sends r to op ("METHOD /pattern", as documented), checks the
// request and the answer against the document and the status against
// want (0: any status the document lists).
func (s *apiSession) call(op string, want int, r req) response {
	s.t.Helper()
	method, pattern, _ := strings.Cut(op, " ")
	item := s.doc.Paths.Value(pattern)
	require.NotNil(s.t, item, "%s is not documented", op)
	operation := item.GetOperation(method)
	require.NotNil(s.t, operation, "%s is not documented", op)
	rawPath, _, _ := strings.Cut(r.path, "?")
	params, ok := matchPattern(pattern, rawPath)
	require.True(s.t, ok, "%s is not a path of %s", r.path, op)

	build := func(base string) *http.Request {
		hr, err := http.NewRequest(method, base+r.path, strings.NewReader(r.body))
		require.NoError(s.t, err)
		cr := operatorCred
		if r.as != nil {
			cr = *r.as
		}
		if cr.bearer != "" {
			hr.Header.Set("Authorization", "Bearer "+cr.bearer)
		}
		if cr.cookie != "" {
			hr.AddCookie(&http.Cookie{Name: session.CookieName, Value: cr.cookie})
		}
		if r.body != "" && !slices.Contains(r.headers, "Content-Type") {
			hr.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(r.headers); i += 2 {
			hr.Header.Set(r.headers[i], r.headers[i+1])
		}
		return hr
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: credentialForm}
	in := &openapi3filter.RequestValidationInput{Request: build("http://roster.test"), PathParams: params, Options: opts,
		Route: &routers.Route{Spec: s.doc, Path: pattern, PathItem: item, Method: method, Operation: operation}}
	if !r.invalid {
		assert.NoError(s.t, openapi3filter.ValidateRequest(s.t.Context(), in), "%s %s: the request breaks the document", method, r.path)
	}

	res, err := http.DefaultClient.Do(build(s.c.srv.URL))
	require.NoError(s.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(s.t, err)
	if s.seen[op] == nil {
		s.seen[op] = map[int]bool{}
	}
	s.seen[op][res.StatusCode] = true
	if want != 0 {
		assert.Equal(s.t, want, res.StatusCode, "%s %s: %s", method, r.path, raw)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header, Options: opts}
	out.SetBodyBytes(raw)
	assert.NoError(s.t, openapi3filter.ValidateResponse(s.t.Context(), out), "%s %s answered %d, not as documented: %s", method, r.path, res.StatusCode, raw)

	answer := response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") && len(raw) > 0 {
		require.NoError(s.t, json.Unmarshal(raw, &answer.Body), "body: %s", raw)
	}
	return answer
}

// matchPattern matches a path against a documented path template.
func matchPattern(pattern, path string) (map[string]string, bool) {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return nil, false
	}
	params := map[string]string{}
	for i, p := range ps {
		switch {
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") && xs[i] != "":
			params[p[1:len(p)-1]] = xs[i]
		case p != xs[i]:
			return nil, false
		}
	}
	return params, true
}

// credentialForm checks that a request carries the credential a security
// scheme of the document describes, by its form: the operator token, an
// API key rsk_…, a session rss_… as bearer, or the session cookie alone.
func credentialForm(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	hasBearer := strings.EqualFold(scheme, "Bearer") && tok != ""
	var ok bool
	switch in.SecuritySchemeName {
	case "operatorToken":
		ok = hasBearer && !strings.HasPrefix(tok, "rsk_") && !strings.HasPrefix(tok, "rss_")
	case "apiKey":
		ok = hasBearer && strings.HasPrefix(tok, "rsk_")
	case "session":
		ok = hasBearer && strings.HasPrefix(tok, "rss_")
	case "sessionCookie":
		c, err := r.Cookie(session.CookieName)
		ok = err == nil && c.Value != "" && r.Header.Get("Authorization") == ""
	}
	if !ok {
		return in.NewError(errors.New("no credential of this scheme"))
	}
	return nil
}

// key mints an API key of tenant through the API.
func (s *apiSession) key(tenant, name string, perms ...string) cred {
	s.t.Helper()
	body, err := json.Marshal(map[string]any{"name": name, "permissions": append([]string{}, perms...)})
	require.NoError(s.t, err)
	r := s.do("POST /admin/v1/tenants/{id}/api-keys", http.StatusCreated, "/admin/v1/tenants/"+tenant+"/api-keys", string(body))
	return cred{name: name, bearer: r.Body["key"].(string)}
}

// fixture: tenant acme (ultimate, 20 seats) with the person ann, and
// tenant globex whose key tries acme's paths.
func (s *apiSession) fixture() {
	s.do("POST /admin/v1/tenants", http.StatusCreated, "/admin/v1/tenants", `{"id":"acme","name":"Acme","plan":"ultimate","seats":20}`)
	s.do("POST /admin/v1/tenants", http.StatusCreated, "/admin/v1/tenants", `{"id":"globex","plan":"enterprise","seats":10}`)
	r := s.do("POST /admin/v1/tenants/{id}/users", http.StatusCreated, "/admin/v1/tenants/acme/users",
		`{"userName":"ann@acme.test","email":"ann@acme.test","displayName":"Ann"}`)
	s.annID = r.Body["id"].(string)
	s.globexKey = s.key("globex", "globex-all", access.AllFlags()...)
}

// opCheck calls one operation for its success answer and its own errors.
type opCheck struct {
	op  string
	run func(s *apiSession)
}

const acme = "/admin/v1/tenants/acme"

// operationChecks has one entry per documented operation, in the order
// they run (later ones may rely on what earlier ones made).
var operationChecks = []opCheck{
	{"POST /admin/v1/tenants", func(s *apiSession) {
		const op = "POST /admin/v1/tenants"
		r := s.do(op, http.StatusCreated, "/admin/v1/tenants", `{"id":"initech","plan":"trial","settings":{"overage":true}}`)
		assert.Equal(s.t, "/admin/v1/tenants/initech", r.Header.Get("Location"))
		s.do(op, http.StatusConflict, "/admin/v1/tenants", `{"id":"acme","plan":"trial"}`)
		s.bad(op, http.StatusBadRequest, "/admin/v1/tenants", `{"id":"Bad Id!","plan":"gold"}`)
		s.bad(op, http.StatusBadRequest, "/admin/v1/tenants", `{"id":"x",`)
	}},
	{"GET /admin/v1/tenants", func(s *apiSession) {
		r := s.do("GET /admin/v1/tenants", http.StatusOK, "/admin/v1/tenants", "")
		assert.Len(s.t, r.Body["tenants"], 3)
	}},
	{"GET /admin/v1/tenants/{id}", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}"
		r := s.do(op, http.StatusOK, acme, "")
		assert.Contains(s.t, r.Body, "scim_ready")
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope", "")
		// any credential of the tenant: a key without permissions, a
		// person by bearer and by cookie
		none := s.key("acme", "no-permissions")
		s.call(op, http.StatusOK, req{path: acme, as: &none})
		_, tok := s.c.person("acme", "reader@acme.test", "agent")
		s.call(op, http.StatusOK, req{path: acme, as: &cred{bearer: tok}})
		s.call(op, http.StatusOK, req{path: acme, as: &cred{cookie: tok}})
	}},
	{"PATCH /admin/v1/tenants/{id}", func(s *apiSession) {
		const op = "PATCH /admin/v1/tenants/{id}"
		r := s.do(op, http.StatusOK, acme, `{"name":"Acme Inc","settings":{"light_seat_price_cents":500}}`)
		assert.Equal(s.t, "Acme Inc", r.Body["name"])
		s.c.now = s.c.now.Add(24 * time.Hour) // seats added within the term are prorated
		s.do(op, http.StatusOK, acme, `{"seats":25,"addons":["hipaa"]}`)
		r = s.do(op, http.StatusOK, acme, `{"seats":22}`)
		assert.NotNil(s.t, r.Body["contract"].(map[string]any)["pending_reduction"], "seats lowered wait for the renewal")
		s.do(op, http.StatusBadRequest, acme, `{"settings":{"default_role":"wizard"}}`)
		s.bad(op, http.StatusBadRequest, acme, `{"settings":{"color":"red"}}`)
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope", `{"name":"X"}`)
		k := s.key("acme", "settings", "settings.manage")
		r = s.call(op, http.StatusForbidden, req{path: acme, body: `{"seats":30}`, as: &k})
		assert.Contains(s.t, fields(r), "seats", "the operator's field is named")
	}},
	{"DELETE /admin/v1/tenants/{id}", func(s *apiSession) {
		const op = "DELETE /admin/v1/tenants/{id}"
		s.c.now = s.c.now.Add(time.Minute)
		s.do("POST /admin/v1/tenants", http.StatusCreated, "/admin/v1/tenants", `{"id":"gone","plan":"trial"}`)
		s.bad(op, http.StatusBadRequest, "/admin/v1/tenants/gone", "")
		s.do(op, http.StatusBadRequest, "/admin/v1/tenants/gone?confirm=acme", "")
		s.do(op, http.StatusNoContent, "/admin/v1/tenants/gone?confirm=gone", "")
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/gone?confirm=gone", "")
	}},
	{"GET /admin/v1/tenants/{id}/saml", func(s *apiSession) {
		s.do("GET /admin/v1/tenants/{id}/saml", http.StatusNotFound, acme+"/saml", "")
	}},
	{"PUT /admin/v1/tenants/{id}/saml", func(s *apiSession) {
		const op = "PUT /admin/v1/tenants/{id}/saml"
		r := s.do(op, http.StatusOK, acme+"/saml", fixture(s.t, "okta.xml"), "Content-Type", "application/samlmetadata+xml")
		assert.Contains(s.t, r.Body, "scim_ready")
		r = s.do(op, http.StatusBadRequest, acme+"/saml", "<not-metadata/>", "Content-Type", "application/xml")
		assert.Equal(s.t, "invalid_metadata", r.Body["error"])
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/saml", fixture(s.t, "okta.xml"), "Content-Type", "text/xml")
		r = s.do("GET /admin/v1/tenants/{id}/saml", http.StatusOK, acme+"/saml", "")
		assert.Equal(s.t, true, r.Body["valid"])
	}},
	{"DELETE /admin/v1/tenants/{id}/saml", func(s *apiSession) {
		const op = "DELETE /admin/v1/tenants/{id}/saml"
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/globex/saml", "")
		s.do("PUT /admin/v1/tenants/{id}/saml", http.StatusOK, "/admin/v1/tenants/globex/saml", fixture(s.t, "entra.xml"), "Content-Type", "application/samlmetadata+xml")
		r := s.do("GET /admin/v1/tenants/{id}/saml", http.StatusOK, "/admin/v1/tenants/globex/saml", "")
		assert.Contains(s.t, r.Body["problem"], "does not include SAML SSO")
		s.do(op, http.StatusNoContent, "/admin/v1/tenants/globex/saml", "")
	}},
	{"POST /admin/v1/tenants/{id}/tokens", func(s *apiSession) {
		const op = "POST /admin/v1/tenants/{id}/tokens"
		s.do(op, http.StatusCreated, acme+"/tokens", `{"name":"okta"}`)
		s.do(op, http.StatusBadRequest, acme+"/tokens", `{"name":" "}`)
		s.bad(op, http.StatusBadRequest, acme+"/tokens", `{}`)
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/tokens", `{"name":"okta"}`)
	}},
	{"GET /admin/v1/tenants/{id}/tokens", func(s *apiSession) {
		r := s.do("GET /admin/v1/tenants/{id}/tokens", http.StatusOK, acme+"/tokens", "")
		assert.Len(s.t, r.Body["tokens"], 1)
		s.do("GET /admin/v1/tenants/{id}/tokens", http.StatusNotFound, "/admin/v1/tenants/nope/tokens", "")
	}},
	{"DELETE /admin/v1/tenants/{id}/tokens/{tokenID}", func(s *apiSession) {
		const op = "DELETE /admin/v1/tenants/{id}/tokens/{tokenID}"
		r := s.do("POST /admin/v1/tenants/{id}/tokens", http.StatusCreated, acme+"/tokens", `{"name":"entra"}`)
		s.do(op, http.StatusNoContent, acme+"/tokens/"+r.Body["id"].(string), "")
		s.do(op, http.StatusNotFound, acme+"/tokens/nope", "")
		r = s.do("GET /admin/v1/tenants/{id}/tokens", http.StatusOK, acme+"/tokens", "")
		assert.Len(s.t, r.Body["tokens"], 2, "a revoked token is listed with revoked_at")
	}},
	{"POST /admin/v1/tenants/{id}/api-keys", func(s *apiSession) {
		const op = "POST /admin/v1/tenants/{id}/api-keys"
		s.do(op, http.StatusCreated, acme+"/api-keys", `{"name":"hr-sync","permissions":["users.view","users.*"]}`)
		s.do(op, http.StatusBadRequest, acme+"/api-keys", `{"name":"x","permissions":["nope.flag"]}`)
		s.bad(op, http.StatusBadRequest, acme+"/api-keys", `{"name":"x"}`)
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/api-keys", `{"name":"x","permissions":[]}`)
		k := s.key("acme", "integrations", "integrations.manage")
		r := s.call(op, http.StatusForbidden, req{path: acme + "/api-keys", body: `{"name":"more","permissions":["billing.view"]}`, as: &k})
		assert.Equal(s.t, []any{"billing.view"}, r.Body["missing_permissions"])
	}},
	{"GET /admin/v1/tenants/{id}/api-keys", func(s *apiSession) {
		s.do("GET /admin/v1/tenants/{id}/api-keys", http.StatusOK, acme+"/api-keys", "")
		s.do("GET /admin/v1/tenants/{id}/api-keys", http.StatusNotFound, "/admin/v1/tenants/nope/api-keys", "")
	}},
	{"DELETE /admin/v1/tenants/{id}/api-keys/{keyID}", func(s *apiSession) {
		const op = "DELETE /admin/v1/tenants/{id}/api-keys/{keyID}"
		r := s.do("POST /admin/v1/tenants/{id}/api-keys", http.StatusCreated, acme+"/api-keys", `{"name":"short-lived","permissions":["users.view"]}`)
		k := cred{name: "short-lived", bearer: r.Body["key"].(string)}
		s.do(op, http.StatusNoContent, acme+"/api-keys/"+r.Body["id"].(string), "")
		s.do(op, http.StatusNoContent, acme+"/api-keys/"+r.Body["id"].(string), "")
		s.do(op, http.StatusNotFound, acme+"/api-keys/nope", "")
		r = s.call("GET /admin/v1/tenants/{id}/users", http.StatusUnauthorized, req{path: acme + "/users", as: &k})
		assert.Equal(s.t, "key_revoked", r.Body["reason"])
	}},
	{"POST /admin/v1/tenants/{id}/console-links", func(s *apiSession) {
		const op = "POST /admin/v1/tenants/{id}/console-links"
		r := s.do(op, http.StatusCreated, acme+"/console-links", `{"user":"ann@acme.test"}`)
		assert.Contains(s.t, r.Body["url"], "/console/acme/enter?code=")
		s.bad(op, http.StatusBadRequest, acme+"/console-links", `{"user":""}`)
		s.do(op, http.StatusNotFound, acme+"/console-links", `{"user":"nobody"}`)
		k := s.key("acme", "users-manage", "users.manage")
		s.call(op, http.StatusForbidden, req{path: acme + "/console-links", body: `{"user":"ann@acme.test"}`, as: &k})
		bob := s.do("POST /admin/v1/tenants/{id}/users", http.StatusCreated, acme+"/users", `{"userName":"bob@acme.test"}`)
		s.do("PATCH /admin/v1/tenants/{id}/users/{userID}", http.StatusOK, acme+"/users/"+bob.Body["id"].(string), `{"active":false}`)
		r = s.do(op, http.StatusConflict, acme+"/console-links", `{"user":"bob@acme.test"}`)
		assert.Equal(s.t, "cannot_sign_in", r.Body["error"])
	}},
	{"GET /admin/v1/tenants/{id}/audit", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/audit"
		r := s.do(op, http.StatusOK, acme+"/audit?limit=2", "")
		cursor, _ := r.Body["next_cursor"].(string)
		require.NotEmpty(s.t, cursor)
		s.do(op, http.StatusOK, acme+"/audit?limit=2&cursor="+cursor+"&action=tenant.updated", "")
		s.bad(op, http.StatusBadRequest, acme+"/audit?limit=0", "")
		s.bad(op, http.StatusBadRequest, acme+"/audit?from=yesterday", "")
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/audit", "")
		r = s.do(op, http.StatusOK, acme+"/audit?from=2020-01-01&format=csv", "")
		assert.True(s.t, strings.HasPrefix(r.Raw, "seq,time,action,"), r.Raw)
		r = s.do(op, http.StatusOK, acme+"/audit?limit=1", "", "Accept", "text/csv")
		assert.Equal(s.t, 2, strings.Count(r.Raw, "\n"), "the header and one event")
	}},
	{"GET /admin/v1/audit", func(s *apiSession) {
		r := s.do("GET /admin/v1/audit", http.StatusOK, "/admin/v1/audit", "")
		assert.Contains(s.t, r.Raw, "tenant.deleted")
		s.do("GET /admin/v1/audit", http.StatusBadRequest, "/admin/v1/audit?cursor=x", "")
	}},
	{"GET /admin/v1/tenants/{id}/seats", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/seats"
		_, err := s.c.store.CreateUser(s.t.Context(), "acme", store.User{UserName: "ann.again@acme.test", Active: true,
			Emails: []store.MultiValue{{Value: "ann@acme.test", Type: "work", Primary: true}}}, scimToken)
		require.NoError(s.t, err)
		r := s.do(op, http.StatusOK, acme+"/seats", "")
		assert.NotEmpty(s.t, r.Body["possible_duplicates"], "ann and ann.again share an address")
		assert.NotEmpty(s.t, r.Body["addons"])
		contract := r.Body["contract"].(map[string]any)
		assert.NotEmpty(s.t, contract["prorated_additions"])
		assert.NotNil(s.t, contract["pending_reduction"])
		s.do(op, http.StatusOK, "/admin/v1/tenants/initech/seats", "")
		s.do(op, http.StatusBadRequest, acme+"/seats?at=now", "")
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/seats", "")
	}},
	{"GET /admin/v1/tenants/{id}/seats/events", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/seats/events"
		r := s.do(op, http.StatusOK, acme+"/seats/events?limit=1", "")
		s.do(op, http.StatusOK, acme+"/seats/events?user=ann@acme.test&cursor="+r.Body["next_cursor"].(string), "")
		r = s.do(op, http.StatusOK, acme+"/seats/events?limit=1000", "")
		assert.Contains(s.t, r.Raw, `"delta":-1`, "bob's deactivation released a seat")
		s.bad(op, http.StatusBadRequest, acme+"/seats/events?limit=0", "")
		s.do(op, http.StatusBadRequest, acme+"/seats/events?from=2026-12-01&to=2026-11-01", "")
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/seats/events", "")
	}},
	{"GET /admin/v1/tenants/{id}/roles", func(s *apiSession) {
		s.do("GET /admin/v1/tenants/{id}/roles", http.StatusOK, acme+"/roles", "")
		s.do("GET /admin/v1/tenants/{id}/roles", http.StatusNotFound, "/admin/v1/tenants/nope/roles", "")
	}},
	{"POST /admin/v1/tenants/{id}/roles", func(s *apiSession) {
		const op = "POST /admin/v1/tenants/{id}/roles"
		r := s.do(op, http.StatusCreated, acme+"/roles", `{"name":"auditor","description":"reads","permissions":["users.view"],"seat_class":"light"}`)
		assert.Equal(s.t, acme+"/roles/auditor", r.Header.Get("Location"))
		s.do(op, http.StatusConflict, acme+"/roles", `{"name":"auditor","permissions":["users.view"]}`)
		s.do(op, http.StatusConflict, acme+"/roles", `{"name":"admin","permissions":[]}`)
		s.bad(op, http.StatusBadRequest, acme+"/roles", `{"name":"x"}`)
		s.do(op, http.StatusBadRequest, acme+"/roles", `{"name":"x","permissions":["nope.flag"]}`)
		r = s.do(op, http.StatusForbidden, "/admin/v1/tenants/initech/roles", `{"name":"x","permissions":[]}`)
		assert.Equal(s.t, "plan_required", r.Body["error"])
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/roles", `{"name":"x","permissions":[]}`)
	}},
	{"GET /admin/v1/tenants/{id}/roles/{role}", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/roles/{role}"
		s.do(op, http.StatusOK, acme+"/roles/auditor", "")
		s.do(op, http.StatusOK, acme+"/roles/agent", "")
		s.do(op, http.StatusNotFound, acme+"/roles/nope", "")
	}},
	{"PUT /admin/v1/tenants/{id}/roles/{role}", func(s *apiSession) {
		const op = "PUT /admin/v1/tenants/{id}/roles/{role}"
		s.do(op, http.StatusOK, acme+"/roles/auditor", `{"permissions":["users.view","teams.view"],"privileged":false}`)
		s.do(op, http.StatusBadRequest, acme+"/roles/auditor", `{"name":"renamed","permissions":[]}`)
		r := s.do(op, http.StatusForbidden, acme+"/roles/agent", `{"permissions":[]}`)
		assert.Equal(s.t, "built_in", r.Body["error"])
		s.do(op, http.StatusNotFound, acme+"/roles/nope", `{"permissions":[]}`)
	}},
	{"POST /admin/v1/tenants/{id}/users/role", func(s *apiSession) {
		const op = "POST /admin/v1/tenants/{id}/users/role"
		r := s.do(op, http.StatusOK, acme+"/users/role", `{"users":["ann@acme.test"],"role":"auditor"}`)
		assert.Equal(s.t, 1.0, r.Body["changed"])
		r = s.do(op, http.StatusBadRequest, acme+"/users/role", `{"users":["nobody"],"role":"agent"}`)
		assert.Contains(s.t, fields(r)["users"], "nobody")
		s.bad(op, http.StatusBadRequest, acme+"/users/role", `{"users":[],"role":"agent"}`)
		k := s.key("acme", "roles", "users.roles")
		s.call(op, http.StatusForbidden, req{path: acme + "/users/role", body: `{"users":["ann@acme.test"],"role":"admin"}`, as: &k})
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/users/role", `{"users":["x"],"role":"agent"}`)
		r = s.do(op, http.StatusOK, acme+"/users/role?dry_run=true", `{"users":["ann@acme.test"],"role":"agent"}`)
		assert.Equal(s.t, true, r.Body["dry_run"])
		assert.Contains(s.t, r.Body, "would_fail")
		s.bad(op, http.StatusBadRequest, acme+"/users/role?dry_run=maybe", `{"users":["ann@acme.test"],"role":"agent"}`)
	}},
	{"POST /admin/v1/tenants/{id}/users/deactivate", func(s *apiSession) {
		const op = "POST /admin/v1/tenants/{id}/users/deactivate"
		u, err := s.c.store.CreateUser(s.t.Context(), "acme", store.User{UserName: "ole@acme.test", Active: true, Managed: store.ManagedSCIM, IdP: "okta"}, scimToken)
		require.NoError(s.t, err)
		s.do("POST /admin/v1/tenants/{id}/users", http.StatusCreated, acme+"/users", `{"userName":"dee@acme.test"}`)
		r := s.do(op, http.StatusOK, acme+"/users/deactivate?dry_run=true", `{"users":["dee@acme.test","`+u.ID+`"]}`)
		assert.Equal(s.t, 1.0, r.Body["refused"])
		assert.Equal(s.t, "idp_managed", r.Body["would_fail"].(map[string]any)["error"])
		s.do(op, http.StatusConflict, acme+"/users/deactivate", `{"users":["dee@acme.test","`+u.ID+`"]}`)
		r = s.do(op, http.StatusOK, acme+"/users/deactivate", `{"users":["dee@acme.test"]}`)
		assert.Equal(s.t, 1.0, r.Body["changed"])
		s.bad(op, http.StatusBadRequest, acme+"/users/deactivate", `{"users":[]}`)
		s.do(op, http.StatusBadRequest, acme+"/users/deactivate", `{"users":["nobody@acme.test"]}`)
		k := s.key("acme", "viewer-deactivate", "users.view")
		s.call(op, http.StatusForbidden, req{path: acme + "/users/deactivate", body: `{"users":["dee@acme.test"]}`, as: &k})
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/users/deactivate", `{"users":["x"]}`)
	}},
	{"POST /admin/v1/tenants/{id}/users/reactivate", func(s *apiSession) {
		const op = "POST /admin/v1/tenants/{id}/users/reactivate"
		u, err := s.c.store.CreateUser(s.t.Context(), "acme", store.User{UserName: "oli@acme.test", Active: false, Managed: store.ManagedSCIM, IdP: "okta"}, scimToken)
		require.NoError(s.t, err)
		r := s.do(op, http.StatusOK, acme+"/users/reactivate?dry_run=true", `{"users":["dee@acme.test"]}`)
		assert.Nil(s.t, r.Body["would_fail"])
		r = s.do(op, http.StatusOK, acme+"/users/reactivate", `{"users":["dee@acme.test"]}`)
		assert.Equal(s.t, true, r.Body["users"].([]any)[0].(map[string]any)["new_active"])
		s.do(op, http.StatusConflict, acme+"/users/reactivate", `{"users":["`+u.ID+`"]}`)
		s.bad(op, http.StatusBadRequest, acme+"/users/reactivate", `{"users":["dee@acme.test"],"active":true}`)
		k := s.key("acme", "viewer-reactivate", "users.view")
		s.call(op, http.StatusForbidden, req{path: acme + "/users/reactivate", body: `{"users":["dee@acme.test"]}`, as: &k})
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/users/reactivate", `{"users":["x"]}`)
	}},
	{"DELETE /admin/v1/tenants/{id}/roles/{role}", func(s *apiSession) {
		const op = "DELETE /admin/v1/tenants/{id}/roles/{role}"
		r := s.do(op, http.StatusConflict, acme+"/roles/auditor", "")
		assert.Equal(s.t, 1.0, r.Body["users"])
		s.do(op, http.StatusBadRequest, acme+"/roles/auditor?replace=agent", "")
		s.do(op, http.StatusForbidden, acme+"/roles/agent", "")
		s.do(op, http.StatusNotFound, acme+"/roles/nope", "")
		s.do(op, http.StatusNoContent, acme+"/roles/auditor?replacement=agent", "")
	}},
	{"GET /admin/v1/tenants/{id}/teams", func(s *apiSession) {
		_, err := s.c.store.CreateGroup(s.t.Context(), "acme", store.Group{DisplayName: "Okta Sales", Managed: store.ManagedSCIM, IdP: "okta"}, scimToken)
		require.NoError(s.t, err)
		r := s.do("GET /admin/v1/tenants/{id}/teams", http.StatusOK, acme+"/teams", "")
		assert.Contains(s.t, r.Raw, `"idp":"okta"`)
		s.do("GET /admin/v1/tenants/{id}/teams", http.StatusNotFound, "/admin/v1/tenants/nope/teams", "")
	}},
	{"POST /admin/v1/tenants/{id}/teams", func(s *apiSession) {
		const op = "POST /admin/v1/tenants/{id}/teams"
		s.do(op, http.StatusCreated, acme+"/teams", `{"name":"Support"}`)
		s.do(op, http.StatusCreated, acme+"/teams", `{"name":"Escalations"}`)
		s.bad(op, http.StatusBadRequest, acme+"/teams", `{"name":""}`)
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/teams", `{"name":"X"}`)
	}},
	{"PUT /admin/v1/tenants/{id}/role-mappings", func(s *apiSession) {
		const op = "PUT /admin/v1/tenants/{id}/role-mappings"
		r := s.do(op, http.StatusOK, acme+"/role-mappings", `[{"group":"Escalations","role":"supervisor"}]`)
		assert.Contains(s.t, r.Raw, "group_id", "the group of that name exists")
		s.do(op, http.StatusOK, acme+"/role-mappings", `{"mappings":[{"group":"Escalations","role":"supervisor"},{"group":"Support Admins","role":"admin"}]}`)
		s.do(op, http.StatusBadRequest, acme+"/role-mappings", `[{"group":"X","role":"wizard"}]`)
		s.bad(op, http.StatusBadRequest, acme+"/role-mappings", `[{"group":"X","role":"agent","extra":1}]`)
		k := s.key("acme", "mapper", "users.roles")
		s.call(op, http.StatusForbidden, req{path: acme + "/role-mappings", body: `[{"group":"X","role":"admin"}]`, as: &k})
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/role-mappings", `[]`)
	}},
	{"GET /admin/v1/tenants/{id}/role-mappings", func(s *apiSession) {
		r := s.do("GET /admin/v1/tenants/{id}/role-mappings", http.StatusOK, acme+"/role-mappings", "")
		assert.Len(s.t, r.Body["mappings"], 2)
		s.do("GET /admin/v1/tenants/{id}/role-mappings", http.StatusNotFound, "/admin/v1/tenants/nope/role-mappings", "")
		s.do("POST /admin/v1/tenants/{id}/teams", http.StatusConflict, acme+"/teams", `{"name":"Support Admins"}`)
		r = s.do("GET /admin/v1/tenants/{id}/teams", http.StatusOK, acme+"/teams", "")
		assert.Len(s.t, r.Body["role_groups"], 1)
	}},
	{"GET /admin/v1/tenants/{id}/teams/{teamID}", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/teams/{teamID}"
		s.do(op, http.StatusOK, acme+"/teams/"+s.teamID("Support"), "")
		r := s.do(op, http.StatusOK, acme+"/teams/"+s.teamID("Okta Sales"), "")
		assert.Equal(s.t, "scim", r.Body["managed"])
		r = s.do(op, http.StatusOK, acme+"/teams/"+s.teamID("Escalations"), "")
		assert.Equal(s.t, "supervisor", r.Body["role"])
		s.do(op, http.StatusNotFound, acme+"/teams/nope", "")
	}},
	{"PATCH /admin/v1/tenants/{id}/teams/{teamID}", func(s *apiSession) {
		const op = "PATCH /admin/v1/tenants/{id}/teams/{teamID}"
		s.do(op, http.StatusOK, acme+"/teams/"+s.teamID("Support"), `{"name":"Support Team"}`)
		s.bad(op, http.StatusBadRequest, acme+"/teams/"+s.teamID("Support Team"), `{}`)
		r := s.do(op, http.StatusConflict, acme+"/teams/"+s.teamID("Escalations"), `{"name":"Escalation"}`)
		assert.Equal(s.t, "role_group", r.Body["error"])
		s.do(op, http.StatusNotFound, acme+"/teams/nope", `{"name":"X"}`)
	}},
	{"POST /admin/v1/tenants/{id}/teams/{teamID}/members", func(s *apiSession) {
		const op = "POST /admin/v1/tenants/{id}/teams/{teamID}/members"
		team := acme + "/teams/" + s.teamID("Support Team") + "/members"
		r := s.do(op, http.StatusOK, team, `{"users":["`+s.annID+`"]}`)
		assert.Equal(s.t, 1.0, r.Body["member_count"])
		r = s.do(op, http.StatusBadRequest, team, `{"users":["nobody"]}`)
		assert.Equal(s.t, "unknown_users", r.Body["error"])
		s.bad(op, http.StatusBadRequest, team, `{"users":[]}`)
		s.do(op, http.StatusConflict, acme+"/teams/"+s.teamID("Escalations")+"/members", `{"users":["`+s.annID+`"]}`)
		s.do(op, http.StatusNotFound, acme+"/teams/nope/members", `{"users":["`+s.annID+`"]}`)
	}},
	{"DELETE /admin/v1/tenants/{id}/teams/{teamID}/members", func(s *apiSession) {
		const op = "DELETE /admin/v1/tenants/{id}/teams/{teamID}/members"
		team := acme + "/teams/" + s.teamID("Support Team") + "/members"
		s.do(op, http.StatusOK, team, `{"users":["`+s.annID+`"]}`)
		s.bad(op, http.StatusBadRequest, team, `{}`)
		s.do(op, http.StatusConflict, acme+"/teams/"+s.teamID("Escalations")+"/members", `{"users":["`+s.annID+`"]}`)
		s.do(op, http.StatusNotFound, acme+"/teams/nope/members", `{"users":["`+s.annID+`"]}`)
	}},
	{"DELETE /admin/v1/tenants/{id}/teams/{teamID}", func(s *apiSession) {
		const op = "DELETE /admin/v1/tenants/{id}/teams/{teamID}"
		r := s.do("POST /admin/v1/tenants/{id}/teams", http.StatusCreated, acme+"/teams", `{"name":"Temp"}`)
		s.do(op, http.StatusNoContent, acme+"/teams/"+r.Body["id"].(string), "")
		s.do(op, http.StatusNotFound, acme+"/teams/"+r.Body["id"].(string), "")
		s.do(op, http.StatusConflict, acme+"/teams/"+s.teamID("Escalations"), "")
	}},
	{"GET /admin/v1/tenants/{id}/approvals", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/approvals"
		s.do("PATCH /admin/v1/tenants/{id}", http.StatusOK, acme, `{"settings":{"privileged_roles":"approve"}}`)
		_, err := s.c.store.CreateUser(s.t.Context(), "acme", store.User{UserName: "root@acme.test", Active: true, ExplicitRole: "admin"}, scimToken)
		require.NoError(s.t, err)
		r := s.do(op, http.StatusOK, acme+"/approvals", "")
		require.Len(s.t, r.Body["approvals"], 1)
		s.do(op, http.StatusOK, acme+"/approvals?status=all", "")
		s.bad(op, http.StatusBadRequest, acme+"/approvals?status=bogus", "")
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/approvals", "")
	}},
	{"POST /admin/v1/tenants/{id}/approvals/{aid}", func(s *apiSession) {
		const op = "POST /admin/v1/tenants/{id}/approvals/{aid}"
		r := s.do("GET /admin/v1/tenants/{id}/approvals", http.StatusOK, acme+"/approvals", "")
		path := acme + "/approvals/" + r.Body["approvals"].([]any)[0].(map[string]any)["id"].(string)
		s.bad(op, http.StatusBadRequest, path, `{"decision":"maybe"}`)
		k := s.key("acme", "approver", "users.roles")
		s.call(op, http.StatusForbidden, req{path: path, as: &k})
		r = s.do(op, http.StatusOK, path, `{"decision":"approve"}`)
		assert.Equal(s.t, "approved", r.Body["status"])
		r = s.do(op, http.StatusConflict, path, "")
		assert.Equal(s.t, "already_decided", r.Body["error"])
		s.do(op, http.StatusNotFound, acme+"/approvals/nope", "")
	}},
	{"POST /admin/v1/tenants/{id}/users/import", func(s *apiSession) {
		const op = "POST /admin/v1/tenants/{id}/users/import"
		csv := []string{"Content-Type", "text/csv"}
		file := "email,userName,role\ncarl@acme.test,carl@acme.test,agent\nbad-row,,wizard\n"
		r := s.do(op, http.StatusOK, acme+"/users/import?dry_run=true", file, csv...)
		assert.Contains(s.t, r.Body, "seats")
		r = s.do(op, http.StatusOK, acme+"/users/import", file, csv...)
		assert.Equal(s.t, 1.0, r.Body["created"])
		r = s.do(op, http.StatusOK, acme+"/users/import", "email,givenName\ncarl@acme.test,Carl\n", csv...)
		assert.Contains(s.t, r.Raw, `"changes":[`, "an update names what it changes")
		r = s.do(op, http.StatusOK, acme+"/users/import?mode=update", "email\n", "Content-Type", "application/csv")
		assert.Equal(s.t, []any{}, r.Body["results"], "a file of no rows answers no results")
		r = s.do(op, http.StatusAccepted, acme+"/users/import", "email,userName\ndee@acme.test,dee@acme.test\n", "Content-Type", "text/csv", "Prefer", "respond-async")
		assert.Equal(s.t, r.Body["location"], r.Header.Get("Location"))
		s.do(op, http.StatusBadRequest, acme+"/users/import", "color\nred\n", csv...)
		s.bad(op, http.StatusBadRequest, acme+"/users/import?mode=merge", file, csv...)
		s.bad(op, http.StatusUnsupportedMediaType, acme+"/users/import", `{"email":"x@acme.test"}`)
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/users/import", file, csv...)
	}},
	{"GET /admin/v1/tenants/{id}/jobs/{jobID}", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/jobs/{jobID}"
		r := s.do("POST /admin/v1/tenants/{id}/users/import", http.StatusAccepted, acme+"/users/import?dry_run=true",
			"email\nemma@acme.test\n", "Content-Type", "text/csv", "Prefer", "respond-async")
		job := r.Header.Get("Location")
		require.Eventually(s.t, func() bool {
			r = s.do(op, http.StatusOK, job, "")
			return r.Body["state"] == "succeeded"
		}, time.Minute, 10*time.Millisecond)
		assert.Contains(s.t, r.Body, "seats", "a dry run's forecast")
		r = s.do(op, http.StatusOK, job, "", "Accept", "text/csv")
		assert.True(s.t, strings.HasPrefix(r.Raw, "line,email,userName,status"), r.Raw)
		s.do(op, http.StatusBadRequest, job+"?from=0", "")
		s.do(op, http.StatusNotFound, acme+"/jobs/nope", "")
	}},
	{"GET /admin/v1/tenants/{id}/jobs/{jobID}/results", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/jobs/{jobID}/results"
		r := s.do("POST /admin/v1/tenants/{id}/users/import", http.StatusAccepted, acme+"/users/import",
			"email\nfay@acme.test\ngus@acme.test\n", "Content-Type", "text/csv", "Prefer", "respond-async")
		results := r.Header.Get("Location") + "/results"
		require.Eventually(s.t, func() bool {
			r = s.do(op, http.StatusOK, results+"?limit=1", "")
			return r.Body["state"] == "succeeded"
		}, time.Minute, 10*time.Millisecond)
		assert.Len(s.t, r.Body["results"], 1)
		assert.Equal(s.t, 1.0, r.Body["next"])
		r = s.do(op, http.StatusOK, results+"?from=1", "")
		assert.Nil(s.t, r.Body["next"], "the last page")
		s.do(op, http.StatusOK, results, "", "Accept", "text/csv")
		s.bad(op, http.StatusBadRequest, results+"?limit=0", "")
		s.do(op, http.StatusNotFound, acme+"/jobs/nope/results", "")
	}},
	{"POST /admin/v1/tenants/{id}/stores", func(s *apiSession) {
		const op = "POST /admin/v1/tenants/{id}/stores"
		s.do(op, http.StatusCreated, acme+"/stores", `{"id":"s-1","name":"Main"}`)
		s.do(op, http.StatusConflict, acme+"/stores", `{"id":"s-1","name":"Again"}`)
		s.bad(op, http.StatusBadRequest, acme+"/stores", `{"name":"No id"}`)
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/stores", `{"id":"s-1","name":"Main"}`)
	}},
	{"GET /admin/v1/tenants/{id}/stores", func(s *apiSession) {
		r := s.do("GET /admin/v1/tenants/{id}/stores", http.StatusOK, acme+"/stores", "")
		assert.Len(s.t, r.Body["stores"], 1)
		s.do("GET /admin/v1/tenants/{id}/stores", http.StatusNotFound, "/admin/v1/tenants/nope/stores", "")
	}},
	{"PATCH /admin/v1/tenants/{id}/stores/{store}", func(s *apiSession) {
		const op = "PATCH /admin/v1/tenants/{id}/stores/{store}"
		s.do(op, http.StatusOK, acme+"/stores/s-1", `{"name":"Main store"}`)
		s.bad(op, http.StatusBadRequest, acme+"/stores/s-1", `{"id":"s-2"}`)
		s.do(op, http.StatusNotFound, acme+"/stores/nope", `{"name":"X"}`)
	}},
	{"GET /admin/v1/tenants/{id}/users", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/users"
		r := s.do(op, http.StatusOK, acme+"/users?limit=1&active=true", "")
		s.do(op, http.StatusOK, acme+"/users?q=acme&seat=full&managed=manual&cursor="+r.Body["next_cursor"].(string), "")
		s.bad(op, http.StatusBadRequest, acme+"/users?limit=0&seat=gold", "")
		s.do(op, http.StatusBadRequest, acme+"/users?colour=red", "")
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/users", "")
		k := s.key("acme", "viewer", "users.view")
		s.call(op, http.StatusOK, req{path: acme + "/users", as: &k})
	}},
	{"POST /admin/v1/tenants/{id}/users", func(s *apiSession) {
		const op = "POST /admin/v1/tenants/{id}/users"
		r := s.do(op, http.StatusCreated, acme+"/users", `{"userName":"hal@acme.test","email":"hal@acme.test","role":"supervisor","teams":["`+s.teamID("Support Team")+`"],"stores":["s-1"]}`)
		assert.Equal(s.t, []any{"s-1"}, r.Body["stores"])
		r = s.do(op, http.StatusConflict, acme+"/users", `{"userName":"ann@acme.test"}`)
		assert.Equal(s.t, "conflict", r.Body["error"])
		s.bad(op, http.StatusBadRequest, acme+"/users", `{}`)
		s.do(op, http.StatusBadRequest, acme+"/users", `{"userName":"ivy@acme.test","email":"not-an-address"}`)
		k := s.key("acme", "inviter", "users.manage")
		r = s.call(op, http.StatusForbidden, req{path: acme + "/users", body: `{"userName":"ivy@acme.test","role":"agent"}`, as: &k})
		assert.Equal(s.t, []any{"users.roles"}, r.Body["missing_permissions"])
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/users", `{"userName":"x"}`)
	}},
	{"GET /admin/v1/tenants/{id}/users/{userID}", func(s *apiSession) {
		s.do("GET /admin/v1/tenants/{id}/users/{userID}", http.StatusOK, acme+"/users/"+s.annID, "")
		s.do("GET /admin/v1/tenants/{id}/users/{userID}", http.StatusNotFound, acme+"/users/nope", "")
	}},
	{"GET /admin/v1/tenants/{id}/users/{userID}/history", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/users/{userID}/history"
		r := s.do(op, http.StatusOK, acme+"/users/"+s.annID+"/history?limit=5", "")
		assert.NotEmpty(s.t, r.Body["entries"])
		s.do(op, http.StatusOK, acme+"/users/ann@acme.test/history", "")
		s.bad(op, http.StatusBadRequest, acme+"/users/"+s.annID+"/history?limit=0", "")
		s.do(op, http.StatusNotFound, acme+"/users/nope/history", "")
		k := s.key("acme", "history-teams", "teams.view")
		s.call(op, http.StatusForbidden, req{path: acme + "/users/" + s.annID + "/history", as: &k})
	}},
	{"PATCH /admin/v1/tenants/{id}/users/{userID}", func(s *apiSession) {
		const op = "PATCH /admin/v1/tenants/{id}/users/{userID}"
		ann := acme + "/users/" + s.annID
		r := s.do(op, http.StatusOK, ann, `{"displayName":"Ann A.","stores":["s-1"],"teams":[],"role":""}`)
		assert.Equal(s.t, "agent", r.Body["role"])
		s.bad(op, http.StatusBadRequest, ann, `{}`)
		s.do(op, http.StatusBadRequest, ann, `{"stores":["no-such-store"]}`)
		k := s.key("acme", "changer", "users.manage")
		s.call(op, http.StatusForbidden, req{path: ann, body: `{"role":"supervisor"}`, as: &k})
		u, err := s.c.store.CreateUser(s.t.Context(), "acme", store.User{UserName: "ida@acme.test", Active: true, Managed: store.ManagedSCIM, IdP: "okta"}, scimToken)
		require.NoError(s.t, err)
		r = s.do(op, http.StatusConflict, acme+"/users/"+u.ID, `{"displayName":"Ida by hand"}`)
		assert.Equal(s.t, "idp_managed", r.Body["error"])
		s.do("PATCH /admin/v1/tenants/{id}", http.StatusOK, acme, `{"settings":{"manual_overrides":true}}`)
		r = s.do(op, http.StatusOK, acme+"/users/"+u.ID, `{"displayName":"Ida by hand"}`)
		assert.Equal(s.t, true, r.Body["drifted"])
		assert.Equal(s.t, "okta", r.Body["idp"])
		s.do("PATCH /admin/v1/tenants/{id}", http.StatusOK, acme, `{"settings":{"manual_overrides":false}}`)
		s.do(op, http.StatusNotFound, acme+"/users/nope", `{"displayName":"X"}`)
	}},
	{"DELETE /admin/v1/tenants/{id}/stores/{store}", func(s *apiSession) {
		const op = "DELETE /admin/v1/tenants/{id}/stores/{store}"
		r := s.do(op, http.StatusOK, acme+"/stores/s-1", "")
		assert.Equal(s.t, 2.0, r.Body["users_updated"], "ann and hal lose it")
		s.do(op, http.StatusNotFound, acme+"/stores/s-1", "")
	}},
	{"DELETE /admin/v1/tenants/{id}/users/{userID}", func(s *apiSession) {
		const op = "DELETE /admin/v1/tenants/{id}/users/{userID}"
		r := s.do("POST /admin/v1/tenants/{id}/users", http.StatusCreated, acme+"/users", `{"userName":"leaver@acme.test"}`)
		s.do(op, http.StatusNoContent, acme+"/users/"+r.Body["id"].(string), "")
		s.do(op, http.StatusNotFound, acme+"/users/"+r.Body["id"].(string), "")
	}},
	{"GET /admin/v1/tenants/{id}/reports/dormant", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/reports/dormant"
		r := s.do(op, http.StatusOK, acme+"/reports/dormant?days=30", "")
		assert.NotEmpty(s.t, r.Body["seats"])
		r = s.do(op, http.StatusOK, acme+"/reports/dormant", "", "Accept", "text/csv")
		assert.True(s.t, strings.HasPrefix(r.Raw, "user_id,"), r.Raw)
		s.bad(op, http.StatusBadRequest, acme+"/reports/dormant?days=0", "")
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/reports/dormant", "")
	}},
	{"GET /admin/v1/tenants/{id}/reports/duplicates", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/reports/duplicates"
		_, err := s.c.store.CreateUser(s.t.Context(), "acme", store.User{UserName: "ann.second@acme.test", Active: true,
			Emails: []store.MultiValue{{Value: "Ann+2@acme.test", Type: "work", Primary: true}}}, scimToken)
		require.NoError(s.t, err)
		r := s.do(op, http.StatusOK, acme+"/reports/duplicates", "")
		assert.NotEmpty(s.t, r.Body["groups"])
		s.bad(op, http.StatusBadRequest, acme+"/reports/duplicates?days=3", "")
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/reports/duplicates", "")
		k := s.key("acme", "dupes-users", "users.view")
		s.call(op, http.StatusForbidden, req{path: acme + "/reports/duplicates", as: &k})
	}},
	{"POST /admin/v1/tenants/{id}/webhooks", func(s *apiSession) {
		const op = "POST /admin/v1/tenants/{id}/webhooks"
		// An endpoint gets the events of changes made after it was created
		// (not at the same instant): the clock moves on past the session's
		// earlier changes, whose events PostgreSQL makes only when asked.
		s.c.now = s.c.now.Add(time.Minute)
		r := s.do(op, http.StatusCreated, acme+"/webhooks", `{"url":"https://hooks.example.com/roster"}`)
		assert.Equal(s.t, "no-store", r.Header.Get("Cache-Control"), "the answer holds the secret")
		assert.Equal(s.t, []any{}, r.Body["events"], "none named: every type")
		s.hookID = r.Body["id"].(string)
		r = s.do(op, http.StatusCreated, acme+"/webhooks", `{"url":"https://hooks.example.com/leavers","events":["user.deactivated","user.deactivated","seat.released"]}`)
		assert.Equal(s.t, []any{"user.deactivated", "seat.released"}, r.Body["events"], "each type once")
		r = s.do(op, http.StatusBadRequest, acme+"/webhooks", `{"url":"https://10.0.0.8/x"}`)
		assert.Contains(s.t, fields(r), "url", "a private address is refused")
		s.do(op, http.StatusBadRequest, acme+"/webhooks", `{"url":"http://hooks.example.com/x"}`)
		r = s.bad(op, http.StatusBadRequest, acme+"/webhooks", `{"url":"https://hooks.example.com/x","events":["user.exploded"]}`)
		assert.Contains(s.t, fields(r), "events")
		s.bad(op, http.StatusBadRequest, acme+"/webhooks", `{"events":[]}`)
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/webhooks", `{"url":"https://hooks.example.com/x"}`)
		// At most 20 endpoints a tenant (initech's, so that acme's stay two).
		for i := range 20 {
			s.do(op, http.StatusCreated, "/admin/v1/tenants/initech/webhooks", fmt.Sprintf(`{"url":"https://hooks.example.com/%d"}`, i))
		}
		r = s.do(op, http.StatusConflict, "/admin/v1/tenants/initech/webhooks", `{"url":"https://hooks.example.com/one-more"}`)
		assert.Equal(s.t, "too_many_webhooks", r.Body["error"])
	}},
	{"GET /admin/v1/tenants/{id}/webhooks", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/webhooks"
		r := s.do(op, http.StatusOK, acme+"/webhooks", "")
		assert.Len(s.t, r.Body["webhooks"], 2)
		assert.NotContains(s.t, r.Raw, "whsec_", "the secret is shown once")
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/webhooks", "")
	}},
	{"GET /admin/v1/tenants/{id}/webhooks/{hookID}", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/webhooks/{hookID}"
		r := s.do(op, http.StatusOK, acme+"/webhooks/"+s.hookID, "")
		assert.Equal(s.t, "enabled", r.Body["status"])
		assert.NotContains(s.t, r.Raw, "whsec_")
		s.do(op, http.StatusNotFound, acme+"/webhooks/wh_nope", "")
	}},
	{"GET /admin/v1/tenants/{id}/webhooks/{hookID}/deliveries", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/webhooks/{hookID}/deliveries"
		// A user who comes and goes: user.created, seat.consumed,
		// user.deactivated, seat.released, each queued for the endpoint
		// when the events are made (no deliverer runs here).
		u, err := s.c.store.CreateUser(s.t.Context(), "acme", store.User{UserName: "temp@acme.test", Active: true}, scimToken)
		require.NoError(s.t, err)
		_, err = s.c.store.UpdateUser(s.t.Context(), "acme", u.ID, scimToken, func(u *store.User) error { u.Active = false; return nil })
		require.NoError(s.t, err)
		_, err = s.c.store.SequenceEvents(s.t.Context())
		require.NoError(s.t, err)
		log := acme + "/webhooks/" + s.hookID + "/deliveries"
		r := s.do(op, http.StatusOK, log+"?limit=3", "")
		require.Len(s.t, r.Body["deliveries"], 3, r.Raw)
		assert.Equal(s.t, "seat.released", r.Body["deliveries"].([]any)[0].(map[string]any)["event_type"], "newest first")
		assert.Equal(s.t, "user.deactivated", r.Body["deliveries"].([]any)[1].(map[string]any)["event_type"])
		r = s.do(op, http.StatusOK, log+"?status=pending&cursor="+r.Body["next_cursor"].(string), "")
		assert.Len(s.t, r.Body["deliveries"], 1)
		assert.Nil(s.t, r.Body["next_cursor"], "the last page")
		s.bad(op, http.StatusBadRequest, log+"?status=lost", "")
		s.bad(op, http.StatusBadRequest, log+"?limit=0", "")
		s.bad(op, http.StatusBadRequest, log+"?cursor=x", "")
		r = s.do(op, http.StatusBadRequest, log+"?cursor=0", "")
		assert.Contains(s.t, fields(r), "cursor")
		s.do(op, http.StatusNotFound, acme+"/webhooks/wh_nope/deliveries", "")
	}},
	{"POST /admin/v1/tenants/{id}/webhooks/{hookID}/deliveries/{deliveryID}/retry", func(s *apiSession) {
		const op = "POST /admin/v1/tenants/{id}/webhooks/{hookID}/deliveries/{deliveryID}/retry"
		log := acme + "/webhooks/" + s.hookID + "/deliveries"
		r := s.do("GET /admin/v1/tenants/{id}/webhooks/{hookID}/deliveries", http.StatusOK, log+"?limit=1", "")
		first := r.Body["deliveries"].([]any)[0].(map[string]any)
		r = s.do(op, http.StatusAccepted, log+"/"+first["id"].(string)+"/retry", "")
		assert.Equal(s.t, "pending", r.Body["status"])
		assert.Equal(s.t, first["event_id"], r.Body["event_id"])
		s.do(op, http.StatusNotFound, log+"/999999/retry", "")
		s.do(op, http.StatusNotFound, log+"/x/retry", "")
		s.do(op, http.StatusNotFound, acme+"/webhooks/wh_nope/deliveries/"+first["id"].(string)+"/retry", "")
	}},
	{"POST /admin/v1/tenants/{id}/webhooks/{hookID}/enable", func(s *apiSession) {
		const op = "POST /admin/v1/tenants/{id}/webhooks/{hookID}/enable"
		r := s.do(op, http.StatusOK, acme+"/webhooks/"+s.hookID+"/enable", "")
		assert.Equal(s.t, "enabled", r.Body["status"], "enabling an enabled endpoint is no error")
		s.do(op, http.StatusNotFound, acme+"/webhooks/wh_nope/enable", "")
	}},
	{"DELETE /admin/v1/tenants/{id}/webhooks/{hookID}", func(s *apiSession) {
		const op = "DELETE /admin/v1/tenants/{id}/webhooks/{hookID}"
		r := s.do("GET /admin/v1/tenants/{id}/webhooks", http.StatusOK, acme+"/webhooks", "")
		var leavers string
		for _, h := range r.Body["webhooks"].([]any) {
			if h := h.(map[string]any); h["id"] != s.hookID {
				leavers = h["id"].(string)
			}
		}
		require.NotEmpty(s.t, leavers)
		s.do(op, http.StatusNoContent, acme+"/webhooks/"+leavers, "")
		s.do(op, http.StatusNotFound, acme+"/webhooks/"+leavers, "")
		s.do("GET /admin/v1/tenants/{id}/webhooks/{hookID}/deliveries", http.StatusNotFound, acme+"/webhooks/"+leavers+"/deliveries", "")
	}},
	{"GET /admin/v1/tenants/{id}/events", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/events"
		r := s.do(op, http.StatusOK, acme+"/events?limit=2", "")
		assert.Len(s.t, r.Body["events"], 2)
		assert.Equal(s.t, true, r.Body["has_more"])
		// Every event of the session so far, each checked against the
		// document: the types the session's changes make are all there.
		types := map[string]bool{}
		for {
			for _, e := range r.Body["events"].([]any) {
				types[e.(map[string]any)["type"].(string)] = true
			}
			if r.Body["has_more"] != true {
				break
			}
			r = s.do(op, http.StatusOK, acme+"/events?limit=1000&after="+r.Body["next_cursor"].(string), "")
		}
		for _, typ := range []string{"user.created", "user.updated", "user.deactivated", "user.role_changed", "user.deleted",
			"team.created", "team.updated", "team.deleted", "team.members_added", "team.members_removed",
			"seat.consumed", "seat.released", "approval.requested", "approval.decided", "sso.configured",
			"token.created", "token.revoked"} {
			assert.True(s.t, types[typ], "the session made a %s event", typ)
		}
		cursor := r.Body["next_cursor"].(string)
		r = s.do(op, http.StatusOK, acme+"/events?after="+cursor, "")
		assert.Equal(s.t, []any{}, r.Body["events"])
		assert.Equal(s.t, cursor, r.Body["next_cursor"], "nothing new: the same cursor back")
		assert.Equal(s.t, false, r.Body["has_more"])
		r = s.do(op, http.StatusOK, "/admin/v1/tenants/globex/events?after=", "")
		assert.Contains(s.t, r.Raw, `"sso.removed"`)
		s.bad(op, http.StatusBadRequest, acme+"/events?after=x", "")
		s.bad(op, http.StatusBadRequest, acme+"/events?limit=1001", "")
		r = s.do(op, http.StatusBadRequest, acme+"/events?since=1", "")
		assert.Contains(s.t, fields(r), "since")
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/events", "")
	}},
	{"GET /admin/v1/tenants/{id}/seats/usage", func(s *apiSession) {
		const op = "GET /admin/v1/tenants/{id}/seats/usage"
		r := s.do(op, http.StatusOK, acme+"/seats/usage", "")
		assert.Len(s.t, r.Body["points"], 30, "the last 30 days by default")
		today := s.c.now.UTC()
		week := acme + "/seats/usage?from=" + today.AddDate(0, 0, -20).Format(time.DateOnly) + "&to=" + today.Format(time.DateOnly) + "&interval=week"
		r = s.do(op, http.StatusOK, week, "")
		assert.Equal(s.t, "week", r.Body["interval"])
		r = s.do(op, http.StatusOK, week+"&format=csv", "")
		assert.True(s.t, strings.HasPrefix(r.Raw, "start,end,at,consumed,"), r.Raw)
		s.do(op, http.StatusOK, acme+"/seats/usage?interval=month", "", "Accept", "text/csv")
		s.bad(op, http.StatusBadRequest, acme+"/seats/usage?from=yesterday", "")
		s.bad(op, http.StatusBadRequest, acme+"/seats/usage?interval=hour&format=xml", "")
		r = s.do(op, http.StatusBadRequest, acme+"/seats/usage?from=2026-12-01&to=2026-11-01", "")
		assert.Contains(s.t, fields(r), "from")
		s.do(op, http.StatusNotFound, "/admin/v1/tenants/nope/seats/usage", "")
	}},
	{publicRoute, func(s *apiSession) {
		r := s.call(publicRoute, http.StatusOK, req{path: admin.OpenAPIPath, as: &cred{}})
		assert.Equal(s.t, "3.1.0", r.Body["openapi"])
	}},
}

// teamID is the id of acme's team of that name.
func (s *apiSession) teamID(name string) string {
	s.t.Helper()
	r := s.do("GET /admin/v1/tenants/{id}/teams", http.StatusOK, acme+"/teams", "")
	for _, list := range []string{"teams", "role_groups"} {
		for _, x := range r.Body[list].([]any) {
			if team := x.(map[string]any); team["display_name"] == name {
				return team["id"].(string)
			}
		}
	}
	s.t.Fatalf("acme has no team %q: %s", name, r.Raw)
	return ""
}

// checkRefusals calls every documented operation as the refusals every
// route shares: no credential (401, then 429 past the failure budget), a
// key of the tenant without the route's permission (403; for the
// operator's routes, a key with every permission), and another tenant's
// key on the tenant's paths (404, as for a tenant that does not exist).
func (s *apiSession) checkRefusals() {
	table := s.c.api.RouteNeeds()
	none := s.key("acme", "refused-none")
	all := s.key("acme", "refused-all", access.AllFlags()...)
	ops := documentedOps(s.doc)
	names := make([]string, 0, len(ops))
	for name := range ops {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		need, route := table[name]
		if !route {
			continue // the public document, and routes not built yet
		}
		_, pattern, _ := strings.Cut(name, " ")
		path := strings.NewReplacer("{id}", "acme").Replace(pattern)
		for _, p := range []string{"{tokenID}", "{keyID}", "{role}", "{aid}", "{jobID}", "{store}", "{userID}", "{teamID}", "{hookID}", "{deliveryID}"} {
			path = strings.ReplaceAll(path, p, "nope")
		}
		require.NotContains(s.t, path, "{", "checkRefusals needs a value for a parameter of %s", name)
		// Failed authentications spend a budget per second: the clock moves
		// on so that each is a 401.
		s.c.now = s.c.now.Add(time.Second)
		s.call(name, http.StatusUnauthorized, req{path: path, as: &cred{}, invalid: true})
		switch need {
		case "operator":
			s.call(name, http.StatusForbidden, req{path: path, as: &all, invalid: true})
		case "":
		default:
			s.call(name, http.StatusForbidden, req{path: path, as: &none, invalid: true})
		}
		if strings.Contains(pattern, "{id}") {
			r := s.call(name, http.StatusNotFound, req{path: path, as: &s.globexKey, invalid: true})
			assert.Contains(s.t, r.Body["message"], `no tenant "acme"`, name)
		}
	}
	// Past the failure budget of the source: 429 with Retry-After.
	wrong := cred{bearer: "rsk_0000000000000000_" + strings.Repeat("A", 43)}
	var r response
	for range 100 {
		if r = s.call("GET /admin/v1/tenants", 0, req{path: "/admin/v1/tenants", as: &wrong, invalid: true}); r.Status != http.StatusUnauthorized {
			break
		}
	}
	assert.Equal(s.t, http.StatusTooManyRequests, r.Status, r.Raw)
	assert.NotEmpty(s.t, r.Header.Get("Retry-After"))
}
