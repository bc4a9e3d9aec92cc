package saml

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// SP is Roster's service provider for one tenant. The key pair may be shared
// by all tenants; the URLs, and so the audience and the ACS, are per tenant.
type SP struct {
	BaseURL     string // ROSTER_BASE_URL, e.g. https://roster.example.com
	TenantID    string
	Key         *rsa.PrivateKey
	Certificate *x509.Certificate
}

// EntityID is base/saml/{tenant}/metadata, also the SP metadata URL.
func (sp SP) EntityID() string { return sp.url("metadata").String() }

// AcsURL is base/saml/{tenant}/acs.
func (sp SP) AcsURL() string { return sp.url("acs").String() }

func (sp SP) url(leaf string) *url.URL {
	base, err := url.Parse(sp.BaseURL)
	if err != nil {
		return &url.URL{}
	}
	return base.JoinPath("saml", url.PathEscape(sp.TenantID), leaf)
}

func (sp SP) validate() error {
	base, err := url.Parse(sp.BaseURL)
	switch {
	case err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "":
		return fmt.Errorf("saml: base URL %q is not an absolute http(s) URL", sp.BaseURL)
	case base.RawQuery != "" || base.Fragment != "":
		return fmt.Errorf("saml: base URL %q has a query or fragment", sp.BaseURL)
	case sp.TenantID == "" || sp.TenantID == "." || sp.TenantID == "..":
		return fmt.Errorf("saml: tenant %q cannot be a URL path segment", sp.TenantID)
	case sp.Key == nil || sp.Certificate == nil:
		return errors.New("saml: no SP key pair")
	}
	return nil
}

// ServiceProvider builds the crewjam service provider for this tenant, with
// idp (the validated IdP entity, IdP.Descriptor; may be nil) as its IdP.
//
//   - EntityID and MetadataURL are base/saml/{tenant}/metadata, AcsURL is
//     base/saml/{tenant}/acs, so audience, Recipient and Destination are
//     tenant-specific;
//   - AuthnNameIDFormat is emailAddress (unset would ask for transient IDs);
//   - AuthnRequests are signed with RSA-SHA256;
//   - IdP-initiated login is off (it disables all InResponseTo checks); the
//     caller sets AllowIDPInitiated for a tenant that opted in;
//   - HTTPClient refuses every request, so an artifact that slipped past the
//     ACS's SAMLart refusal can never make Roster call a URL taken from
//     tenant metadata.
//
// An SP whose BaseURL does not parse yields empty URLs; build SPs from
// validated configuration.
func (sp SP) ServiceProvider(idp *saml.EntityDescriptor) *saml.ServiceProvider {
	s := &saml.ServiceProvider{
		EntityID:          sp.EntityID(),
		Certificate:       sp.Certificate,
		MetadataURL:       *sp.url("metadata"),
		AcsURL:            *sp.url("acs"),
		IDPMetadata:       idp,
		AuthnNameIDFormat: saml.EmailAddressNameIDFormat,
		SignatureMethod:   dsig.RSASHA256SignatureMethod,
		AllowIDPInitiated: false,
		HTTPClient:        &http.Client{Transport: noOutbound{}},
	}
	if sp.Key != nil { // a nil *rsa.PrivateKey in the interface would not be nil
		s.Key = sp.Key
	}
	return s
}

// noOutbound is the transport of the SP's HTTP client: Roster never resolves
// SAML artifacts.
type noOutbound struct{}

func (noOutbound) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("saml: outbound requests (artifact resolution) are disabled")
}

// Metadata is the tenant's SP metadata XML. It advertises the signing and
// encryption certificate, WantAssertionsSigned, the emailAddress NameID
// format and one ACS, HTTP-POST: the library's HTTP-Artifact ACS is removed
// because Roster refuses artifacts.
//
// validUntil is the SP certificate's NotAfter (ten years for the key pairs
// Roster makes), not the library's now+48h: IdPs that import the metadata
// once and keep it (AD FS, Shibboleth, most admin consoles' "upload
// metadata") treat validUntil as the end of the trust and would stop
// accepting Roster two days after setup. The metadata really does stop being
// usable when the certificate it carries expires — the IdP then needs the
// new certificate anyway — so that is the honest bound. No cacheDuration is
// set: IdPs that poll the metadata URL keep their own refresh policy, and the
// document only changes when the operator changes the base URL or the key.
// The output depends on the SP alone, so it is the same on every request.
func (sp SP) Metadata() ([]byte, error) {
	if err := sp.validate(); err != nil {
		return nil, err
	}
	ed := sp.ServiceProvider(nil).Metadata()
	validUntil := sp.Certificate.NotAfter.UTC()
	ed.ValidUntil = validUntil
	ed.CacheDuration = 0
	for i := range ed.SPSSODescriptors {
		d := &ed.SPSSODescriptors[i]
		d.ValidUntil = &validUntil
		d.CacheDuration = 0
		acs := d.AssertionConsumerServices[:0]
		for _, ep := range d.AssertionConsumerServices {
			if ep.Binding != saml.HTTPArtifactBinding {
				acs = append(acs, ep)
			}
		}
		d.AssertionConsumerServices = acs
	}
	b, err := xml.MarshalIndent(ed, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("saml: marshal SP metadata: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// NewKeyPair makes an SP key pair: RSA 2048, a self-signed certificate for
// commonName valid from an hour before now for ten years, as PEM
// (CERTIFICATE and PKCS#8 PRIVATE KEY). random (nil: crypto/rand) supplies
// the serial number; since Go 1.26 key generation and signing always use the
// system's secure source, so the output is never reproducible.
func NewKeyPair(random io.Reader, now time.Time, commonName string) (certPEM, keyPEM []byte, err error) {
	if random == nil {
		random = rand.Reader
	}
	key, err := rsa.GenerateKey(random, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: generate key: %w", err)
	}
	serial, err := randSerial(random)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour).UTC(),
		NotAfter:              now.AddDate(10, 0, 0).UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(random, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

func randSerial(r io.Reader) (*big.Int, error) {
	serial, err := rand.Int(r, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("saml: serial number: %w", err)
	}
	return serial.Add(serial, big.NewInt(1)), nil // positive, never zero
}

// ParseKeyPair reads an SP key pair from PEM: a CERTIFICATE, and an RSA key
// as PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY". The key must belong to
// the certificate.
func ParseKeyPair(certPEM, keyPEM []byte) (*rsa.PrivateKey, *x509.Certificate, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, errors.New("saml: no PEM CERTIFICATE block in the SP certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: SP certificate: %w", err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, errors.New("saml: no PEM block in the SP key")
	}
	var key *rsa.PrivateKey
	switch kb.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("saml: SP key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, nil, fmt.Errorf("saml: SP key is %T, not RSA", k)
		}
		key = rk
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(kb.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("saml: SP key: %w", err)
		}
	default:
		return nil, nil, fmt.Errorf("saml: SP key PEM block is %q, not PRIVATE KEY or RSA PRIVATE KEY", kb.Type)
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, nil, errors.New("saml: the SP key does not belong to the SP certificate")
	}
	return key, cert, nil
}
