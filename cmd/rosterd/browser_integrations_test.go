package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Integrations page (console/integrations.go, docs/console.md).

// integrationsAdmin signs Ann, an admin of the demo tenant, in on the
// Integrations page.
func integrationsAdmin(t *testing.T, site *consoleSite) *browser {
	t.Helper()
	site.person("ann@demo.test", "Ann Admin", "admin")
	b := site.newBrowser()
	b.signInWithSSO("/console/demo/integrations", "ann@demo.test")
	require.Equal(t, "Integrations", b.text("h1"))
	return b
}

// auditActor is the userName of the actor of the newest audit event of an
// action in the demo tenant.
func auditActor(t *testing.T, site *consoleSite, action string) string {
	t.Helper()
	var out struct {
		Events []struct {
			Actor struct {
				Kind string `json:"kind"`
				Name string `json:"name"`
			} `json:"actor"`
		} `json:"events"`
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/audit?action="+action, nil, &out))
	require.NotEmpty(t, out.Events, action)
	return out.Events[0].Actor.Name
}

// eventually reopens path until cond holds of the browser's page: the
// page is server-rendered, so a change made elsewhere shows on a reload.
func eventually(t *testing.T, b *browser, path string, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	b.open(path)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen on %s within 15 s; the page says: %s", what, path, b.text("main"))
		}
		// A reload, not a navigation: a path with a #fragment would
		// only scroll the page that is already there.
		b.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("h1")))
		b.loaded()
	}
}

