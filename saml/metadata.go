package saml

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
)

// MaxMetadataSize is the largest IdP metadata document ValidateMetadata
// accepts (256 KiB). Real Okta, Entra, OneLogin and AD FS documents are well
// under 64 KiB; the cap bounds the XML work done on an admin's upload.
const MaxMetadataSize = 256 << 10

// maxDepth caps element nesting. Real metadata is under 10 levels deep
// (Entra's ClaimType descriptions are the deepest, at 5).
const maxDepth = 64

// maxEntityIDLength is the SAML 2.0 limit on entityID (saml-metadata §2.3.2).
const maxEntityIDLength = 1024

const (
	mdNamespace   = "urn:oasis:names:tc:SAML:2.0:metadata"
	dateLayout    = "2006-01-02"
	freshMetadata = "download fresh metadata from your IdP"
)

// IdP is what Roster keeps from IdP metadata that passed ValidateMetadata.
type IdP struct {
	EntityID string
	// SSOURL and SSOBinding name the endpoint for SP-initiated login: the
	// first HTTP-Redirect SingleSignOnService, else the first HTTP-POST one.
	SSOURL     string
	SSOBinding string
	// CertNotAfter is the latest NotAfter among the signing certificates
	// valid at validation time. The SSO prerequisite holds while now is
	// before it (CheckPrerequisite).
	CertNotAfter time.Time
	// Certificates are the signing certificates valid at validation time, in
	// document order. All of them are trusted, for key rollover.
	Certificates []*x509.Certificate
	// ValidUntil is the earliest validUntil in the document, if any.
	ValidUntil *time.Time
	// Descriptor is the parsed IdP entity, ready for SP.ServiceProvider.
	Descriptor *saml.EntityDescriptor
}

// MetadataError is a fault in uploaded IdP metadata, or an SSO configuration
// that no longer meets the prerequisite. Field names the part of the metadata
// at fault ("metadata", "entityID", "IDPSSODescriptor", "SingleSignOnService",
// "KeyDescriptor", "validUntil", or the URL attribute such as "Location").
// Reason is one sentence an IT admin can act on; Error returns it.
type MetadataError struct {
	Field  string
	Reason string
}

func (e *MetadataError) Error() string { return e.Reason }

