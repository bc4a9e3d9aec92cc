package saml_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	rsaml "github.com/roster-dev/roster/saml"
)

// fixtureDir holds the IdP metadata fixtures; see its README.md.
const fixtureDir = "../testdata/saml"

// now is the validation time of the table tests: after the fixtures'
// certificates start (2026-01-01), long before the valid ones end (2056+).
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	require.NoError(t, err)
	return b
}

func requireFault(t *testing.T, err error, field, msg string) *rsaml.MetadataError {
	t.Helper()
	var fault *rsaml.MetadataError
	require.ErrorAs(t, err, &fault, "want a *MetadataError, got %v", err)
	assert.Equal(t, field, fault.Field, "field of %q", fault.Reason)
	assert.Contains(t, fault.Error(), msg)
	return fault
}

func TestValidateMetadata_fixtures(t *testing.T) {
	type ok struct {
		entityID, ssoURL, binding string
		certNotAfter              string
		certs                     int
		validUntil                string
	}
	tests := []struct {
		file  string
		ok    *ok
		field string
		msg   string
	}{
		{file: "okta.xml", ok: &ok{
			entityID: "http://www.okta.com/exk8f3ktx2RkVcN4W5d7",
			ssoURL:   "https://acme-corp.okta.com/app/acme-corp_roster_1/exk8f3ktx2RkVcN4W5d7/sso/saml",
			binding:  saml.HTTPRedirectBinding, certNotAfter: "2060-06-01", certs: 1,
		}},
		{file: "entra.xml", ok: &ok{ // BOM, Signature, RoleDescriptors, two certificates
			entityID: "https://sts.windows.net/4f1a9c2e-8b3d-4e6f-9a1c-2d5e8f7b3a61/",
			ssoURL:   "https://login.microsoftonline.com/4f1a9c2e-8b3d-4e6f-9a1c-2d5e8f7b3a61/saml2",
			binding:  saml.HTTPRedirectBinding, certNotAfter: "2061-03-01", certs: 2,
		}},
		{file: "onelogin.xml", ok: &ok{ // certificate wrapped over several lines
			entityID: "https://app.onelogin.com/saml/metadata/7f3c2a1e-5b9d-4e8a-a6c1-2d4f8b9e0c13",
			ssoURL:   "https://globex.onelogin.com/trust/saml2/http-redirect/sso/7f3c2a1e-5b9d-4e8a-a6c1-2d4f8b9e0c13",
			binding:  saml.HTTPRedirectBinding, certNotAfter: "2059-09-15", certs: 1,
		}},
		{file: "adfs-wrapped.xml", ok: &ok{ // SP entity first; encryption key skipped
			entityID: "http://adfs.initech.example/adfs/services/trust",
			ssoURL:   "https://adfs.initech.example/adfs/ls/",
			binding:  saml.HTTPRedirectBinding, certNotAfter: "2057-12-31", certs: 1, validUntil: "2060-01-01",
		}},
		{file: "demo-idp.xml", ok: &ok{ // plain http, localhost only
			entityID: "http://localhost:8080/saml/demo/dev-idp/metadata",
			ssoURL:   "http://localhost:8080/saml/demo/dev-idp/sso",
			binding:  saml.HTTPRedirectBinding, certNotAfter: "2066-01-01", certs: 1,
		}},
		{file: "sp-metadata.xml", field: "IDPSSODescriptor", msg: "looks like service-provider metadata"},
		{file: "no-signing-cert.xml", field: "KeyDescriptor", msg: "no SSO without a signing certificate"},
		{file: "expired-cert.xml", field: "KeyDescriptor", msg: "signing certificate expired on 2020-01-01; download fresh metadata from your IdP"},
		{file: "bad-cert.xml", field: "KeyDescriptor", msg: "not valid base64"},
		{file: "javascript-url.xml", field: "Location", msg: `the Location of SingleLogoutService, "javascript:`},
		{file: "doctype.xml", field: "metadata", msg: "DOCTYPE or ENTITY declaration"},
		{file: "expired-validuntil.xml", field: "validUntil", msg: "expired on 2021-06-30"},
		{file: "no-sso.xml", field: "SingleSignOnService", msg: "HTTP-Redirect or HTTP-POST"},
		{file: "not-xml.txt", field: "metadata", msg: "looks like a PEM certificate"},
		{file: "no-entityid.xml", field: "entityID", msg: "no entityID"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			idp, err := rsaml.ValidateMetadata(fixture(t, tt.file), now)
			if tt.ok == nil {
				requireFault(t, err, tt.field, tt.msg)
				assert.Zero(t, idp)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.ok.entityID, idp.EntityID)
			assert.Equal(t, tt.ok.ssoURL, idp.SSOURL)
			assert.Equal(t, tt.ok.binding, idp.SSOBinding)
			assert.Equal(t, day(tt.ok.certNotAfter), idp.CertNotAfter)
			assert.Len(t, idp.Certificates, tt.ok.certs)
			if tt.ok.validUntil == "" {
				assert.Nil(t, idp.ValidUntil)
			} else if assert.NotNil(t, idp.ValidUntil) {
				assert.Equal(t, day(tt.ok.validUntil), *idp.ValidUntil)
			}
			require.NotNil(t, idp.Descriptor)
			assert.Equal(t, idp.EntityID, idp.Descriptor.EntityID)
			// The library, given the descriptor, finds the same endpoint.
			sp := (rsaml.SP{BaseURL: "https://roster.example.com", TenantID: "acme"}).ServiceProvider(idp.Descriptor)
			assert.Equal(t, idp.SSOURL, sp.GetSSOBindingLocation(idp.SSOBinding))
		})
	}
}

