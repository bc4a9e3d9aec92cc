package saml_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/logger"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	rsaml "github.com/roster-dev/roster/saml"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testSP is tenant acme on https://roster.example.com with the fixture SP key pair.
func testSP(t testing.TB) rsaml.SP {
	t.Helper()
	key, cert, err := rsaml.ParseKeyPair(fixture(t, "roster-sp.cert.pem"), fixture(t, "roster-sp.key.pem"))
	require.NoError(t, err)
	return rsaml.SP{BaseURL: "https://roster.example.com", TenantID: "acme", Key: key, Certificate: cert}
}

func TestSP_ServiceProvider(t *testing.T) {
	sp := testSP(t)
	idp, err := rsaml.ValidateMetadata(fixture(t, "okta.xml"), now)
	require.NoError(t, err)

	s := sp.ServiceProvider(idp.Descriptor)
	assert.Equal(t, "https://roster.example.com/saml/acme/metadata", s.EntityID)
	assert.Equal(t, "https://roster.example.com/saml/acme/metadata", s.MetadataURL.String())
	assert.Equal(t, "https://roster.example.com/saml/acme/acs", s.AcsURL.String())
	assert.Equal(t, sp.EntityID(), s.EntityID)
	assert.Equal(t, sp.AcsURL(), s.AcsURL.String())
	assert.Same(t, idp.Descriptor, s.IDPMetadata)
	assert.Equal(t, saml.EmailAddressNameIDFormat, s.AuthnNameIDFormat)
	assert.Equal(t, dsig.RSASHA256SignatureMethod, s.SignatureMethod)
	assert.False(t, s.AllowIDPInitiated)
	assert.Same(t, sp.Certificate, s.Certificate)
	assert.Equal(t, sp.Key, s.Key)

	// Artifact resolution can never reach the network.
	require.NotNil(t, s.HTTPClient)
	_, err = s.HTTPClient.Get("https://idp.example.com/artifact")
	assert.ErrorContains(t, err, "disabled")

	// Without an IdP or a key, nothing panics and Key stays a nil interface.
	bare := rsaml.SP{BaseURL: "https://roster.example.com", TenantID: "acme"}.ServiceProvider(nil)
	assert.Nil(t, bare.IDPMetadata)
	assert.Nil(t, bare.Key)
}

func TestSP_urls(t *testing.T) {
	tests := []struct{ base, tenant, acs string }{
		{"https://roster.example.com", "acme", "https://roster.example.com/saml/acme/acs"},
		{"https://roster.example.com/", "acme", "https://roster.example.com/saml/acme/acs"},
		{"https://example.com/roster/", "acme", "https://example.com/roster/saml/acme/acs"},
		{"http://localhost:8080", "demo", "http://localhost:8080/saml/demo/acs"},
		{"https://roster.example.com", "a b/c", "https://roster.example.com/saml/a%20b%2Fc/acs"},
		{"https://roster.example.com", "../admin", "https://roster.example.com/saml/..%2Fadmin/acs"},
	}
	for _, tt := range tests {
		sp := rsaml.SP{BaseURL: tt.base, TenantID: tt.tenant}
		assert.Equal(t, tt.acs, sp.AcsURL(), "%s + %s", tt.base, tt.tenant)
		assert.Equal(t, strings.TrimSuffix(tt.acs, "acs")+"metadata", sp.EntityID())
	}
}

// TestSP_tenantsDiffer proves two tenants never share an audience or ACS, so
// a response for one is refused at the other.
func TestSP_tenantsDiffer(t *testing.T) {
	a, b := testSP(t), testSP(t)
	b.TenantID = "globex"
	assert.NotEqual(t, a.ServiceProvider(nil).EntityID, b.ServiceProvider(nil).EntityID)
	assert.NotEqual(t, a.ServiceProvider(nil).AcsURL, b.ServiceProvider(nil).AcsURL)
}

