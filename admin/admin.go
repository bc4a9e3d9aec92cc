// Package admin is the JSON API under /admin/v1: tenants, their SAML
// configuration, SCIM tokens, API keys and the audit trail. The operator
// (ROSTER_ADMIN_TOKEN) reaches everything; a tenant's API key or signed-in
// person reaches that tenant's paths with their permissions
// (admin/credentials.go).
package admin

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/internal/authlimit"
	"github.com/roster-dev/roster/internal/httpjson"
	"github.com/roster-dev/roster/internal/metrics"
	"github.com/roster-dev/roster/session"
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
	// BaseURL is Roster's public URL (ROSTER_BASE_URL, no trailing
	// slash): console links are under it, and an https one makes the
	// session cookie Secure.
	BaseURL string
	// WebhookAllowPrivate (ROSTER_WEBHOOK_ALLOW_PRIVATE) lets webhook URLs
	// be http and name private addresses.
	WebhookAllowPrivate bool
	// Metrics counts refused credentials (401, 429) by reason; nil: not
	// counted.
	Metrics *metrics.Metrics
}

// API serves /admin/v1.
type API struct {
	store      store.Store
	dir        *directory.Directory
	tokenHash  [sha256.Size]byte
	now        func() time.Time
	rand       io.Reader
	sources    authlimit.Sources
	baseURL    string
	failed     *authlimit.Budget
	metrics    *metrics.Metrics
	jobs       *jobs
	log        zerolog.Logger
	sessions   *session.Service // people signed in by SAML SSO (admin/credentials.go)
	keyUse     keyUse           // API keys' last use, written in batches
	stopFlush  chan struct{}
	flushDone  chan struct{}
	closeFlush sync.Once
	// webhookAllowPrivate: http and private webhook URLs allowed (webhooks.go).
	webhookAllowPrivate bool
	routes              []routeNeed // as registered, for the tests of the permission table
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
	a := &API{store: c.Store, dir: directory.New(c.Store).WithClock(c.Now), tokenHash: sha256.Sum256([]byte(c.AdminToken)), now: c.Now, rand: c.Rand,
		sources: c.Sources, baseURL: strings.TrimRight(c.BaseURL, "/"), failed: authlimit.NewBudget(failedPerSource, failedGlobal), metrics: c.Metrics,
		webhookAllowPrivate: c.WebhookAllowPrivate,
		jobs:                &jobs{owner: c.JobOwner, ctx: ctx, cancel: cancel, log: c.Logger, poll: c.JobPoll},
		log:                 c.Logger, sessions: session.New(session.Config{Store: c.Store, Now: c.Now, BaseURL: c.BaseURL, Random: c.Rand}),
		stopFlush: make(chan struct{}), flushDone: make(chan struct{})}
	go a.flushKeyUseLoop(a.stopFlush, a.flushDone)
	return a
}

// maxJSONBody caps admin request bodies (IdP metadata has its own cap).
const maxJSONBody = 1 << 20