func fault(field, format string, args ...any) *MetadataError {
	return &MetadataError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ValidateMetadata checks uploaded IdP metadata against the SSO prerequisite
// at time now and returns what Roster keeps from it, or a *MetadataError
// naming the first fault. The checks, in order:
//
//   - at most MaxMetadataSize bytes; no DOCTYPE or ENTITY declaration;
//     well-formed XML at most 64 elements deep whose single root is a SAML
//     <EntityDescriptor> or <EntitiesDescriptor>;
//   - every URL (Location, ResponseLocation, errorURL, OrganizationURL,
//     AdditionalMetadataLocation, WS-Addressing Address) is an absolute http
//     or https URL — this also catches javascript: in places the library
//     does not check;
//   - exactly one IDPSSODescriptor in the whole document (SP metadata or an
//     aggregate of several IdPs is refused) and a non-empty entityID;
//   - every HTTP-Redirect and HTTP-POST SingleSignOnService has an https URL,
//     and there is at least one; plain http is accepted only for the hosts
//     localhost, 127.0.0.1 and ::1 (the bundled development IdP);
//   - every certificate of a KeyDescriptor with use "signing" or no use is
//     base64 DER that x509.ParseCertificate accepts (the library refuses all
//     logins otherwise), and at least one is valid at now (NotBefore ≤ now <
//     NotAfter): no signing certificate means no SSO;
//   - every validUntil (EntitiesDescriptor, EntityDescriptor,
//     IDPSSODescriptor) is after now.
//
// The metadata's own <Signature> is not verified: the admin who uploads it
// is trusted to have fetched it from their IdP.
func ValidateMetadata(data []byte, now time.Time) (IdP, error) {
	if len(data) > MaxMetadataSize {
		return IdP{}, fault("metadata", "the metadata is larger than %d KiB; upload the IdP's own SAML metadata file, not a federation aggregate", MaxMetadataSize>>10)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if len(bytes.TrimSpace(data)) == 0 {
		return IdP{}, fault("metadata", "the metadata is empty; upload the SAML metadata XML file from your IdP")
	}
	if upper := bytes.ToUpper(data); bytes.Contains(upper, []byte("<!DOCTYPE")) || bytes.Contains(upper, []byte("<!ENTITY")) {
		return IdP{}, fault("metadata", "the metadata contains a DOCTYPE or ENTITY declaration, which Roster refuses; upload the metadata exactly as your IdP serves it")
	}
	scan, err := prescan(data)
	if err != nil {
		return IdP{}, err
	}
	switch {
	case scan.idps == 0 && scan.sps > 0:
		return IdP{}, fault("IDPSSODescriptor", "this looks like service-provider metadata (it has an SPSSODescriptor but no IDPSSODescriptor); upload the metadata of your identity provider, not Roster's or another application's")
	case scan.idps == 0:
		return IdP{}, fault("IDPSSODescriptor", "the metadata has no IDPSSODescriptor, so it does not describe an identity provider; upload your IdP's SAML metadata")
	case scan.idps > 1:
		return IdP{}, fault("IDPSSODescriptor", "the metadata describes %d identity providers; upload the metadata of the single IdP this tenant signs in with", scan.idps)
	}

	ed, err := samlsp.ParseMetadata(data)
	if err != nil {
		return IdP{}, parseFault(err)
	}
	if len(ed.IDPSSODescriptors) != 1 {
		// The one IdP sits deeper than ParseMetadata looks.
		return IdP{}, fault("IDPSSODescriptor", "the identity provider's EntityDescriptor is nested too deeply inside EntitiesDescriptor elements; upload the IdP's own EntityDescriptor")
	}
	idpd := ed.IDPSSODescriptors[0]

	entityID := strings.TrimSpace(ed.EntityID)
	if entityID == "" {
		return IdP{}, fault("entityID", "the EntityDescriptor has no entityID; download complete metadata from your IdP")
	}
	if len(ed.EntityID) > maxEntityIDLength {
		return IdP{}, fault("entityID", "the entityID is longer than %d characters; check that you uploaded the right file", maxEntityIDLength)
	}

	out := IdP{EntityID: ed.EntityID, Descriptor: ed}
	if err := chooseSSO(idpd.SingleSignOnServices, &out); err != nil {
		return IdP{}, err
	}
	if err := signingCerts(idpd.KeyDescriptors, now, &out); err != nil {
		return IdP{}, err
	}

	validUntil := scan.validUntil
	if !ed.ValidUntil.IsZero() {
		validUntil = append(validUntil, ed.ValidUntil)
	}
	if vu := idpd.ValidUntil; vu != nil && !vu.IsZero() {
		validUntil = append(validUntil, *vu)
	}
	for _, vu := range validUntil {
		if !now.Before(vu) {
			return IdP{}, fault("validUntil", "the metadata expired on %s (its validUntil); %s", vu.UTC().Format(dateLayout), freshMetadata)
		}
		if out.ValidUntil == nil || vu.Before(*out.ValidUntil) {
			out.ValidUntil = &vu
		}
	}
	return out, nil
}

// CheckPrerequisite is the request-time re-check of a stored SSO
// configuration: it holds while now is before certNotAfter (IdP.CertNotAfter
// at upload). A zero certNotAfter means no certificate is on record. The
// error is a *MetadataError with Field "KeyDescriptor".
func CheckPrerequisite(certNotAfter, now time.Time) error {
	if certNotAfter.IsZero() {
		return fault("KeyDescriptor", "no IdP signing certificate is on record, so SAML SSO is not set up; upload your IdP's metadata")
	}
	if !now.Before(certNotAfter) {
		return fault("KeyDescriptor", "the IdP signing certificate expired on %s; upload fresh metadata from your IdP", certNotAfter.UTC().Format(dateLayout))
	}
	return nil
}

// chooseSSO checks every HTTP-Redirect and HTTP-POST SingleSignOnService and
// picks the one SP-initiated login uses.
func chooseSSO(endpoints []saml.Endpoint, out *IdP) error {
	var redirect, post string
	for _, ep := range endpoints {
		if ep.Binding != saml.HTTPRedirectBinding && ep.Binding != saml.HTTPPostBinding {
			continue
		}
		if err := checkSSOURL(ep.Location); err != nil {
			return err
		}
		if ep.Binding == saml.HTTPRedirectBinding && redirect == "" {
			redirect = ep.Location
		}
		if ep.Binding == saml.HTTPPostBinding && post == "" {
			post = ep.Location
		}
	}
	switch {
	case redirect != "":
		out.SSOURL, out.SSOBinding = redirect, saml.HTTPRedirectBinding
	case post != "":
		out.SSOURL, out.SSOBinding = post, saml.HTTPPostBinding
	default:
		return fault("SingleSignOnService", "the IdP offers no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding, which Roster needs; enable one in your IdP and download its metadata again")
	}
	return nil
}

func checkSSOURL(loc string) error {
	u, err := url.Parse(loc)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fault("SingleSignOnService", "the SingleSignOnService Location %s is not an absolute https URL; fix the IdP's SSO URL", quote(loc))
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fault("SingleSignOnService", "the SingleSignOnService Location %s uses plain http; Roster needs an https SSO URL", quote(loc))
	}
	return nil
}

// isLoopback reports whether plain http is acceptable for host: only the
// names a development IdP on the same machine uses.
func isLoopback(host string) bool {
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// signingCerts parses the certificates the library will trust for
// signatures (use "" or "signing", as crewjam's getIDPSigningCerts) and keeps
// those valid at now.
func signingCerts(kds []saml.KeyDescriptor, now time.Time, out *IdP) error {
	var all []*x509.Certificate
	for _, kd := range kds {
		if kd.Use != "" && kd.Use != "signing" {
			continue
		}
		for _, c := range kd.KeyInfo.X509Data.X509Certificates {
			cert, err := parseCert(c.Data)
			if err != nil {
				return err
			}
			all = append(all, cert)
		}
	}
	if len(all) == 0 {
		return fault("KeyDescriptor", "the metadata has no signing certificate (a KeyDescriptor with use=\"signing\" or no use, holding an X509Certificate), and there is no SSO without a signing certificate; download complete metadata from your IdP")
	}
	var expired, future *x509.Certificate
	for _, cert := range all {
		switch {
		case !now.Before(cert.NotAfter):
			if expired == nil || cert.NotAfter.After(expired.NotAfter) {
				expired = cert
			}
		case now.Before(cert.NotBefore):
			if future == nil || cert.NotBefore.Before(future.NotBefore) {
				future = cert
			}
		default:
			out.Certificates = append(out.Certificates, cert)
			if cert.NotAfter.After(out.CertNotAfter) {
				out.CertNotAfter = cert.NotAfter
			}
		}
	}
	switch {
	case len(out.Certificates) > 0:
		return nil
	case expired != nil:
		return fault("KeyDescriptor", "signing certificate expired on %s; %s", expired.NotAfter.UTC().Format(dateLayout), freshMetadata)
	default:
		return fault("KeyDescriptor", "signing certificate is not valid before %s; upload metadata with a current certificate, or wait until then", future.NotBefore.UTC().Format(dateLayout))
	}
}

func parseCert(data string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(data), ""))
	if err != nil || len(der) == 0 {
		return nil, fault("KeyDescriptor", "a signing certificate is not valid base64; download the metadata again from your IdP instead of editing it")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fault("KeyDescriptor", "a signing certificate could not be read (%s); download the metadata again from your IdP", shorten(err.Error()))
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); ok && pub.N.BitLen() < 2048 {
		return nil, fault("KeyDescriptor", "a signing certificate has a %d-bit RSA key; Roster needs at least 2048 bits, so roll the IdP's signing key over", pub.N.BitLen())
	}
	return cert, nil
}