func TestSP_Metadata(t *testing.T) {
	sp := testSP(t)
	at := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	b, err := sp.Metadata()
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(b, []byte(xml.Header)))
	assert.Contains(t, string(b), `entityID="https://roster.example.com/saml/acme/metadata"`)
	assert.Contains(t, string(b), `Location="https://roster.example.com/saml/acme/acs"`)
	assert.NotContains(t, string(b), saml.HTTPArtifactBinding)
	assert.NotContains(t, string(b), "<NameIDFormat></NameIDFormat>")

	var ed saml.EntityDescriptor
	require.NoError(t, xml.Unmarshal(b, &ed))
	assert.Equal(t, "https://roster.example.com/saml/acme/metadata", ed.EntityID)
	// IdPs that keep imported metadata must not find it expired days after
	// setup: it is valid as long as the certificate it carries.
	assert.Equal(t, sp.Certificate.NotAfter.UTC(), ed.ValidUntil)
	assert.True(t, ed.ValidUntil.After(at.AddDate(5, 0, 0)), "valid for years, not 48 hours: %s", ed.ValidUntil)
	assert.Zero(t, ed.CacheDuration)
	assert.NotContains(t, string(b), "cacheDuration")
	require.Len(t, ed.SPSSODescriptors, 1)
	d := ed.SPSSODescriptors[0]
	require.Len(t, d.AssertionConsumerServices, 1)
	assert.Equal(t, saml.HTTPPostBinding, d.AssertionConsumerServices[0].Binding)
	assert.Equal(t, "https://roster.example.com/saml/acme/acs", d.AssertionConsumerServices[0].Location)
	assert.Equal(t, []saml.NameIDFormat{saml.EmailAddressNameIDFormat}, d.NameIDFormats)
	require.NotNil(t, d.AuthnRequestsSigned)
	assert.True(t, *d.AuthnRequestsSigned)
	require.NotNil(t, d.WantAssertionsSigned)
	assert.True(t, *d.WantAssertionsSigned)
	var uses []string
	for _, kd := range d.KeyDescriptors {
		uses = append(uses, kd.Use)
		require.Len(t, kd.KeyInfo.X509Data.X509Certificates, 1)
		cert, err := parseB64Cert(kd.KeyInfo.X509Data.X509Certificates[0].Data)
		require.NoError(t, err)
		assert.True(t, cert.Equal(sp.Certificate))
	}
	assert.ElementsMatch(t, []string{"encryption", "signing"}, uses)

	// Uploaded back as IdP metadata by mistake, it is recognised.
	_, err = rsaml.ValidateMetadata(b, at)
	requireFault(t, err, "IDPSSODescriptor", "service-provider metadata")

	// The same document on every request: nothing in it depends on the clock.
	again, err := sp.Metadata()
	require.NoError(t, err)
	assert.Equal(t, string(b), string(again))
}