// TestBrowser_integrationsMintAndRevokeSCIMToken: the page names what to
// give the IdP (ACS URL, SP entity id, SCIM base URL); a token minted on
// it is shown once, on the answer page of its post only — never in the
// URL, gone on the next visit — works against SCIM, and stops working
// once revoked from the page; both changes are audited with the person.
func TestBrowser_integrationsMintAndRevokeSCIMToken(t *testing.T) {
	site := newConsoleSite(t)
	b := integrationsAdmin(t, site)
	assert.Equal(t, site.base+"/saml/demo/acs", b.text("#acs-url"))
	assert.Equal(t, site.base+"/saml/demo/metadata", b.text("#sp-entity-id"))
	assert.Equal(t, site.base+"/scim/v2/demo/", b.text("#scim-base-url"))
	assert.Equal(t, 3, b.count("[data-copy]"), "copy buttons for the entity id, the ACS URL and the SCIM base URL")
	assert.Equal(t, site.base+"/saml/demo/metadata", eval[string](b, `document.querySelector("a[download]").href`))
	assert.Contains(t, b.text("#saml"), "Valid")
	assert.Contains(t, b.text("#scim"), "Ready")
	b.shot("integrations")

	b.fill("#token-name", "okta-browser")
	b.click("#scim form.mint button[type=submit]", ".minted")
	secret := b.text("#minted-secret")
	require.NotEmpty(t, secret)
	assert.Contains(t, b.text(".minted"), "will not be shown again")
	assert.Equal(t, 1, b.count(`.minted [data-copy="#minted-secret"]`))
	assert.NotContains(t, b.location(), secret, "the secret is never in a URL")
	b.shot("integrations-token-minted")

	var list struct {
		Resources []any `json:"Resources"`
	}
	require.Equal(t, http.StatusOK, site.api(secret, "GET", "/scim/v2/demo/Users", nil, &list), "the minted token works")
	assert.Equal(t, "ann@demo.test", auditActor(t, site, "token.created"))

	// Reloading the answer page shows the page again and makes nothing:
	// its address became the page's own (no form posted twice).
	assert.Equal(t, "/console/demo/integrations#scim", b.location())
	tokensNow := func() int {
		var toks struct {
			Tokens []any `json:"tokens"`
		}
		require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/tokens", nil, &toks))
		return len(toks.Tokens)
	}
	before := tokensNow()
	b.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#scim")))
	assert.Equal(t, 0, b.count(".minted"), "the secret is not shown again")
	assert.NotContains(t, b.html(), secret)
	assert.Equal(t, before, tokensNow(), "a reload minted nothing")

	// A revisit shows the token in the list, never its secret.
	b.open("/console/demo/integrations")
	assert.NotContains(t, b.html(), secret)
	var toks struct {
		Tokens []struct {
			ID        string     `json:"id"`
			Name      string     `json:"name"`
			RevokedAt *time.Time `json:"revoked_at"`
		} `json:"tokens"`
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/tokens", nil, &toks))
	id := ""
	for _, tk := range toks.Tokens {
		if tk.Name == "okta-browser" {
			id = tk.ID
		}
	}
	require.NotEmpty(t, id)
	assert.Contains(t, b.text(`tr[data-token="`+id+`"]`), "okta-browser")

	b.click(`tr[data-token="`+id+`"] button.danger`, ".notice")
	assert.Contains(t, b.text(".notice"), `SCIM token "okta-browser" was revoked`)
	assert.Contains(t, b.text(`tr[data-token="`+id+`"]`), "Revoked")
	assert.NotContains(t, b.html(), secret)
	assert.Equal(t, http.StatusUnauthorized, site.api(secret, "GET", "/scim/v2/demo/Users", nil, nil), "the revoked token is refused")
	assert.Equal(t, "ann@demo.test", auditActor(t, site, "token.revoked"))

	b.phone()
	b.open("/console/demo/integrations")
	assert.LessOrEqual(t, eval[int](b, "document.documentElement.scrollWidth"), 400, "no sideways scrolling at phone width")
	b.shot("integrations-phone")
}

type samlState struct {
	EntityID  string     `json:"entity_id"`
	UpdatedAt *time.Time `json:"updated_at"`
}

// TestBrowser_integrationsUploadMetadata: pasted metadata that is not an
// IdP's is refused with the API's sentence in the SAML section and changes
// nothing; the IdP's metadata uploaded as a file is stored (audited with
// the person), and sign-in keeps working with it.
func TestBrowser_integrationsUploadMetadata(t *testing.T) {
	site := newConsoleSite(t)
	res, err := http.Get(site.base + "/saml/demo/dev-idp/metadata")
	require.NoError(t, err)
	good, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	var before samlState
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/saml", nil, &before))

	b := integrationsAdmin(t, site)
	b.choose("#saml-metadata", `<html><body>not metadata</body></html>`)
	b.click("form.saml-upload button[type=submit]", "#saml-problem")
	assert.Contains(t, b.text("#saml-problem"), "root element is <html>, not a SAML <EntityDescriptor>")
	assert.Equal(t, 1, strings.Count(b.text("#saml-problem"), "root element"), "the fault is said once")
	assert.Contains(t, eval[string](b, `document.querySelector("#saml-metadata").value`), "not metadata", "what was pasted is kept to fix")
	var after samlState
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/saml", nil, &after))
	assert.Equal(t, before, after, "a refused upload changes nothing")
	b.shot("integrations-saml-refused")

	file := filepath.Join(t.TempDir(), "idp-metadata.xml")
	require.NoError(t, os.WriteFile(file, good, 0o644))
	b.open("/console/demo/integrations")
	b.upload("#saml-file", file)
	b.click("form.saml-upload button[type=submit]", ".notice")
	assert.Contains(t, b.text(".notice"), "The IdP metadata was uploaded")
	assert.Contains(t, b.text("#saml"), "Valid")
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/saml", nil, &after))
	assert.Equal(t, before.EntityID, after.EntityID)
	require.NotNil(t, after.UpdatedAt)
	assert.True(t, after.UpdatedAt.After(*before.UpdatedAt), "the configuration was stored again")
	assert.Equal(t, "ann@demo.test", auditActor(t, site, "saml.updated"))

	other := site.newBrowser()
	site.person("bob@demo.test", "Bob Agent", "")
	other.signInWithSSO("/console/demo/", "bob@demo.test")
	assert.Equal(t, "Overview", other.text("h1"), "sign-in works with the uploaded metadata")
}

// TestBrowser_integrationsMintAndRevokeAPIKey: an API key minted with the
// checked permissions is shown once, works for what it grants and nothing
// more, and is refused once revoked from the page.
func TestBrowser_integrationsMintAndRevokeAPIKey(t *testing.T) {
	site := newConsoleSite(t)
	b := integrationsAdmin(t, site)
	b.click("#api-keys details summary", "#key-name")
	b.fill("#key-name", "hr-sync")
	b.click(`#api-keys input[value="users.view"]`)
	b.click(`#api-keys input[value="teams.view"]`)
	b.shot("integrations-api-key-form")
	b.click("#api-keys form button[type=submit]", ".minted")
	key := b.text("#minted-secret")
	require.True(t, strings.HasPrefix(key, "rsk_"), key)
	assert.Contains(t, b.text(".minted"), "will not be shown again")

	var people map[string]any
	assert.Equal(t, http.StatusOK, site.api(key, "GET", "/admin/v1/tenants/demo/users", nil, &people))
	assert.Equal(t, http.StatusForbidden, site.api(key, "GET", "/admin/v1/tenants/demo/seats", nil, nil), "billing.view was not granted")
	assert.Equal(t, "ann@demo.test", auditActor(t, site, "api_key.created"))

	// The answer page's address is already the page's own (#api-keys): a
	// link to it would only scroll, so the revisit is by the plain address.
	assert.Equal(t, "/console/demo/integrations#api-keys", b.location())
	b.open("/console/demo/integrations")
	assert.NotContains(t, b.html(), key)
	row := `#api-keys tr:has(td:first-child)`
	assert.Contains(t, b.text(row), "users.view")
	assert.Contains(t, b.text(row), "teams.view")
	b.click(row+" button.danger", ".notice")
	assert.Contains(t, b.text(".notice"), `API key "hr-sync" was revoked`)
	assert.Equal(t, http.StatusUnauthorized, site.api(key, "GET", "/admin/v1/tenants/demo/users", nil, nil))
	assert.Equal(t, "ann@demo.test", auditActor(t, site, "api_key.revoked"))
}

// receiver is a webhook endpoint on loopback that refuses (503) until it
// is told to accept.
type receiver struct {
	url    string
	hits   atomic.Int32
	accept atomic.Bool
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.url = startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		rc.hits.Add(1)
		if !rc.accept.Load() {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})) + "/hooks/roster"
	return rc
}

