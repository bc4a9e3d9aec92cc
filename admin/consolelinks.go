package admin

// Console links (docs/contract.md "Console links"): a single-use link,
// valid five minutes, that signs one active user into the console with
// their role's permissions — how a tenant without SSO reaches the console.
// Minting needs users.manage and every permission of the user's role, so
// that no one mints a way into more than they hold; redemption is a
// directory use case (directory/consolelinks.go) that marks the link used
// and starts the application session in one change.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/internal/requestid"
	"github.com/roster-dev/roster/session"
	"github.com/roster-dev/roster/store"
)

// codeBytes is the randomness of a console link's code.
const codeBytes = 32

var codeEncoding = base64.RawURLEncoding.Strict()

// ConsolePath is where a browser lands once a console link signed it in.
func ConsolePath(tenantID string) string { return "/console/" + tenantID + "/" }

// createConsoleLink mints a console link for a user (id or userName).
func (a *API) createConsoleLink(w http.ResponseWriter, r *http.Request) error {
	tenantID := r.PathValue("id")
	var in struct {
		User *string `json:"user"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.User == nil || *in.User == "" {
		return invalid(FieldError{Field: "user", Message: "is required: the id or userName of the person the link signs in"})
	}
	if _, err := a.store.GetTenant(r.Context(), tenantID); err != nil {
		return err
	}
	u, err := a.lookupUser(r, tenantID, *in.User)
	if errors.Is(err, store.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("tenant %s has no user %q", tenantID, *in.User)}
	}
	if err != nil {
		return err
	}
	// A credential mints a link only into permissions it holds itself.
	if err := a.mayGive(r, tenantID, u.Role); err != nil {
		return err
	}
	var buf [codeBytes]byte
	if _, err := io.ReadFull(a.rand, buf[:]); err != nil {
		return fmt.Errorf("admin: console link code: %w", err)
	}
	code := codeEncoding.EncodeToString(buf[:])
	_, link, err := a.dir.CreateConsoleLink(r.Context(), tenantID, u.ID, u.Role, auth.Hash(code), actor(r))
	var refused *store.SignInRefusedError
	switch {
	case errors.As(err, &refused):
		return &Error{Status: http.StatusConflict, Code: "cannot_sign_in",
			Message: fmt.Sprintf("user %s cannot sign in (%s): a console link is only for an active user", u.UserName, refused.Reason)}
	case errors.Is(err, directory.ErrLinkRoleChanged):
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: "the user's role changed meanwhile: try again"}
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("tenant %s has no user %q", tenantID, *in.User)}
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"url":        a.baseURL + "/console/" + tenantID + "/enter?code=" + code,
		"expires_at": link.ExpiresAt.UTC().Format(time.RFC3339),
	})
	return nil
}

// RegisterConsole adds GET /console/{tenant}/enter, the redemption of a
// console link. It answers plain text to a browser: nothing here is JSON.
func (a *API) RegisterConsole(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/{tenant}/enter", a.enterConsole)
}

// enterConsole redeems a console link: a valid one sets the session cookie
// and sends the browser to the console. A refused one records nothing but
// spends the failure budget of its source (the admin API's), so that codes
// cannot be tried at speed; past the budget refusals are 429. A valid code
// is always redeemed, whatever its source spent.
func (a *API) enterConsole(w http.ResponseWriter, r *http.Request) {
	tenantID := r.PathValue("tenant")
	code := r.URL.Query().Get("code")
	err := errLinkMalformed
	var sess store.Session
	var token string
	if buf, derr := codeEncoding.DecodeString(code); derr == nil && len(buf) == codeBytes {
		var id string
		var hash []byte
		token, id, hash, err = a.sessions.NewToken()
		if err == nil {
			_, sess, err = a.dir.EnterConsole(r.Context(), tenantID, auth.Hash(code),
				store.Session{ID: id, Hash: hash, ExpiresAt: a.now().Add(session.DefaultLifetime)}, requestid.FromContext(r.Context()))
		}
	}
	if err == nil {
		zerolog.Ctx(r.Context()).Info().Str("tenant", tenantID).Str("user", sess.UserID).Str("session", sess.ID).Msg("signed in by console link")
		a.sessions.SetCookie(w, token, sess.ExpiresAt)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, ConsolePath(tenantID), http.StatusSeeOther)
		return
	}
	status, text := linkRefusal(err)
	if status >= 500 {
		zerolog.Ctx(r.Context()).Error().Err(err).Msg("console link")
		plainText(w, status, text)
		return
	}
	now, source := a.now(), a.sources.Of(r)
	if wait, allowed := a.failed.Allows(source, now); !allowed {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
		plainText(w, http.StatusTooManyRequests, "Too many console links were refused from your address. Wait a little, then ask for a new link.")
		return
	}
	a.failed.Spend(source, now)
	zerolog.Ctx(r.Context()).Info().Str("tenant", tenantID).Str("reason", err.Error()).Msg("console link refused")
	plainText(w, status, text)
}

var errLinkMalformed = errors.New("admin: malformed console link code")

// linkRefusal is the status and the sentence a person reads for a refused
// console link.
func linkRefusal(err error) (int, string) {
	var refused *store.SignInRefusedError
	switch {
	case errors.Is(err, errLinkMalformed), errors.Is(err, directory.ErrLinkUnknown), errors.Is(err, store.ErrNotFound):
		return http.StatusBadRequest, "This console link is not valid for this organisation. Check that you copied the whole link, or ask your administrator for a new one."
	case errors.Is(err, directory.ErrLinkUsed):
		return http.StatusGone, "This console link has already been used: each link signs in once. Ask your administrator for a new one."
	case errors.Is(err, directory.ErrLinkExpired):
		return http.StatusGone, "This console link has expired: links are valid for 5 minutes. Ask your administrator for a new one."
	case errors.As(err, &refused):
		return http.StatusForbidden, "This console link cannot sign you in: your account is " + refusalWord(refused.Reason) + ". Ask your administrator if this is a mistake."
	}
	return http.StatusInternalServerError, "Roster could not sign you in because of an internal error. Try again in a moment."
}

func refusalWord(reason string) string {
	switch reason {
	case store.RefusedDeactivated:
		return "deactivated"
	case store.RefusedDeleted, store.RefusedUnknown:
		return "removed"
	case store.RefusedExpired:
		return "past its access expiry"
	}
	return "not allowed to sign in"
}

func plainText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text+"\n")
}
