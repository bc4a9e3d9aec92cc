package main

import (
	"net/http"

	"github.com/roster-dev/roster/session"
)

// mountApp registers the application API under /api/v1/: the session a SAML
// sign-in started (session/).
func mountApp(mux *http.ServeMux, d handlerDeps) {
	sessions(d).RegisterApp(mux)
}

// sessions is sign-in and the application sessions (session/); it keeps no
// state of its own, so the SAML and the application routes may each build one.
// rosterd serves no application pages, so a browser lands on the session it
// just started.
func sessions(d handlerDeps) *session.Service {
	return session.New(session.Config{Store: d.Store, BaseURL: d.BaseURL, Now: d.Now, Random: d.Random, Landing: landingPath})
}

// landingPath is where a browser goes after signing in.
const landingPath = "/api/v1/session"