// TestBrowser_integrationsWebhook: an endpoint added on the page shows its
// whsec_ signing secret once; a change the endpoint wants shows in its
// delivery log with the receiver's 503 and the next attempt, and "Retry"
// sends it again at once, after which the log says delivered.
func TestBrowser_integrationsWebhook(t *testing.T) {
	site := newConsoleSiteEnv(t, map[string]string{"ROSTER_WEBHOOK_ALLOW_PRIVATE": "true"}, nil)
	rc := newReceiver(t)
	b := integrationsAdmin(t, site)

	b.click("#webhooks details summary", "#hook-url")
	b.fill("#hook-url", rc.url)
	b.click(`#webhooks input[value="user.created"]`)
	b.click("#webhooks form button[type=submit]", ".minted")
	secret := b.text("#minted-secret")
	require.True(t, strings.HasPrefix(secret, "whsec_"), secret)
	assert.Contains(t, b.text(".minted"), "will not be shown again")
	assert.Equal(t, rc.url, b.text(".hook-url"))
	assert.True(t, strings.HasPrefix(b.location(), "/console/demo/integrations/webhooks/"), "the answer's address is the endpoint's page: %s", b.location())

	var hooks struct {
		Webhooks []struct {
			ID     string   `json:"id"`
			Events []string `json:"events"`
		} `json:"webhooks"`
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/webhooks", nil, &hooks))
	require.Len(t, hooks.Webhooks, 1)
	assert.Equal(t, []string{"user.created"}, hooks.Webhooks[0].Events)
	hookPage := "/console/demo/integrations/webhooks/" + hooks.Webhooks[0].ID

	site.person("zed@demo.test", "Zed New", "")
	eventually(t, b, hookPage, func() bool {
		return b.count("tr[data-delivery]") == 1 && strings.Contains(b.text("tr[data-delivery]"), "503")
	}, "the refused delivery")
	row := b.text("tr[data-delivery]")
	assert.Contains(t, row, "user.created")
	assert.Contains(t, row, "waiting")
	assert.Contains(t, row, "next ")
	assert.NotContains(t, b.html(), secret, "the signing secret is not shown again")
	b.shot("integrations-webhook")

	rc.accept.Store(true)
	b.click("tr[data-delivery] button", ".notice")
	assert.Contains(t, b.text(".notice"), "will be sent again now")
	eventually(t, b, hookPage, func() bool { return strings.Contains(b.text("tr[data-delivery]"), "delivered") }, "the retried delivery")
	row = b.text("tr[data-delivery]")
	assert.Contains(t, row, "204")
	// The first attempt, the retry, and any scheduled retry between
	// them (5 s after the first) on a slow machine.
	attempts := b.text("tr[data-delivery] td:nth-child(5)")
	assert.Contains(t, []string{"2", "3"}, attempts)
	assert.Equal(t, attempts, strconv.Itoa(int(rc.hits.Load())), "every attempt is counted")

	b.open("/console/demo/integrations#webhooks")
	assert.Contains(t, b.text("#webhooks"), rc.url)
	assert.Contains(t, b.text("#webhooks"), "Enabled")
	b.open(hookPage)
	b.click("form button.danger", ".notice")
	assert.Contains(t, b.text(".notice"), "deleted")
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/webhooks", nil, &hooks))
	assert.Empty(t, hooks.Webhooks)
}

// clock is a settable clock for a whole serve.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// TestBrowser_integrationsDisabledWebhookNotice: an endpoint that failed
// for the whole delivery window is disabled by Roster; the overview warns
// in one line, the Integrations page names it with the reason at the top,
// and its "Enable" button turns it back on (audited with the person).
func TestBrowser_integrationsDisabledWebhookNotice(t *testing.T) {
	clk := &clock{}
	site := newConsoleSiteEnv(t, map[string]string{"ROSTER_WEBHOOK_ALLOW_PRIVATE": "true"}, clk.now)
	var fixed atomic.Bool
	down := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fixed.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})) + "/down"
	var hook struct {
		ID string `json:"id"`
	}
	require.Equal(t, http.StatusCreated, site.api(site.admin, "POST", "/admin/v1/tenants/demo/webhooks", map[string]any{"url": down}, &hook))
	site.person("ann@demo.test", "Ann Admin", "admin")

	status := func() string {
		var h struct {
			Status string `json:"status"`
		}
		require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/webhooks/"+hook.ID, nil, &h))
		return h.Status
	}
	require.Eventually(t, func() bool { return status() == "failing" }, 15*time.Second, 20*time.Millisecond, "the first attempt fails")
	clk.advance(73 * time.Hour) // past the 72-hour delivery window
	require.Eventually(t, func() bool { return status() == "disabled" }, 15*time.Second, 20*time.Millisecond, "the next attempt gives up")

	// The SAML sign-in checks assertion times against the wall clock, so
	// with the serve's clock moved on Ann comes in with a console link.
	b := site.newBrowser()
	b.open(strings.TrimPrefix(site.consoleLink("ann@demo.test"), site.base))
	require.Equal(t, "Overview", b.text("h1"))
	assert.Contains(t, b.text(".hooks-disabled"), "A webhook endpoint was disabled after failing")
	b.shot("overview-webhook-disabled")
	b.click(".hooks-disabled a", "#webhooks")
	assert.Equal(t, "/console/demo/integrations#webhooks", b.location())
	notice := b.text(".hook-disabled")
	assert.Contains(t, notice, down)
	assert.Contains(t, notice, "fix the endpoint, then enable it again")
	b.shot("integrations-webhook-disabled")

	// The receiver is mended, then enabled: the deliveries still waiting
	// go out. (Enabled while still failing, a waiting delivery older
	// than the window fails at its first attempt and disables it again.)
	fixed.Store(true)
	b.click(".hook-disabled button.primary", ".notice")
	assert.Contains(t, b.text(".notice"), "enabled again")
	assert.Equal(t, 0, b.count(".hook-disabled"))
	require.Eventually(t, func() bool {
		var ds struct {
			Deliveries []struct {
				Status string `json:"status"`
			} `json:"deliveries"`
		}
		require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/webhooks/"+hook.ID+"/deliveries?status=pending", nil, &ds))
		return len(ds.Deliveries) == 0
	}, 15*time.Second, 20*time.Millisecond, "the waiting deliveries went out")
	assert.Equal(t, "enabled", status())
	assert.Equal(t, "ann@demo.test", auditActor(t, site, "webhook.enabled"))
}

