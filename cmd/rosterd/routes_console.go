package main

import (
	"net/http"

	"github.com/roster-dev/roster/console"
)

// mountConsole registers the tenant console, /console/{tenant}/ (console/),
// and its assets under /assets/console/. The console calls the admin API
// in process through mux itself, so mount it after the admin routes.
func mountConsole(mux *http.ServeMux, d handlerDeps) {
	console.New(console.Config{Store: d.Store, API: mux, BaseURL: d.BaseURL, Now: d.Now, Logger: d.Logger}).Register(mux)
}
