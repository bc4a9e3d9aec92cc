// Package console is the tenant admins' web console at /console/{tenant}/:
// server-rendered pages (html/template) over the admin API, with their
// styles and the little script they use embedded in the binary.
//
// The console is a client of the admin API, in process: every page reads
// and every form writes through the same admin routes an API key would
// call, with the signed-in person's session as the credential. So each
// page and action is checked against the person's permissions by the one
// place that checks them (admin/credentials.go), validated by the same
// code, and audited with the person as the actor — the console adds no
// second copy of any rule (docs/console.md, "How the console works").
package console

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/session"
	"github.com/roster-dev/roster/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Config is what the console is built from.
type Config struct {
	Store store.Store
	// API serves the admin API (/admin/v1/…); the console calls it in
	// process with the person's session as the credential.
	API     http.Handler
	BaseURL string // ROSTER_BASE_URL, no trailing slash
	Now     func() time.Time
	Logger  zerolog.Logger
}

// Console serves the pages.
type Console struct {
	store    store.Store
	api      http.Handler
	sessions *session.Service
	baseURL  string
	secure   bool
	now      func() time.Time
	log      zerolog.Logger
	pages    map[string]*template.Template
}

// New builds the console; its templates are parsed here, so a broken
// template stops rosterd at start rather than on a page.
func New(c Config) *Console {
	if c.Now == nil {
		c.Now = time.Now
	}
	base := strings.TrimRight(c.BaseURL, "/")
	u, err := url.Parse(base)
	con := &Console{
		store: c.Store, api: c.API, baseURL: base, secure: err == nil && u.Scheme == "https",
		now: c.Now, log: c.Logger,
		sessions: session.New(session.Config{Store: c.Store, BaseURL: base, Now: c.Now}),
		pages:    map[string]*template.Template{},
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", name))
		con.pages[base] = t
	}
	return con
}

// Register adds the console's routes. Every page but the sign-in page
// and the assets needs a session of the path's tenant.
func (c *Console) Register(mux *http.ServeMux) {
	// Assets live outside /console/{tenant}/ so that no tenant id can
	// shadow them.
	mux.Handle("GET /assets/console/", http.StripPrefix("/assets/console/", assets()))
	mux.HandleFunc("GET /console/{tenant}/signin", c.signin)
	mux.HandleFunc("POST /console/{tenant}/signout", c.signout)
	c.page(mux, "GET /console/{tenant}/{$}", c.overview)
	for _, r := range routes {
		c.page(mux, r.pattern, r.handler(c))
	}
}

// route is one console page or action, registered by the file that
// serves it (an init adding to routes), so that pages stay in files of
// their own.
type route struct {
	pattern string
	handler func(*Console) pageFunc
}

var routes []route

// pageFunc serves one page or action for a signed-in person.
type pageFunc func(w http.ResponseWriter, r *http.Request, p *person) error

// person is who is signed in, for one request.
type person struct {
	Tenant      session.TenantView
	User        session.UserView
	Role        string
	Permissions map[string]bool
	token       string // the session credential, passed on to the admin API
	CSRF        string // the form token of this session
	Path        string // the request's path, for the navigation
}

// Can reports whether the person holds a permission flag.
func (p *person) Can(perm string) bool { return p.Permissions[perm] }

// page wraps a page: security headers, the session, the path's tenant
// (another tenant's console is 404, as in the admin API), and the form
// token of every state-changing request.
func (c *Console) page(mux *http.ServeMux, pattern string, h pageFunc) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		tenantID := r.PathValue("tenant")
		cur, err := c.sessions.Authenticate(r)
		if err != nil {
			if _, _, ended := session.Ended(err); ended || session.NoSession(err) {
				c.toSignIn(w, r, tenantID)
				return
			}
			c.fail(w, r, nil, err)
			return
		}
		if cur.Tenant.ID != tenantID {
			c.render(w, r, http.StatusNotFound, "error", nil, errorPage{Title: "Not found", Text: "There is no such page in your organisation's console."})
			return
		}
		tok, _ := sessionToken(r)
		custom, err := c.store.ListRoles(r.Context(), tenantID)
		if err != nil {
			c.fail(w, r, nil, err)
			return
		}
		perms, _ := access.Permissions(cur.User.Role, custom)
		p := &person{
			Tenant: session.TenantView{ID: cur.Tenant.ID, Name: cur.Tenant.Name, Plan: cur.Tenant.Plan},
			User: session.UserView{ID: cur.User.ID, UserName: cur.User.UserName, DisplayName: cur.User.DisplayName,
				LastActiveAt: cur.User.LastActiveAt},
			Role: cur.User.Role, Permissions: map[string]bool{}, token: tok, CSRF: csrfToken(tok), Path: r.URL.Path,
		}
		for _, f := range perms {
			p.Permissions[f] = true
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !c.sameOrigin(r) || !validCSRF(r, tok) {
				c.render(w, r, http.StatusForbidden, "error", p, errorPage{Title: "This form has expired",
					Text: "The form was not sent from this console page, or it is too old. Go back, reload the page and try again."})
				return
			}
		}
		if err := h(w, r, p); err != nil {
			c.fail(w, r, p, err)
		}
	})
}

