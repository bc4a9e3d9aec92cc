package saml

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crewjam/saml"
)

// MaxResponseSize caps the body of a POST to the ACS (256 KiB) before any
// parsing: canonicalisation cost grows with the document
// (GHSA-qhrp-hfff-vphr), and real responses are a few KiB.
const MaxResponseSize = 256 << 10

// Assertion is what Roster takes from a verified SAML assertion.
type Assertion struct {
	ID           string
	Issuer       string
	NameID       string
	NameIDFormat string
	// ExpiresAt is how long the assertion ID must be remembered for replay
	// protection: the latest instant at which the library would still accept
	// it (its time limits plus the allowed clock skew).
	ExpiresAt time.Time
	// SessionNotOnOrAfter is the IdP's limit on the session, when it sets one.
	SessionNotOnOrAfter *time.Time
}

// ACSError is a SAML response Roster refuses. Reason is one sentence for the
// person signing in (the refusal page); Cause is for the server log only and
// never carries the response XML.
type ACSError struct {
	Status int
	Reason string
	Cause  error
}

func (e *ACSError) Error() string {
	if e.Cause != nil {
		return e.Reason + ": " + e.Cause.Error()
	}
	return e.Reason
}

func (e *ACSError) Unwrap() error { return e.Cause }

func refuse(status int, reason string, cause error) *ACSError {
	return &ACSError{Status: status, Reason: reason, Cause: cause}
}

// ACSForm is the POST an IdP sends to the ACS.
type ACSForm struct {
	SAMLResponse string // base64, as sent
	RelayState   string
}

// ReadACSForm reads the HTTP-POST binding form of r: POST only, at most
// MaxResponseSize bytes, and never an artifact (SAMLart), which the library
// would resolve with a server-side request to a URL from tenant metadata.
func ReadACSForm(w http.ResponseWriter, r *http.Request) (ACSForm, error) {
	if r.URL.Query().Has("SAMLart") {
		return ACSForm{}, refuse(http.StatusBadRequest, "the SAML artifact binding is not supported: configure the IdP to POST the response", errors.New("SAMLart in query"))
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return ACSForm{}, refuse(http.StatusMethodNotAllowed, "the sign-in response must be sent with HTTP POST", nil)
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxResponseSize)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return ACSForm{}, refuse(http.StatusRequestEntityTooLarge, "the sign-in response is too large", err)
		}
		return ACSForm{}, refuse(http.StatusBadRequest, "the sign-in response could not be read", err)
	}
	if r.Form.Has("SAMLart") {
		return ACSForm{}, refuse(http.StatusBadRequest, "the SAML artifact binding is not supported: configure the IdP to POST the response", errors.New("SAMLart in form"))
	}
	f := ACSForm{SAMLResponse: r.PostForm.Get("SAMLResponse"), RelayState: r.PostForm.Get("RelayState")}
	if f.SAMLResponse == "" {
		return ACSForm{}, refuse(http.StatusBadRequest, "no SAML response was received", errors.New("SAMLResponse missing"))
	}
	return f, nil
}

// ParseResponse verifies a base64 SAMLResponse for this tenant's SP against
// idp and returns its assertion. possibleRequestIDs are the AuthnRequest IDs
// it may answer: the one tracked for its RelayState for an SP-initiated
// login, or [""] for an unsolicited (IdP-initiated) response, which then
// must not claim to answer any request. The library's AllowIDPInitiated is
// never set: it would switch InResponseTo checking off for every response.
//
// On top of the library's checks (signature against the metadata
// certificates, Destination, InResponseTo, IssueInstant, Issuer, status,
// Recipient, time window, Audience), it requires an AudienceRestriction
// naming this tenant's SP, a Subject with a non-empty NameID, and an
// assertion ID; a library panic (a signed assertion without Subject or
// Conditions) becomes a refusal.
func (sp SP) ParseResponse(samlResponse string, idp *saml.EntityDescriptor, possibleRequestIDs []string) (a Assertion, err error) {
	if err := sp.validate(); err != nil {
		return Assertion{}, err
	}
	if idp == nil {
		return Assertion{}, errors.New("saml: no IdP metadata")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Map(dropSpace, samlResponse))
	if err != nil {
		return Assertion{}, refuse(http.StatusBadRequest, "the SAML response is not valid base64", err)
	}
	if err := prescanResponse(raw); err != nil {
		return Assertion{}, refuse(http.StatusForbidden, "the SAML response is malformed", err)
	}
	s := sp.ServiceProvider(idp)
	audience := s.EntityID
	s.ValidateAudienceRestriction = func(as *saml.Assertion) error {
		if as.Conditions == nil {
			return errors.New("no Conditions")
		}
		for _, ar := range as.Conditions.AudienceRestrictions {
			if ar.Audience.Value == audience {
				return nil
			}
		}
		return fmt.Errorf("no AudienceRestriction names %q", audience)
	}
	acs, err := url.Parse(sp.AcsURL())
	if err != nil {
		return Assertion{}, err
	}
	as, err := parseGuarded(s, raw, possibleRequestIDs, *acs)
	if err != nil {
		return Assertion{}, err
	}
	switch {
	case as.Subject == nil || as.Subject.NameID == nil || strings.TrimSpace(as.Subject.NameID.Value) == "":
		return Assertion{}, refuse(http.StatusForbidden, "the IdP sent no NameID for you", errors.New("assertion without NameID"))
	case as.ID == "":
		return Assertion{}, refuse(http.StatusForbidden, "the SAML assertion has no ID", errors.New("assertion without ID"))
	}
	return Assertion{
		ID:                  as.ID,
		Issuer:              as.Issuer.Value,
		NameID:              strings.TrimSpace(as.Subject.NameID.Value),
		NameIDFormat:        as.Subject.NameID.Format,
		ExpiresAt:           rememberUntil(as),
		SessionNotOnOrAfter: sessionLimit(as),
	}, nil
}

