package main

import "net/http"

// mountApp registers the application API under /api/v1/ (sessions).
func mountApp(mux *http.ServeMux, d handlerDeps) {
	_, _ = mux, d
}
