package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/rs/zerolog"

	rsaml "github.com/roster-dev/roster/saml"
	"github.com/roster-dev/roster/store"
)

// mountSAML registers SAML SSO under /saml/{tenant}/ (saml/): the SP
// metadata an admin gives their IdP.
func mountSAML(mux *http.ServeMux, d handlerDeps) {
	mux.Handle("GET /saml/{tenant}/metadata", rsaml.MetadataHandler(func(ctx context.Context, tenant string) (rsaml.SP, error) {
		sp, err := tenantSP(ctx, d, tenant)
		if err != nil && !errors.Is(err, rsaml.ErrUnknownTenant) {
			zerolog.Ctx(ctx).Error().Err(err).Str("tenant", tenant).Msg("SP metadata")
		}
		return sp, err
	}))
	sessions(d).RegisterSAML(mux) // GET /saml/{tenant}/login, POST /saml/{tenant}/acs (routes_app.go)
	if d.DemoIdP {
		mountDemoIdP(mux, d) // demo_idp.go
	}
}

// tenantSP is the tenant's service provider: entity ID and ACS URL under
// ROSTER_BASE_URL, and the tenant's own SP key pair, made on first use and
// kept in the store (SPKeyPair). Every existing tenant has one, whatever its
// plan: an admin configures the IdP side before uploading the IdP metadata.
// An unknown tenant is rsaml.ErrUnknownTenant.
func tenantSP(ctx context.Context, d handlerDeps, tenantID string) (rsaml.SP, error) {
	keyPEM, certPEM, err := d.Store.SPKeyPair(ctx, tenantID, func() ([]byte, []byte, error) {
		cert, key, err := rsaml.NewKeyPair(d.Random, d.Now(), "Roster SP "+tenantID)
		return key, cert, err
	})
	if errors.Is(err, store.ErrNotFound) {
		return rsaml.SP{}, fmt.Errorf("tenant %q: %w", tenantID, rsaml.ErrUnknownTenant)
	}
	if err != nil {
		return rsaml.SP{}, err
	}
	key, cert, err := rsaml.ParseKeyPair(certPEM, keyPEM)
	if err != nil {
		return rsaml.SP{}, fmt.Errorf("tenant %q: stored SP key pair: %w", tenantID, err)
	}
	return rsaml.SP{BaseURL: d.BaseURL, TenantID: tenantID, Key: key, Certificate: cert}, nil
}
