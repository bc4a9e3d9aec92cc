package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/internal/metrics"
	"github.com/roster-dev/roster/internal/requestid"
	"github.com/roster-dev/roster/session"
	"github.com/roster-dev/roster/store"
)

// The admin API has one set of routes and three kinds of caller
// (docs/contract.md, "Admin API", "Callers and permissions"):
//
//   - the operator, with ROSTER_ADMIN_TOKEN: everything;
//   - a tenant's API key (rsk_…, admin/apikeys.go): its own tenant's
//     /admin/v1/tenants/{id}/… paths, with the key's permissions;
//   - a tenant's person, signed in by SAML SSO (the application session
//     rss_…, as a bearer token or the session cookie): their own tenant's
//     paths, with the permissions of the role they hold now, read from the
//     store on every request.
//
// Each route names what it needs in the route table (Register): the
// operator, or a permission flag, or any credential of the tenant.

// Caller kinds, as audit actors name them.
const (
	kindOperator = "admin"
	kindKey      = "key"
	kindPerson   = "user"
)

// caller is who sent a request, established by authenticate.
type caller struct {
	actor    store.Actor // without the request id
	tenantID string      // "" for the operator
	perms    []string    // a tenant credential's permission flags; nil for the operator
	role     string      // a person's role
}

func (c caller) operator() bool { return c.actor.Kind == kindOperator }

// can says whether the caller holds a permission flag.
func (c caller) can(flag string) bool { return c.operator() || slices.Contains(c.perms, flag) }

// lacks lists the flags of want the caller does not hold, in the order given.
func (c caller) lacks(want []string) []string {
	var out []string
	for _, f := range want {
		if !c.can(f) {
			out = append(out, f)
		}
	}
	return out
}

// describe names the caller in a refusal: "this API key (hr-sync)".
func (c caller) describe() string {
	switch c.actor.Kind {
	case kindKey:
		return fmt.Sprintf("this API key (%s)", c.actor.Name)
	case kindPerson:
		return fmt.Sprintf("%s (role %s)", c.actor.Name, c.role)
	}
	return "the operator"
}

type callerKey struct{}

func withCaller(ctx context.Context, c caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// callerOf is the caller of an authenticated request. A request that did
// not pass authenticate has none: a caller of no kind, holding nothing, so
// that a mistake fails closed.
func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(callerKey{}).(caller)
	return c
}

// actor is who acts, with the request id, for audit events: the operator,
// the API key (its id and name) or the person (their user id and userName).
func actor(r *http.Request) store.Actor {
	a := callerOf(r).actor
	a.RequestID = requestid.FromContext(r.Context())
	return a
}

// need is what a route asks of its caller.
type need struct {
	operatorOnly bool
	perm         string // a permission flag; "" with operatorOnly false: any credential of the tenant
}

// perm is a route a tenant credential reaches with the permission flag.
func perm(flag string) need { return need{perm: flag} }

var (
	// operatorOnly routes are the operator's alone: tenants as a whole.
	operatorOnly = need{operatorOnly: true}
	// anyCredential routes are open to every credential of the tenant.
	anyCredential = need{}
)

// Limits on failed authentications (a wrong operator token, a wrong,
// unknown or revoked API key, an unknown or ended session), per source
// address and for all sources together (per second; bursts twice that).
// Over them a failure is answered 429 instead of 401; a valid credential is
// checked first and never limited.
const (
	failedPerSource = 5
	failedGlobal    = 50
)

// authFailure is a credential refused: 401 within the failure budget.
type authFailure struct {
	message string
	reason  string // key_revoked, or why a session ended; "" otherwise
}

func (e *authFailure) Error() string { return e.message }

// identify establishes the caller of r. It answers the caller, or an
// *authFailure (a credential refused), or another error (the store's,
// answered as such without spending the failure budget).
func (a *API) identify(r *http.Request) (caller, error) {
	tok, hasBearer := bearer(r)
	given := sha256.Sum256([]byte(tok))
	if hasBearer && subtle.ConstantTimeCompare(given[:], a.tokenHash[:]) == 1 {
		return caller{actor: store.ActorAdmin}, nil
	}
	switch {
	case hasBearer && strings.HasPrefix(tok, auth.APIKeyPrefix):
		return a.identifyKey(r.Context(), tok)
	case hasBearer && session.HasPrefix(tok), r.Header.Get("Authorization") == "" && hasSessionCookie(r):
		return a.identifyPerson(r)
	}
	return caller{}, &authFailure{message: "a valid credential is required: Authorization: Bearer with the operator token, " +
		"a tenant's API key (rsk_…) or a signed-in session (rss_…)"}
}

func hasSessionCookie(r *http.Request) bool {
	c, err := r.Cookie(session.CookieName)
	return err == nil && c.Value != ""
}

var errKeyInvalid = &authFailure{message: "this API key is not valid: check that it was copied whole, or ask an administrator of the tenant for a new one"}

