package admin

import (
	"context"
	"errors"

	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// scimReadyView is the answer to "is this tenant ready for SCIM?" on the
// tenant (GET /admin/v1/tenants/{id}) and after a SAML upload: each
// prerequisite, whether it holds, and what to change when it does not
// (licensing.SCIMReadiness).
type scimReadyView struct {
	Ready    bool            `json:"ready"`
	Checks   []readinessView `json:"checks"`
	Warnings []string        `json:"warnings"`
}

type readinessView struct {
	Gate   string `json:"gate"` // plan, sso, token
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// ssoStatus is what the gates see of the tenant's SAML configuration.
func (a *API) ssoStatus(ctx context.Context, tenantID string) (licensing.SSOStatus, error) {
	cfg, err := a.store.GetSAMLConfig(ctx, tenantID)
	if errors.Is(err, store.ErrNotFound) {
		return licensing.SSOStatus{}, nil
	}
	if err != nil {
		return licensing.SSOStatus{}, err
	}
	return licensing.SSOStatus{Configured: true, CertNotAfter: cfg.CertNotAfter}, nil
}

// scimReadiness reads what the readiness answer needs: the SAML
// configuration and the tokens that are not revoked.
func (a *API) scimReadiness(ctx context.Context, t store.Tenant) (*scimReadyView, error) {
	sso, err := a.ssoStatus(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	tokens, err := a.store.ListTokens(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	active := 0
	for _, tok := range tokens {
		if tok.RevokedAt == nil {
			active++
		}
	}
	r := licensing.SCIMReadiness(t.ID, t.Plan, sso, active, a.now())
	v := &scimReadyView{Ready: r.Ready, Checks: make([]readinessView, 0, len(r.Checks)), Warnings: r.Warnings}
	if v.Warnings == nil {
		v.Warnings = []string{}
	}
	for _, c := range r.Checks {
		v.Checks = append(v.Checks, readinessView{Gate: c.Gate, OK: c.OK, Detail: c.Detail})
	}
	return v, nil
}
