// Package admin is the operator's JSON API under /admin/v1: tenants, their
// SAML configuration, SCIM tokens and the audit trail. Every request carries
// the operator credential (ROSTER_ADMIN_TOKEN) as a bearer token.
package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/internal/authlimit"
	"github.com/roster-dev/roster/internal/httpjson"
	"github.com/roster-dev/roster/internal/requestid"
	"github.com/roster-dev/roster/store"
)

// Config is what the admin API is built from.
type Config struct {
	Store      store.Store
	Logger     zerolog.Logger   // background jobs' log (requests log through their context)
	JobPoll    time.Duration    // how often RunJobs looks for jobs to resume; default 10s
	JobOwner   string           // this process's name in job leases; default a random id
	AdminToken string           // the operator credential
	Now        func() time.Time // default time.Now
	Rand       io.Reader        // token secrets; crypto/rand.Reader in production
	// Sources says which address a request comes from, for the limit on
	// failed attempts (the zero value: the peer address).
	Sources authlimit.Sources
}

// Limits on wrong operator tokens, per source address and for all sources
// together (per second; bursts twice that). Over them a wrong token is
// answered 429 instead of 401; the right token is compared first and never
// limited.
const (
	failedPerSource = 5
	failedGlobal    = 50
)

// API serves /admin/v1.
type API struct {
	store     store.Store
	dir       *directory.Directory
	tokenHash [sha256.Size]byte
	now       func() time.Time
	rand      io.Reader
	sources   authlimit.Sources
	failed    *authlimit.Budget
	jobs      *jobs
}

// New builds the admin API.
func New(c Config) *API {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.JobPoll <= 0 {
		c.JobPoll = defaultJobPoll
	}
	if c.JobOwner == "" {
		c.JobOwner = uuid.NewString()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &API{store: c.Store, dir: directory.New(c.Store).WithClock(c.Now), tokenHash: sha256.Sum256([]byte(c.AdminToken)), now: c.Now, rand: c.Rand,
		sources: c.Sources, failed: authlimit.NewBudget(failedPerSource, failedGlobal),
		jobs: &jobs{owner: c.JobOwner, ctx: ctx, cancel: cancel, log: c.Logger, poll: c.JobPoll}}
}

// maxJSONBody caps admin request bodies (IdP metadata has its own cap).
const maxJSONBody = 1 << 20

// Register adds the admin routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	route := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		mux.Handle(pattern, a.authenticate(h))
	}
	route("POST /admin/v1/tenants", a.createTenant)
	route("GET /admin/v1/tenants", a.listTenants)
	route("GET /admin/v1/tenants/{id}", a.getTenant)
	route("PATCH /admin/v1/tenants/{id}", a.patchTenant)
	route("DELETE /admin/v1/tenants/{id}", a.deleteTenant)
	route("PUT /admin/v1/tenants/{id}/saml", a.putSAML)
	route("GET /admin/v1/tenants/{id}/saml", a.getSAML)
	route("DELETE /admin/v1/tenants/{id}/saml", a.deleteSAML)
	route("POST /admin/v1/tenants/{id}/tokens", a.createToken)
	route("GET /admin/v1/tenants/{id}/tokens", a.listTokens)
	route("DELETE /admin/v1/tenants/{id}/tokens/{tokenID}", a.revokeToken)
	route("GET /admin/v1/tenants/{id}/audit", a.listAudit)
	// The operator trail: events that outlive a tenant (tenant.deleted).
	route("GET /admin/v1/audit", a.listOperatorAudit)
	route("GET /admin/v1/tenants/{id}/seats", a.getSeats) // admin/seats.go
	route("GET /admin/v1/tenants/{id}/seats/events", a.listSeatEvents)
	// Roles, mappings, teams, approvals (admin/roles.go); bulk role
	// change (admin/users.go); CSV import (admin/import.go).
	route("GET /admin/v1/tenants/{id}/roles", a.listRoles)
	route("POST /admin/v1/tenants/{id}/roles", a.createRole)
	route("GET /admin/v1/tenants/{id}/roles/{role}", a.getRole)
	route("PUT /admin/v1/tenants/{id}/roles/{role}", a.putRole)
	route("DELETE /admin/v1/tenants/{id}/roles/{role}", a.deleteRole)
	route("GET /admin/v1/tenants/{id}/role-mappings", a.getRoleMappings)
	route("PUT /admin/v1/tenants/{id}/role-mappings", a.putRoleMappings)
	route("GET /admin/v1/tenants/{id}/teams", a.listTeams)
	route("GET /admin/v1/tenants/{id}/approvals", a.listApprovals)
	route("POST /admin/v1/tenants/{id}/approvals/{aid}", a.decideApproval)
	route("POST /admin/v1/tenants/{id}/users/role", a.setUsersRole)
	route("POST /admin/v1/tenants/{id}/users/import", a.importUsers)
	// Long work (admin/jobs.go): a large import is a job.
	route("GET /admin/v1/tenants/{id}/jobs/{jobID}", a.getJob)
	route("GET /admin/v1/tenants/{id}/jobs/{jobID}/results", a.jobResults)
	// The store catalogue (admin/stores.go) and the dormant-seat report (admin/reports.go).
	route("GET /admin/v1/tenants/{id}/stores", a.listStores)
	route("POST /admin/v1/tenants/{id}/stores", a.createStore)
	route("PATCH /admin/v1/tenants/{id}/stores/{store}", a.renameStore)
	route("DELETE /admin/v1/tenants/{id}/stores/{store}", a.deleteStore)
	route("GET /admin/v1/tenants/{id}/reports/dormant", a.dormantReport)

	// Manual user and team management on every plan (admin/people.go,
	// admin/teams.go). The permission each needs, for the permission table:
	route("GET /admin/v1/tenants/{id}/users", a.listPeople)                            // users.view
	route("POST /admin/v1/tenants/{id}/users", a.invitePerson)                         // users.manage (a role given: users.roles too)
	route("GET /admin/v1/tenants/{id}/users/{userID}", a.getPerson)                    // users.view
	route("PATCH /admin/v1/tenants/{id}/users/{userID}", a.patchPerson)                // users.manage; a "role" in the body: users.roles
	route("DELETE /admin/v1/tenants/{id}/users/{userID}", a.deletePerson)              // users.manage
	route("POST /admin/v1/tenants/{id}/teams", a.createTeam)                           // teams.manage
	route("GET /admin/v1/tenants/{id}/teams/{teamID}", a.getTeam)                      // teams.view
	route("PATCH /admin/v1/tenants/{id}/teams/{teamID}", a.renameTeam)                 // teams.manage
	route("DELETE /admin/v1/tenants/{id}/teams/{teamID}", a.deleteTeam)                // teams.manage
	route("POST /admin/v1/tenants/{id}/teams/{teamID}/members", a.addTeamMembers)      // teams.manage
	route("DELETE /admin/v1/tenants/{id}/teams/{teamID}/members", a.removeTeamMembers) // teams.manage
	// Anything else under /admin/ is a JSON 404 (after authentication, so
	// that the API's shape is not probed anonymously).
	route("/admin/", func(http.ResponseWriter, *http.Request) error {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such admin endpoint"}
	})
}

