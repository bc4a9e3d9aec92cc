package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/internal/httpjson"
	"github.com/roster-dev/roster/internal/requestid"
	"github.com/roster-dev/roster/saml"
	"github.com/roster-dev/roster/store"
)

// login starts an SP-initiated sign-in: it makes the AuthnRequest, keeps its
// ID in the store under a fresh opaque RelayState (with a hash of a cookie
// that ties it to this browser) and sends the browser to the IdP.
func (s *Service) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, sp, idp, err := s.provider(ctx, r.PathValue("tenant"))
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	relay, err := saml.NewRelayState(s.random)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	nonce, err := saml.NewRelayState(s.random)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	req, err := sp.Login(idp, relay)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	expires := s.now().Add(requestLifetime)
	if err := s.store.PutAuthnRequest(ctx, t.ID, store.AuthnRequest{
		RelayState: relay, RequestID: req.ID, BrowserHash: auth.Hash(nonce), ExpiresAt: expires,
		Next: ConsoleNext(t.ID, r.URL.Query().Get("next")),
	}); err != nil {
		s.refuse(w, r, err)
		return
	}
	// Cross-site POSTs from the IdP carry the cookie only as SameSite=None,
	// which browsers accept only when Secure: on plain http (development)
	// the cookie does not come back and the browser check is skipped.
	c := &http.Cookie{Name: requestCookie, Value: nonce, Path: "/saml/" + t.ID + "/acs",
		MaxAge: int(requestLifetime.Seconds()), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
	if s.secure {
		c.SameSite = http.SameSiteNoneMode
	}
	http.SetCookie(w, c)
	noStore(w)
	if req.RedirectURL != nil {
		http.Redirect(w, r, req.RedirectURL.String(), http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", saml.LoginFormCSP)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(req.PostForm)
}

// acs consumes the IdP's response: a POST of SAMLResponse (never an
// artifact). It verifies the response for this tenant only, spends the
// assertion once, finds the user by NameID and starts a session.
func (s *Service) acs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form, err := saml.ReadACSForm(w, r)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	t, sp, idp, err := s.provider(ctx, r.PathValue("tenant"))
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	// The request this response may answer: the one tracked for its
	// RelayState (SP-initiated), else none at all (IdP-initiated), which
	// only a tenant that opted in accepts.
	ids := []string{""}
	landing := s.landing
	if form.RelayState != "" {
		pending, err := s.store.TakeAuthnRequest(ctx, t.ID, form.RelayState)
		switch {
		case err == nil:
			if s.secure && !sameBrowser(r, pending.BrowserHash) {
				s.refuse(w, r, &refusal{status: http.StatusForbidden, reason: "other_browser",
					text: "This sign-in was started in another browser or has already been used. Start signing in again from Roster."})
				return
			}
			ids = []string{pending.RequestID}
			if pending.Next != "" {
				landing = pending.Next
			}
		case errors.Is(err, store.ErrNotFound) && t.Settings.IdPInitiatedSSO:
			// An IdP-initiated response may carry an IdP-chosen RelayState;
			// it is ignored (never a redirect target).
		case errors.Is(err, store.ErrNotFound):
			s.refuse(w, r, &refusal{status: http.StatusForbidden, reason: "unsolicited",
				text: "This sign-in response does not answer a sign-in started here, or it took too long. Start signing in again from Roster."})
			return
		default:
			s.refuse(w, r, err)
			return
		}
	} else if !t.Settings.IdPInitiatedSSO {
		s.refuse(w, r, &refusal{status: http.StatusForbidden, reason: "unsolicited",
			text: fmt.Sprintf("%s accepts sign-ins started from Roster only: open Roster's sign-in page instead of the identity provider's app tile, or ask an administrator to allow IdP-initiated sign-in.", displayName(t))})
		return
	}
	clearRequestCookie(w, t.ID, s.secure)

	a, err := sp.ParseResponse(form.SAMLResponse, idp, ids)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	user, err := s.findUser(ctx, t.ID, a.NameID)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	now := s.now()
	if err := store.CanSignIn(user, now); err != nil { // checked again, under lock, by the directory's SignIn
		s.refuse(w, r, storeRefusal(err, t, a.NameID))
		return
	}
	expires := now.Add(s.lifetime)
	if a.SessionNotOnOrAfter != nil && a.SessionNotOnOrAfter.Before(expires) {
		expires = *a.SessionNotOnOrAfter
	}
	if user.AccessExpiresAt != nil && user.AccessExpiresAt.Before(expires) {
		expires = *user.AccessExpiresAt
	}
	token, id, hash, err := newToken(s.random)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	by := store.Actor{Kind: "user", ID: user.ID, Name: user.UserName, RequestID: requestID(r)}
	_, sess, err := s.dir.SignIn(ctx, t.ID, user.ID, store.Assertion{Issuer: a.Issuer, ID: a.ID, ExpiresAt: a.ExpiresAt},
		store.Session{ID: id, Hash: hash, ExpiresAt: expires}, by)
	if err != nil {
		s.refuse(w, r, storeRefusal(err, t, a.NameID))
		return
	}
	zerolog.Ctx(ctx).Info().Str("tenant", t.ID).Str("user", user.ID).Str("session", sess.ID).Msg("signed in")
	s.setCookie(w, token, sess.ExpiresAt)
	noStore(w)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"token": token, "expiresAt": sess.ExpiresAt, "tokenType": "Bearer"})
		return
	}
	http.Redirect(w, r, landing, http.StatusSeeOther)
}