// identifyKey checks an API key: its shape, then its hash against what the
// store holds in memory (store.CheckAPIKey: a made-up or wrong key is
// refused without a read), then the stored key — its hash again, in
// constant time, and that it is not revoked. A key the store cannot judge
// from memory (PostgreSQL while its change listener is not proven) is read,
// so that a valid key is never refused for want of a budget.
func (a *API) identifyKey(ctx context.Context, tok string) (caller, error) {
	id, ok := auth.ParseAPIKey(tok)
	if !ok {
		return caller{}, errKeyInvalid
	}
	if a.store.CheckAPIKey(id, auth.Hash(tok)) == store.TokenNoMatch {
		return caller{}, errKeyInvalid
	}
	k, err := a.store.GetAPIKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return caller{}, errKeyInvalid
	}
	if err != nil {
		return caller{}, err
	}
	if !auth.Equal(auth.Hash(tok), k.Hash) {
		return caller{}, errKeyInvalid
	}
	if k.RevokedAt != nil {
		return caller{}, &authFailure{reason: "key_revoked", message: fmt.Sprintf(
			"this API key (%s) was revoked at %s; ask an administrator of tenant %s for a new one",
			k.Name, k.RevokedAt.UTC().Format(time.RFC3339), k.TenantID)}
	}
	a.keyUse.record(k.ID, a.now())
	return caller{actor: store.Actor{Kind: kindKey, ID: k.ID, Name: k.Name}, tenantID: k.TenantID, perms: slices.Clone(k.Permissions)}, nil
}

// identifyPerson checks an application session (package session re-reads
// the session, tenant and user: a deactivated, deleted or expired user is
// refused at their next request) and reads the permissions of the role the
// user holds now.
func (a *API) identifyPerson(r *http.Request) (caller, error) {
	cur, err := a.sessions.Authenticate(r)
	if reason, text, ok := session.Ended(err); ok {
		return caller{}, &authFailure{reason: reason, message: "the session has ended: " + text}
	}
	if session.NoSession(err) {
		// A deactivated or deleted user's sessions are deleted with the
		// change, so they come here as unknown.
		return caller{}, &authFailure{message: "this session is not valid or has ended " +
			"(signed out, or the account was deactivated or removed): sign in again"}
	}
	if err != nil {
		return caller{}, err
	}
	custom, err := a.store.ListRoles(r.Context(), cur.Tenant.ID)
	if err != nil {
		return caller{}, err
	}
	perms, _ := access.Permissions(cur.User.Role, custom) // a role that no longer exists grants nothing
	return caller{actor: store.Actor{Kind: kindPerson, ID: cur.User.ID, Name: cur.User.UserName},
		tenantID: cur.Tenant.ID, perms: perms, role: cur.User.Role}, nil
}

// authenticate establishes the caller, checks that it may use the route
// (the tenant of the path, the route's need), then runs h and renders its
// error. Every credential is verified before any limit, so that nobody's
// wrong guesses can lock a valid credential out; failures spend the failure
// budget of their source address and the global one, and past it are
// answered 429. (A guesser still learns right from wrong at whatever rate
// it sends: the credentials' strength is the defence.)
func (a *API) authenticate(n need, h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.identify(r)
		var af *authFailure
		switch {
		case errors.As(err, &af):
			a.refuse(w, r, metrics.KindAdmin, af)
			return
		case err != nil:
			a.fail(w, r, err)
			return
		}
		if err := admit(r, c, n); err != nil {
			a.fail(w, r, err)
			return
		}
		if err := h(w, r.WithContext(withCaller(r.Context(), c))); err != nil {
			a.fail(w, r, err)
		}
	})
}

// Operator puts the operator credential alone in front of h, for what only
// the operator reaches outside /admin/v1 (GET /metrics): the same
// constant-time comparison and the same failure budget as the admin API,
// so that guessing the token there costs what it costs here and spends the
// same allowance. No API key or session is accepted. Refusals are counted
// under kind (metrics.KindMetrics).
func (a *API) Operator(kind string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		given := sha256.Sum256([]byte(tok))
		if ok && subtle.ConstantTimeCompare(given[:], a.tokenHash[:]) == 1 {
			h.ServeHTTP(w, r)
			return
		}
		a.refuse(w, r, kind, &authFailure{message: "the operator token is required: Authorization: Bearer with ROSTER_ADMIN_TOKEN"})
	})
}

// failReason is the metrics reason of a refused credential.
func failReason(r *http.Request, af *authFailure) string {
	switch {
	case af.reason == "key_revoked":
		return metrics.ReasonRevoked
	case af.reason != "":
		return metrics.ReasonSessionEnded
	case r.Header.Get("Authorization") == "" && !hasSessionCookie(r):
		return metrics.ReasonMissing
	}
	return metrics.ReasonInvalid
}

