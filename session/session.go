// Package session is Roster's sign-in for the application: the per-tenant
// SAML SSO handlers (/saml/{tenant}/login and /acs, built on package saml),
// the application sessions they start, and the application API that reads
// them (/api/v1/session).
//
// Who may sign in is decided at every step from the store, never from a
// cache: a sign-in needs an active, unexpired user of the tenant, on a plan
// that includes SAML SSO, whose IdP configuration still validates; every
// session request re-reads the session, the tenant and the user, so that a
// deactivation, deletion, expiry, role change or store change applies to the
// very next request.
package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	crewsaml "github.com/crewjam/saml"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/saml"
	"github.com/roster-dev/roster/store"
)

// Defaults.
const (
	// DefaultLifetime is how long a session lasts at most; the IdP's
	// SessionNotOnOrAfter and the user's access expiry shorten it.
	DefaultLifetime = 12 * time.Hour
	// requestLifetime is how long an SP-initiated login may take at the IdP.
	requestLifetime = 10 * time.Minute

	// CookieName is the session cookie of browsers.
	CookieName = "roster_session"
	// requestCookie ties an SP-initiated login to the browser that started it.
	requestCookie = "roster_saml_request"
)

// Config is what the sign-in handlers and the application API are built from.
type Config struct {
	Store    store.Store
	BaseURL  string           // ROSTER_BASE_URL, no trailing slash
	Now      func() time.Time // default time.Now
	Random   io.Reader        // default crypto/rand.Reader
	Lifetime time.Duration    // default DefaultLifetime
	// Landing is where a browser goes after signing in: a fixed path on
	// Roster's host (default "/"), never a URL taken from RelayState.
	Landing string
}

// Service serves sign-in and the application API.
type Service struct {
	store    store.Store
	dir      *directory.Directory // sign-in is a directory use case
	baseURL  string
	secure   bool // https base URL: cookies are Secure, the login cookie SameSite=None
	now      func() time.Time
	random   io.Reader
	lifetime time.Duration
	landing  string
}

// New builds the service.
func New(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Random == nil {
		c.Random = rand.Reader
	}
	if c.Lifetime <= 0 {
		c.Lifetime = DefaultLifetime
	}
	if c.Landing == "" || !strings.HasPrefix(c.Landing, "/") || strings.HasPrefix(c.Landing, "//") {
		c.Landing = "/"
	}
	base := strings.TrimRight(c.BaseURL, "/")
	u, err := url.Parse(base)
	return &Service{
		store: c.Store, dir: directory.New(c.Store), baseURL: base, secure: err == nil && u.Scheme == "https",
		now: c.Now, random: c.Random, lifetime: c.Lifetime, landing: c.Landing,
	}
}

// Register adds every route of the package: RegisterSAML and RegisterApp.
func (s *Service) Register(mux *http.ServeMux) {
	s.RegisterSAML(mux)
	s.RegisterApp(mux)
}

// RegisterSAML adds GET /saml/{tenant}/login and /saml/{tenant}/acs (POST;
// the handler answers other methods, and refuses SAMLart on any).
func (s *Service) RegisterSAML(mux *http.ServeMux) {
	mux.HandleFunc("GET /saml/{tenant}/login", s.login)
	mux.HandleFunc("/saml/{tenant}/acs", s.acs)
}

// RegisterApp adds the application API: GET /api/v1/session and POST
// /api/v1/session/logout.
func (s *Service) RegisterApp(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/session", s.getSession)
	mux.HandleFunc("POST /api/v1/session/logout", s.logout)
}

// ---- the tenant's SP ----

// refusal is a sign-in that cannot go on, with the sentence the person
// reads on the refusal page; cause goes to the log.
type refusal struct {
	status int
	reason string // machine-readable: unknown, deactivated, plan, …
	text   string
	cause  error
}

func (r *refusal) Error() string {
	if r.cause != nil {
		return r.text + ": " + r.cause.Error()
	}
	return r.text
}

