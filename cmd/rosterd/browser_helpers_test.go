package main

// The console's browser tests drive headless Chromium (Debian's chromium
// package) through chromedp against a real rosterd serve: the demo tenant,
// the bundled test IdP, the console and the admin API, all over HTTP as a
// person's browser uses them (README "Testing", docs/console.md).
//
// A browser test never skips: without Chromium it fails and says how to
// install it (.ci/run installs it). Every page a test visits is
// screenshot into $ROSTER_SCREENSHOTS when set (docs/screenshots/ is made
// so), else into the test's temporary folder.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// chromiumPath finds the browser: $ROSTER_CHROMIUM, else chromium on PATH.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ROSTER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the console's browser tests need Chromium: install Debian's chromium package (apt-get install chromium) " +
		"or set ROSTER_CHROMIUM to a Chrome or Chromium binary")
	return ""
}

// consoleSite is a running rosterd with the demo tenant, for a browser.
type consoleSite struct {
	t      *testing.T
	base   string // http://127.0.0.1:port
	admin  string // the operator token
	scim   string // the demo tenant's SCIM token
	shots  string // where screenshots go
	closed func()
}

const browserAdminToken = "browser-admin-token-0123456789abcdef"

// newConsoleSite starts rosterd serve on the in-memory store with the demo
// tenant and its bundled test IdP.
func newConsoleSite(t *testing.T) *consoleSite {
	t.Helper()
	sys, stdout, _ := testSystem(map[string]string{"ROSTER_ADMIN_TOKEN": browserAdminToken})
	s := startServe(t, sys, stdout)
	m := scimTokenRE.FindStringSubmatch(stdout.String())
	require.NotNil(t, m, stdout.String())
	shots := os.Getenv("ROSTER_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(shots, 0o755))
	return &consoleSite{t: t, base: "http://" + s.addr, admin: browserAdminToken, scim: m[1], shots: shots}
}

// api sends one request with a bearer token and decodes a JSON answer.
func (s *consoleSite) api(token, method, path string, body any, out any) int {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(s.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if strings.HasPrefix(path, "/scim/") {
		req.Header.Set("Content-Type", "application/scim+json")
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(s.t, err)
	if out != nil && len(raw) > 0 && res.StatusCode < 300 {
		require.NoError(s.t, json.Unmarshal(raw, out), string(raw))
	}
	if res.StatusCode >= 300 && out != nil {
		s.t.Logf("%s %s → %d %s", method, path, res.StatusCode, raw)
	}
	return res.StatusCode
}

// person makes a user of the demo tenant over SCIM and gives them role.
func (s *consoleSite) person(userName, displayName, role string) string {
	s.t.Helper()
	var u struct {
		ID string `json:"id"`
	}
	code := s.api(s.scim, "POST", "/scim/v2/demo/Users", map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName, "active": true, "displayName": displayName,
		"emails": []map[string]any{{"value": userName, "primary": true, "type": "work"}},
	}, &u)
	require.Equal(s.t, http.StatusCreated, code)
	if role != "" {
		require.Equal(s.t, http.StatusOK, s.api(s.admin, "PATCH", "/admin/v1/tenants/demo/users/"+u.ID, map[string]any{"role": role}, &map[string]any{}))
	}
	return u.ID
}

// consoleLink mints a console link for a user.
func (s *consoleSite) consoleLink(user string) string {
	s.t.Helper()
	var out struct {
		URL string `json:"url"`
	}
	require.Equal(s.t, http.StatusCreated, s.api(s.admin, "POST", "/admin/v1/tenants/demo/console-links", map[string]any{"user": user}, &out))
	// The link names ROSTER_BASE_URL, which this serve derived from its
	// address; keep its path and query on this site.
	i := strings.Index(out.URL, "/console/")
	require.GreaterOrEqual(s.t, i, 0, out.URL)
	return s.base + out.URL[i:]
}

// browser is one headless Chromium with its own profile. Its methods
// fail the test on error, so that a test reads as what a person does.
type browser struct {
	t    *testing.T
	ctx  context.Context
	site *consoleSite
}

// newBrowser starts Chromium; it is closed when the test ends.
func (s *consoleSite) newBrowser() *browser {
	t := s.t
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{},
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1280, 900),
		// The machine's network is closed: no background connections.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	// Chromium now and then fails to come up on a loaded machine (its
	// DevTools endpoint is not announced in time, or the process exits
	// while another instance tears down); that says nothing about the
	// console, so a start is tried a few times before the test fails.
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		// A fresh profile each attempt: a failed start can leave its lock.
		attemptOpts := append(opts[:len(opts):len(opts)], chromedp.UserDataDir(t.TempDir()))
		actx, cancelA := chromedp.NewExecAllocator(context.Background(), attemptOpts...)
		ctx, cancelC := chromedp.NewContext(actx)
		// The first run starts the browser and must not carry a timeout
		// (it would end the browser); later steps are bounded in do.
		if err = chromedp.Do(ctx); err == nil {
			t.Cleanup(func() { cancelC(); cancelA() })
			return &browser{t: t, ctx: ctx, site: s}
		}
		cancelC()
		cancelA()
		t.Logf("starting Chromium, attempt %d: %v", attempt, err)
		time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
	}
	require.NoError(t, err, "starting Chromium")
	return nil
}

