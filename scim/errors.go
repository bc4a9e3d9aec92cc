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

// statusError is implemented by errors of other packages (roles, stores, …)
// that know their SCIM status and scimType; their message is written for
// the admin and is passed on as the detail.
type statusError interface {
	SCIMStatus() int
	SCIMType() string
}

// toSCIM maps any error to the SCIM error sent to the client: the one place
// where the store's error vocabulary becomes SCIM's. Unknown errors are logged
// with their cause and answered with a generic 500.
func toSCIM(ctx context.Context, log zerolog.Logger, err error) Error {
	var (
		se       Error
		conflict *store.ConflictError
		seats    *store.SeatLimitError
		members  *store.UnknownMembersError
		invalid  *store.InvalidError
		status   statusError
	)
	switch {
	case errors.As(err, &se):
		return se
	case errors.As(err, &status) && status.SCIMStatus() >= 400 && status.SCIMStatus() < 500:
		return Error{Status: status.SCIMStatus(), ScimType: status.SCIMType(), Detail: err.Error()}
	case errors.As(err, &conflict):
		return Error{Status: http.StatusConflict, ScimType: typeUniqueness,
			Detail: fmt.Sprintf("%s %q is already taken in this tenant; choose another or update the existing resource", conflict.Field, conflict.Value)}
	case errors.Is(err, store.ErrConflict):
		return Error{Status: http.StatusConflict, ScimType: typeUniqueness, Detail: "the resource already exists"}
	case errors.As(err, &seats):
		return Error{Status: http.StatusForbidden, Detail: seats.Error()}
	case errors.Is(err, store.ErrSeatLimit):
		return Error{Status: http.StatusForbidden, Detail: "every purchased seat is in use; raise the seat count or deactivate a user"}
	case errors.As(err, &members):
		return Error{Status: http.StatusBadRequest, ScimType: typeInvalidValue, Detail: members.Error()}
	case errors.As(err, &invalid):
		return Error{Status: http.StatusBadRequest, ScimType: typeInvalidValue, Detail: invalid.Error()}
	case errors.Is(err, store.ErrInvalidFilter):
		return Error{Status: http.StatusBadRequest, ScimType: typeInvalidFilter, Detail: err.Error()}
	case errors.Is(err, store.ErrInvalid):
		return Error{Status: http.StatusBadRequest, ScimType: typeInvalidValue, Detail: err.Error()}
	case errors.Is(err, store.ErrVersionMismatch):
		return Error{Status: http.StatusPreconditionFailed,
			Detail: "the resource was changed since it was read (If-Match does not match meta.version); read it again and retry"}
	case errors.Is(err, store.ErrNotFound):
		return Error{Status: http.StatusNotFound, Detail: "resource not found"}
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		log.Error().Err(err).Msg("scim: store unavailable")
		return Error{Status: http.StatusServiceUnavailable, Detail: "the directory is temporarily unavailable; retry shortly"}
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return Error{Status: 499, Detail: "request cancelled"}
	}
	log.Error().Err(err).Msg("scim: internal error")
	return Error{Status: http.StatusInternalServerError, Detail: "internal error; retry later, and contact support quoting the request id if it persists"}
}