// provider resolves a tenant for sign-in: it exists, its plan includes SAML
// SSO, its IdP metadata validates now; with the SP (its key pair from the
// store, made on first use) and the IdP entity.
func (s *Service) provider(ctx context.Context, tenantID string) (store.Tenant, saml.SP, *crewsaml.EntityDescriptor, error) {
	t, err := s.store.GetTenant(ctx, tenantID)
	if errors.Is(err, store.ErrNotFound) {
		return t, saml.SP{}, nil, &refusal{status: http.StatusNotFound, reason: "unknown_tenant",
			text: fmt.Sprintf("There is no organisation %q in Roster. Check the sign-in link.", tenantID)}
	}
	if err != nil {
		return t, saml.SP{}, nil, err
	}
	if plan, ok := licensing.Lookup(t.Plan); !ok || !plan.Has(licensing.SAMLSSO) {
		return t, saml.SP{}, nil, &refusal{status: http.StatusForbidden, reason: "plan",
			text: fmt.Sprintf("Single sign-on is not included in the plan of %s; it needs the %s plan. Ask your administrator.",
				displayName(t), strings.Join(licensing.PlansWith(licensing.SAMLSSO), " or "))}
	}
	cfg, err := s.store.GetSAMLConfig(ctx, t.ID)
	if errors.Is(err, store.ErrNotFound) {
		return t, saml.SP{}, nil, &refusal{status: http.StatusForbidden, reason: "sso_not_configured",
			text: fmt.Sprintf("Single sign-on is not set up for %s: an administrator must upload the identity provider's SAML metadata first.", displayName(t))}
	}
	if err != nil {
		return t, saml.SP{}, nil, err
	}
	idp, err := saml.ValidateMetadata([]byte(cfg.MetadataXML), s.now())
	if err != nil {
		return t, saml.SP{}, nil, &refusal{status: http.StatusForbidden, reason: "sso_invalid",
			text: fmt.Sprintf("The single sign-on configuration of %s is no longer valid (%s). An administrator must upload the identity provider's current SAML metadata.",
				displayName(t), err.Error()), cause: err}
	}
	keyPEM, certPEM, err := s.store.SPKeyPair(ctx, t.ID, func() ([]byte, []byte, error) {
		cert, key, err := saml.NewKeyPair(s.random, s.now(), "Roster SAML SP "+t.ID)
		return key, cert, err
	})
	if err != nil {
		return t, saml.SP{}, nil, err
	}
	key, cert, err := saml.ParseKeyPair(certPEM, keyPEM)
	if err != nil {
		return t, saml.SP{}, nil, err
	}
	return t, saml.SP{BaseURL: s.baseURL, TenantID: t.ID, Key: key, Certificate: cert}, idp.Descriptor, nil
}

func displayName(t store.Tenant) string {
	if t.Name != "" {
		return t.Name
	}
	return t.ID
}

// ---- sessions ----

// Current is a valid session and what it stands for, read afresh.
type Current struct {
	Session store.Session
	Tenant  store.Tenant
	User    store.User
	Teams   []store.Group // the user's groups: ID and DisplayName
}

// errNoSession is a request without a usable session credential.
var errNoSession = errors.New("no session")

// ended says why a session that existed may no longer be used.
type ended struct{ reason string }

func (e *ended) Error() string { return "session ended: " + e.reason }

// credential returns the session token of r: the bearer token, else the cookie.
func credential(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		return tok, ok && strings.EqualFold(scheme, "Bearer") && tok != ""
	}
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return "", false
	}
	return c.Value, true
}

// Authenticate reads the session of r and re-checks, from the store, that it
// may still be used: not ended, not expired, the tenant still has SSO in its
// plan (unless a console link started it), the user is live, active and unexpired. A session found unusable is
// deleted, so that it stays ended.
func (s *Service) Authenticate(r *http.Request) (Current, error) {
	ctx := r.Context()
	tok, ok := credential(r)
	if !ok {
		return Current{}, errNoSession
	}
	id, ok := parseToken(tok)
	if !ok {
		return Current{}, errNoSession
	}
	sess, err := s.store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Current{}, errNoSession
	}
	if err != nil {
		return Current{}, err
	}
	if !auth.Equal(auth.Hash(tok), sess.Hash) {
		return Current{}, errNoSession
	}
	now := s.now()
	end := func(reason string) (Current, error) {
		if err := s.store.DeleteSession(ctx, sess.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return Current{}, err
		}
		return Current{}, &ended{reason: reason}
	}
	if !now.Before(sess.ExpiresAt) {
		return end("session_expired")
	}
	t, err := s.store.GetTenant(ctx, sess.TenantID)
	if errors.Is(err, store.ErrNotFound) {
		return end("tenant_deleted")
	}
	if err != nil {
		return Current{}, err
	}
	// A console link's session does not need SSO in the plan: console
	// links are how tenants without SSO sign in.
	if plan, ok := licensing.Lookup(t.Plan); !ok || (!plan.Has(licensing.SAMLSSO) && !sess.ConsoleLink) {
		return end("plan")
	}
	u, teams, err := s.store.GetUserWithGroups(ctx, t.ID, sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return end(store.RefusedDeleted)
	}
	if err != nil {
		return Current{}, err
	}
	if err := store.CanSignIn(u, now); err != nil {
		var re *store.SignInRefusedError
		errors.As(err, &re)
		return end(re.Reason)
	}
	return Current{Session: sess, Tenant: t, User: u, Teams: teams}, nil
}

// setCookie sets the session cookie: HttpOnly, SameSite=Lax, Secure on an
// https base URL, for the whole host, until the session ends.
func (s *Service) setCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: "/", Expires: expires.UTC(),
		MaxAge: max(1, int(time.Until(expires).Seconds())), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Service) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// NewToken makes a session token for a session started elsewhere (a
// console link, admin/consolelinks.go): the plaintext for the client, the
// session id and the hash to store.
func (s *Service) NewToken() (plaintext, id string, hash []byte, err error) {
	return newToken(s.random)
}

// SetCookie sets the session cookie of a session started elsewhere, as a
// SAML sign-in sets it.
func (s *Service) SetCookie(w http.ResponseWriter, token string, expires time.Time) {
	s.setCookie(w, token, expires)
}