// do runs steps, failing the test on error.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, steps...))
}

// get runs one action answering a value.
func bget[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	require.NoError(b.t, err)
	return v
}

// open navigates to a path of the site (or a whole URL) and waits for the
// page's heading.
func (b *browser) open(path string) {
	b.t.Helper()
	if !strings.HasPrefix(path, "http") {
		path = b.site.base + path
	}
	b.do(chromedp.Navigate(path), chromedp.WaitVisible(chromedp.CSS("h1")))
	b.loaded()
}

// loaded waits until the page has been read whole. A long page (a team of
// 1,000 rows) shows its header while Chromium still parses the rest, and a
// node read meanwhile can be replaced under the read ("No node with given
// id found").
//
// It asks with plain evaluations, not chromedp.Poll: a Poll started right
// as a page is replaced runs against chromedp's bookkeeping of that
// navigation, and evaluations are what every other read here uses.
func (b *browser) loaded() {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`))
		cancel()
		switch {
		case err == nil && state == "complete":
			return
		case err != nil && !leftPage(err) && b.ctx.Err() != nil:
			require.NoError(b.t, err, "waiting for the page to load")
		case time.Now().After(deadline):
			b.t.Fatalf("the page did not finish loading within 30 s (readyState %q, %v)", state, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// text is the visible text of the first element matching the CSS selector.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(bget(b, chromedp.Text(chromedp.CSS(sel))))
}

// click clicks the first element matching sel; with waitFor, it then
// waits for that element to show (the next page's).
func (b *browser) click(sel string, waitFor ...string) {
	b.t.Helper()
	steps := []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(sel))}
	for _, w := range waitFor {
		steps = append(steps, chromedp.WaitVisible(chromedp.CSS(w)))
	}
	b.do(steps...)
	if len(waitFor) > 0 {
		b.loaded()
	}
}

// fill types value into the field matching sel, after clearing it.
func (b *browser) fill(sel, value string) {
	b.t.Helper()
	b.do(chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), value))
}

// choose sets a select's (or any field's) value.
func (b *browser) choose(sel, value string) {
	b.t.Helper()
	b.do(chromedp.SetValue(chromedp.CSS(sel), value))
}

// upload sets the files of a file input.
func (b *browser) upload(sel string, files ...string) {
	b.t.Helper()
	b.do(chromedp.SetUploadFiles(chromedp.CSS(sel), files))
}

// waitFor waits until an element matching sel is visible.
func (b *browser) waitFor(sel string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)))
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	return bget(b, chromedp.Evaluate[T](expr))
}

// count is how many elements match sel.
func (b *browser) count(sel string) int {
	b.t.Helper()
	return eval[int](b, fmt.Sprintf("document.querySelectorAll(%q).length", sel))
}

// texts is the trimmed text of every element matching sel.
func (b *browser) texts(sel string) []string {
	b.t.Helper()
	return eval[[]string](b, fmt.Sprintf("Array.from(document.querySelectorAll(%q), e => e.textContent.trim())", sel))
}

// location is the page's path and query.
func (b *browser) location() string {
	b.t.Helper()
	return strings.TrimPrefix(bget(b, chromedp.Location()), b.site.base)
}

// shot saves a full-page screenshot as name.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	png := bget(b, chromedp.FullScreenshot(100))
	path := filepath.Join(b.site.shots, name+".png")
	require.NoError(b.t, os.WriteFile(path, png, 0o644))
	b.t.Logf("screenshot %s (%d bytes)", path, len(png))
}

// phone switches the viewport to a phone's width.
func (b *browser) phone() {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(390, 844))
}

// cookie is the browser's cookie of that name for the site (nil if none).
func (b *browser) cookie(name string) *network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.site.base}})
	require.NoError(b.t, err)
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signInWithSSO signs userName in through the console's sign-in page and
// the bundled test IdP, starting at path.
func (b *browser) signInWithSSO(path, userName string) {
	b.t.Helper()
	b.open(path)
	require.Contains(b.t, b.location(), "/console/demo/signin", "a browser without a session is sent to sign in")
	b.shot("signin")
	b.click("a.button.primary", "input[name=user]")
	b.fill("input[name=user]", userName)
	b.do(chromedp.Submit(chromedp.CSS("input[name=user]")), chromedp.WaitVisible(chromedp.CSS("header.top")))
	b.loaded()
}

// startHTTP serves h on a loopback port of its own (another origin than
// the site) until the test ends, and returns its base URL.
func startHTTP(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// postForm posts a form with the session cookie (and an Origin, when not
// empty) as a script outside any browser would, and answers the status.
func postForm(t *testing.T, target string, form url.Values, sessionToken, origin string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "roster_session", Value: sessionToken})
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// submit clicks sel (a button that loads a new page) and waits for each
// waitFor on the NEW page: the old page is marked first, so that an
// element both pages have (a notice) is not found on the old one.
func (b *browser) submit(sel string, waitFor ...string) {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.stale = "1"`), chromedp.Click(chromedp.CSS(sel)))
	if len(waitFor) == 0 {
		waitFor = []string{"h1"}
	}
	for _, w := range waitFor {
		b.do(chromedp.WaitVisible(chromedp.CSS("html:not([data-stale]) " + w)))
	}
	b.loaded()
}

