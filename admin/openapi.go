package admin

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the OpenAPI 3.1 description of this API
// (admin/openapi.json). It is written by hand, next to the handlers whose
// answers it describes, and kept true by tests rather than generated: the
// route table must match its paths (TestOpenAPI_documentMatchesRouteTable)
// and every answer of a realistic session must validate against it
// (TestOpenAPI_realAnswersMatchDocument). Generating it from the Go types
// would not say which status codes, errors and permissions each route has,
// which is most of what a reader needs.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPIPath is where the document is served, without a credential: it
// is public documentation and says nothing a tenant's data would.
const openAPIPath = "/admin/v1/openapi.json"

// OpenAPI returns the OpenAPI 3.1 description of the admin API, as served
// at GET /admin/v1/openapi.json.
func OpenAPI() []byte {
	out := make([]byte, len(openAPIDocument))
	copy(out, openAPIDocument)
	return out
}

// serveOpenAPI answers the document. It is registered beside the route
// table, not in it: the table is of routes that authenticate.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPIDocument)
}