// toSignIn sends a browser without a usable session to the sign-in page,
// remembering where it was going.
func (c *Console) toSignIn(w http.ResponseWriter, r *http.Request, tenantID string) {
	target := "/console/" + url.PathEscape(tenantID) + "/signin"
	if r.Method == http.MethodGet {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// securityHeaders: no script but the console's own file, no inline
// script, no framing, no referrer (a console link's code is in a URL),
// nothing cached (pages hold personal data).
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// ---- form tokens ----

// csrfToken is the form token of a session: an HMAC of a fixed label
// keyed by the session's own secret token. Only a page served to the
// session's browser can hold it (the cookie is HttpOnly and never in a
// page), every rosterd computes the same one without shared state, and it
// ends with the session.
func csrfToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("roster console form v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func validCSRF(r *http.Request, sessionToken string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		// The form's field; multipart forms (the CSV upload) are parsed
		// by the handler, so read the field without parsing the body
		// twice: ParseMultipartForm is idempotent.
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			if err := r.ParseMultipartForm(maxUpload); err != nil {
				return false
			}
		}
		got = r.FormValue("csrf")
	}
	want := csrfToken(sessionToken)
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// sameOrigin refuses a state-changing request a browser says came from
// another site (Sec-Fetch-Site, or Origin against the base URL): a second
// wall behind the form token.
func (c *Console) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" && c.baseURL != "" {
		bu, err1 := url.Parse(c.baseURL)
		ou, err2 := url.Parse(o)
		if err1 != nil || err2 != nil || !strings.EqualFold(bu.Host, ou.Host) {
			// Behind a proxy the base URL may differ from the Host the
			// browser used; the Host header then decides.
			return err2 == nil && strings.EqualFold(ou.Host, r.Host)
		}
	}
	return true
}

func sessionToken(r *http.Request) (string, bool) {
	ck, err := r.Cookie(session.CookieName)
	if err != nil || ck.Value == "" {
		return "", false
	}
	return ck.Value, true
}

// ---- the admin API, in process ----

// apiError is an admin API refusal, as the console shows it.
type apiError struct {
	Status  int
	Code    string         `json:"error"`
	Message string         `json:"message"`
	Fields  []apiFieldErr  `json:"fields"`
	Missing []string       `json:"missing_permissions"`
	Extra   map[string]any `json:"-"`
}

type apiFieldErr struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("the admin API answered %d %s", e.Status, e.Code)
}

// Text is the sentence a person reads.
func (e *apiError) Text() string {
	var b strings.Builder
	b.WriteString(e.Error())
	for _, f := range e.Fields {
		// The API's message often is its fields' sentences already.
		if strings.Contains(e.Error(), f.Message) {
			continue
		}
		fmt.Fprintf(&b, " %s %s.", f.Field, f.Message)
	}
	return b.String()
}

// call sends one admin API request as the person and decodes a 2xx JSON
// answer into out (nil: ignored); any other answer is an *apiError.
func (c *Console) call(ctx context.Context, r *http.Request, p *person, method, path string, body, out any) error {
	raw, _, err := c.callRaw(ctx, r, p, method, path, "application/json", body)
	if err != nil {
		return err
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("console: decoding %s %s: %w", method, path, err)
	}
	return nil
}

// callRaw is call answering the body as it came; accept picks JSON or CSV.
// header is more request headers, as name, value pairs (Prefer:
// respond-async, to have an import answered as a job).
func (c *Console) callRaw(ctx context.Context, r *http.Request, p *person, method, path, accept string, body any, header ...string) ([]byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case []byte:
			rd = bytes.NewReader(b)
		case xmlBody:
			rd = bytes.NewReader(b)
		default:
			buf, err := json.Marshal(body)
			if err != nil {
				return nil, nil, err
			}
			rd = bytes.NewReader(buf)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return nil, nil, err
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Accept", accept)
	if body != nil {
		switch body.(type) {
		case []byte:
			req.Header.Set("Content-Type", "text/csv")
		case xmlBody:
			req.Header.Set("Content-Type", "application/xml")
		default:
			req.Header.Set("Content-Type", "application/json")
		}
	}
	for _, h := range []string{"X-Forwarded-For", "X-Real-Ip", "X-Request-Id"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := newRecorder()
	c.api.ServeHTTP(rec, req)
	if rec.status >= 200 && rec.status < 300 {
		return rec.body.Bytes(), rec.header, nil
	}
	e := &apiError{Status: rec.status}
	if err := json.Unmarshal(rec.body.Bytes(), e); err != nil || (e.Code == "" && e.Message == "") {
		e.Message = strings.TrimSpace(rec.body.String())
	}
	return nil, rec.header, e
}

// recorder is the response of an in-process admin API call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}, status: http.StatusOK} }

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

// ---- rendering ----

// view is what every page template receives: the person, the page's
// title and data, and a message from the last action.
type view struct {
	P       *person
	Title   string
	Nav     string
	Data    any
	Notice  string
	Problem string
	Now     time.Time
}

type errorPage struct {
	Title string
	Text  string
}

// render writes a page. An error while rendering is logged: the status
// line has gone.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p *person, data any) {
	c.renderView(w, r, status, name, view{P: p, Data: data})
}

