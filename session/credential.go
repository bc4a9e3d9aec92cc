package session

import (
	"errors"
	"strings"
)

// These let another API that accepts application sessions (the admin API,
// for a tenant's people) tell Authenticate's answers apart and say why a
// session is refused, in the words /api/v1/session uses.

// IsToken says whether s has the shape of a session token (rss_…); whether
// it is valid is for Authenticate to say.
func IsToken(s string) bool {
	_, ok := parseToken(s)
	return ok
}

// HasPrefix says whether s starts like a session token, whatever its shape.
func HasPrefix(s string) bool { return strings.HasPrefix(s, tokenPrefix) }

// NoSession says whether err, from Authenticate, is a request without a
// usable session credential: none, malformed, unknown, or a wrong secret.
func NoSession(err error) bool { return errors.Is(err, errNoSession) }

// Ended says whether err, from Authenticate, is a session that existed and
// may no longer be used, with the reason (session_expired, tenant_deleted,
// plan, deleted, deactivated, expired) and a sentence saying so.
func Ended(err error) (reason, text string, ok bool) {
	var e *ended
	if !errors.As(err, &e) {
		return "", "", false
	}
	text = endedText[e.reason]
	if text == "" {
		text = "the session has ended: sign in again"
	}
	return e.reason, text, true
}
