package saml_test

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"html"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	rsaml "github.com/roster-dev/roster/saml"
)

// TestNewRelayState proves relay states are opaque, URL-safe, well under
// SAML's 80 bytes, and differ every time.
func TestNewRelayState(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		rs, err := rsaml.NewRelayState(nil)
		require.NoError(t, err)
		assert.Regexp(t, `^[A-Za-z0-9_-]{43}$`, rs)
		assert.False(t, seen[rs])
		seen[rs] = true
	}
	_, err := rsaml.NewRelayState(strings.NewReader("short"))
	assert.Error(t, err)
}

// TestLogin_redirect proves the SP-initiated request: to the IdP's
// HTTP-Redirect endpoint, signed with RSA-SHA256, NameID format
// emailAddress, our ACS and entity ID, the relay state as given.
func TestLogin_redirect(t *testing.T) {
	sp := testSP(t)
	idp, err := rsaml.ValidateMetadata(fixture(t, "okta.xml"), now)
	require.NoError(t, err)
	req, err := sp.Login(idp.Descriptor, "relay-123")
	require.NoError(t, err)
	require.NotNil(t, req.RedirectURL)
	assert.Nil(t, req.PostForm)
	q := req.RedirectURL.Query()
	assert.Equal(t, idp.SSOURL, strings.Split(req.RedirectURL.String(), "?")[0])
	assert.Equal(t, "relay-123", q.Get("RelayState"))
	assert.Equal(t, dsig.RSASHA256SignatureMethod, q.Get("SigAlg"))
	assert.NotEmpty(t, q.Get("Signature"))

	raw, err := base64.StdEncoding.DecodeString(q.Get("SAMLRequest"))
	require.NoError(t, err)
	doc, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	require.NoError(t, err)
	var ar saml.AuthnRequest
	require.NoError(t, xml.Unmarshal(doc, &ar))
	assert.Equal(t, req.ID, ar.ID)
	assert.Equal(t, sp.AcsURL(), ar.AssertionConsumerServiceURL)
	assert.Equal(t, sp.EntityID(), ar.Issuer.Value)
	require.NotNil(t, ar.NameIDPolicy)
	assert.Equal(t, string(saml.EmailAddressNameIDFormat), *ar.NameIDPolicy.Format)
	assert.Equal(t, saml.HTTPPostBinding, ar.ProtocolBinding)
}

// TestLogin_postOnlyIdP proves that an IdP with only an HTTP-POST SSO
// endpoint gets a signed request in an auto-posting page whose one script
// the page's Content-Security-Policy allows by hash.
func TestLogin_postOnlyIdP(t *testing.T) {
	sp := testSP(t)
	idp, err := rsaml.ValidateMetadata(fixture(t, "okta.xml"), now)
	require.NoError(t, err)
	ed := *idp.Descriptor
	d := ed.IDPSSODescriptors[0]
	var post []saml.Endpoint
	for _, e := range d.SingleSignOnServices {
		if e.Binding == saml.HTTPPostBinding {
			post = append(post, e)
		}
	}
	require.NotEmpty(t, post)
	d.SingleSignOnServices = post
	ed.IDPSSODescriptors = []saml.IDPSSODescriptor{d}

	req, err := sp.Login(&ed, "relay-9")
	require.NoError(t, err)
	assert.Nil(t, req.RedirectURL)
	page := string(req.PostForm)
	assert.Contains(t, page, `action="`+post[0].Location+`"`)
	assert.Contains(t, page, `name="RelayState" value="relay-9"`)
	m := regexp.MustCompile(`name="SAMLRequest" value="([^"]+)"`).FindStringSubmatch(page)
	require.NotNil(t, m)
	doc, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	require.NoError(t, err)
	assert.Contains(t, string(doc), "SignatureValue", "the POST binding carries an XML signature")
	script := regexp.MustCompile(`<script>(.*)</script>`).FindStringSubmatch(page)
	require.NotNil(t, script)
	sum := sha256.Sum256([]byte(script[1]))
	assert.Contains(t, rsaml.LoginFormCSP, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
}

// FuzzParseResponse proves that no input makes the ACS verification panic
// or accept: garbage, truncated, or wrongly signed documents are refused
// with an *ACSError.
func FuzzParseResponse(f *testing.F) {
	for _, seed := range []string{
		"", "PHgvPg==", base64.StdEncoding.EncodeToString([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`)),
		base64.StdEncoding.EncodeToString([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`)),
		base64.StdEncoding.EncodeToString([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="r" Version="2.0"><saml:Assertion ID="a" Version="2.0"><saml:Issuer>x</saml:Issuer></saml:Assertion></samlp:Response>`)),
		"not base64!",
	} {
		f.Add(seed)
	}
	sp := testSP(f)
	idp, err := rsaml.ValidateMetadata(fixture(f, "okta.xml"), now)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, resp string) {
		_, err := sp.ParseResponse(resp, idp.Descriptor, []string{""})
		var ae *rsaml.ACSError
		if !assert.ErrorAs(t, err, &ae) {
			return
		}
		assert.NotContains(t, ae.Reason, "<", "the reason never quotes the document")
	})
}