func (c *Console) renderView(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t, ok := c.pages[name]
	if !ok {
		panic("console: no template " + name)
	}
	if v.Title == "" {
		if e, ok := v.Data.(errorPage); ok {
			v.Title = e.Title
		}
	}
	if v.Notice == "" {
		v.Notice = r.URL.Query().Get("done")
	}
	v.Now = c.now()
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		c.log.Error().Err(err).Str("template", name).Msg("console: rendering a page")
		http.Error(w, "The page could not be shown because of an internal error.", http.StatusInternalServerError)
		return
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail answers an error as a page: an admin API refusal with its own
// words and status, anything else as an internal error (logged).
func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *person, err error) {
	var e *apiError
	if errors.As(err, &e) {
		title := "That did not work"
		switch e.Status {
		case http.StatusForbidden:
			title = "You do not have permission"
			if len(e.Missing) > 0 {
				e.Message = "Your role does not include " + strings.Join(e.Missing, ", ") + ". Ask an administrator of your organisation if you need it."
			}
		case http.StatusNotFound:
			title = "Not found"
		case http.StatusTooManyRequests:
			title = "Too many requests"
		}
		c.render(w, r, e.Status, "error", p, errorPage{Title: title, Text: e.Text()})
		return
	}
	zerolog.Ctx(r.Context()).Error().Err(err).Str("path", r.URL.Path).Msg("console page failed")
	c.render(w, r, http.StatusInternalServerError, "error", p, errorPage{Title: "Something went wrong",
		Text: "The page could not be shown because of an internal error. Try again in a moment."})
}

// redirect answers a form post: back to a page (see other), with a
// sentence saying what was done.
func redirect(w http.ResponseWriter, r *http.Request, path, done string) {
	if done != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "done=" + url.QueryEscape(done)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// ---- sign-in and sign-out ----

// signin is the page a browser without a session lands on: sign in with
// the organisation's SSO, or use a console link from an administrator.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	tenantID := r.PathValue("tenant")
	next := session.ConsoleNext(tenantID, r.URL.Query().Get("next"))
	if next == "" {
		next = "/console/" + tenantID + "/"
	}
	_, err := c.store.GetSAMLConfig(r.Context(), tenantID)
	data := struct {
		Tenant string
		SSO    bool
		Login  string
	}{Tenant: tenantID, SSO: err == nil, Login: "/saml/" + url.PathEscape(tenantID) + "/login?next=" + url.QueryEscape(next)}
	c.renderView(w, r, http.StatusOK, "signin", view{Title: "Sign in", Data: data})
}

// signout ends the session (a form post with the form token).
func (c *Console) signout(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	tenantID := r.PathValue("tenant")
	tok, ok := sessionToken(r)
	if !ok {
		c.toSignIn(w, r, tenantID)
		return
	}
	if !c.sameOrigin(r) || !validCSRF(r, tok) {
		c.render(w, r, http.StatusForbidden, "error", nil, errorPage{Title: "This form has expired",
			Text: "The form was not sent from this console page, or it is too old. Go back, reload the page and try again."})
		return
	}
	cur, err := c.sessions.Authenticate(r)
	if err == nil {
		if err := c.store.DeleteSession(r.Context(), cur.Session.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			c.fail(w, r, nil, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: session.CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: c.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/console/"+url.PathEscape(tenantID)+"/signin?done="+url.QueryEscape("You are signed out."), http.StatusSeeOther)
}

// ---- assets ----

// assets serves the embedded styles and script; their URLs carry a hash
// of the content (assetURL), so they may be cached for long.
func assets() http.Handler {
	sub, _ := fs.Sub(assetFS, "assets")
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		files.ServeHTTP(w, r)
	})
}

var assetVersion = func() map[string]string {
	out := map[string]string{}
	_ = fs.WalkDir(assetFS, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := assetFS.ReadFile(path)
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(path, "assets/")] = base64.RawURLEncoding.EncodeToString(sum[:6])
		return nil
	})
	return out
}()

func assetURL(name string) string { return "/assets/console/" + name + "?v=" + assetVersion[name] }
