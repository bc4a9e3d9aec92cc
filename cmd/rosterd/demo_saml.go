package main

import (
	"context"
	_ "embed"
	"encoding/xml"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/crewjam/saml"

	rsaml "github.com/roster-dev/roster/saml"
	"github.com/roster-dev/roster/store"
)

// The demo tenant's bundled test IdP (demoidp/README.md). Only serve on the
// in-memory store uses it.
var (
	//go:embed demoidp/demo-idp.cert.pem
	demoIdPCertPEM []byte
	//go:embed demoidp/demo-idp.key.pem
	demoIdPKeyPEM []byte
	//go:embed demoidp/demo-idp.xml
	demoIdPStaticXML []byte
)

// demoIdPPath is where the demo IdP lives under the base URL: its entity ID
// is base + demoIdPPath + "/metadata", its SSO endpoint base + demoIdPPath + "/sso".
const demoIdPPath = "/saml/" + demoTenantID + "/dev-idp"

// demoIdPMetadata is the demo IdP's metadata for the server at baseURL, as
// crewjam's IdentityProvider writes it, without validUntil and cacheDuration
// (the certificate runs to 2066).
func demoIdPMetadata(baseURL string) ([]byte, error) {
	key, cert, err := rsaml.ParseKeyPair(demoIdPCertPEM, demoIdPKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("demo IdP key pair: %w", err)
	}
	base := strings.TrimRight(baseURL, "/")
	metadataURL, err := url.Parse(base + demoIdPPath + "/metadata")
	if err != nil {
		return nil, err
	}
	ssoURL, err := url.Parse(base + demoIdPPath + "/sso")
	if err != nil {
		return nil, err
	}
	idp := saml.IdentityProvider{Key: key, Certificate: cert, MetadataURL: *metadataURL, SSOURL: *ssoURL}
	ed := idp.Metadata()
	ed.ValidUntil, ed.CacheDuration = time.Time{}, 0
	for i := range ed.IDPSSODescriptors {
		ed.IDPSSODescriptors[i].ValidUntil = nil
		ed.IDPSSODescriptors[i].CacheDuration = 0
		ed.IDPSSODescriptors[i].NameIDFormats = []saml.NameIDFormat{saml.EmailAddressNameIDFormat}
	}
	b, err := xml.MarshalIndent(ed, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), b...), nil
}

// seedDemoSAML gives the demo tenant the bundled test IdP as its SAML
// configuration, through the same validation as an admin's upload, so that
// the demo tenant passes both SCIM gates. When the metadata for baseURL does
// not validate (plain http on a host other than localhost), the bundled
// document for http://localhost:8080 is used.
func seedDemoSAML(ctx context.Context, st store.Store, baseURL string, now time.Time) error {
	doc, err := demoIdPMetadata(baseURL)
	if err != nil {
		return err
	}
	idp, err := rsaml.ValidateMetadata(doc, now)
	if err != nil {
		doc = demoIdPStaticXML
		if idp, err = rsaml.ValidateMetadata(doc, now); err != nil {
			return fmt.Errorf("bundled demo IdP metadata: %w", err)
		}
	}
	_, err = st.PutSAMLConfig(ctx, demoTenantID, store.SAMLConfig{
		MetadataXML: string(doc), EntityID: idp.EntityID, SSOURL: idp.SSOURL, CertNotAfter: idp.CertNotAfter,
	}, store.ActorSystem)
	return err
}