// TestValidateMetadata_fixturesValidToday proves the valid fixtures do not
// rot: they pass at the real current time, which the demo tenant relies on.
func TestValidateMetadata_fixturesValidToday(t *testing.T) {
	for _, f := range []string{"okta.xml", "entra.xml", "onelogin.xml", "adfs-wrapped.xml", "demo-idp.xml"} {
		_, err := rsaml.ValidateMetadata(fixture(t, f), time.Now())
		assert.NoError(t, err, f)
	}
}

// TestValidateMetadata_injectedNow proves validity is judged at the given
// time, not the wall clock.
func TestValidateMetadata_injectedNow(t *testing.T) {
	okta := fixture(t, "okta.xml")
	_, err := rsaml.ValidateMetadata(okta, now)
	require.NoError(t, err)

	_, err = rsaml.ValidateMetadata(okta, now.AddDate(100, 0, 0))
	requireFault(t, err, "KeyDescriptor", "signing certificate expired on 2060-06-01")

	_, err = rsaml.ValidateMetadata(okta, day("2060-06-01"))
	requireFault(t, err, "KeyDescriptor", "expired on 2060-06-01")
	_, err = rsaml.ValidateMetadata(okta, day("2060-06-01").Add(-time.Nanosecond))
	assert.NoError(t, err, "valid until the instant of NotAfter")

	_, err = rsaml.ValidateMetadata(okta, day("2025-12-31"))
	requireFault(t, err, "KeyDescriptor", "not valid before 2026-01-01")

	// The expired fixture was fine in 2015.
	idp, err := rsaml.ValidateMetadata(fixture(t, "expired-cert.xml"), day("2015-01-01"))
	require.NoError(t, err)
	assert.Equal(t, day("2020-01-01"), idp.CertNotAfter)
}