// leftPage reports whether a page action failed because the page went
// away under it (a navigation), not because of the action itself.
func leftPage(err error) bool {
	m := err.Error()
	return strings.Contains(m, "Cannot find context") || strings.Contains(m, "Execution context was destroyed") ||
		strings.Contains(m, "navigated or closed")
}

// waitUntil waits until a JavaScript expression is true in the page (a
// location reached, a count of rows), for what no selector tells apart. A
// poll does not survive a navigation, so one the page leaves mid-poll is
// started again on the next page.
func (b *browser) waitUntil(expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr))
		if err == nil || ctx.Err() != nil || !leftPage(err) {
			require.NoError(b.t, err, "waiting for %s", expr)
			return
		}
	}
}

// newConsoleSiteEnv is newConsoleSite with more ROSTER_* variables (e.g.
// ROSTER_WEBHOOK_ALLOW_PRIVATE for a receiver on loopback) and, when now
// is not nil, the clock the whole serve reads (store, admin API,
// deliverers, sessions), so that a test can move time forward.
func newConsoleSiteEnv(t *testing.T, env map[string]string, now func() time.Time) *consoleSite {
	t.Helper()
	all := map[string]string{"ROSTER_ADMIN_TOKEN": browserAdminToken}
	for k, v := range env {
		all[k] = v
	}
	sys, stdout, _ := testSystem(all)
	if now != nil {
		sys.now = now
	}
	s := startServe(t, sys, stdout)
	m := scimTokenRE.FindStringSubmatch(stdout.String())
	require.NotNil(t, m, stdout.String())
	shots := os.Getenv("ROSTER_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(shots, 0o755))
	return &consoleSite{t: t, base: "http://" + s.addr, admin: browserAdminToken, scim: m[1], shots: shots}
}

// html is the page's whole markup, for what must not be anywhere in it.
func (b *browser) html() string {
	b.t.Helper()
	return eval[string](b, "document.documentElement.outerHTML")
}

// download fetches a path of the site with the browser's session cookie,
// as a link with the download attribute does, and answers the status,
// the headers and the body.
func (b *browser) download(path string) (int, http.Header, []byte) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.site.base+path, nil)
	require.NoError(b.t, err)
	if c := b.cookie("roster_session"); c != nil {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(b.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(b.t, err)
	return res.StatusCode, res.Header, body
}

// attr is an attribute of the first element matching sel ("" if none).
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf("(document.querySelector(%q) || {getAttribute: () => ''}).getAttribute(%q) || ''", sel, name))
}
