package scimauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/internal/authlimit"
	"github.com/roster-dev/roster/internal/metrics"
	"github.com/roster-dev/roster/internal/ratelimit"
	"github.com/roster-dev/roster/internal/requestid"
	"github.com/roster-dev/roster/internal/scimwire"
	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// Config is what a Guard is built from.
type Config struct {
	Store  store.Store
	Now    func() time.Time // default time.Now
	Logger zerolog.Logger   // background work (last-use flushes); requests log through zerolog.Ctx

	// FlushInterval is how often recorded token last-use times are written
	// (default 5 s). Close writes what is left.
	FlushInterval time.Duration
	// FailedAuthPerSource caps, per source address, the failed
	// authentications a second that cost a store read (default 20, burst
	// twice that); FailedAuthGlobal caps them for all sources together
	// (default 100, burst twice that). Only a token the store cannot judge
	// from memory (store.TokenUnsure) is read under this budget; a correct
	// token the store knows never meets it.
	FailedAuthPerSource int
	FailedAuthGlobal    int
	// Sources says which address a request comes from (the zero value: the
	// peer address; forwarding headers only from trusted proxies).
	Sources authlimit.Sources
	// Metrics counts refusals (401 and 429) by reason; nil: not counted.
	Metrics *metrics.Metrics
	// Activity, when set, is told of every request once it is answered,
	// refusals included, for the tenant's SCIM activity log (activity.go);
	// it must not block (package activitylog buffers).
	Activity ActivityRecorder
}

// Guard authenticates SCIM requests and applies the gates in front of every
// SCIM endpoint (README "Tenants, SCIM tokens and the gates"):
//
//  1. the bearer token is a Roster SCIM token of the tenant named by the URL
//     (the {tenant} path value), not revoked; else 401 with a SCIM error body
//     and WWW-Authenticate: Bearer. The token is judged from memory first
//     (store.CheckToken); only one the store cannot judge without a read is
//     looked up under the failure budget of its source address and the
//     global one (429 past either), so failures never throttle a valid
//     token;
//  2. the tenant's plan includes SCIM; else 403 naming the plan;
//  3. the tenant has SAML SSO configured with an IdP signing certificate
//     that is valid now; else 403 saying what to fix;
//  4. the tenant's rate limit (settings.rate_limit_per_second; 0 = none);
//     else 429 with Retry-After.
//
// Every request asks the store for the tenant, token and SAML configuration
// (store.Authenticate). The memory store reads them; the PostgreSQL store
// answers from a cache that every revocation, plan, settings or SSO change
// empties for the tenant (at once in the process that made it, by NOTIFY at
// commit in every other), so such changes take effect on the next request
// without a database round trip per request. Token last-use times are kept
// in memory and written in batches.
type Guard struct {
	store   store.Store
	now     func() time.Time
	log     zerolog.Logger
	sources authlimit.Sources
	failed  *authlimit.Budget
	limits  *ratelimit.Buckets
	metrics *metrics.Metrics
	record  ActivityRecorder

	mu   sync.Mutex
	used map[store.TokenKey]time.Time

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

const (
	defaultFlush      = 5 * time.Second
	defaultFailedRate = 20
	defaultFailedAll  = 100
	flushTimeout      = 10 * time.Second
)

// New starts a Guard; Close stops it.
func New(c Config) *Guard {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = defaultFlush
	}
	if c.FailedAuthPerSource <= 0 {
		c.FailedAuthPerSource = defaultFailedRate
	}
	if c.FailedAuthGlobal <= 0 {
		c.FailedAuthGlobal = defaultFailedAll
	}
	g := &Guard{
		store:   c.Store,
		now:     c.Now,
		log:     c.Logger,
		sources: c.Sources,
		failed:  authlimit.NewBudget(c.FailedAuthPerSource, c.FailedAuthGlobal),
		limits:  ratelimit.New(nil),
		metrics: c.Metrics,
		record:  c.Activity,
		used:    map[store.TokenKey]time.Time{},
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go g.flushLoop(c.FlushInterval)
	return g
}

// Close stops the background flusher and writes the last-use times not yet
// written. It is safe to call more than once.
func (g *Guard) Close() {
	g.closeOnce.Do(func() {
		close(g.stop)
		<-g.done
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		defer cancel()
		g.Flush(ctx)
	})
}

func (g *Guard) flushLoop(every time.Duration) {
	defer close(g.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
			g.Flush(ctx)
			cancel()
		}
	}
}

