package main

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/logger"
	"github.com/rs/zerolog"
	dsig "github.com/russellhaering/goxmldsig"

	rsaml "github.com/roster-dev/roster/saml"
)

// The demo tenant's bundled test IdP, served by rosterd itself on the
// in-memory store only (handlerDeps.DemoIdP), so that a newcomer can sign in
// to the demo tenant: open {base}/saml/demo/login, type the userName of a
// user provisioned over SCIM, and land signed in (GET /api/v1/session).
//
// It signs in whoever is typed, with the demo key pair whose private key is
// public: it exists only where everything is throwaway demo data. It follows
// the demo tenant's stored SAML configuration (entity ID and SSO URL), and
// knows one SP: the demo tenant's.

// mountDemoIdP registers GET {demoIdPPath}/sso and /metadata.
func mountDemoIdP(mux *http.ServeMux, d handlerDeps) {
	mux.HandleFunc("GET "+demoIdPPath+"/sso", func(w http.ResponseWriter, r *http.Request) {
		idp, err := demoIdP(r.Context(), d)
		if err != nil {
			zerolog.Ctx(r.Context()).Error().Err(err).Msg("demo IdP")
			http.Error(w, "the demo IdP is not available: "+err.Error(), http.StatusInternalServerError)
			return
		}
		idp.ServeSSO(w, r)
	})
	mux.HandleFunc("GET "+demoIdPPath+"/metadata", func(w http.ResponseWriter, r *http.Request) {
		cfg, err := d.Store.GetSAMLConfig(r.Context(), demoTenantID)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", rsaml.MetadataContentType)
		_, _ = w.Write([]byte(cfg.MetadataXML))
	})
}

// demoIdP builds the IdP for this request from the demo tenant's SAML
// configuration and SP.
func demoIdP(ctx context.Context, d handlerDeps) (*saml.IdentityProvider, error) {
	cfg, err := d.Store.GetSAMLConfig(ctx, demoTenantID)
	if err != nil {
		return nil, err
	}
	key, cert, err := rsaml.ParseKeyPair(demoIdPCertPEM, demoIdPKeyPEM)
	if err != nil {
		return nil, err
	}
	md, err := url.Parse(cfg.EntityID)
	if err != nil {
		return nil, err
	}
	sso, err := url.Parse(cfg.SSOURL)
	if err != nil {
		return nil, err
	}
	sp, err := tenantSP(ctx, d, demoTenantID)
	if err != nil {
		return nil, err
	}
	return &saml.IdentityProvider{
		Key: key, Certificate: cert, Logger: logger.DefaultLogger, SignatureMethod: dsig.RSASHA256SignatureMethod,
		MetadataURL: *md, SSOURL: *sso,
		ServiceProviderProvider: demoSP{sp.ServiceProvider(nil).Metadata()},
		SessionProvider:         demoUser{},
	}, nil
}

type demoSP struct{ md *saml.EntityDescriptor }

func (p demoSP) GetServiceProvider(_ *http.Request, id string) (*saml.EntityDescriptor, error) {
	if id != p.md.EntityID {
		return nil, os.ErrNotExist
	}
	return p.md, nil
}

// demoUser asks who to sign in as: the form re-sends the AuthnRequest's
// query with user=….
type demoUser struct{}

func (demoUser) GetSession(w http.ResponseWriter, r *http.Request, _ *saml.IdpAuthnRequest) *saml.Session {
	user := strings.TrimSpace(r.URL.Query().Get("user"))
	if user != "" {
		return &saml.Session{ID: "demo", NameID: user, NameIDFormat: string(saml.EmailAddressNameIDFormat), UserEmail: user}
	}
	q := r.URL.Query()
	q.Del("user")
	fields := map[string]string{}
	for k := range q {
		fields[k] = q.Get(k)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	if err := demoLoginPage.Execute(w, fields); err != nil && !errors.Is(err, http.ErrHandlerTimeout) {
		zerolog.Ctx(r.Context()).Warn().Err(err).Msg("demo IdP page")
	}
	return nil
}

var demoLoginPage = template.Must(template.New("demo-idp").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Demo IdP · Roster</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}</style>
</head><body>
<h1>Demo identity provider</h1>
<p>This test IdP signs in whoever you name, for the demo tenant only. Type the userName of a
user provisioned over SCIM.</p>
<form method="get">
{{range $k, $v := .}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<label>userName <input name="user" autofocus required></label>
<button type="submit">Sign in</button>
</form>
</body></html>
`))