// Register adds the admin routes to mux. Every route says what its caller
// needs (admin/credentials.go): operatorOnly, a permission flag (perm), or
// anyCredential of the tenant; docs/contract.md lists the same table.
func (a *API) Register(mux *http.ServeMux) {
	route := func(pattern string, n need, h func(http.ResponseWriter, *http.Request) error) {
		a.routes = append(a.routes, routeNeed{pattern, n})
		mux.Handle(pattern, a.authenticate(n, h))
	}
	route("POST /admin/v1/tenants", operatorOnly, a.createTenant)
	route("GET /admin/v1/tenants", operatorOnly, a.listTenants)
	route("GET /admin/v1/tenants/{id}", anyCredential, a.getTenant)
	// plan, seats, addons and contract terms stay the operator's (patchTenant).
	route("PATCH /admin/v1/tenants/{id}", perm("settings.manage"), a.patchTenant)
	route("DELETE /admin/v1/tenants/{id}", operatorOnly, a.deleteTenant)
	route("PUT /admin/v1/tenants/{id}/saml", perm("integrations.manage"), a.putSAML)
	route("GET /admin/v1/tenants/{id}/saml", perm("integrations.view"), a.getSAML)
	route("DELETE /admin/v1/tenants/{id}/saml", perm("integrations.manage"), a.deleteSAML)
	route("POST /admin/v1/tenants/{id}/tokens", perm("integrations.manage"), a.createToken)
	route("GET /admin/v1/tenants/{id}/tokens", perm("integrations.view"), a.listTokens)
	route("DELETE /admin/v1/tenants/{id}/tokens/{tokenID}", perm("integrations.manage"), a.revokeToken)
	// Tenants' admin API keys (admin/apikeys.go).
	route("POST /admin/v1/tenants/{id}/api-keys", perm("integrations.manage"), a.createAPIKey)
	route("GET /admin/v1/tenants/{id}/api-keys", perm("integrations.view"), a.listAPIKeys)
	route("DELETE /admin/v1/tenants/{id}/api-keys/{keyID}", perm("integrations.manage"), a.revokeAPIKey)
	// Console links (admin/consolelinks.go); minting also needs every
	// permission of the user's role.
	route("POST /admin/v1/tenants/{id}/console-links", perm("users.manage"), a.createConsoleLink)
	route("GET /admin/v1/tenants/{id}/audit", perm("settings.view"), a.listAudit)
	// The operator trail: events that outlive a tenant (tenant.deleted).
	route("GET /admin/v1/audit", operatorOnly, a.listOperatorAudit)
	route("GET /admin/v1/tenants/{id}/seats", perm("billing.view"), a.getSeats) // admin/seats.go
	route("GET /admin/v1/tenants/{id}/seats/events", perm("billing.view"), a.listSeatEvents)
	route("GET /admin/v1/tenants/{id}/seats/usage", perm("billing.view"), a.seatUsage) // admin/seatusage.go
	// Roles, mappings, teams, approvals (admin/roles.go); bulk role
	// change (admin/users.go); CSV import (admin/import.go).
	route("GET /admin/v1/tenants/{id}/roles", perm("users.view"), a.listRoles)
	route("POST /admin/v1/tenants/{id}/roles", perm("users.roles"), a.createRole)
	route("GET /admin/v1/tenants/{id}/roles/{role}", perm("users.view"), a.getRole)
	route("PUT /admin/v1/tenants/{id}/roles/{role}", perm("users.roles"), a.putRole)
	route("DELETE /admin/v1/tenants/{id}/roles/{role}", perm("users.roles"), a.deleteRole)
	route("GET /admin/v1/tenants/{id}/role-mappings", perm("users.view"), a.getRoleMappings)
	route("PUT /admin/v1/tenants/{id}/role-mappings", perm("users.roles"), a.putRoleMappings)
	route("GET /admin/v1/tenants/{id}/teams", perm("teams.view"), a.listTeams)
	route("GET /admin/v1/tenants/{id}/approvals", perm("users.roles"), a.listApprovals)
	route("POST /admin/v1/tenants/{id}/approvals/{aid}", perm("users.roles"), a.decideApproval)
	route("POST /admin/v1/tenants/{id}/users/role", perm("users.roles"), a.setUsersRole)
	route("POST /admin/v1/tenants/{id}/users/import", perm("users.manage"), a.importUsers)
	// Bulk deactivation and reactivation (admin/users.go).
	route("POST /admin/v1/tenants/{id}/users/deactivate", perm("users.manage"), a.deactivateUsers)
	route("POST /admin/v1/tenants/{id}/users/reactivate", perm("users.manage"), a.reactivateUsers)
	// Long work (admin/jobs.go): a large import is a job.
	route("GET /admin/v1/tenants/{id}/jobs/{jobID}", perm("users.manage"), a.getJob)
	route("GET /admin/v1/tenants/{id}/jobs/{jobID}/results", perm("users.manage"), a.jobResults)
	// The store catalogue (admin/stores.go) and the dormant-seat report (admin/reports.go).
	route("GET /admin/v1/tenants/{id}/stores", perm("users.view"), a.listStores)
	route("POST /admin/v1/tenants/{id}/stores", perm("settings.manage"), a.createStore)
	route("PATCH /admin/v1/tenants/{id}/stores/{store}", perm("settings.manage"), a.renameStore)
	route("DELETE /admin/v1/tenants/{id}/stores/{store}", perm("settings.manage"), a.deleteStore)
	route("GET /admin/v1/tenants/{id}/reports/dormant", perm("billing.view"), a.dormantReport)
	route("GET /admin/v1/tenants/{id}/reports/duplicates", perm("billing.view"), a.duplicatesReport)
	// Events and webhooks (admin/webhooks.go).
	route("POST /admin/v1/tenants/{id}/webhooks", perm("integrations.manage"), a.createWebhook)
	route("GET /admin/v1/tenants/{id}/webhooks", perm("integrations.view"), a.listWebhooks)
	route("GET /admin/v1/tenants/{id}/webhooks/{hookID}", perm("integrations.view"), a.getWebhook)
	route("DELETE /admin/v1/tenants/{id}/webhooks/{hookID}", perm("integrations.manage"), a.deleteWebhook)
	route("POST /admin/v1/tenants/{id}/webhooks/{hookID}/enable", perm("integrations.manage"), a.enableWebhook)
	route("GET /admin/v1/tenants/{id}/webhooks/{hookID}/deliveries", perm("integrations.view"), a.listDeliveries)
	route("POST /admin/v1/tenants/{id}/webhooks/{hookID}/deliveries/{deliveryID}/retry", perm("integrations.manage"), a.retryDelivery)
	route("GET /admin/v1/tenants/{id}/events", perm("integrations.view"), a.listEvents)
	// Manual user and team management on every plan (admin/people.go,
	// admin/teams.go). A person's PATCH or an invite naming a role needs
	// users.roles as well, which the handler checks (the body decides).
	route("GET /admin/v1/tenants/{id}/users", perm("users.view"), a.listPeople)
	route("POST /admin/v1/tenants/{id}/users", perm("users.manage"), a.invitePerson)
	route("GET /admin/v1/tenants/{id}/users/{userID}", perm("users.view"), a.getPerson)
	route("GET /admin/v1/tenants/{id}/users/{userID}/history", perm("users.view"), a.personHistory) // admin/history.go
	route("PATCH /admin/v1/tenants/{id}/users/{userID}", perm("users.manage"), a.patchPerson)
	route("DELETE /admin/v1/tenants/{id}/users/{userID}", perm("users.manage"), a.deletePerson)
	route("POST /admin/v1/tenants/{id}/teams", perm("teams.manage"), a.createTeam)
	route("GET /admin/v1/tenants/{id}/teams/{teamID}", perm("teams.view"), a.getTeam)
	route("PATCH /admin/v1/tenants/{id}/teams/{teamID}", perm("teams.manage"), a.renameTeam)
	route("DELETE /admin/v1/tenants/{id}/teams/{teamID}", perm("teams.manage"), a.deleteTeam)
	route("POST /admin/v1/tenants/{id}/teams/{teamID}/members", perm("teams.manage"), a.addTeamMembers)
	route("DELETE /admin/v1/tenants/{id}/teams/{teamID}/members", perm("teams.manage"), a.removeTeamMembers)
	// The API's own description (admin/openapi.go) is public documentation:
	// no credential, so it stays out of the route table above.
	mux.HandleFunc("GET "+openAPIPath, serveOpenAPI)
	// Anything else under /admin/ is a JSON 404 (after authentication, so
	// that the API's shape is not probed anonymously).
	route("/admin/", anyCredential, func(http.ResponseWriter, *http.Request) error {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such admin endpoint"}
	})
}

// bearer returns the credential of an "Authorization: Bearer x" header; the
// scheme is case-insensitive (RFC 7235).
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// Error is an admin API error body.
type Error struct {
	Status  int          `json:"-"`
	Code    string       `json:"error"`
	Message string       `json:"message"`
	Fields  []FieldError `json:"fields,omitempty"`
	// Missing names the permission flags a tenant credential lacks (403).
	Missing []string `json:"missing_permissions,omitempty"`
	// Reason says why a credential that existed is refused (401):
	// key_revoked, or why the session ended (deactivated, session_expired, …).
	Reason string `json:"reason,omitempty"`
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