// Flush writes the recorded token last-use times in one store call. On
// failure they are kept for the next flush (newer uses win).
func (g *Guard) Flush(ctx context.Context) {
	g.mu.Lock()
	batch := g.used
	g.used = map[store.TokenKey]time.Time{}
	g.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := g.store.TouchTokens(ctx, batch); err != nil {
		g.log.Warn().Err(err).Int("tokens", len(batch)).Msg("recording token last use failed; retrying at the next flush")
		g.mu.Lock()
		for k, at := range batch {
			if cur, ok := g.used[k]; !ok || at.After(cur) {
				g.used[k] = at
			}
		}
		g.mu.Unlock()
	}
}

func (g *Guard) touch(k store.TokenKey, at time.Time) {
	g.mu.Lock()
	if cur, ok := g.used[k]; !ok || at.After(cur) {
		g.used[k] = at
	}
	g.mu.Unlock()
}

// Wrap puts the guard in front of next. The tenant comes from the path value
// "tenant": mount it as mux.Handle("/scim/v2/{tenant}/", guard.Wrap(h)).
// next finds the Principal in the request context (FromContext).
func (g *Guard) Wrap(next http.Handler) http.Handler {
	if g.record != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.serveRecorded(w, r, next) })
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := g.admit(w, r, g.now(), nil)
		if !ok {
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// admit runs authentication, gates and the rate limit; it writes the refusal
// itself and answers false, or answers the Principal. When the presented
// token is identified as one of the tenant's (right secret; revoked or
// not), it is copied to *seen, if seen is not nil.
func (g *Guard) admit(w http.ResponseWriter, r *http.Request, now time.Time, seen *store.Token) (Principal, bool) {
	ctx := r.Context()
	tenantID := r.PathValue("tenant")
	log := zerolog.Ctx(ctx)
	log.UpdateContext(func(c zerolog.Context) zerolog.Context { return c.Str("tenant", tenantID) })

	plain, problem := bearerToken(r)
	if problem != "" {
		// No credentials at all: RFC 6750 §3.1 says no error code.
		g.metrics.AuthFailed(metrics.KindSCIM, metrics.ReasonMissing)
		writeUnauthorized(w, r, "", problem)
		return Principal{}, false
	}
	tokenID, ok := auth.Parse(plain)
	if !ok {
		// Refused on its shape alone: it costs no read, so no budget.
		g.metrics.AuthFailed(metrics.KindSCIM, metrics.ReasonMalformed)
		writeUnauthorized(w, r, "invalid_token",
			"the bearer token is not a Roster SCIM token (rst_…); copy the whole token Roster showed when it was created")
		return Principal{}, false
	}
	log.UpdateContext(func(c zerolog.Context) zerolog.Context { return c.Str("token_id", tokenID) })

	// The credential is judged before any failure budget, from what the
	// store holds in memory: a correct token goes straight on, a made-up or
	// wrong one is refused without a read (and as fast whether its id
	// exists or not). Only a token the store cannot judge without a read
	// (a PostgreSQL store whose listener is not proven, for an id it has
	// not seen) spends the failure budget of its source address and the
	// global one, so that others' failures never throttle a valid token.
	hash := auth.Hash(plain)
	var source string
	switch g.store.CheckToken(tenantID, tokenID, hash) {
	case store.TokenNoMatch:
		g.writeInvalid(w, r)
		return Principal{}, false
	case store.TokenUnsure:
		source = g.sources.Of(r)
		if wait, ok := g.failed.Allows(source, now); !ok {
			g.metrics.Throttled(metrics.KindSCIM, metrics.ReasonFailedBudget)
			writeTooMany(w, r, wait, "too many requests with unknown tokens; retry later with a valid token")
			return Principal{}, false
		}
	}

	tenant, tok, sso, err := g.store.Authenticate(ctx, tenantID, tokenID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		g.spend(r, source, now)
		g.writeInvalid(w, r)
		return Principal{}, false
	case errors.Is(err, store.ErrUnavailable):
		log.UpdateContext(func(c zerolog.Context) zerolog.Context { return c.AnErr("cause", err) })
		w.Header().Set("Retry-After", "5")
		// The words of the SCIM handler's 503 (scim toSCIM): an IdP's log
		// shows one message for one cause, whichever layer met it.
		writeError(w, r, http.StatusServiceUnavailable, "the directory is temporarily unavailable; retry shortly")
		return Principal{}, false
	case err != nil:
		log.Error().Err(err).Msg("scim authentication failed")
		writeError(w, r, http.StatusInternalServerError, "internal error; the cause is in Roster's log")
		return Principal{}, false
	}
	// The token id was found; the secret decides, compared in constant time
	// (again, when CheckToken matched: the read is the authority).
	if !auth.Equal(hash, tok.Hash) {
		g.spend(r, source, now)
		g.writeInvalid(w, r)
		return Principal{}, false
	}
	if seen != nil {
		*seen = tok
	}
	if tok.RevokedAt != nil {
		g.metrics.AuthFailed(metrics.KindSCIM, metrics.ReasonRevoked)
		writeUnauthorized(w, r, "invalid_token", fmt.Sprintf(
			"the bearer token %q was revoked on %s; create a new SCIM token in Roster and update your IdP",
			tok.Name, tok.RevokedAt.UTC().Format("2006-01-02 15:04 MST")))
		return Principal{}, false
	}
	g.touch(store.TokenKey{TenantID: tenant.ID, ID: tok.ID}, now)

	status := licensing.SSOStatus{}
	if sso != nil {
		status = licensing.SSOStatus{Configured: true, CertNotAfter: sso.CertNotAfter}
	}
	if err := licensing.CheckSCIM(tenant.ID, tenant.Plan, status, now); err != nil {
		var gate *licensing.GateError
		if errors.As(err, &gate) {
			log.UpdateContext(func(c zerolog.Context) zerolog.Context { return c.Str("gate", gate.Gate) })
		}
		writeError(w, r, http.StatusForbidden, err.Error())
		return Principal{}, false
	}

	if rate := tenant.Settings.RateLimitPerSecond; rate > 0 {
		if wait, ok := g.limits.Take(tenant.ID, now, float64(rate), float64(rate)); !ok {
			g.metrics.Throttled(metrics.KindSCIM, metrics.ReasonRateLimit)
			writeTooMany(w, r, wait, fmt.Sprintf(
				"tenant %s is limited to %d SCIM requests per second; retry after the time in Retry-After", tenant.ID, rate))
			return Principal{}, false
		}
	}

	return Principal{
		Tenant: tenant,
		Token:  tok,
		Actor:  store.Actor{Kind: "token", ID: tok.ID, Name: tok.Name, RequestID: requestid.FromContext(ctx)},
	}, true
}

// spend records a failed read against the source's and the global budget.
func (g *Guard) spend(r *http.Request, source string, now time.Time) {
	if source == "" {
		source = g.sources.Of(r)
	}
	g.failed.Spend(source, now)
}

func (g *Guard) writeInvalid(w http.ResponseWriter, r *http.Request) {
	g.metrics.AuthFailed(metrics.KindSCIM, metrics.ReasonInvalid)
	writeUnauthorized(w, r, "invalid_token", "the bearer token is not valid for this SCIM base URL; "+
		"each token works only for the tenant it was created for: check the tenant in the URL and the token")
}

// bearerToken returns the credential of "Authorization: Bearer <token>"
// (scheme case-insensitive, RFC 7235 §2.1), or a problem for the admin when
// there is none. A token in the query string (?access_token=) is never read.
func bearerToken(r *http.Request) (token, problem string) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if r.URL.Query().Has("access_token") {
			return "", "tokens in the URL are not accepted; send the SCIM token as Authorization: Bearer <token>"
		}
		return "", "a SCIM bearer token is required: Authorization: Bearer <token>"
	}
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Sprintf("the %s authorization scheme is not accepted; send the SCIM token as Authorization: Bearer <token>", shortScheme(scheme))
	}
	token = strings.TrimSpace(rest)
	if token == "" {
		return "", "the bearer token is empty: Authorization: Bearer <token>"
	}
	return token, ""
}