// scanResult is what the token walk over the raw document found.
type scanResult struct {
	idps, sps  int
	validUntil []time.Time // of EntitiesDescriptor elements
}

// urlAttrs are attributes holding URLs, by local name, on any element.
var urlAttrs = map[string]bool{"Location": true, "ResponseLocation": true, "errorURL": true}

// urlElems are elements whose text is a URL.
var urlElems = map[xml.Name]bool{
	{Space: mdNamespace, Local: "OrganizationURL"}:                    true,
	{Space: mdNamespace, Local: "AdditionalMetadataLocation"}:         true,
	{Space: "http://www.w3.org/2005/08/addressing", Local: "Address"}: true,
}

// prescan walks the tokens of data before the library sees it: it proves
// well-formed XML with one SAML metadata root, checks every URL, counts role
// descriptors and collects the validUntil of EntitiesDescriptor wrappers,
// which ParseMetadata drops.
func prescan(data []byte) (scanResult, error) {
	var res scanResult
	d := xml.NewDecoder(bytes.NewReader(data))
	depth, roots := 0, 0
	var text strings.Builder
	var textElem string // local name of the URL element being read, if any
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, notXML(data, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return res, fault("metadata", "the metadata contains a DOCTYPE or ENTITY declaration, which Roster refuses; upload the metadata exactly as your IdP serves it")
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots > 1 {
					return res, fault("metadata", "the document has more than one root element; upload a single SAML metadata document")
				}
				if t.Name.Space != mdNamespace || (t.Name.Local != "EntityDescriptor" && t.Name.Local != "EntitiesDescriptor") {
					return res, fault("metadata", "the document's root element is <%s>, not a SAML <EntityDescriptor> or <EntitiesDescriptor>; upload your IdP's SAML metadata", shorten(t.Name.Local))
				}
			}
			depth++
			if depth > maxDepth {
				return res, fault("metadata", "the metadata nests elements more than %d levels deep, which no IdP does; upload the file exactly as your IdP serves it", maxDepth)
			}
			if t.Name.Space == mdNamespace {
				switch t.Name.Local {
				case "IDPSSODescriptor":
					res.idps++
				case "SPSSODescriptor":
					res.sps++
				}
			}
			for _, a := range t.Attr {
				if a.Name.Space == "" && urlAttrs[a.Name.Local] {
					if err := checkURL(a.Name.Local, t.Name.Local, a.Value); err != nil {
						return res, err
					}
				}
				if t.Name.Local == "EntitiesDescriptor" && a.Name.Space == "" && a.Name.Local == "validUntil" {
					var vu saml.RelaxedTime
					if err := vu.UnmarshalText([]byte(a.Value)); err != nil {
						return res, fault("validUntil", "the EntitiesDescriptor validUntil %s is not a valid date-time; %s", quote(a.Value), freshMetadata)
					}
					if tm := time.Time(vu); !tm.IsZero() {
						res.validUntil = append(res.validUntil, tm)
					}
				}
			}
			if urlElems[t.Name] {
				textElem = t.Name.Local
				text.Reset()
			}
		case xml.CharData:
			if textElem != "" && text.Len() <= 4096 {
				text.Write(t)
			}
		case xml.EndElement:
			depth--
			if textElem != "" && t.Name.Local == textElem {
				if v := strings.TrimSpace(text.String()); v != "" {
					if err := checkURL(textElem, textElem, v); err != nil {
						return res, err
					}
				}
				textElem = ""
			}
		}
	}
	if roots == 0 {
		if bytes.Contains(data, []byte("-----BEGIN CERTIFICATE-----")) {
			return res, fault("metadata", "this looks like a PEM certificate, not SAML metadata; upload the IdP's metadata XML, which contains the certificate")
		}
		return res, fault("metadata", "the upload is not XML; upload the SAML metadata XML file from your IdP")
	}
	return res, nil
}

