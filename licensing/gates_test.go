package licensing_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/licensing"
)

// TestCheckSCIM_everyGateCombination covers the 4 plans × SSO none, valid,
// expired certificate and deleted configuration.
func TestCheckSCIM_everyGateCombination(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	ssoCases := map[string]licensing.SSOStatus{
		"none":         {},
		"valid":        {Configured: true, CertNotAfter: now.Add(24 * time.Hour)},
		"expired cert": {Configured: true, CertNotAfter: now.Add(-time.Second)},
		"expires now":  {Configured: true, CertNotAfter: now},
		"deleted":      {Configured: false, CertNotAfter: now.Add(24 * time.Hour)},
	}
	for _, plan := range licensing.PlanIDs() {
		for ssoName, sso := range ssoCases {
			t.Run(plan+"/"+ssoName, func(t *testing.T) {
				err := licensing.CheckSCIM("acme", plan, sso, now)
				var gate *licensing.GateError
				switch {
				case plan != licensing.Ultimate:
					require.True(t, errors.As(err, &gate))
					assert.Equal(t, "plan", gate.Gate, "the plan gate comes first")
					assert.Contains(t, gate.Detail, "("+plan+") plan of tenant acme")
					assert.Contains(t, gate.Detail, "needs the ultimate plan")
				case ssoName == "valid":
					assert.NoError(t, err)
				case ssoName == "expired cert" || ssoName == "expires now":
					require.True(t, errors.As(err, &gate))
					assert.Equal(t, "sso", gate.Gate)
					assert.Contains(t, gate.Detail, "signing certificate expired on")
					assert.Contains(t, gate.Detail, "upload your IdP's current SAML metadata")
				default:
					require.True(t, errors.As(err, &gate))
					assert.Equal(t, "sso", gate.Gate)
					assert.Contains(t, gate.Detail, "SAML SSO must be configured for tenant acme before SCIM")
				}
			})
		}
	}
	err := licensing.CheckSCIM("acme", "gold", licensing.SSOStatus{}, now)
	assert.ErrorContains(t, err, `unknown "gold" plan`)
}

// TestSCIMReadiness: every combination of plan, SSO state and tokens gives
// one check per gate, in order, that says which gate fails and what to
// change; the plan and SSO checks pass exactly when CheckSCIM admits a
// request; ready needs all three.
func TestSCIMReadiness(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	ssoCases := map[string]licensing.SSOStatus{
		"none":          {},
		"valid":         {Configured: true, CertNotAfter: now.Add(400 * 24 * time.Hour)},
		"expiring soon": {Configured: true, CertNotAfter: now.Add(10 * 24 * time.Hour)},
		"expired cert":  {Configured: true, CertNotAfter: now.Add(-time.Second)},
	}
	for _, plan := range append(licensing.PlanIDs(), "gold") {
		for ssoName, sso := range ssoCases {
			for _, tokens := range []int{0, 2} {
				r := licensing.SCIMReadiness("acme", plan, sso, tokens, now)
				name := plan + "/" + ssoName
				require.Len(t, r.Checks, 3, name)
				assert.Equal(t, []string{"plan", "sso", "token"}, []string{r.Checks[0].Gate, r.Checks[1].Gate, r.Checks[2].Gate})
				gatesOpen := licensing.CheckSCIM("acme", plan, sso, now) == nil
				assert.Equal(t, gatesOpen, r.Checks[0].OK && r.Checks[1].OK, name)
				assert.Equal(t, gatesOpen && tokens > 0, r.Ready, name)
				if !r.Checks[0].OK {
					assert.Contains(t, r.Checks[0].Detail, "change the tenant's plan to ultimate", name)
				}
				switch ssoName {
				case "none":
					assert.Contains(t, r.Checks[1].Detail, "upload the IdP's SAML metadata", name)
				case "expired cert":
					assert.Contains(t, r.Checks[1].Detail, "expired on 2026-11-22 11:59 UTC", name)
				case "expiring soon":
					assert.True(t, r.Checks[1].OK)
					require.Len(t, r.Warnings, 1)
					assert.Contains(t, r.Warnings[0], "expires on 2026-12-02 12:00 UTC (in 10 days)")
				case "valid":
					assert.Contains(t, r.Checks[1].Detail, "valid until 2027-12-27 12:00 UTC")
					assert.Empty(t, r.Warnings)
				}
				if tokens == 0 {
					assert.Contains(t, r.Checks[2].Detail, "rosterd token create acme NAME", name)
				} else {
					assert.Equal(t, "2 SCIM token(s) can authenticate", r.Checks[2].Detail)
				}
			}
		}
	}
}

func TestSSOWarnings(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	valid := licensing.SSOStatus{Configured: true, CertNotAfter: now.Add(400 * 24 * time.Hour)}
	assert.Empty(t, licensing.SSOWarnings("acme", licensing.Ultimate, valid, now))
	w := licensing.SSOWarnings("acme", licensing.Enterprise, valid, now)
	require.Len(t, w, 1)
	assert.Equal(t, "the Enterprise (enterprise) plan of tenant acme does not include SAML SSO: the metadata is stored, "+
		"but sign-in and SCIM stay off until the tenant's plan is changed to ultimate", w[0])
	soon := licensing.SSOStatus{Configured: true, CertNotAfter: now.Add(5 * 24 * time.Hour)}
	w = licensing.SSOWarnings("acme", licensing.Trial, soon, now)
	require.Len(t, w, 2)
	assert.Contains(t, w[1], "in 5 days")
}