// refuse answers a failed authentication: 401, or 429 past the budget;
// kind is what the metrics count it under.
func (a *API) refuse(w http.ResponseWriter, r *http.Request, kind string, af *authFailure) {
	now, source := a.now(), a.sources.Of(r)
	if wait, allowed := a.failed.Allows(source, now); !allowed {
		a.metrics.Throttled(kind, metrics.ReasonFailedBudget)
		secs := max(1, int((wait+time.Second-1)/time.Second))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		a.fail(w, r, &Error{Status: http.StatusTooManyRequests, Code: "too_many_requests",
			Message: "too many requests with a wrong credential; retry after the time in Retry-After"})
		return
	}
	a.failed.Spend(source, now)
	a.metrics.AuthFailed(kind, failReason(r, af))
	w.Header().Set("WWW-Authenticate", `Bearer realm="roster-admin"`)
	a.fail(w, r, &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Reason: af.reason, Message: af.message})
}

// admit checks a caller against a route: a tenant credential reaches only
// its own tenant's paths (another tenant's is 404, as if it did not exist),
// never an operator-only route, and only with the route's permission.
func admit(r *http.Request, c caller, n need) error {
	if c.operator() {
		return nil
	}
	if id := r.PathValue("id"); id != "" && id != c.tenantID {
		return notFound("no tenant %q", id)
	}
	what := r.Method + " " + r.URL.Path
	if n.operatorOnly {
		return &Error{Status: http.StatusForbidden, Code: "forbidden",
			Message: fmt.Sprintf("%s is for the operator only: a tenant's credential cannot use it", what)}
	}
	if n.perm != "" && !c.can(n.perm) {
		return forbidden(c, []string{n.perm}, what)
	}
	return nil
}

// routeNeed is one route of the table and what it needs.
type routeNeed struct {
	pattern string
	need    need
}

// forbidden is a 403 naming the permissions the caller lacks for what.
func forbidden(c caller, missing []string, what string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Missing: missing,
		Message: fmt.Sprintf("%s lacks the permission %s needed for %s", c.describe(), strings.Join(missing, ", "), what)}
}

// operatorFields refuses a tenant credential that sends fields only the
// operator may set (given: field name → whether it was sent).
func operatorFields(r *http.Request, given ...fieldGiven) error {
	if callerOf(r).operator() {
		return nil
	}
	var bad []FieldError
	for _, f := range given {
		if f.sent {
			bad = append(bad, FieldError{Field: f.name, Message: "only the operator can change it"})
		}
	}
	if len(bad) == 0 {
		return nil
	}
	names := make([]string, len(bad))
	for i, f := range bad {
		names[i] = f.Field
	}
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Fields: bad,
		Message: "only the operator can change " + strings.Join(names, ", ") + ": the plan, seats, add-ons and contract terms are the operator's"}
}

type fieldGiven struct {
	name string
	sent bool
}

// keyUse holds API keys' last-use times until the next flush writes them
// in one store call (store.TouchAPIKeys), so that a busy key does not
// write a row per request.
type keyUse struct {
	mu   sync.Mutex
	used map[string]time.Time
}

func (u *keyUse) record(id string, at time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.used == nil {
		u.used = map[string]time.Time{}
	}
	if cur, ok := u.used[id]; !ok || at.After(cur) {
		u.used[id] = at
	}
}

// FlushKeyUse writes the recorded API-key last-use times; on failure they
// are kept for the next flush (newer uses win). It runs every keyFlushEvery
// and at Close.
func (a *API) FlushKeyUse(ctx context.Context) {
	u := &a.keyUse
	u.mu.Lock()
	batch := u.used
	u.used = nil
	u.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := a.store.TouchAPIKeys(ctx, batch); err != nil {
		a.log.Warn().Err(err).Int("keys", len(batch)).Msg("recording API key last use failed; retrying at the next flush")
		for id, at := range batch {
			u.record(id, at)
		}
	}
}

// keyFlushEvery is how often API keys' last-use times are written.
const keyFlushEvery = 5 * time.Second

func (a *API) flushKeyUseLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(keyFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			a.FlushKeyUse(ctx)
			cancel()
		}
	}
}

// mayGive refuses a tenant credential that would give roles holding
// permissions it lacks itself — a custom role it defines, or a role it
// assigns to users or maps to groups — so that users.roles cannot be
// turned into more than the caller holds (a person giving themselves a
// stronger role). Unknown roles pass: the store's answer names them.
func (a *API) mayGive(r *http.Request, tenantID string, roles ...string) error {
	c := callerOf(r)
	if c.operator() {
		return nil
	}
	custom, err := a.store.ListRoles(r.Context(), tenantID)
	if err != nil {
		return err
	}
	for _, role := range roles {
		perms, ok := access.Permissions(store.CanonicalRole(role), custom)
		if !ok {
			continue
		}
		if err := mayGrant(c, perms, "giving the role "+role); err != nil {
			return err
		}
	}
	return nil
}

// mayGrant refuses a caller granting permissions it lacks itself.
func mayGrant(c caller, perms []string, what string) error {
	if missing := c.lacks(perms); len(missing) > 0 {
		e := forbidden(c, missing, what)
		e.Message += ": a credential can grant only permissions it holds"
		return e
	}
	return nil
}
