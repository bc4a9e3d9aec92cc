package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/internal/scimwire"
	"github.com/roster-dev/roster/store"
)

// RFC 7644 §3.12 scimType values.
const (
	typeInvalidFilter = "invalidFilter"
	typeTooMany       = "tooMany"
	typeUniqueness    = "uniqueness"
	typeMutability    = "mutability"
	typeInvalidSyntax = "invalidSyntax"
	typeInvalidPath   = "invalidPath"
	typeNoTarget      = "noTarget"
	typeInvalidValue  = "invalidValue"
)

// Error is a SCIM error: it renders as an RFC 7644 §3.12 body (written by
// scimwire.WriteError, which the guard in front of the handler uses too).
// Every error that leaves the package is one (toSCIM), so the detail is
// always written for the IT admin reading an IdP's provisioning log, never
// an internal message.
type Error = scimwire.Error

func badRequest(scimType, format string, args ...any) Error {
	return Error{Status: http.StatusBadRequest, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

func notFound(what, id string) Error {
	return Error{Status: http.StatusNotFound, Detail: fmt.Sprintf("%s %q not found", what, id)}
}

// scimAnswer is how SCIM answers one kind of store error.
type scimAnswer struct {
	status   int
	scimType string
	// detail is said when the error has no message for people (a bare
	// sentinel, or always for kinds whose cause is not the admin's to read);
	// "" passes the error's own text on.
	detail string
	always bool // detail replaces the error's message too
	// conflict adds what to do to a uniqueness conflict on a named value.
	conflict bool
}

// scimAnswers is the one table from the store's error kinds to SCIM's
// status, scimType and detail. A (kind, code) row is used before the
// kind's own (kind, "") row.
var scimAnswers = map[store.KindCode]scimAnswer{
	{Kind: store.KindNotFound}:                               {status: http.StatusNotFound, detail: "resource not found", always: true},
	{Kind: store.KindConflict}:                               {status: http.StatusConflict, scimType: typeUniqueness, detail: "the resource already exists", conflict: true},
	{Kind: store.KindConflict, Code: store.CodeUserExists}:   {status: http.StatusConflict, scimType: typeUniqueness}, // names the role the user holds
	{Kind: store.KindInvalid}:                                {status: http.StatusBadRequest, scimType: typeInvalidValue},
	{Kind: store.KindInvalid, Code: store.CodeInvalidFilter}: {status: http.StatusBadRequest, scimType: typeInvalidFilter},
	{Kind: store.KindForbidden}:                              {status: http.StatusForbidden}, // RFC 7644 has no scimType for a refusal
	{Kind: store.KindForbidden, Code: store.CodeSeatLimit}: {status: http.StatusForbidden,
		detail: "every purchased seat is in use; raise the seat count or deactivate a user"},
	{Kind: store.KindPreconditionFailed}: {status: http.StatusPreconditionFailed, always: true,
		detail: "the resource was changed since it was read (If-Match does not match meta.version); read it again and retry"},
	{Kind: store.KindUnavailable}: {status: http.StatusServiceUnavailable, always: true,
		detail: "the directory is temporarily unavailable; retry shortly"},
}

// toSCIM maps any error to the SCIM error sent to the client: the one place
// where the store's error vocabulary becomes SCIM's, through the kind each
// store error declares (store.FaultOf) and scimAnswers. Unknown errors are
// logged with their cause and answered with a generic 500.
func toSCIM(ctx context.Context, log zerolog.Logger, err error) Error {
	var se Error
	if errors.As(err, &se) {
		return se
	}
	f := store.FaultOf(err)
	if f.Kind == store.KindNone && errors.Is(err, context.DeadlineExceeded) {
		f = store.Fault{Kind: store.KindUnavailable}
	}
	if a, ok := store.Answer(scimAnswers, f); ok {
		if f.Kind == store.KindUnavailable {
			log.Error().Err(err).Msg("scim: store unavailable")
		}
		return Error{Status: a.status, ScimType: a.scimType, Detail: a.say(f, err)}
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return Error{Status: 499, Detail: "request cancelled"}
	}
	log.Error().Err(err).Msg("scim: internal error")
	return Error{Status: http.StatusInternalServerError, Detail: "internal error; retry later, and contact support quoting the request id if it persists"}
}

// say is the detail of an answer to err: the error's message for people,
// else the row's words, else the error's own text.
func (a scimAnswer) say(f store.Fault, err error) string {
	var conflict *store.ConflictError
	switch {
	case a.always || (f.Message == "" && a.detail != ""):
		return a.detail
	case a.conflict && errors.As(err, &conflict):
		return fmt.Sprintf("%s %q is already taken in this tenant; choose another or update the existing resource", conflict.Field, conflict.Value)
	case f.Message != "":
		return f.Message
	}
	return err.Error()
}
