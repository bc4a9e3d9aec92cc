package admin_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../testdata/saml/" + name)
	require.NoError(t, err)
	return string(b)
}

// TestAdmin_saml uploads real IdP metadata shapes and every broken fixture:
// good ones are stored and summarised, bad ones are a 400 naming the fault
// and leave the previous configuration in place.
func TestAdmin_saml(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","plan":"ultimate","seats":10}`).Status)
		assert.Equal(t, http.StatusNotFound, c.do("GET", "/admin/v1/tenants/acme/saml", "").Status, "none yet")

		for file, want := range map[string]struct{ entity, sso, notAfter string }{
			"okta.xml":         {"http://www.okta.com/exk8f3ktx2RkVcN4W5d7", "https://acme-corp.okta.com/", "2060-06-01"},
			"entra.xml":        {"https://sts.windows.net/", "https://login.microsoftonline.com/", "2061-03-01"},
			"onelogin.xml":     {"https://app.onelogin.com/saml/metadata/", "https://globex.onelogin.com/", "2059-09-15"},
			"adfs-wrapped.xml": {"http://adfs.initech.example/adfs/services/trust", "https://adfs.initech.example/adfs/ls/", "2057-12-31"},
		} {
			r := c.do("PUT", "/admin/v1/tenants/acme/saml", fixture(t, file), "Content-Type", "application/samlmetadata+xml")
			require.Equal(t, http.StatusOK, r.Status, "%s: %s", file, r.Raw)
			assert.True(t, strings.HasPrefix(r.Body["entity_id"].(string), want.entity), file)
			assert.True(t, strings.HasPrefix(r.Body["sso_url"].(string), want.sso), "%s: %v", file, r.Body["sso_url"])
			assert.True(t, strings.HasPrefix(r.Body["certificate_not_after"].(string), want.notAfter), "%s: %v", file, r.Body["certificate_not_after"])
		}
		r := c.do("PUT", "/admin/v1/tenants/acme/saml", fixture(t, "okta.xml"))
		require.Equal(t, http.StatusOK, r.Status)

		bad := map[string]string{
			"sp-metadata.xml":         "IDPSSODescriptor",
			"no-signing-cert.xml":     "KeyDescriptor",
			"expired-cert.xml":        "KeyDescriptor",
			"bad-cert.xml":            "KeyDescriptor",
			"javascript-url.xml":      "Location",
			"doctype.xml":             "metadata",
			"expired-validuntil.xml":  "validUntil",
			"no-sso.xml":              "SingleSignOnService",
			"not-xml.txt":             "metadata",
			"no-entityid.xml":         "entityID",
			"(empty)":                 "metadata",
			"(oversized, 300 KiB)":    "metadata",
			"(oversized, 2 MiB)":      "metadata",
			"(JSON instead of XML)":   "metadata",
			"(DTD-only entity bomb)":  "metadata",
			"(IdP list, not an IdP)":  "IDPSSODescriptor",
			"(javascript: SSO URL)":   "Location",
			"(unparseable XML tail)":  "metadata",
			"(HTML error page saved)": "metadata",
		}
		okta := fixture(t, "okta.xml")
		inline := map[string]string{
			"(empty)":                 "",
			"(oversized, 300 KiB)":    okta + strings.Repeat("<!-- padding -->", 300<<10/16),
			"(oversized, 2 MiB)":      strings.Repeat("x", 2<<20),
			"(JSON instead of XML)":   `{"entityID":"https://idp"}`,
			"(DTD-only entity bomb)":  `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><EntityDescriptor>&lol2;</EntityDescriptor>`,
			"(IdP list, not an IdP)":  `<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"></EntitiesDescriptor>`,
			"(javascript: SSO URL)":   strings.Replace(okta, "https://acme-corp.okta.com/", "javascript:alert(1)//", 1),
			"(unparseable XML tail)":  okta[:len(okta)/2],
			"(HTML error page saved)": `<html><body>502 Bad Gateway</body></html>`,
		}
		for name, field := range bad {
			doc, ok := inline[name]
			if !ok {
				doc = fixture(t, name)
			}
			r := c.do("PUT", "/admin/v1/tenants/acme/saml", doc)
			require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", name, r.Raw)
			assert.Equal(t, "invalid_metadata", r.Body["error"], name)
			f := fields(r)
			assert.Contains(t, f, field, "%s names %s: %s", name, field, r.Raw)
			assert.NotEmpty(t, r.Body["message"], name)
			cfg, err := c.store.GetSAMLConfig(t.Context(), "acme")
			require.NoError(t, err)
			assert.Equal(t, "http://www.okta.com/exk8f3ktx2RkVcN4W5d7", cfg.EntityID, "%s: the previous configuration is kept", name)
		}

		r = c.do("GET", "/admin/v1/tenants/acme/saml", "")
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, true, r.Body["valid"])
		assert.NotContains(t, r.Body, "problem")

		// A certificate that expires after upload: GET says so.
		c.now = time.Date(2060, 6, 2, 0, 0, 0, 0, time.UTC)
		r = c.do("GET", "/admin/v1/tenants/acme/saml", "")
		assert.Equal(t, false, r.Body["valid"])
		assert.Contains(t, r.Body["problem"], "expired on 2060-06-01")
		c.now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

		// On a plan without SAML SSO the configuration is kept and flagged.
		require.Equal(t, http.StatusOK, c.do("PATCH", "/admin/v1/tenants/acme", `{"plan":"enterprise"}`).Status)
		r = c.do("GET", "/admin/v1/tenants/acme/saml", "")
		assert.Contains(t, r.Body["problem"], "enterprise plan does not include SAML SSO")

		assert.Equal(t, http.StatusNotFound, c.do("PUT", "/admin/v1/tenants/nope/saml", okta).Status)
		assert.Equal(t, http.StatusNoContent, c.do("DELETE", "/admin/v1/tenants/acme/saml", "").Status)
		assert.Equal(t, http.StatusNotFound, c.do("GET", "/admin/v1/tenants/acme/saml", "").Status)
		assert.Equal(t, http.StatusNotFound, c.do("DELETE", "/admin/v1/tenants/acme/saml", "").Status)

		// The trail: one event per successful change, with the entity ids
		// before and after, never the document.
		r = c.do("GET", "/admin/v1/tenants/acme/audit?action=saml.updated&limit=500", "")
		assert.Len(t, r.Body["events"], 5, "4 shapes and okta again; refused uploads record nothing")
		r = c.do("GET", "/admin/v1/tenants/acme/audit?action=saml.deleted", "")
		events := r.Body["events"].([]any)
		require.Len(t, events, 1)
		before := events[0].(map[string]any)["before"].(map[string]any)
		assert.Equal(t, "http://www.okta.com/exk8f3ktx2RkVcN4W5d7", before["entity_id"])
		raw := c.do("GET", "/admin/v1/tenants/acme/audit?limit=500", "").Raw
		assert.NotContains(t, raw, "X509Certificate", "the metadata document is not copied into the trail")
	})
}

