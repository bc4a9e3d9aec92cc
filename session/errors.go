package session

import (
	"errors"
	"net/http"

	"github.com/roster-dev/roster/store"
)

// storeAnswer is how sign-in (a page, or JSON for a client that asks) and
// the session API answer a store error that reached them without a refusal
// of their own.
type storeAnswer struct {
	status int
	reason string // the JSON "error", and the refusal in the log
	page   string // the sign-in page's sentence
	api    string // the session API's message
}

const (
	internalPage = "Something went wrong on Roster's side. Try again; if it persists, tell your administrator."
	internalAPI  = "internal error; the cause is in the server log"
)

// storeAnswers is the one table from the store's error kinds to sign-in's
// and the session API's answers. A (kind, code) row is used before the
// kind's own (kind, "") row. A sign-in refusal of a user (Forbidden,
// sign_in_refused) is answered by userRefusal, which names the user and the
// organisation. Not found, conflicts, invalid values and stale versions are
// Roster's own fault here: everything a person signing in can get wrong has
// its own refusal (unknown organisation, SSO not set up, unsolicited
// response, unknown user), so one of these kinds reaching the table is a
// race or a bug, answered 500 with the cause in the log.
var storeAnswers = map[store.KindCode]storeAnswer{
	{Kind: store.KindForbidden, Code: store.CodeReplay}: {status: http.StatusForbidden, reason: "replayed",
		page: "This sign-in response has already been used. Start signing in again.",
		api:  "this sign-in response has already been used: sign in again"},
	{Kind: store.KindForbidden}: {status: http.StatusForbidden, reason: "forbidden",
		page: "Roster refused this sign-in. Ask your administrator.",
		api:  "refused; ask your administrator"},
	{Kind: store.KindUnavailable}: {status: http.StatusServiceUnavailable, reason: "unavailable",
		page: "Roster cannot reach its database right now. Try again in a moment.",
		api:  "the database is unavailable; retry shortly"},
	{Kind: store.KindNotFound}:           {status: http.StatusInternalServerError, reason: "internal", page: internalPage, api: internalAPI},
	{Kind: store.KindConflict}:           {status: http.StatusInternalServerError, reason: "internal", page: internalPage, api: internalAPI},
	{Kind: store.KindInvalid}:            {status: http.StatusInternalServerError, reason: "internal", page: internalPage, api: internalAPI},
	{Kind: store.KindPreconditionFailed}: {status: http.StatusInternalServerError, reason: "internal", page: internalPage, api: internalAPI},
}

// answerFor is the row of storeAnswers for err; errors without a kind are
// internal errors.
func answerFor(err error) storeAnswer {
	if a, ok := store.Answer(storeAnswers, store.FaultOf(err)); ok {
		return a
	}
	return storeAnswer{status: http.StatusInternalServerError, reason: "internal", page: internalPage, api: internalAPI}
}

// storeRefusal is the sign-in refusal of a store error: a user's own
// refusal names them and the organisation; any other by its kind.
func storeRefusal(err error, t store.Tenant, nameID string) *refusal {
	var re *store.SignInRefusedError
	if errors.As(err, &re) {
		return userRefusal(re.Reason, t, nameID)
	}
	a := answerFor(err)
	return &refusal{status: a.status, reason: a.reason, text: a.page, cause: err}
}
