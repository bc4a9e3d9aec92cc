package saml

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/url"

	"github.com/crewjam/saml"
)

// LoginRequest is an SP-initiated AuthnRequest ready to send to the IdP.
// The caller keeps ID server-side, keyed by RelayState, and passes it to
// ParseResponse as the only acceptable InResponseTo.
type LoginRequest struct {
	ID         string // the AuthnRequest ID
	RelayState string // opaque, URL-safe, 43 characters; never a URL
	// Exactly one of these is set: the IdP's HTTP-Redirect endpoint (the
	// request signed in the query string, RSA-SHA256), else an HTML page
	// that POSTs the signed request to its HTTP-POST endpoint.
	RedirectURL *url.URL
	PostForm    []byte
}

// NewRelayState makes an opaque RelayState from random (nil:
// crypto/rand): 32 bytes in unpadded base64url, well under the 80 bytes
// SAML allows, and safe in a query string unescaped (the library appends it
// as is).
func NewRelayState(random io.Reader) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	var b [32]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", fmt.Errorf("saml: relay state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Login builds the tenant's AuthnRequest to idp (the validated IdP entity)
// with the given relay state: NameID format emailAddress, signed with
// RSA-SHA256, the response asked for on HTTP-POST at our ACS. The IdP's
// HTTP-Redirect endpoint is preferred; an IdP with only HTTP-POST gets an
// auto-submitting form.
func (sp SP) Login(idp *saml.EntityDescriptor, relayState string) (LoginRequest, error) {
	if err := sp.validate(); err != nil {
		return LoginRequest{}, err
	}
	if idp == nil {
		return LoginRequest{}, errors.New("saml: no IdP metadata")
	}
	s := sp.ServiceProvider(idp)
	binding, dest := saml.HTTPRedirectBinding, s.GetSSOBindingLocation(saml.HTTPRedirectBinding)
	if dest == "" {
		binding, dest = saml.HTTPPostBinding, s.GetSSOBindingLocation(saml.HTTPPostBinding)
	}
	if dest == "" {
		return LoginRequest{}, errors.New("saml: the IdP metadata has no HTTP-Redirect or HTTP-POST SSO endpoint")
	}
	req, err := s.MakeAuthenticationRequest(dest, binding, saml.HTTPPostBinding)
	if err != nil {
		return LoginRequest{}, fmt.Errorf("saml: make AuthnRequest: %w", err)
	}
	out := LoginRequest{ID: req.ID, RelayState: relayState}
	if binding == saml.HTTPRedirectBinding {
		out.RedirectURL, err = req.Redirect(relayState, s)
		if err != nil {
			return LoginRequest{}, fmt.Errorf("saml: encode AuthnRequest: %w", err)
		}
		return out, nil
	}
	out.PostForm, err = postForm(dest, req, relayState)
	return out, err
}

// postForm renders the HTTP-POST binding page ourselves: the library's
// AuthnRequest.Post emits an inline script, which a strict
// Content-Security-Policy would block; this page's script is allowed by the
// hash the handler sends (LoginFormCSP).
func postForm(dest string, req *saml.AuthnRequest, relayState string) ([]byte, error) {
	doc, err := xml.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("saml: encode AuthnRequest: %w", err)
	}
	var b bytes.Buffer
	err = postTemplate.Execute(&b, map[string]any{
		"URL":         dest,
		"SAMLRequest": base64.StdEncoding.EncodeToString(doc),
		"RelayState":  relayState,
		"Script":      template.JS(autoSubmit),
	})
	return b.Bytes(), err
}

// autoSubmit is the one script of the POST page; LoginFormCSP allows it by hash.
const autoSubmit = `document.forms[0].submit();`

// LoginFormCSP is the Content-Security-Policy of the HTTP-POST login page:
// nothing but the auto-submit script (by its hash) and the form post.
var LoginFormCSP = func() string {
	sum := sha256.Sum256([]byte(autoSubmit))
	return "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; form-action https: http:; frame-ancestors 'none'"
}()

var postTemplate = template.Must(template.New("post").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Signing in…</title></head>
<body>
<form method="post" action="{{.URL}}">
<input type="hidden" name="SAMLRequest" value="{{.SAMLRequest}}">
<input type="hidden" name="RelayState" value="{{.RelayState}}">
<noscript><p>JavaScript is off: press Continue to sign in.</p></noscript>
<button type="submit">Continue</button>
</form>
<script>{{.Script}}</script>
</body></html>
`))
