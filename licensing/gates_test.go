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