// checkURL refuses a URL value that is not absolute http(s): javascript:,
// data:, relative references and the like (CVE-2023-45683 and its kin).
func checkURL(attr, elem, value string) error {
	where := "the " + attr + " of " + elem
	if attr == elem {
		where = "the " + elem
	}
	v := strings.TrimSpace(value)
	if v == "" {
		if attr == "Location" { // required; the library refuses it empty
			return fault(attr, "%s is empty; fix the endpoint's URL in your IdP", where)
		}
		return nil
	}
	u, err := url.Parse(v)
	if err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		return nil
	}
	return fault(attr, "%s, %s, is not an http or https URL; Roster refuses metadata with such URLs, so fix it in your IdP", where, quote(v))
}

func notXML(data []byte, err error) error {
	if bytes.Contains(data, []byte("-----BEGIN CERTIFICATE-----")) {
		return fault("metadata", "this looks like a PEM certificate, not SAML metadata; upload the IdP's metadata XML, which contains the certificate")
	}
	if strings.Contains(err.Error(), "CharsetReader") {
		return fault("metadata", "the metadata declares a character encoding other than UTF-8; save it as UTF-8 or download it again from your IdP")
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fault("metadata", "the metadata is not well-formed XML (line %d: %s); upload the file exactly as your IdP serves it", se.Line, shorten(se.Msg))
	}
	return fault("metadata", "the metadata could not be read as XML (%s); upload the file exactly as your IdP serves it", shorten(err.Error()))
}

// parseFault turns a samlsp.ParseMetadata error into a short fault. The
// round-trip validator's messages carry token dumps, so they are replaced.
func parseFault(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "roundtrip") || strings.Contains(msg, "validator"):
		return fault("metadata", "the metadata uses XML constructs that do not parse the same way twice, which Roster refuses; upload the file exactly as your IdP serves it")
	case strings.Contains(msg, "no entity found with IDPSSODescriptor"):
		return fault("IDPSSODescriptor", "the identity provider's EntityDescriptor is nested too deeply inside EntitiesDescriptor elements; upload the IdP's own EntityDescriptor")
	}
	return fault("metadata", "the metadata could not be read (%s); download it again from your IdP", shorten(msg))
}

func shorten(s string) string {
	const limit = 120
	if r := []rune(s); len(r) > limit {
		return string(r[:limit]) + "…"
	}
	return s
}

func quote(s string) string { return fmt.Sprintf("%q", shorten(s)) }
