package session

import (
	"errors"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/store"
)

// View is the answer of GET /api/v1/session.
type View struct {
	User        UserView   `json:"user"`
	Tenant      TenantView `json:"tenant"`
	Role        string     `json:"role"`
	Permissions []string   `json:"permissions"` // effective permission flags of the role, catalogue order
	Teams       []TeamView `json:"teams"`
	Stores      []string   `json:"stores"`
	Session     struct {
		ExpiresAt time.Time `json:"expiresAt"`
	} `json:"session"`
}

// UserView is the signed-in user.
type UserView struct {
	ID              string     `json:"id"`
	UserName        string     `json:"userName"`
	DisplayName     string     `json:"displayName,omitempty"`
	Email           string     `json:"email,omitempty"`
	UserType        string     `json:"userType,omitempty"`
	AccessExpiresAt *time.Time `json:"accessExpiresAt,omitempty"`
	LastActiveAt    *time.Time `json:"lastActiveAt,omitempty"`
}

// TenantView is the user's organisation.
type TenantView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Plan string `json:"plan"`
}

// TeamView is one team the user is on.
type TeamView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// getSession answers who the session's user is now: everything is read from
// the store on this request.
func (s *Service) getSession(w http.ResponseWriter, r *http.Request) {
	cur, err := s.Authenticate(r)
	if err != nil {
		s.unauthorized(w, r, err)
		return
	}
	perms, err := s.permissions(r, cur)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := View{
		User: UserView{ID: cur.User.ID, UserName: cur.User.UserName, DisplayName: cur.User.DisplayName,
			Email: primaryEmail(cur.User), UserType: cur.User.UserType,
			AccessExpiresAt: cur.User.AccessExpiresAt, LastActiveAt: cur.User.LastActiveAt},
		Tenant:      TenantView{ID: cur.Tenant.ID, Name: cur.Tenant.Name, Plan: cur.Tenant.Plan},
		Role:        cur.User.Role,
		Permissions: perms,
		Teams:       make([]TeamView, 0, len(cur.Teams)),
		Stores:      append([]string{}, cur.User.Stores...),
	}
	for _, g := range cur.Teams {
		v.Teams = append(v.Teams, TeamView{ID: g.ID, Name: g.DisplayName})
	}
	v.Session.ExpiresAt = cur.Session.ExpiresAt
	writeJSON(w, http.StatusOK, v)
}

// permissions is the one place that turns the user's role into permission
// flags: access.Permissions over the built-in roles and the tenant's custom
// roles. A role that no longer exists grants nothing.
func (s *Service) permissions(r *http.Request, cur Current) ([]string, error) {
	custom, err := s.store.ListRoles(r.Context(), cur.Tenant.ID)
	if err != nil {
		return nil, err
	}
	perms, ok := access.Permissions(cur.User.Role, custom)
	if !ok || perms == nil {
		return []string{}, nil
	}
	return perms, nil
}

// logout ends the session of the request.
func (s *Service) logout(w http.ResponseWriter, r *http.Request) {
	tok, ok := credential(r)
	id, okID := parseToken(tok)
	if !ok || !okID {
		s.unauthorized(w, r, errNoSession)
		return
	}
	cur, err := s.store.GetSession(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.unauthorized(w, r, errNoSession)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	if !authEqual(tok, cur.Hash) {
		s.unauthorized(w, r, errNoSession)
		return
	}
	if err := s.store.DeleteSession(r.Context(), id); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.serverError(w, r, err)
		return
	}
	s.clearCookie(w)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// unauthorized answers 401: no session, or one that has ended (the reason
// tells the application why, e.g. deactivated, so that it can say so).
func (s *Service) unauthorized(w http.ResponseWriter, r *http.Request, err error) {
	var e *ended
	if !errors.As(err, &e) && !errors.Is(err, errNoSession) {
		s.serverError(w, r, err)
		return
	}
	body := map[string]string{"error": "no_session", "message": "sign in first: no valid session cookie or bearer session token"}
	if e != nil {
		body = map[string]string{"error": "session_ended", "reason": e.reason, "message": endedText[e.reason]}
		zerolog.Ctx(r.Context()).Info().Str("reason", e.reason).Msg("session ended")
	}
	s.clearCookie(w)
	w.Header().Set("WWW-Authenticate", `Bearer realm="roster"`)
	writeJSON(w, http.StatusUnauthorized, body)
}

var endedText = map[string]string{
	"session_expired":        "the session has expired: sign in again",
	"tenant_deleted":         "the organisation no longer exists",
	"plan":                   "single sign-on is no longer included in the organisation's plan",
	store.RefusedDeleted:     "the account has been removed",
	store.RefusedDeactivated: "the account has been deactivated",
	store.RefusedExpired:     "the account's access has ended",
}

func (s *Service) serverError(w http.ResponseWriter, r *http.Request, err error) {
	a := answerFor(err)
	if a.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	if a.status >= 500 && a.status != http.StatusServiceUnavailable {
		zerolog.Ctx(r.Context()).Error().Err(err).Msg("session request failed")
	}
	writeJSON(w, a.status, map[string]string{"error": a.reason, "message": a.api})
}