func TestSP_Metadata_golden(t *testing.T) {
	b, err := testSP(t).Metadata()
	require.NoError(t, err)
	golden := filepath.Join(fixtureDir, "roster-sp-metadata.golden.xml")
	if *update {
		require.NoError(t, os.WriteFile(golden, b, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test ./saml -run TestSP_Metadata_golden -update to rewrite it")
	assert.Equal(t, string(want), string(b))
}

func TestSP_Metadata_invalid(t *testing.T) {
	good := testSP(t)
	for name, mutate := range map[string]func(*rsaml.SP){
		"no base URL":       func(sp *rsaml.SP) { sp.BaseURL = "" },
		"relative base URL": func(sp *rsaml.SP) { sp.BaseURL = "roster.example.com" },
		"ftp base URL":      func(sp *rsaml.SP) { sp.BaseURL = "ftp://roster.example.com" },
		"base with query":   func(sp *rsaml.SP) { sp.BaseURL = "https://roster.example.com/?x=1" },
		"no tenant":         func(sp *rsaml.SP) { sp.TenantID = "" },
		"dot-dot tenant":    func(sp *rsaml.SP) { sp.TenantID = ".." },
		"no key":            func(sp *rsaml.SP) { sp.Key = nil },
		"no certificate":    func(sp *rsaml.SP) { sp.Certificate = nil },
	} {
		sp := good
		mutate(&sp)
		_, err := sp.Metadata()
		assert.Error(t, err, name)
	}
}

func TestMetadataHandler(t *testing.T) {
	sp := testSP(t)
	lookup := func(_ context.Context, tenant string) (rsaml.SP, error) {
		switch tenant {
		case "acme":
			return sp, nil
		case "broken":
			return rsaml.SP{}, errors.New("db: connection refused at 10.0.0.5")
		case "nosso":
			return rsaml.SP{}, fmt.Errorf("tenant nosso: plan lacks SSO: %w", rsaml.ErrUnknownTenant)
		}
		return rsaml.SP{}, fmt.Errorf("tenant %q: %w", tenant, rsaml.ErrUnknownTenant)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /saml/{tenant}/metadata", rsaml.MetadataHandler(lookup))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := http.Get(srv.URL + "/saml/acme/metadata")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "application/samlmetadata+xml", res.Header.Get("Content-Type"))
	assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
	var ed saml.EntityDescriptor
	require.NoError(t, xml.Unmarshal(body, &ed))
	assert.Equal(t, sp.EntityID(), ed.EntityID)

	for path, status := range map[string]int{
		"/saml/unknown/metadata": http.StatusNotFound,
		"/saml/nosso/metadata":   http.StatusNotFound,
		"/saml/broken/metadata":  http.StatusInternalServerError,
	} {
		res, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		assert.Equal(t, status, res.StatusCode, path)
		assert.NotContains(t, string(body), "10.0.0.5", "causes stay out of the body")
		assert.NotContains(t, res.Header.Get("Content-Type"), "samlmetadata")
	}

	res, err = http.Head(srv.URL + "/saml/acme/metadata")
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)

	res, err = http.Post(srv.URL+"/saml/acme/metadata", "text/xml", strings.NewReader("<x/>"))
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)

	// Mounted without the mux pattern, the handler still refuses writes and
	// a missing tenant.
	h := rsaml.MetadataHandler(lookup)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, "/saml/acme/metadata", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metadata", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code)
}

func TestNewKeyPair(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	certPEM, keyPEM, err := rsaml.NewKeyPair(rand.Reader, at, "roster.example.com")
	require.NoError(t, err)
	key, cert, err := rsaml.ParseKeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	assert.Equal(t, 2048, key.N.BitLen())
	assert.Equal(t, "roster.example.com", cert.Subject.CommonName)
	assert.Equal(t, at.AddDate(10, 0, 0), cert.NotAfter)
	assert.True(t, cert.NotBefore.Before(at))
	assert.Positive(t, cert.SerialNumber.Sign())
	require.NoError(t, cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature), "self-signed")

	// nil reader means crypto/rand.
	_, _, err = rsaml.NewKeyPair(nil, at, "x")
	require.NoError(t, err)

	// The pair works as an SP.
	_, err = rsaml.SP{BaseURL: "https://r.example.com", TenantID: "t", Key: key, Certificate: cert}.Metadata()
	require.NoError(t, err)
}

func TestParseKeyPair(t *testing.T) {
	certPEM, keyPEM := fixture(t, "roster-sp.cert.pem"), fixture(t, "roster-sp.key.pem")
	key, _, err := rsaml.ParseKeyPair(certPEM, keyPEM)
	require.NoError(t, err)

	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	_, _, err = rsaml.ParseKeyPair(certPEM, pkcs1)
	assert.NoError(t, err, "PKCS#1 is accepted")

	otherCert := fixture(t, "demo-idp.cert.pem")
	_, _, err = rsaml.ParseKeyPair(otherCert, keyPEM)
	assert.ErrorContains(t, err, "does not belong")

	_, _, err = rsaml.ParseKeyPair(keyPEM, keyPEM)
	assert.ErrorContains(t, err, "CERTIFICATE")
	_, _, err = rsaml.ParseKeyPair(certPEM, certPEM)
	assert.Error(t, err)
	_, _, err = rsaml.ParseKeyPair(certPEM, []byte("not pem"))
	assert.Error(t, err)
	_, _, err = rsaml.ParseKeyPair([]byte("not pem"), keyPEM)
	assert.Error(t, err)
}

func parseB64Cert(s string) (*x509.Certificate, error) {
	block := "-----BEGIN CERTIFICATE-----\n" + s + "\n-----END CERTIFICATE-----\n"
	p, _ := pem.Decode([]byte(block))
	if p == nil {
		return nil, errors.New("bad base64")
	}
	return x509.ParseCertificate(p.Bytes)
}

// spProvider serves Roster's SP metadata to the in-process IdP.
type spProvider map[string]*saml.EntityDescriptor

func (p spProvider) GetServiceProvider(_ *http.Request, id string) (*saml.EntityDescriptor, error) {
	if ed, ok := p[id]; ok {
		return ed, nil
	}
	return nil, os.ErrNotExist
}

type fixedSession struct{ email string }

func (s fixedSession) GetSession(http.ResponseWriter, *http.Request, *saml.IdpAuthnRequest) *saml.Session {
	return &saml.Session{
		ID: "session-1", NameID: s.email, NameIDFormat: string(saml.EmailAddressNameIDFormat),
		UserEmail: s.email, CreateTime: time.Now(), ExpireTime: time.Now().Add(time.Hour), Index: "1",
	}
}

var samlResponseField = regexp.MustCompile(`name="SAMLResponse" value="([^"]*)"`)

// TestDemoIdP_roundTrip proves the bundled demo IdP fixtures (key,
// certificate and metadata) and ServiceProvider's settings work together: a
// signed AuthnRequest goes to the demo IdP, whose signed and encrypted
// response the SP accepts. It uses the real clock, and no saml globals.
func TestDemoIdP_roundTrip(t *testing.T) {
	idpKey, idpCert, err := rsaml.ParseKeyPair(fixture(t, "demo-idp.cert.pem"), fixture(t, "demo-idp.key.pem"))
	require.NoError(t, err)
	meta, err := rsaml.ValidateMetadata(fixture(t, "demo-idp.xml"), time.Now())
	require.NoError(t, err)
	require.True(t, meta.Certificates[0].Equal(idpCert), "demo-idp.xml carries demo-idp.cert.pem")

	sp := testSP(t)
	sp.BaseURL = "http://localhost:8080"
	sp.TenantID = "demo"
	spMeta, err := sp.Metadata()
	require.NoError(t, err)
	var spEntity saml.EntityDescriptor
	require.NoError(t, xml.Unmarshal(spMeta, &spEntity))

	metaURL, _ := url.Parse(meta.EntityID)
	ssoURL, _ := url.Parse(meta.SSOURL)
	idp := &saml.IdentityProvider{
		Key: idpKey, Certificate: idpCert, Logger: logger.DefaultLogger,
		MetadataURL: *metaURL, SSOURL: *ssoURL,
		ServiceProviderProvider: spProvider{spEntity.EntityID: &spEntity},
		SessionProvider:         fixedSession{email: "ada@demo.example"},
		SignatureMethod:         dsig.RSASHA256SignatureMethod,
	}

	s := sp.ServiceProvider(meta.Descriptor)
	req, err := s.MakeAuthenticationRequest(s.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	require.NoError(t, err)
	redirect, err := req.Redirect("relay-token-1", s)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(redirect.String(), meta.SSOURL+"?"))
	assert.NotEmpty(t, redirect.Query().Get("Signature"), "AuthnRequests are signed")
	assert.Equal(t, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", redirect.Query().Get("SigAlg"))

	rec := httptest.NewRecorder()
	idp.ServeSSO(rec, httptest.NewRequest(http.MethodGet, redirect.String(), nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	m := samlResponseField.FindStringSubmatch(rec.Body.String())
	require.Len(t, m, 2, "no SAMLResponse in %s", rec.Body.String())

	form := url.Values{"SAMLResponse": {html.UnescapeString(m[1])}, "RelayState": {"relay-token-1"}}
	acs := httptest.NewRequest(http.MethodPost, sp.AcsURL(), strings.NewReader(form.Encode()))
	acs.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	require.NoError(t, acs.ParseForm())
	assertion, err := s.ParseResponse(acs, []string{req.ID})
	if ire := (*saml.InvalidResponseError)(nil); errors.As(err, &ire) {
		t.Fatalf("response refused: %v", ire.PrivateErr)
	}
	require.NoError(t, err)
	require.NotNil(t, assertion.Subject)
	require.NotNil(t, assertion.Subject.NameID)
	assert.Equal(t, "ada@demo.example", assertion.Subject.NameID.Value)
	assert.Equal(t, meta.EntityID, assertion.Issuer.Value)

	// The same response is refused at another tenant (audience and ACS differ).
	other := sp
	other.TenantID = "acme"
	acs2 := httptest.NewRequest(http.MethodPost, other.AcsURL(), strings.NewReader(form.Encode()))
	acs2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	require.NoError(t, acs2.ParseForm())
	_, err = other.ServiceProvider(meta.Descriptor).ParseResponse(acs2, []string{req.ID})
	assert.Error(t, err)
}