// TestAdmin_auditInTheTransaction: every admin change leaves exactly one
// event naming the operator and the request; a deleted tenant's deletion is
// in the operator trail.
func TestAdmin_auditInTheTransaction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","plan":"ultimate","seats":10}`, "X-Request-Id", "r1").Status)
		require.Equal(t, http.StatusOK, c.do("PUT", "/admin/v1/tenants/acme/saml", fixture(t, "okta.xml"), "X-Request-Id", "r2").Status)
		tok := c.do("POST", "/admin/v1/tenants/acme/tokens", `{"name":"okta"}`, "X-Request-Id", "r3")
		require.Equal(t, http.StatusCreated, tok.Status)
		require.Equal(t, http.StatusNoContent, c.do("DELETE", "/admin/v1/tenants/acme/tokens/"+tok.Body["id"].(string), "", "X-Request-Id", "r4").Status)
		require.Equal(t, http.StatusBadRequest, c.do("PATCH", "/admin/v1/tenants/acme", `{"plan":"gold"}`, "X-Request-Id", "r5").Status)
		require.Equal(t, http.StatusOK, c.do("PATCH", "/admin/v1/tenants/acme", `{"seats":12}`, "X-Request-Id", "r6").Status)

		r := c.do("GET", "/admin/v1/tenants/acme/audit", "")
		type row struct{ Action, RequestID string }
		var got []row
		for _, e := range r.Body["events"].([]any) {
			m := e.(map[string]any)
			actor := m["actor"].(map[string]any)
			assert.Equal(t, "admin", actor["kind"])
			got = append(got, row{m["action"].(string), actor["request_id"].(string)})
		}
		assert.Equal(t, []row{
			{"tenant.updated", "r6"}, {"token.revoked", "r4"}, {"token.created", "r3"}, {"saml.updated", "r2"}, {"tenant.created", "r1"},
		}, got, "the refused PATCH (r5) recorded nothing")
		assert.NotContains(t, r.Raw, tok.Body["token"].(string))
		assert.NotContains(t, r.Raw, "Hash")

		require.Equal(t, http.StatusNoContent, c.do("DELETE", "/admin/v1/tenants/acme?confirm=acme", "", "X-Request-Id", "r7").Status)
		assert.Equal(t, http.StatusNotFound, c.do("GET", "/admin/v1/tenants/acme/audit", "").Status)
		r = c.do("GET", "/admin/v1/audit", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		events := r.Body["events"].([]any)
		require.Len(t, events, 1)
		e := events[0].(map[string]any)
		assert.Equal(t, "tenant.deleted", e["action"])
		assert.Equal(t, "acme", e["target_id"])
		assert.Equal(t, "r7", e["actor"].(map[string]any)["request_id"])
		assert.Equal(t, 12.0, e["before"].(map[string]any)["seats"], "the tenant as it was")
	})
}