// ConsoleNext returns next when it is a page of the tenant's own console
// (a path under /console/{tenant}/ with nothing that could make a browser
// leave Roster's host), else "": a sign-in lands only where Roster's own
// pages send it, never on an address an attacker put in a link.
func ConsoleNext(tenantID, next string) string {
	prefix := "/console/" + tenantID + "/"
	if !strings.HasPrefix(next, prefix) || len(next) > 512 ||
		strings.ContainsAny(next, "\\\x00\r\n\t") || strings.Contains(next, "//") || strings.Contains(next, "/..") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, prefix) {
		return ""
	}
	return next
}

// findUser matches a NameID to a user of the tenant: userName
// (case-insensitively), else the primary email of exactly one user.
func (s *Service) findUser(ctx context.Context, tenantID, nameID string) (store.User, error) {
	u, err := s.store.GetUserByUserName(ctx, tenantID, nameID)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	page, err := s.store.ListUsers(ctx, tenantID, store.UserQuery{Count: 10,
		Filter: store.ValuePath{Attr: "emails", Filter: store.Compare{Attr: "value", Op: store.OpEq, Value: nameID}}})
	if err != nil {
		return store.User{}, err
	}
	var match []store.User
	for _, c := range page.Users {
		if strings.EqualFold(primaryEmail(c), nameID) {
			match = append(match, c)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		t, err := s.store.GetTenant(ctx, tenantID)
		if err != nil {
			return store.User{}, err
		}
		return store.User{}, userRefusal(store.RefusedUnknown, t, nameID)
	}
	return store.User{}, &refusal{status: http.StatusForbidden, reason: "ambiguous",
		text: fmt.Sprintf("More than one account has the email %s as its primary email, so Roster cannot tell which one is yours. Ask your administrator.", nameID)}
}

// primaryEmail is the email marked primary, else the only one.
func primaryEmail(u store.User) string {
	for _, e := range u.Emails {
		if e.Primary {
			return e.Value
		}
	}
	if len(u.Emails) == 1 {
		return u.Emails[0].Value
	}
	return ""
}

func userRefusal(reason string, t store.Tenant, nameID string) *refusal {
	org := displayName(t)
	text := map[string]string{
		store.RefusedUnknown:     fmt.Sprintf("There is no Roster account for %s in %s. Accounts are created by your identity provider's provisioning: ask your administrator to assign you to Roster.", nameID, org),
		store.RefusedDeactivated: fmt.Sprintf("Your Roster account in %s is deactivated, so you cannot sign in. Ask your administrator if this is a mistake.", org),
		store.RefusedDeleted:     fmt.Sprintf("Your Roster account in %s has been removed, so you cannot sign in.", org),
		store.RefusedExpired:     fmt.Sprintf("Your access to %s has ended (it was granted until a set date). Ask your contact there to extend it.", org),
	}[reason]
	return &refusal{status: http.StatusForbidden, reason: reason, text: text}
}

// sameBrowser says whether r carries the login cookie whose hash was stored.
func sameBrowser(r *http.Request, hash []byte) bool {
	c, err := r.Cookie(requestCookie)
	return err == nil && len(hash) > 0 && auth.Equal(auth.Hash(c.Value), hash)
}

func clearRequestCookie(w http.ResponseWriter, tenantID string, secure bool) {
	c := &http.Cookie{Name: requestCookie, Value: "", Path: "/saml/" + tenantID + "/acs", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	if secure {
		c.SameSite = http.SameSiteNoneMode
	}
	http.SetCookie(w, c)
}

// refuse answers a sign-in that cannot go on: the refusal page (or JSON for
// a client that asks for it), with the cause in the log only.
func (s *Service) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var rf *refusal
	var ae *saml.ACSError
	switch {
	case errors.As(err, &rf):
	case errors.As(err, &ae):
		rf = &refusal{status: ae.Status, reason: "invalid_response", text: capitalise(ae.Reason) + ".", cause: ae.Cause}
	default: // a store error (by its kind), or an internal one
		var t store.Tenant
		if errors.Is(err, store.ErrSignInRefused) { // the page names the organisation
			t, _ = s.store.GetTenant(r.Context(), r.PathValue("tenant"))
		}
		rf = storeRefusal(err, t, "this name")
	}
	if rf.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	log := zerolog.Ctx(r.Context())
	ev := log.Info()
	if rf.status >= 500 {
		ev = log.Error()
	}
	if rf.cause != nil {
		ev = ev.AnErr("cause", rf.cause)
	}
	ev.Str("tenant", r.PathValue("tenant")).Str("refusal", rf.reason).Msg("sign-in refused")
	noStore(w)
	if wantsJSON(r) {
		writeJSON(w, rf.status, map[string]string{"error": rf.reason, "message": rf.text})
		return
	}
	writePage(w, rf.status, "Sign-in refused", rf.text)
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func wantsJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

func writeJSON(w http.ResponseWriter, status int, v any) { httpjson.Write(w, status, v) }

// requestID is the request id the middleware set, when it did.
func requestID(r *http.Request) string { return requestid.FromContext(r.Context()) }