// authenticate checks the operator credential in constant time, then runs h
// and renders its error. The credential is compared before any limit, so
// that nobody's wrong guesses can lock the operator out; wrong ones spend
// the failure budget of their source address and the global one, and past
// it are answered 429. (A guesser still learns right from wrong at whatever
// rate it sends: the token's strength, checked at start, is the defence.)
func (a *API) authenticate(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		given := sha256.Sum256([]byte(token))
		if !ok || subtle.ConstantTimeCompare(given[:], a.tokenHash[:]) != 1 {
			now, source := a.now(), a.sources.Of(r)
			if wait, allowed := a.failed.Allows(source, now); !allowed {
				secs := max(1, int((wait+time.Second-1)/time.Second))
				w.Header().Set("Retry-After", strconv.Itoa(secs))
				a.fail(w, r, &Error{Status: http.StatusTooManyRequests, Code: "too_many_requests",
					Message: "too many requests with a wrong operator token; retry after the time in Retry-After"})
				return
			}
			a.failed.Spend(source, now)
			w.Header().Set("WWW-Authenticate", `Bearer realm="roster-admin"`)
			a.fail(w, r, &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
				Message: "a valid operator token is required: Authorization: Bearer $ROSTER_ADMIN_TOKEN"})
			return
		}
		if err := h(w, r); err != nil {
			a.fail(w, r, err)
		}
	})
}

// bearer returns the credential of an "Authorization: Bearer x" header; the
// scheme is case-insensitive (RFC 7235).
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// actor is the operator, with the request id, for audit events.
func actor(r *http.Request) store.Actor {
	a := store.ActorAdmin
	a.RequestID = requestid.FromContext(r.Context())
	return a
}

// Error is an admin API error body.
type Error struct {
	Status  int          `json:"-"`
	Code    string       `json:"error"`
	Message string       `json:"message"`
	Fields  []FieldError `json:"fields,omitempty"`
}

// FieldError names one bad field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

func invalid(fields ...FieldError) *Error {
	msgs := make([]string, 0, len(fields))
	for _, f := range fields {
		msgs = append(msgs, f.Field+": "+f.Message)
	}
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: strings.Join(msgs, "; "), Fields: fields}
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf(format, args...)}
}

// adminAnswer is how the admin API answers one kind of store error.
type adminAnswer struct {
	status int
	code   string // the body's "error"
	// message is said when the error has no message for people (a bare
	// sentinel), or always when always is set; "" passes err.Error() on.
	message string
	always  bool
	// field names the request field at fault when the API calls it
	// otherwise than the store ("" keeps the store's).
	field string
}

