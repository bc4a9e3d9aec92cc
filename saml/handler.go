package saml

import (
	"context"
	"errors"
	"net/http"
)

// ErrUnknownTenant is what a MetadataHandler lookup wraps for a tenant that
// does not exist or has no SAML SSO; the handler answers 404.
var ErrUnknownTenant = errors.New("saml: unknown tenant")

// MetadataContentType is the media type of SAML metadata (RFC 7303 style
// registration in SAML metadata §4.1.1).
const MetadataContentType = "application/samlmetadata+xml"

// MetadataHandler serves GET (and HEAD) /saml/{tenant}/metadata: the tenant's
// SP metadata. Register it with the pattern "GET /saml/{tenant}/metadata".
// lookup resolves the tenant; whether the tenant's plan includes SSO is its
// business, and an error wrapping ErrUnknownTenant gives 404. Any other
// error gives a bare 500: the caller's lookup logs its own causes.
func MetadataHandler(lookup func(ctx context.Context, tenant string) (SP, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		tenant := r.PathValue("tenant")
		if tenant == "" {
			http.NotFound(w, r)
			return
		}
		sp, err := lookup(r.Context(), tenant)
		if errors.Is(err, ErrUnknownTenant) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		body, err := sp.Metadata()
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", MetadataContentType)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	})
}
