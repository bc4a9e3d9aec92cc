package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/roster-dev/roster/store"
)

// conflictFields names the attribute behind each unique constraint.
var conflictFields = map[string]string{
	"tenants_pkey":               "id",
	"tokens_pkey":                "id",
	"api_keys_pkey":              "id",
	"roles_pkey":                 "name",
	"users_pkey":                 "id",
	"users_user_name_key_uq":     "userName",
	"groups_pkey":                "id",
	"groups_display_name_key_uq": "displayName",
	"tenant_stores_pkey":         "id",
	"sessions_pkey":              "id",
	"saml_requests_pkey":         "relayState",
	"webhooks_pkey":              "id",
}

// vals gives convert the values of the attributes a write could collide on,
// by the field names of conflictFields.
type vals map[string]string

// dbError is an unexpected database error. Its message carries the SQLSTATE
// and the constraint, never the server's text, which may quote client data:
// callers treat it as a 500 and log it; convert has logged the full cause.
type dbError struct {
	op         string
	code       string
	constraint string
}

func (e *dbError) Error() string {
	s := "postgres: " + e.op + ": unexpected database error"
	if e.code != "" {
		s += " (SQLSTATE " + e.code
		if e.constraint != "" {
			s += ", constraint " + e.constraint
		}
		s += ")"
	}
	return s
}

// unavailable wraps store.ErrUnavailable with a fixed reason, so that no
// driver or server text travels up.
type unavailable struct {
	reason string
	cause  error // context errors only, so that errors.Is(err, context.DeadlineExceeded) holds
}

func (e *unavailable) Error() string { return store.ErrUnavailable.Error() + ": " + e.reason }
func (e *unavailable) Is(target error) bool {
	return target == store.ErrUnavailable || (e.cause != nil && errors.Is(e.cause, target))
}

// convert is the one place where driver and server errors become the store's
// error vocabulary (boundary's Convert). op names the store method for logs;
// v supplies the values for a ConflictError.
func (s *Store) convert(op string, err error, v vals) error {
	if err == nil {
		return nil
	}
	// Errors already in the store vocabulary (from closures, or converted
	// once already) pass through untouched.
	if isStoreError(err) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	// A failed connection attempt may carry a server error (too many
	// connections, no such database): it is unavailability all the same.
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		s.log.Warn().Str("op", op).Err(err).Msg("postgres: cannot connect")
		return &unavailable{reason: "cannot connect to the database"}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return s.convertPg(op, pe, v)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		s.log.Warn().Str("op", op).Err(err).Msg("postgres: deadline exceeded")
		return &unavailable{reason: "deadline exceeded", cause: context.DeadlineExceeded}
	case errors.Is(err, context.Canceled):
		return &unavailable{reason: "request canceled", cause: context.Canceled}
	case errors.Is(err, puddle.ErrClosedPool):
		return &unavailable{reason: "store closed"}
	case isConnectionError(err):
		s.log.Warn().Str("op", op).Err(err).Msg("postgres: connection failure")
		return &unavailable{reason: "database connection failed"}
	}
	s.log.Error().Str("op", op).Err(err).Msg("postgres: unexpected error")
	return &dbError{op: op}
}

func (s *Store) convertPg(op string, pe *pgconn.PgError, v vals) error {
	code := pe.Code
	switch {
	case code == "23505": // unique_violation
		if field, ok := conflictFields[pe.ConstraintName]; ok {
			return &store.ConflictError{Field: field, Value: v[field]}
		}
	case code == "RS001": // users.stores names stores not in the catalogue (migration 0008)
		var missing []string
		if err := json.Unmarshal([]byte(pe.Detail), &missing); err == nil && len(missing) > 0 {
			return &store.UnknownStoresError{Stores: missing}
		}
	case code == "23503": // foreign_key_violation: the tenant (or user) is not there
		return store.ErrNotFound
	case code == "22021", code == "22P05", code == "22001": // bad encoding, NUL, too long
		return &store.InvalidError{Field: "value", Reason: "contains characters or a length that cannot be stored"}
	case strings.HasPrefix(code, "08"), // connection_exception
		strings.HasPrefix(code, "53"),                     // insufficient_resources, incl. too_many_connections
		code == "57P01", code == "57P02", code == "57P03", // admin/crash shutdown, cannot connect now
		code == "57014",                  // query_canceled (statement timeout)
		code == "40001", code == "40P01": // serialization failure, deadlock: retry
		s.log.Warn().Str("op", op).Str("sqlstate", code).Str("pg_message", pe.Message).Msg("postgres: unavailable")
		return &unavailable{reason: "database unavailable (SQLSTATE " + code + ")"}
	}
	if (code == "26000" || code == "42P05") && strings.Contains(pe.Message, "stmtcache_") {
		// pgx's statement cache names its prepared statements stmtcache_…;
		// one missing, or already there, means the session that prepared it
		// is not this one: a pooler in transaction mode is in between.
		s.log.Error().Str("op", op).Str("sqlstate", code).Str("pg_message", pe.Message).Msg("postgres: " + statementCacheHint)
		return &dbError{op: op, code: code}
	}
	// The message, not the detail: a detail may quote a row's values.
	s.log.Error().Str("op", op).Str("sqlstate", code).Str("constraint", pe.ConstraintName).
		Str("pg_message", pe.Message).Msg("postgres: unexpected error")
	return &dbError{op: op, code: code, constraint: pe.ConstraintName}
}

// statementCacheHint tells an operator what to do when the pool's
// connections go through a pooler in transaction mode (PgBouncer before
// 1.21, or without max_prepared_statements) with pgx's default statement
// cache, whose named prepared statements live in one server session.
const statementCacheHint = "prepared statements do not survive between statements: the database URL goes through a pooler in transaction mode (PgBouncer); " +
	"add default_query_exec_mode=cache_describe to it (rosterd: ROSTER_DATABASE_URL, e.g. postgres://…/roster?default_query_exec_mode=cache_describe), " +
	"which keeps one round trip per statement without named prepared statements"

func isStoreError(err error) bool {
	for _, target := range []error{
		store.ErrNotFound, store.ErrConflict, store.ErrSeatLimit, store.ErrInvalid, store.ErrInvalidFilter,
		store.ErrVersionMismatch, store.ErrRoleInUse, store.ErrUnavailable,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	var de *dbError
	return errors.As(err, &de)
}

func isConnectionError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, pgconn.ErrConnClosed) || pgconn.SafeToRetry(err)
}