// TestBrowser_integrationsProvisioningActivity: a SCIM request with a bad
// filter shows in the activity section with its status and Roster's
// detail, under "errors only" too, where a good request does not.
func TestBrowser_integrationsProvisioningActivity(t *testing.T) {
	site := newConsoleSite(t)
	b := integrationsAdmin(t, site)
	require.Equal(t, http.StatusOK, site.api(site.scim, "GET", "/scim/v2/demo/Users?count=1", nil, &map[string]any{}))
	require.Equal(t, http.StatusBadRequest, site.api(site.scim, "GET", "/scim/v2/demo/Users?filter="+url.QueryEscape(`userName zz "x"`), nil, nil))

	eventually(t, b, "/console/demo/integrations?activity=errors#activity", func() bool {
		return b.count("#activity tbody tr") > 0
	}, "the refused request")
	rows := b.texts("#activity tbody tr")
	require.Len(t, rows, 1, "errors only: the good request is not listed")
	assert.Contains(t, rows[0], "GET /scim/v2/demo/Users")
	assert.Contains(t, rows[0], "400")
	assert.Contains(t, rows[0], "demo", "the IdP token's name")
	detail := b.text("#activity tbody tr td.detail")
	assert.NotEmpty(t, detail)
	assert.NotEqual(t, "—", detail, "Roster's detail is shown")
	assert.Equal(t, "page", eval[string](b, `document.querySelector("#errors-only").getAttribute("aria-current")`))
	b.shot("integrations-activity")

	b.click(`#activity .tabs a:not(#errors-only)`, "#activity tbody tr")
	assert.GreaterOrEqual(t, b.count("#activity tbody tr"), 2, "all requests: the good one too")
	assert.Contains(t, b.text("#activity"), "1 error in the last 24 hours")
	assert.Equal(t, 0, b.count("#activity .more-activity"), "everything is shown")

	// More than a page: the newest 100, and a link to the whole log. The
	// token's further successful lookups within 10 s are left out of the
	// log, its writes are kept.
	require.Equal(t, http.StatusOK, site.api(site.admin, "PATCH", "/admin/v1/tenants/demo",
		map[string]any{"settings": map[string]any{"rate_limit_per_second": 0}}, nil), "no rate limit for this burst")
	for i := range 130 {
		body := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": fmt.Sprintf("log%d@demo.test", i), "active": false} // no seat
		require.Equal(t, http.StatusCreated, site.api(site.scim, "POST", "/scim/v2/demo/Users", body, nil))
		require.Equal(t, http.StatusOK, site.api(site.scim, "GET", "/scim/v2/demo/Users?count=1", nil, &map[string]any{}))
	}
	eventually(t, b, "/console/demo/integrations#activity", func() bool {
		return b.count("#activity .more-activity") == 1
	}, "a full page of activity")
	assert.Equal(t, 100, b.count("#activity tbody tr"))
	b.click("#activity .more-activity a", "#activity tbody tr")
	assert.Contains(t, b.location(), "activity_all=1")
	posts, gets := 0, 0
	for _, row := range b.texts("#activity tbody tr td.req") {
		switch {
		case strings.HasPrefix(row, "POST "):
			posts++
		case strings.HasPrefix(row, "GET "):
			gets++
		}
	}
	assert.GreaterOrEqual(t, posts, 130, "every write is kept")
	assert.Less(t, gets, 10, "lookups a token makes within 10 s are kept once")
	assert.Equal(t, 0, b.count("#activity .more-activity"))

	// The overview links to this section.
	b.open("/console/demo/")
	b.click(`a[href$="/integrations#activity"]`, "#activity")
}