func shortScheme(s string) string {
	if len(s) > 20 {
		s = s[:20]
	}
	return strconv.Quote(s)
}

// ErrorSchema is the schema of a SCIM error body (RFC 7644 §3.12).
const ErrorSchema = scimwire.ErrorSchema

// writeError answers a refusal as the SCIM handler answers its errors
// (scimwire.WriteError: same body, same headers, the media type the
// client's Accept asks for).
func writeError(w http.ResponseWriter, r *http.Request, status int, detail string) {
	scimwire.WriteError(w, scimwire.OnlyJSON(r.Header.Get("Accept")), scimwire.Error{Status: status, Detail: detail})
}

// writeUnauthorized answers 401 with the RFC 6750 challenge; code is the
// error attribute ("invalid_token"), or "" when no credentials were sent.
func writeUnauthorized(w http.ResponseWriter, r *http.Request, code, detail string) {
	challenge := scimwire.DefaultChallenge
	if code != "" {
		challenge += `, error="` + code + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	zerolog.Ctx(r.Context()).UpdateContext(func(c zerolog.Context) zerolog.Context { return c.Str("auth_error", detail) })
	writeError(w, r, http.StatusUnauthorized, detail)
}

func writeTooMany(w http.ResponseWriter, r *http.Request, wait time.Duration, detail string) {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, r, http.StatusTooManyRequests, detail)
}