// TestAdmin_scimReadiness: the tenant answer says whether the tenant is ready
// for SCIM and, gate by gate, what to change; a SAML upload the plan cannot
// use is accepted with a warning that says so, and its answer carries the
// same readiness.
func TestAdmin_scimReadiness(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","plan":"enterprise","seats":10}`).Status)
		type check struct {
			Gate   string
			OK     bool
			Detail string
		}
		readiness := func(body map[string]any) (bool, []check, []any) {
			t.Helper()
			sr, ok := body["scim_ready"].(map[string]any)
			require.True(t, ok, "scim_ready: %v", body)
			var out []check
			for _, x := range sr["checks"].([]any) {
				m := x.(map[string]any)
				out = append(out, check{m["gate"].(string), m["ok"].(bool), m["detail"].(string)})
			}
			return sr["ready"].(bool), out, sr["warnings"].([]any)
		}

		r := c.do("GET", "/admin/v1/tenants/acme", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "enterprise", r.Body["plan"], "the existing fields stay")
		ready, checks, _ := readiness(r.Body)
		assert.False(t, ready)
		require.Len(t, checks, 3)
		assert.Equal(t, check{"plan", false, "the Enterprise (enterprise) plan does not include SCIM; change the tenant's plan to ultimate"}, checks[0])
		assert.False(t, checks[1].OK)
		assert.Contains(t, checks[1].Detail, "rosterd saml set acme FILE")
		assert.False(t, checks[2].OK)
		assert.Contains(t, checks[2].Detail, "rosterd token create acme NAME")

		// SAML on a plan without SSO: stored, with a warning naming the plan to change to.
		r = c.do("PUT", "/admin/v1/tenants/acme/saml", fixture(t, "okta.xml"))
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, []any{"the Enterprise (enterprise) plan of tenant acme does not include SAML SSO: the metadata is stored, " +
			"but sign-in and SCIM stay off until the tenant's plan is changed to ultimate"}, r.Body["warnings"])
		ready, checks, _ = readiness(r.Body)
		assert.False(t, ready)
		assert.True(t, checks[1].OK, "the metadata itself is valid")
		assert.Contains(t, checks[1].Detail, "valid until 2060-06-01")

		// Ultimate and a token: ready, and the upload warns of nothing.
		require.Equal(t, http.StatusOK, c.do("PATCH", "/admin/v1/tenants/acme", `{"plan":"ultimate"}`).Status)
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants/acme/tokens", `{"name":"okta"}`).Status)
		r = c.do("PUT", "/admin/v1/tenants/acme/saml", fixture(t, "okta.xml"))
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, []any{}, r.Body["warnings"])
		ready, _, _ = readiness(r.Body)
		assert.True(t, ready)
		r = c.do("GET", "/admin/v1/tenants/acme", "")
		ready, checks, warnings := readiness(r.Body)
		assert.True(t, ready, "%v", checks)
		assert.Equal(t, check{"token", true, "1 SCIM token(s) can authenticate"}, checks[2])
		assert.Empty(t, warnings)

		// Weeks before the certificate expires the answer warns; after, the sso gate fails.
		c.now = time.Date(2060, 5, 20, 0, 0, 0, 0, time.UTC)
		ready, _, warnings = readiness(c.do("GET", "/admin/v1/tenants/acme", "").Body)
		assert.True(t, ready)
		require.Len(t, warnings, 1)
		assert.Contains(t, warnings[0], "expires on 2060-06-01")
		c.now = time.Date(2060, 6, 2, 0, 0, 0, 0, time.UTC)
		ready, checks, _ = readiness(c.do("GET", "/admin/v1/tenants/acme", "").Body)
		assert.False(t, ready)
		assert.Contains(t, checks[1].Detail, "expired on 2060-06-01")

		// A revoked token does not count.
		c.now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		toks := c.do("GET", "/admin/v1/tenants/acme/tokens", "").Body["tokens"].([]any)
		require.Len(t, toks, 1)
		id := toks[0].(map[string]any)["id"].(string)
		require.Equal(t, http.StatusNoContent, c.do("DELETE", "/admin/v1/tenants/acme/tokens/"+id, "").Status)
		ready, checks, _ = readiness(c.do("GET", "/admin/v1/tenants/acme", "").Body)
		assert.False(t, ready)
		assert.False(t, checks[2].OK)
	})
}