// TestBrowser_integrationsByPermission: a supervisor (integrations.view
// only) sees the page without a form that changes anything, and a post
// made anyway with their form token is refused by the admin API and
// mints nothing; an agent has no Integrations in the navigation and the
// page names the missing permission.
func TestBrowser_integrationsByPermission(t *testing.T) {
	site := newConsoleSite(t)
	site.person("cat@demo.test", "Cat Supervisor", "supervisor")
	site.person("dan@demo.test", "Dan Agent", "agent")
	b := site.newBrowser()
	b.signInWithSSO("/console/demo/integrations", "cat@demo.test")
	require.Equal(t, "Integrations", b.text("h1"))
	assert.Contains(t, b.text("#scim"), "demo", "the tokens are listed")
	assert.Equal(t, 0, b.count(`main form[method="post"]`), "no form that changes anything")
	assert.Equal(t, 0, b.count("main button.danger"))

	answer := bget(b, chromedp.Evaluate[string](`(async () => {
		const csrf = document.querySelector('input[name=csrf]').value;
		const r = await fetch('/console/demo/integrations/tokens', {method: 'POST', credentials: 'same-origin',
			headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'csrf=' + encodeURIComponent(csrf) + '&name=sneaky'});
		return r.status + ' ' + await r.text();
	})()`, chromedp.EvalAwaitPromise))
	assert.True(t, strings.HasPrefix(answer, "403 "), answer)
	assert.Contains(t, answer, "integrations.manage", "the admin API refused it, naming the permission")
	var toks struct {
		Tokens []struct {
			Name string `json:"name"`
		} `json:"tokens"`
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/tokens", nil, &toks))
	assert.Len(t, toks.Tokens, 1, "nothing was minted")

	agent := site.newBrowser()
	agent.signInWithSSO("/console/demo/", "dan@demo.test")
	assert.Equal(t, 0, agent.count(`nav a[href$="/integrations"]`))
	agent.open("/console/demo/integrations")
	assert.Contains(t, agent.text("main"), "integrations.view")
}