// adminAnswers is the one table from the store's error kinds to the admin
// API's status and error code. A (kind, code) row is used before the kind's
// own (kind, "") row; the codes it names are part of the API.
var adminAnswers = map[store.KindCode]adminAnswer{
	{Kind: store.KindNotFound}:                                 {status: http.StatusNotFound, code: "not_found", message: "not found", always: true},
	{Kind: store.KindConflict}:                                 {status: http.StatusConflict, code: "conflict"},
	{Kind: store.KindConflict, Code: store.CodeRoleInUse}:      {status: http.StatusConflict, code: "role_in_use"},
	{Kind: store.KindConflict, Code: store.CodeAlreadyDecided}: {status: http.StatusConflict, code: "already_decided"},
	// Manual user and team management (admin/people.go, admin/teams.go).
	{Kind: store.KindConflict, Code: store.CodeIdPManaged}: {status: http.StatusConflict, code: "idp_managed"},
	{Kind: store.KindConflict, Code: store.CodeRoleGroup}:  {status: http.StatusConflict, code: "role_group"},
	{Kind: store.KindInvalid}:                              {status: http.StatusBadRequest, code: "invalid_request"},
	{Kind: store.KindInvalid, Code: store.CodeUnknownRole}: {status: http.StatusBadRequest, code: "unknown_role"},
	// Group members in the store are the users a bulk role change names.
	{Kind: store.KindInvalid, Code: store.CodeUnknownMembers}: {status: http.StatusBadRequest, code: "unknown_users", field: "users"},
	{Kind: store.KindForbidden}:                               {status: http.StatusForbidden, code: "forbidden"},
	{Kind: store.KindForbidden, Code: store.CodeSeatLimit}:    {status: http.StatusForbidden, code: "seat_limit"}, // "10 of 10 seats are in use on tenant acme; …"
	{Kind: store.KindPreconditionFailed}: {status: http.StatusPreconditionFailed, code: "precondition_failed",
		message: "the resource was changed since it was read; read it again and retry"},
	{Kind: store.KindUnavailable}: {status: http.StatusServiceUnavailable, code: "unavailable",
		message: "the database is unavailable; retry shortly", always: true},
}

// storeError is the admin error of a store error, by its kind; nil for an
// error without one. An Invalid error names its field in fields.
func storeError(err error) *Error {
	f := store.FaultOf(err)
	a, ok := store.Answer(adminAnswers, f)
	if !ok {
		return nil
	}
	msg := f.Message
	if a.always || (msg == "" && a.message != "") {
		msg = a.message
	} else if msg == "" {
		msg = err.Error()
	}
	e := &Error{Status: a.status, Code: a.code, Message: msg}
	if f.Kind == store.KindInvalid && f.Field != "" {
		field := f.Field
		if a.field != "" {
			field = a.field
		}
		e.Fields = []FieldError{{Field: field, Message: strings.TrimPrefix(msg, f.Field+": ")}}
	}
	return e
}

// fail renders err: admin errors as they are, store errors by their kind
// (adminAnswers), anything else as a 500 whose cause goes to the log only.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var partial *partialImport
	if errors.As(err, &partial) {
		a.failPartial(w, r, partial)
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		switch re := roleError(err).(type) {
		case *roleInUse:
			zerolog.Ctx(r.Context()).Info().Str("error", re.Code).Str("detail", re.Message).Msg("admin request refused")
			writeJSON(w, re.Status, re)
			return
		case *Error:
			e = re
		default:
			e = storeError(err)
		}
	}
	switch {
	case e == nil:
		zerolog.Ctx(r.Context()).Error().Err(err).Msg("admin request failed")
		e = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; the cause is in the server log"}
	case e.Status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
	}
	if e.Status >= 400 && e.Status < 500 {
		zerolog.Ctx(r.Context()).Info().Str("error", e.Code).Str("detail", e.Message).Msg("admin request refused")
	}
	writeJSON(w, e.Status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) { httpjson.Write(w, status, v) }

// readBody reads a request body up to max bytes: beyond is a 413.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large",
			Message: fmt.Sprintf("the request body is larger than %d bytes", max)}
	}
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: "the request body could not be read"}
	}
	return b, nil
}

// decodeJSON decodes a JSON object strictly: unknown fields and wrong types
// are 400s naming the field.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r, maxJSONBody)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return invalid(FieldError{Field: "body", Message: "has data after the JSON object"})
	}
	return nil
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return invalid(FieldError{Field: typeErr.Field, Message: "must be a JSON " + jsonType(typeErr.Type.Kind().String())})
	case errors.As(err, &syntaxErr):
		return invalid(FieldError{Field: "body", Message: fmt.Sprintf("is not valid JSON (at byte %d)", syntaxErr.Offset)})
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid(FieldError{Field: "body", Message: "is not valid JSON (it ends too early)"})
	case errors.Is(err, io.EOF):
		return invalid(FieldError{Field: "body", Message: "is empty; send a JSON object"})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return invalid(FieldError{Field: strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), Message: "is not a known field"})
	}
	return invalid(FieldError{Field: "body", Message: "is not a valid JSON object"})
}

func jsonType(kind string) string {
	switch kind {
	case "int", "int64", "int32", "uint", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	}
	return kind
}
