package licensing

import (
	"fmt"
	"strings"
	"time"
)

// SSOStatus is what a gate needs to know of a tenant's SAML configuration.
type SSOStatus struct {
	Configured   bool
	CertNotAfter time.Time // the latest NotAfter among the IdP's signing certificates
}

// GateError is a refusal of SCIM for a tenant: Detail says what to change.
type GateError struct {
	Gate   string // "plan" or "sso"
	Detail string
}

func (e *GateError) Error() string { return e.Detail }

// CheckSCIM applies the gates in front of every SCIM request, in order: the
// plan includes SCIM; the tenant has SAML SSO configured with an IdP signing
// certificate that is still valid at now.
func CheckSCIM(tenantID, planID string, sso SSOStatus, now time.Time) error {
	plan, ok := Lookup(planID)
	if !ok || !plan.Has(SCIM) {
		return &GateError{Gate: "plan", Detail: fmt.Sprintf(
			"SCIM provisioning is not included in the %s plan of tenant %s; it needs the %s plan: ask your Roster administrator to upgrade",
			planName(planID), tenantID, strings.Join(PlansWith(SCIM), " or "))}
	}
	switch {
	case !sso.Configured:
		return &GateError{Gate: "sso", Detail: fmt.Sprintf(
			"SAML SSO must be configured for tenant %s before SCIM provisioning can be used: upload your IdP's SAML metadata in Roster first", tenantID)}
	case !now.Before(sso.CertNotAfter):
		return &GateError{Gate: "sso", Detail: fmt.Sprintf(
			"the SAML SSO configuration of tenant %s is no longer valid: the IdP signing certificate expired on %s; upload your IdP's current SAML metadata in Roster",
			tenantID, sso.CertNotAfter.UTC().Format("2006-01-02 15:04 MST"))}
	}
	return nil
}

func planName(id string) string {
	if p, ok := Lookup(id); ok {
		return p.Name + " (" + p.ID + ")"
	}
	return fmt.Sprintf("unknown %q", id)
}