func TestCheckPrerequisite(t *testing.T) {
	notAfter := day("2060-06-01")
	assert.NoError(t, rsaml.CheckPrerequisite(notAfter, notAfter.Add(-time.Nanosecond)))
	assert.NoError(t, rsaml.CheckPrerequisite(notAfter, now))

	for _, at := range []time.Time{notAfter, notAfter.Add(time.Nanosecond), notAfter.AddDate(1, 0, 0)} {
		err := rsaml.CheckPrerequisite(notAfter, at)
		requireFault(t, err, "KeyDescriptor", "the IdP signing certificate expired on 2060-06-01; upload fresh metadata")
	}
	// Nothing on record is never a pass.
	requireFault(t, rsaml.CheckPrerequisite(time.Time{}, now), "KeyDescriptor", "no IdP signing certificate is on record")

	// The date is the UTC date whatever the zone of the stored time.
	local := time.Date(2060, 6, 1, 1, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	requireFault(t, rsaml.CheckPrerequisite(local, now.AddDate(50, 0, 0)), "KeyDescriptor", "expired on 2060-05-31")
}

// TestCheckPrerequisite_matchesUpload proves the request-time check agrees
// with upload validation about the same certificate.
func TestCheckPrerequisite_matchesUpload(t *testing.T) {
	idp, err := rsaml.ValidateMetadata(fixture(t, "entra.xml"), now)
	require.NoError(t, err)
	require.NoError(t, rsaml.CheckPrerequisite(idp.CertNotAfter, now))
	at := idp.CertNotAfter
	require.Error(t, rsaml.CheckPrerequisite(idp.CertNotAfter, at))
	_, err = rsaml.ValidateMetadata(fixture(t, "entra.xml"), at)
	require.Error(t, err)
}

func TestValidateMetadata_size(t *testing.T) {
	okta := fixture(t, "okta.xml")
	pad := func(total int) []byte {
		b := append([]byte{}, okta...)
		b = append(b, "<!--"...)
		b = append(b, bytes.Repeat([]byte("x"), total-len(b)-3)...)
		return append(b, "-->"...)
	}
	atCap := pad(rsaml.MaxMetadataSize)
	require.Len(t, atCap, rsaml.MaxMetadataSize)
	_, err := rsaml.ValidateMetadata(atCap, now)
	assert.NoError(t, err)

	_, err = rsaml.ValidateMetadata(pad(rsaml.MaxMetadataSize+1), now)
	requireFault(t, err, "metadata", "larger than 256 KiB")

	_, err = rsaml.ValidateMetadata(pad(1<<20), now)
	requireFault(t, err, "metadata", "larger than 256 KiB")
}

// testKey is one RSA key for every certificate the tests mint.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// certB64 mints a self-signed certificate as metadata carries it.
func certB64(t *testing.T, key *rsa.PrivateKey, notBefore, notAfter time.Time) string {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: "test idp"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(der)
}

// idpXML is a minimal Okta-shaped IdP document; parts are replaced per test.
func idpXML(keyDescriptors, sso string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.com/metadata">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
` + keyDescriptors + `
` + sso + `
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`
}

func keyDescriptor(use, cert string) string {
	attr := ""
	if use != "-" {
		attr = ` use="` + use + `"`
	}
	return `<md:KeyDescriptor` + attr + `><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + cert +
		`</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`
}

func ssoService(binding, location string) string {
	return `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:` + binding + `" Location="` + location + `"/>`
}

var redirectSSO = ssoService("HTTP-Redirect", "https://idp.example.com/sso")

func TestValidateMetadata_variants(t *testing.T) {
	key := testKey()
	valid := certB64(t, key, day("2026-01-01"), day("2060-01-01"))
	later := certB64(t, key, day("2026-01-01"), day("2070-01-01"))
	expired := certB64(t, key, day("2010-01-01"), day("2020-01-01"))
	future := certB64(t, key, day("2030-01-01"), day("2080-01-01"))
	okta := string(fixture(t, "okta.xml"))
	wrap := func(entities, attrs string) string {
		return `<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"` + attrs + `>` + entities + `</EntitiesDescriptor>`
	}
	entity := func(id, roles string) string {
		return `<EntityDescriptor entityID="` + id + `">` + roles + `</EntityDescriptor>`
	}
	idpRole := `<IDPSSODescriptor xmlns:ds="http://www.w3.org/2000/09/xmldsig#" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
		strings.ReplaceAll(keyDescriptor("signing", valid), "md:", "") +
		strings.ReplaceAll(redirectSSO, "md:", "") + `</IDPSSODescriptor>`

	tests := []struct {
		name      string
		doc       string
		field     string // "" means valid
		msg       string
		check     func(t *testing.T, idp rsaml.IdP)
		notInMsgs []string
	}{
		{name: "KeyDescriptor without use", doc: idpXML(keyDescriptor("-", valid), redirectSSO)},
		{name: "rollover keeps both certificates and the later date",
			doc: idpXML(keyDescriptor("signing", valid)+keyDescriptor("signing", later), redirectSSO),
			check: func(t *testing.T, idp rsaml.IdP) {
				assert.Len(t, idp.Certificates, 2)
				assert.Equal(t, day("2070-01-01"), idp.CertNotAfter)
			}},
		{name: "expired certificate beside a valid one is ignored",
			doc: idpXML(keyDescriptor("signing", expired)+keyDescriptor("signing", valid), redirectSSO),
			check: func(t *testing.T, idp rsaml.IdP) {
				assert.Len(t, idp.Certificates, 1)
				assert.Equal(t, day("2060-01-01"), idp.CertNotAfter)
			}},
		{name: "only a future certificate", doc: idpXML(keyDescriptor("signing", future), redirectSSO),
			field: "KeyDescriptor", msg: "not valid before 2030-01-01"},
		{name: "latest expiry is named", doc: idpXML(keyDescriptor("signing", expired)+keyDescriptor("", certB64(t, key, day("2010-01-01"), day("2021-03-04"))), redirectSSO),
			field: "KeyDescriptor", msg: "expired on 2021-03-04"},
		{name: "encryption key only (import never weakens signing)", doc: idpXML(keyDescriptor("encryption", valid), redirectSSO),
			field: "KeyDescriptor", msg: "no signing certificate"},
		{name: "no KeyDescriptor", doc: idpXML("", redirectSSO), field: "KeyDescriptor", msg: "no signing certificate"},
		{name: "base64 of garbage DER", doc: idpXML(keyDescriptor("signing", "AAAAAAAA"), redirectSSO),
			field: "KeyDescriptor", msg: "could not be read"},
		{name: "empty certificate", doc: idpXML(keyDescriptor("signing", valid)+keyDescriptor("signing", "  "), redirectSSO),
			field: "KeyDescriptor", msg: "not valid base64"},
		{name: "bad certificate beside a good one breaks every login, so refused",
			doc:   idpXML(keyDescriptor("signing", valid)+keyDescriptor("signing", "QUJD"), redirectSSO),
			field: "KeyDescriptor", msg: "could not be read"},
		{name: "1024-bit RSA key", doc: idpXML(keyDescriptor("signing", certB64(t, weakKey(t), day("2026-01-01"), day("2060-01-01"))), redirectSSO),
			field: "KeyDescriptor", msg: "1024-bit RSA key"},
		{name: "certificate with spaces and line breaks", doc: idpXML(keyDescriptor("signing", "\n  "+valid[:50]+"\r\n\t"+valid[50:]+"\n"), redirectSSO)},

		{name: "POST only", doc: idpXML(keyDescriptor("signing", valid), ssoService("HTTP-POST", "https://idp.example.com/post")),
			check: func(t *testing.T, idp rsaml.IdP) {
				assert.Equal(t, saml.HTTPPostBinding, idp.SSOBinding)
				assert.Equal(t, "https://idp.example.com/post", idp.SSOURL)
			}},
		{name: "Redirect preferred over an earlier POST",
			doc: idpXML(keyDescriptor("signing", valid), ssoService("HTTP-POST", "https://idp.example.com/post")+redirectSSO),
			check: func(t *testing.T, idp rsaml.IdP) {
				assert.Equal(t, "https://idp.example.com/sso", idp.SSOURL)
			}},
		{name: "http SSO on a real host", doc: idpXML(keyDescriptor("signing", valid), ssoService("HTTP-Redirect", "http://idp.example.com/sso")),
			field: "SingleSignOnService", msg: "plain http"},
		{name: "http POST SSO beside an https Redirect", doc: idpXML(keyDescriptor("signing", valid), redirectSSO+ssoService("HTTP-POST", "http://idp.example.com/sso")),
			field: "SingleSignOnService", msg: "plain http"},
		{name: "http SSO on 127.0.0.1", doc: idpXML(keyDescriptor("signing", valid), ssoService("HTTP-Redirect", "http://127.0.0.1:8080/sso"))},
		{name: "http SSO on ::1", doc: idpXML(keyDescriptor("signing", valid), ssoService("HTTP-POST", "http://[::1]:8080/sso"))},
		{name: "http SSO on localhost.evil.example", doc: idpXML(keyDescriptor("signing", valid), ssoService("HTTP-POST", "http://localhost.evil.example/sso")),
			field: "SingleSignOnService", msg: "plain http"},
		{name: "relative SSO URL", doc: idpXML(keyDescriptor("signing", valid), ssoService("HTTP-Redirect", "/sso")),
			field: "Location", msg: "not an http or https URL"},
		{name: "empty SSO URL", doc: idpXML(keyDescriptor("signing", valid), ssoService("HTTP-Redirect", "")),
			field: "Location", msg: "the Location of SingleSignOnService is empty"},
		{name: "SSO URL without host", doc: idpXML(keyDescriptor("signing", valid), ssoService("HTTP-Redirect", "https:///sso")),
			field: "Location", msg: "not an http or https URL"},
		{name: "SOAP SSO only", doc: idpXML(keyDescriptor("signing", valid), ssoService("SOAP", "https://idp.example.com/soap")),
			field: "SingleSignOnService", msg: "HTTP-Redirect or HTTP-POST"},

		{name: "javascript: SSO URL", doc: idpXML(keyDescriptor("signing", valid), ssoService("HTTP-Redirect", "javascript:alert(1)")),
			field: "Location", msg: `the Location of SingleSignOnService, "javascript:alert(1)"`},
		{name: "JavaScript: with odd case and spaces", doc: idpXML(keyDescriptor("signing", valid), redirectSSO+ssoService("HTTP-POST", " JavaScript:alert(1)")),
			field: "Location", msg: "not an http or https URL"},
		{name: "data: URL on an unknown binding (the library blanks it)", doc: idpXML(keyDescriptor("signing", valid), redirectSSO+
			`<md:SingleLogoutService Binding="urn:example:custom" Location="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;"/>`),
			field: "Location", msg: "SingleLogoutService"},
		{name: "javascript: ResponseLocation", doc: idpXML(keyDescriptor("signing", valid), redirectSSO+
			`<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/slo" ResponseLocation="javascript:alert(1)"/>`),
			field: "ResponseLocation", msg: "ResponseLocation of SingleLogoutService"},
		{name: "javascript: errorURL", doc: strings.Replace(idpXML(keyDescriptor("signing", valid), redirectSSO),
			`<md:IDPSSODescriptor `, `<md:IDPSSODescriptor errorURL="javascript:alert(1)" `, 1),
			field: "errorURL", msg: "errorURL of IDPSSODescriptor"},
		{name: "javascript: OrganizationURL", doc: strings.Replace(idpXML(keyDescriptor("signing", valid), redirectSSO),
			`</md:EntityDescriptor>`, `<md:Organization><md:OrganizationName xml:lang="en">X</md:OrganizationName><md:OrganizationDisplayName xml:lang="en">X</md:OrganizationDisplayName><md:OrganizationURL xml:lang="en">javascript:alert(1)</md:OrganizationURL></md:Organization></md:EntityDescriptor>`, 1),
			field: "OrganizationURL", msg: "the OrganizationURL"},
		{name: "https OrganizationURL is fine", doc: strings.Replace(idpXML(keyDescriptor("signing", valid), redirectSSO),
			`</md:EntityDescriptor>`, `<md:Organization><md:OrganizationName xml:lang="en">X</md:OrganizationName><md:OrganizationDisplayName xml:lang="en">X</md:OrganizationDisplayName><md:OrganizationURL xml:lang="en"> https://example.com/ </md:OrganizationURL></md:Organization></md:EntityDescriptor>`, 1)},
		{name: "javascript: WS-Addressing Address", doc: strings.Replace(string(fixture(t, "entra.xml")),
			"<wsa:Address>https://login.microsoftonline.com/4f1a9c2e-8b3d-4e6f-9a1c-2d5e8f7b3a61/wsfed</wsa:Address>", "<wsa:Address>javascript:alert(1)</wsa:Address>", 1),
			field: "Address", msg: "javascript:alert(1)"},

		{name: "two IdPs in one entity", doc: strings.Replace(okta, "</md:EntityDescriptor>",
			`<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`, 1),
			field: "IDPSSODescriptor", msg: "describes 2 identity providers"},
		{name: "aggregate of two IdPs", doc: wrap(entity("https://a.example.com", idpRole)+entity("https://b.example.com", idpRole), ""),
			field: "IDPSSODescriptor", msg: "describes 2 identity providers"},
		{name: "aggregate with only SPs", doc: wrap(entity("https://sp.example.com", `<SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>`), ""),
			field: "IDPSSODescriptor", msg: "service-provider metadata"},
		{name: "IdP nested two wrappers deep", doc: wrap(wrap(entity("https://a.example.com", idpRole), ""), ""),
			field: "IDPSSODescriptor", msg: "nested too deeply"},
		{name: "wrapper validUntil in the past", doc: wrap(entity("https://a.example.com", idpRole), ` validUntil="2026-05-31T00:00:00Z"`),
			field: "validUntil", msg: "expired on 2026-05-31"},
		{name: "wrapper validUntil unreadable", doc: wrap(entity("https://a.example.com", idpRole), ` validUntil="next tuesday"`),
			field: "validUntil", msg: "not a valid date-time"},
		{name: "IDPSSODescriptor validUntil in the past", doc: strings.Replace(idpXML(keyDescriptor("signing", valid), redirectSSO),
			`<md:IDPSSODescriptor `, `<md:IDPSSODescriptor validUntil="2026-01-02T00:00:00Z" `, 1),
			field: "validUntil", msg: "expired on 2026-01-02"},
		{name: "earliest validUntil is reported", doc: wrap(strings.Replace(entity("https://a.example.com", idpRole), `<EntityDescriptor `, `<EntityDescriptor validUntil="2031-01-01T00:00:00Z" `, 1), ` validUntil="2040-01-01T00:00:00Z"`),
			check: func(t *testing.T, idp rsaml.IdP) {
				require.NotNil(t, idp.ValidUntil)
				assert.Equal(t, day("2031-01-01"), *idp.ValidUntil)
			}},

		{name: "blank entityID", doc: strings.Replace(idpXML(keyDescriptor("signing", valid), redirectSSO), `entityID="https://idp.example.com/metadata"`, `entityID="   "`, 1),
			field: "entityID", msg: "no entityID"},
		{name: "over-long entityID", doc: strings.Replace(idpXML(keyDescriptor("signing", valid), redirectSSO), `entityID="https://idp.example.com/metadata"`, `entityID="https://idp.example.com/`+strings.Repeat("a", 1100)+`"`, 1),
			field: "entityID", msg: "longer than 1024"},

		{name: "empty", doc: "", field: "metadata", msg: "empty"},
		{name: "whitespace", doc: " \n\t ", field: "metadata", msg: "empty"},
		{name: "JSON", doc: `{"entity_id":"x"}`, field: "metadata", msg: "not XML"},
		{name: "HTML login page", doc: "<!doctype html><html><body>Sign in</body></html>", field: "metadata", msg: "DOCTYPE"},
		{name: "XHTML", doc: `<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>`, field: "metadata", msg: "root element is <html>"},
		{name: "EntityDescriptor outside the metadata namespace", doc: `<EntityDescriptor entityID="x"/>`, field: "metadata", msg: "root element is <EntityDescriptor>"},
		{name: "truncated", doc: okta[:len(okta)-30], field: "metadata", msg: "not well-formed XML (line"},
		{name: "two roots", doc: okta + okta[strings.Index(okta, "<md:Entity"):], field: "metadata", msg: "more than one root"},
		{name: "undeclared entity", doc: strings.Replace(okta, "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified", "&xxe;", 1),
			field: "metadata", msg: "not well-formed XML"},
		{name: "ENTITY without DOCTYPE keyword", doc: `<!ENTITY a "b">` + okta[strings.Index(okta, "<md:Entity"):], field: "metadata", msg: "ENTITY"},
		{name: "lower-case doctype", doc: `<!doctype x>` + okta[strings.Index(okta, "<md:Entity"):], field: "metadata", msg: "DOCTYPE"},
		{name: "unsupported encoding", doc: strings.Replace(okta, `encoding="UTF-8"`, `encoding="ISO-8859-1"`, 1), field: "metadata", msg: "other than UTF-8",
			notInMsgs: []string{"CharsetReader"}},
		{name: "deep nesting", doc: strings.Replace(okta, "<md:NameIDFormat>", "<md:Extensions>"+strings.Repeat("<a>", 70)+strings.Repeat("</a>", 70)+"</md:Extensions><md:NameIDFormat>", 1),
			field: "metadata", msg: "more than 64 levels deep"},
		{name: "nesting as deep as allowed", doc: strings.Replace(okta, "<md:NameIDFormat>", "<md:Extensions>"+strings.Repeat("<a>", 60)+strings.Repeat("</a>", 60)+"</md:Extensions><md:NameIDFormat>", 1)},
		{name: "two colons in an element name", doc: strings.Replace(okta, "<md:NameIDFormat>", "<md:a:b>x</md:a:b><md:NameIDFormat>", 1),
			field: "metadata", msg: "not well-formed XML"},
		{name: "bad boolean", doc: strings.Replace(okta, `WantAuthnRequestsSigned="false"`, `WantAuthnRequestsSigned="nope"`, 1),
			field: "metadata", msg: "could not be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp, err := rsaml.ValidateMetadata([]byte(tt.doc), now)
			if tt.field == "" {
				require.NoError(t, err)
				assert.NotEmpty(t, idp.EntityID)
				assert.NotEmpty(t, idp.SSOURL)
				if tt.check != nil {
					tt.check(t, idp)
				}
				return
			}
			fault := requireFault(t, err, tt.field, tt.msg)
			for _, s := range append(tt.notInMsgs, "xrv", "validator", "etree", "crewjam", "roundtrip error", "\n") {
				assert.NotContains(t, fault.Error(), s)
			}
		})
	}
}

func weakKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	return k
}

// TestValidateMetadata_faultsAreOneSentence proves every fixture fault reads
// as one actionable sentence: no line breaks, no Go error chains, and a
// remedy after the semicolon.
func TestValidateMetadata_faultsAreOneSentence(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*"))
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = rsaml.ValidateMetadata(b, now)
		if err == nil {
			continue
		}
		var fault *rsaml.MetadataError
		require.True(t, errors.As(err, &fault), f)
		assert.NotContains(t, fault.Reason, "\n", f)
		assert.Contains(t, fault.Reason, ";", "%s: %s", f, fault.Reason)
		assert.NotEmpty(t, fault.Field, f)
	}
}

// FuzzValidateMetadata proves ValidateMetadata never panics, fails only with
// a *MetadataError, and never calls metadata valid without an entity ID, an
// SSO URL and a signing certificate that outlives now.
func FuzzValidateMetadata(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(idpXML("", redirectSSO)))
	f.Fuzz(func(t *testing.T, data []byte) {
		idp, err := rsaml.ValidateMetadata(data, now)
		if err != nil {
			var fault *rsaml.MetadataError
			if !errors.As(err, &fault) || fault.Field == "" || fault.Reason == "" {
				t.Fatalf("fault %#v is not a complete *MetadataError", err)
			}
			return
		}
		if strings.TrimSpace(idp.EntityID) == "" || idp.SSOURL == "" || idp.SSOBinding == "" {
			t.Fatalf("ok without entity ID or SSO endpoint: %+v", idp)
		}
		if !idp.CertNotAfter.After(now) || len(idp.Certificates) == 0 {
			t.Fatalf("ok without a current signing certificate: %+v", idp)
		}
		if idp.ValidUntil != nil && !idp.ValidUntil.After(now) {
			t.Fatalf("ok with an expired validUntil: %v", idp.ValidUntil)
		}
		if err := rsaml.CheckPrerequisite(idp.CertNotAfter, now); err != nil {
			t.Fatalf("upload passed but the prerequisite fails: %v", err)
		}
	})
}
