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

// CertWarningWindow is how long before the IdP signing certificate expires
// the readiness answer starts warning: time to get the IdP's renewed
// metadata before SCIM and sign-in stop.
const CertWarningWindow = 30 * 24 * time.Hour

// ReadinessCheck is one prerequisite of SCIM provisioning for a tenant.
type ReadinessCheck struct {
	Gate   string // "plan", "sso" or "token"
	OK     bool
	Detail string // what holds; or what is wrong and what to change
}

// Readiness answers "is this tenant ready for SCIM?": every prerequisite,
// in the order an IdP's first request meets them, each saying whether it
// holds and what to change when it does not. Ready is true when all hold.
type Readiness struct {
	Ready    bool
	Checks   []ReadinessCheck
	Warnings []string // things that hold now but will not for long (an expiring certificate)
}

// SCIMReadiness checks the gates of CheckSCIM — the plan includes SCIM, SAML
// SSO is configured with an IdP signing certificate valid at now — and that
// the tenant has a SCIM token an IdP can authenticate with (activeTokens:
// tokens not revoked). The plan and SSO checks hold exactly when CheckSCIM
// lets a request through.
func SCIMReadiness(tenantID, planID string, sso SSOStatus, activeTokens int, now time.Time) Readiness {
	var r Readiness
	add := func(gate string, ok bool, format string, a ...any) {
		r.Checks = append(r.Checks, ReadinessCheck{Gate: gate, OK: ok, Detail: fmt.Sprintf(format, a...)})
	}
	plan, known := Lookup(planID)
	if known && plan.Has(SCIM) {
		add("plan", true, "the %s plan includes SCIM", planName(planID))
	} else {
		add("plan", false, "the %s plan does not include SCIM; change the tenant's plan to %s",
			planName(planID), strings.Join(PlansWith(SCIM), " or "))
	}
	expiry := sso.CertNotAfter.UTC().Format("2006-01-02 15:04 MST")
	switch {
	case !sso.Configured:
		add("sso", false, "no SAML SSO is configured; upload the IdP's SAML metadata (PUT /admin/v1/tenants/%s/saml, rosterd saml set %s FILE)",
			tenantID, tenantID)
	case !now.Before(sso.CertNotAfter):
		add("sso", false, "the IdP signing certificate expired on %s; upload the IdP's current SAML metadata", expiry)
	default:
		add("sso", true, "SAML SSO is configured; the IdP signing certificate is valid until %s", expiry)
		r.Warnings = append(r.Warnings, certWarnings(sso, now)...)
	}
	if activeTokens > 0 {
		add("token", true, "%d SCIM token(s) can authenticate", activeTokens)
	} else {
		add("token", false, "the tenant has no SCIM token; create one (POST /admin/v1/tenants/%s/tokens, rosterd token create %s NAME) and enter it in the IdP",
			tenantID, tenantID)
	}
	r.Ready = true
	for _, c := range r.Checks {
		r.Ready = r.Ready && c.OK
	}
	return r
}

// SSOWarnings are what an operator uploading IdP metadata should know even
// though the upload was accepted: the tenant's plan does not include SAML SSO
// (the configuration is kept, but nobody can sign in and SCIM stays refused),
// or the signing certificate expires soon.
func SSOWarnings(tenantID, planID string, sso SSOStatus, now time.Time) []string {
	var out []string
	if p, ok := Lookup(planID); !ok || !p.Has(SAMLSSO) {
		out = append(out, fmt.Sprintf(
			"the %s plan of tenant %s does not include SAML SSO: the metadata is stored, but sign-in and SCIM stay off until the tenant's plan is changed to %s",
			planName(planID), tenantID, strings.Join(PlansWith(SAMLSSO), " or ")))
	}
	return append(out, certWarnings(sso, now)...)
}

// certWarnings warns of a configured IdP signing certificate that is still
// valid but expires within CertWarningWindow.
func certWarnings(sso SSOStatus, now time.Time) []string {
	left := sso.CertNotAfter.Sub(now)
	if !sso.Configured || left <= 0 || left >= CertWarningWindow {
		return nil
	}
	return []string{fmt.Sprintf(
		"the IdP signing certificate expires on %s (in %d days): upload the IdP's renewed SAML metadata before then, or SCIM and sign-in stop",
		sso.CertNotAfter.UTC().Format("2006-01-02 15:04 MST"), int(left.Hours()/24))}
}