// parseGuarded calls the library and turns a panic into a refusal.
func parseGuarded(s *saml.ServiceProvider, raw []byte, ids []string, acs url.URL) (as *saml.Assertion, err error) {
	defer func() {
		if p := recover(); p != nil {
			as, err = nil, refuse(http.StatusForbidden, "the SAML response is malformed", fmt.Errorf("saml library panic: %v", p))
		}
	}()
	as, err = s.ParseXMLResponse(raw, ids, acs)
	if err != nil {
		var ire *saml.InvalidResponseError
		if errors.As(err, &ire) {
			err = ire.PrivateErr // never ire.Response: it is the raw XML
		}
		return nil, refuse(http.StatusForbidden, refusalReason(err), err)
	}
	if as == nil {
		return nil, refuse(http.StatusForbidden, "the SAML response holds no valid assertion", errors.New("nil assertion"))
	}
	return as, nil
}

// refusalReason is a sentence for the person signing in, from the
// library's cause: enough to tell "try again" from "ask IT".
func refusalReason(cause error) string {
	var bad saml.ErrBadStatus
	msg := ""
	if cause != nil {
		msg = cause.Error()
	}
	switch {
	case errors.As(cause, &bad):
		return "the identity provider did not sign you in (status " + bad.Status + ")"
	case strings.Contains(msg, "expired"), strings.Contains(msg, "not yet valid"):
		return "the sign-in response has expired or is not yet valid: start signing in again"
	case strings.Contains(msg, "InResponseTo"), strings.Contains(msg, "possible request IDs"):
		return "the sign-in response does not answer a sign-in started here: start signing in again from Roster"
	}
	return "the sign-in response could not be verified for this organisation"
}

// rememberUntil is the latest instant the library could accept the
// assertion: every limit it checks, plus the skew it allows.
func rememberUntil(as *saml.Assertion) time.Time {
	until := as.IssueInstant.Add(saml.MaxIssueDelay)
	later := func(t time.Time) {
		if !t.IsZero() && t.Add(saml.MaxClockSkew).After(until) {
			until = t.Add(saml.MaxClockSkew)
		}
	}
	if as.Conditions != nil {
		later(as.Conditions.NotOnOrAfter)
	}
	if as.Subject != nil {
		for _, sc := range as.Subject.SubjectConfirmations {
			if sc.SubjectConfirmationData != nil {
				later(sc.SubjectConfirmationData.NotOnOrAfter)
			}
		}
	}
	return until.UTC()
}

func sessionLimit(as *saml.Assertion) *time.Time {
	for _, st := range as.AuthnStatements {
		if st.SessionNotOnOrAfter != nil && !st.SessionNotOnOrAfter.IsZero() {
			t := st.SessionNotOnOrAfter.UTC()
			return &t
		}
	}
	return nil
}

// maxResponseDepth caps element nesting in a response; real ones are under
// 10 levels deep.
const maxResponseDepth = 64

// prescanResponse refuses, before the library parses anything, what no IdP
// sends and attacks do: DOCTYPE or ENTITY declarations, nesting beyond
// maxResponseDepth, anything but one SAML protocol <Response> root.
func prescanResponse(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("not well-formed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return errors.New("DOCTYPE or ENTITY declaration in the response")
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots > 1 || t.Name.Space != protocolNamespace || t.Name.Local != "Response" {
					return errors.New("the document is not one SAML protocol <Response>")
				}
			}
			depth++
			if depth > maxResponseDepth {
				return fmt.Errorf("elements nested more than %d levels deep", maxResponseDepth)
			}
		case xml.EndElement:
			depth--
		}
	}
	if roots == 0 {
		return errors.New("no root element")
	}
	return nil
}

const protocolNamespace = "urn:oasis:names:tc:SAML:2.0:protocol"

func dropSpace(r rune) rune {
	switch r {
	case ' ', '\t', '\r', '\n':
		return -1
	}
	return r
}
