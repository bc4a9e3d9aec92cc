package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/roster-dev/roster/access"
	rsaml "github.com/roster-dev/roster/saml"
	"github.com/roster-dev/roster/store"
)

// The Integrations page: how the organisation's IdP and applications
// connect to Roster — SAML set-up, SCIM tokens, admin API keys, webhooks,
// and what the IdP's provisioning requests got back. Everything is read
// and changed through the admin API; secrets (SCIM tokens, API keys,
// webhook signing secrets) are shown once, on the answer page of the post
// that made them, and are never put in a URL or shown again.

func init() {
	routes = append(routes,
		route{"GET /console/{tenant}/integrations", func(c *Console) pageFunc { return c.integrations }},
		route{"POST /console/{tenant}/integrations/saml", func(c *Console) pageFunc { return c.putSAML }},
		route{"POST /console/{tenant}/integrations/saml/delete", func(c *Console) pageFunc { return c.deleteSAML }},
		route{"POST /console/{tenant}/integrations/tokens", func(c *Console) pageFunc { return c.mintToken }},
		route{"POST /console/{tenant}/integrations/tokens/{tokenID}/revoke", func(c *Console) pageFunc { return c.revokeToken }},
		route{"POST /console/{tenant}/integrations/api-keys", func(c *Console) pageFunc { return c.mintAPIKey }},
		route{"POST /console/{tenant}/integrations/api-keys/{keyID}/revoke", func(c *Console) pageFunc { return c.revokeAPIKey }},
		route{"POST /console/{tenant}/integrations/webhooks", func(c *Console) pageFunc { return c.createWebhook }},
		route{"GET /console/{tenant}/integrations/webhooks/{hookID}", func(c *Console) pageFunc { return c.webhookPage }},
		route{"POST /console/{tenant}/integrations/webhooks/{hookID}/delete", func(c *Console) pageFunc { return c.deleteWebhook }},
		route{"POST /console/{tenant}/integrations/webhooks/{hookID}/enable", func(c *Console) pageFunc { return c.enableWebhook }},
		route{"POST /console/{tenant}/integrations/webhooks/{hookID}/deliveries/{deliveryID}/retry",
			func(c *Console) pageFunc { return c.retryDelivery }},
	)
	// Provisioning requests and deliveries come seconds apart: their
	// times are shown to the second.
	funcs["stamp"] = func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2 Jan 15:04:05 UTC")
		case *time.Time:
			if v == nil || v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2 Jan 15:04:05 UTC")
		}
		return ""
	}
	// A request's path as the IdP meant it: the query unescaped, so that
	// a filter reads as written (the title keeps the exact path).
	funcs["readablePath"] = func(p string) string {
		if u, err := url.QueryUnescape(p); err == nil {
			return u
		}
		return p
	}
	funcs["ms"] = func(v any) string {
		switch x := v.(type) {
		case float64:
			if x < 10 {
				return fmt.Sprintf("%.1f ms", x)
			}
			return fmt.Sprintf("%.0f ms", x)
		case *int:
			if x == nil {
				return "—"
			}
			return fmt.Sprintf("%d ms", *x)
		}
		return ""
	}
}

// ---- the admin API's answers, as this page reads them ----

type apiKeyView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Permissions []string  `json:"permissions"`
	Key         string    `json:"key"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"created_by"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

type webhookView struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Secret    string    `json:"secret"`
	Status    string    `json:"status"` // enabled, failing or disabled
	CreatedAt time.Time `json:"created_at"`
	CreatedBy struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"created_by"`
	FailingSince   *time.Time `json:"failing_since"`
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason string     `json:"disabled_reason"`
}

type deliveryView struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id"`
	EventType     string     `json:"event_type"`
	Status        string     `json:"status"` // pending, delivered or failed
	Attempts      int        `json:"attempts"`
	ResponseCode  *int       `json:"response_code"`
	DurationMS    *int       `json:"duration_ms"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	Error         string     `json:"error"`
	CreatedAt     time.Time  `json:"created_at"`
}

// ---- the page ----

// secretShown is a secret just made, for the answer page of its post only.
type secretShown struct {
	Kind   string // "SCIM token", "API key", "signing secret"
	Name   string
	Secret string
}

// permArea is one area of the permission catalogue, for the API key form.
type permArea struct {
	Name  string
	Flags []permFlag
}

type permFlag struct {
	Flag        string // area.flag
	Description string
	Held        bool // the person holds it (the API refuses to grant more)
	Checked     bool
}

type eventGroup struct {
	Name  string
	Types []eventChoice
}

type eventChoice struct {
	Type    string
	Checked bool
}

type integrationsData struct {
	Tenant tenantView
	SAML   *samlView
	// What to paste into the IdP: Roster's SP entity id and ACS URL, its
	// SP metadata, and the SCIM base URL.
	SPEntityID    string
	ACSURL        string
	SPMetadataURL string
	SCIMBaseURL   string

	Tokens   []tokenView
	Keys     []apiKeyView
	Hooks    []webhookView
	Disabled []webhookView
	Activity activityView
	// ErrorsOnly filters the provisioning activity to refused requests.
	ErrorsOnly bool
	// WholeActivity lists the whole log (up to store.ActivityKeep entries)
	// rather than the newest activityPage; More says there may be more to
	// show than the page lists.
	WholeActivity, MoreActivity bool

	Minted *secretShown

	// A refused form is shown again in its section with the API's sentence.
	SAMLProblem   string
	MetadataDraft string
	TokenProblem  string
	TokenName     string
	KeyProblem    string
	KeyName       string
	Areas         []permArea
	HookProblem   string
	HookURL       string
	EventGroups   []eventGroup
}

// activityPage is how many provisioning requests the page lists.
const activityPage = 100

func (c *Console) tenantPath(p *person) string {
	return "/admin/v1/tenants/" + url.PathEscape(p.Tenant.ID)
}

func (c *Console) pagePath(p *person) string {
	return "/console/" + url.PathEscape(p.Tenant.ID) + "/integrations"
}

// loadIntegrations reads every part of the page at once. The parts need
// integrations.view, which the admin API checks; a person without it gets
// its refusal.
func (c *Console) loadIntegrations(r *http.Request, p *person) (*integrationsData, error) {
	base := c.tenantPath(p)
	sp := rsaml.SP{BaseURL: c.baseURL, TenantID: p.Tenant.ID}
	d := &integrationsData{
		SPEntityID: sp.EntityID(), ACSURL: sp.AcsURL(), SPMetadataURL: sp.EntityID(),
		SCIMBaseURL: c.baseURL + "/scim/v2/" + url.PathEscape(p.Tenant.ID) + "/",
		ErrorsOnly:  r.URL.Query().Get("activity") == "errors",
		// The log holds at most 1,000 entries: "all" is one page of them.
		WholeActivity: r.URL.Query().Get("activity_all") == "1",
	}
	var (
		saml   samlView
		tokens struct {
			Tokens []tokenView `json:"tokens"`
		}
		keys struct {
			Keys []apiKeyView `json:"api_keys"`
		}
		hooks struct {
			Webhooks []webhookView `json:"webhooks"`
		}
	)
	limit := activityPage
	if d.WholeActivity {
		limit = store.ActivityKeep
	}
	activity := fmt.Sprintf("%s/scim/activity?limit=%d", base, limit)
	if d.ErrorsOnly {
		activity += "&errors=true"
	}
	samlRead := &apiRead{path: base + "/saml", out: &saml, optional: true}
	reads := []*apiRead{{path: base, out: &d.Tenant}, samlRead, {path: base + "/tokens", out: &tokens},
		{path: base + "/api-keys", out: &keys}, {path: base + "/webhooks", out: &hooks}, {path: activity, out: &d.Activity}}
	c.readAll(r, p, reads...)
	if err := firstErr(reads...); err != nil {
		return nil, err
	}
	d.MoreActivity = !d.WholeActivity && len(d.Activity.Entries) == activityPage
	noSAML := samlRead.absent
	if !noSAML {
		d.SAML = &saml
	}
	d.Tokens = tokens.Tokens
	d.Keys = keys.Keys
	d.Hooks = hooks.Webhooks
	for _, h := range d.Hooks {
		if h.Status == "disabled" {
			d.Disabled = append(d.Disabled, h)
		}
	}
	d.Areas = c.permAreas(p, nil)
	d.EventGroups = eventGroups(nil)
	return d, nil
}

// permAreas is the permission catalogue grouped by area, marking the
// flags the person holds (a key can be granted no more than that; the
// admin API is what refuses).
func (c *Console) permAreas(p *person, checked map[string]bool) []permArea {
	var out []permArea
	for _, a := range access.Catalogue() {
		pa := permArea{Name: a.Name}
		for _, f := range a.Flags {
			flag := a.Name + "." + f.Name
			pa.Flags = append(pa.Flags, permFlag{Flag: flag, Description: f.Description, Held: p.Can(flag), Checked: checked[flag]})
		}
		out = append(out, pa)
	}
	return out
}

// eventGroups is the event types (docs/events.md) grouped by what they
// are about: user, team, seat…
func eventGroups(checked map[string]bool) []eventGroup {
	var out []eventGroup
	for _, t := range store.EventTypes {
		g, _, _ := strings.Cut(t, ".")
		if len(out) == 0 || out[len(out)-1].Name != g {
			out = append(out, eventGroup{Name: g})
		}
		out[len(out)-1].Types = append(out[len(out)-1].Types, eventChoice{Type: t, Checked: checked[t]})
	}
	return out
}

func (c *Console) integrations(w http.ResponseWriter, r *http.Request, p *person) error {
	d, err := c.loadIntegrations(r, p)
	if err != nil {
		return err
	}
	c.showIntegrations(w, r, p, http.StatusOK, d, "")
	return nil
}

func (c *Console) showIntegrations(w http.ResponseWriter, r *http.Request, p *person, status int, d *integrationsData, problem string) {
	c.renderView(w, r, status, "integrations", view{P: p, Title: "Integrations", Nav: "integrations", Data: d, Problem: problem})
}

// refused re-renders the page after a refused form: fill sets the
// section's problem and what was typed. Anything but an admin API refusal
// is returned as the page's error.
func (c *Console) refused(w http.ResponseWriter, r *http.Request, p *person, err error, fill func(*integrationsData, string)) error {
	var e *apiError
	if !errors.As(err, &e) || e.Status == http.StatusForbidden {
		return err
	}
	d, lerr := c.loadIntegrations(r, p)
	if lerr != nil {
		return lerr
	}
	fill(d, e.Text())
	c.showIntegrations(w, r, p, e.Status, d, "")
	return nil
}

// ---- SAML ----

// putSAML uploads the IdP's metadata, from a file or pasted. A refusal
// names the fault in the SAML section; nothing is changed.
func (c *Console) putSAML(w http.ResponseWriter, r *http.Request, p *person) error {
	metadata := []byte(strings.TrimSpace(r.FormValue("metadata")))
	if f, _, err := r.FormFile("file"); err == nil {
		b, rerr := io.ReadAll(io.LimitReader(f, maxUpload))
		f.Close()
		if rerr != nil {
			return rerr
		}
		if len(b) > 0 {
			metadata = b
		}
	}
	var draft string
	if r.FormValue("metadata") != "" {
		draft = r.FormValue("metadata")
	}
	if len(metadata) == 0 {
		d, err := c.loadIntegrations(r, p)
		if err != nil {
			return err
		}
		d.SAMLProblem = "Choose your IdP's metadata file or paste its XML, then upload it."
		c.showIntegrations(w, r, p, http.StatusBadRequest, d, "")
		return nil
	}
	var out struct {
		Warnings []string `json:"warnings"`
	}
	raw, _, err := c.callRaw(r.Context(), r, p, http.MethodPut, c.tenantPath(p)+"/saml", "application/json", xmlBody(metadata))
	if err == nil {
		err = json.Unmarshal(raw, &out)
	}
	if err != nil {
		return c.refused(w, r, p, err, func(d *integrationsData, text string) {
			d.SAMLProblem, d.MetadataDraft = text, draft
		})
	}
	done := "The IdP metadata was uploaded: sign-in now uses it."
	if len(out.Warnings) > 0 {
		done += " " + strings.Join(out.Warnings, " ")
	}
	redirect(w, r, c.pagePath(p), done)
	return nil
}

func (c *Console) deleteSAML(w http.ResponseWriter, r *http.Request, p *person) error {
	if err := c.call(r.Context(), r, p, http.MethodDelete, c.tenantPath(p)+"/saml", nil, nil); err != nil {
		return err
	}
	redirect(w, r, c.pagePath(p), "The SAML configuration was removed: nobody can sign in with SSO until metadata is uploaded again.")
	return nil
}

// ---- SCIM tokens ----

func (c *Console) mintToken(w http.ResponseWriter, r *http.Request, p *person) error {
	name := strings.TrimSpace(r.FormValue("name"))
	var tok struct {
		tokenView
		Token string `json:"token"`
	}
	err := c.call(r.Context(), r, p, http.MethodPost, c.tenantPath(p)+"/tokens", map[string]any{"name": name}, &tok)
	if err != nil {
		return c.refused(w, r, p, err, func(d *integrationsData, text string) { d.TokenProblem, d.TokenName = text, name })
	}
	d, err := c.loadIntegrations(r, p)
	if err != nil {
		return err
	}
	d.Minted = &secretShown{Kind: "SCIM token", Name: tok.Name, Secret: tok.Token}
	c.renderView(w, r, http.StatusOK, "integrations", view{P: p, Title: "Integrations", Nav: "integrations", Data: d,
		Notice: fmt.Sprintf("SCIM token %q was made. Copy it now: it is shown only on this page.", tok.Name)})
	return nil
}

func (c *Console) revokeToken(w http.ResponseWriter, r *http.Request, p *person) error {
	id := r.PathValue("tokenID")
	if err := c.call(r.Context(), r, p, http.MethodDelete, c.tenantPath(p)+"/tokens/"+url.PathEscape(id), nil, nil); err != nil {
		return err
	}
	name := r.FormValue("name")
	redirect(w, r, c.pagePath(p), fmt.Sprintf("SCIM token %q was revoked: the IdP's next request with it is refused.", name))
	return nil
}

// ---- API keys ----

func (c *Console) mintAPIKey(w http.ResponseWriter, r *http.Request, p *person) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	name := strings.TrimSpace(r.FormValue("name"))
	perms := r.Form["permission"]
	if perms == nil {
		perms = []string{}
	}
	var key apiKeyView
	err := c.call(r.Context(), r, p, http.MethodPost, c.tenantPath(p)+"/api-keys", map[string]any{"name": name, "permissions": perms}, &key)
	if err != nil {
		return c.refused(w, r, p, err, func(d *integrationsData, text string) {
			checked := map[string]bool{}
			for _, f := range perms {
				checked[f] = true
			}
			d.KeyProblem, d.KeyName, d.Areas = text, name, c.permAreas(p, checked)
		})
	}
	d, err := c.loadIntegrations(r, p)
	if err != nil {
		return err
	}
	d.Minted = &secretShown{Kind: "API key", Name: key.Name, Secret: key.Key}
	c.renderView(w, r, http.StatusOK, "integrations", view{P: p, Title: "Integrations", Nav: "integrations", Data: d,
		Notice: fmt.Sprintf("API key %q was made. Copy it now: it is shown only on this page.", key.Name)})
	return nil
}

func (c *Console) revokeAPIKey(w http.ResponseWriter, r *http.Request, p *person) error {
	id := r.PathValue("keyID")
	if err := c.call(r.Context(), r, p, http.MethodDelete, c.tenantPath(p)+"/api-keys/"+url.PathEscape(id), nil, nil); err != nil {
		return err
	}
	redirect(w, r, c.pagePath(p), fmt.Sprintf("API key %q was revoked: its next request is refused.", r.FormValue("name")))
	return nil
}

// ---- webhooks ----

type webhookPageData struct {
	Hook       webhookView
	Deliveries []deliveryView
	Status     string // the delivery log's filter
	Next       string // cursor of the next page
	Secret     string // only on the answer page of the post that made it
	Groups     []eventGroup
}

func (c *Console) createWebhook(w http.ResponseWriter, r *http.Request, p *person) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	u := strings.TrimSpace(r.FormValue("url"))
	events := r.Form["event"]
	if events == nil {
		events = []string{}
	}
	var hook webhookView
	err := c.call(r.Context(), r, p, http.MethodPost, c.tenantPath(p)+"/webhooks", map[string]any{"url": u, "events": events}, &hook)
	if err != nil {
		return c.refused(w, r, p, err, func(d *integrationsData, text string) {
			checked := map[string]bool{}
			for _, t := range events {
				checked[t] = true
			}
			d.HookProblem, d.HookURL, d.EventGroups = text, u, eventGroups(checked)
		})
	}
	secret := hook.Secret
	hook.Secret = ""
	d := webhookPageData{Hook: hook, Secret: secret, Deliveries: []deliveryView{}}
	c.renderView(w, r, http.StatusOK, "integrations-webhook", view{P: p, Title: "Webhook endpoint", Nav: "integrations", Data: d,
		Notice: "The webhook endpoint was added. Copy its signing secret now: it is shown only on this page."})
	return nil
}

func (c *Console) webhookPage(w http.ResponseWriter, r *http.Request, p *person) error {
	id := r.PathValue("hookID")
	base := c.tenantPath(p) + "/webhooks/" + url.PathEscape(id)
	d := webhookPageData{Status: r.URL.Query().Get("status")}
	if err := c.call(r.Context(), r, p, http.MethodGet, base, nil, &d.Hook); err != nil {
		return err
	}
	q := url.Values{}
	if d.Status != "" {
		q.Set("status", d.Status)
	}
	if cur := r.URL.Query().Get("cursor"); cur != "" {
		q.Set("cursor", cur)
	}
	q.Set("limit", "50")
	var log struct {
		Deliveries []deliveryView `json:"deliveries"`
		Next       *string        `json:"next_cursor"`
	}
	if err := c.call(r.Context(), r, p, http.MethodGet, base+"/deliveries?"+q.Encode(), nil, &log); err != nil {
		return err
	}
	d.Deliveries = log.Deliveries
	if log.Next != nil {
		d.Next = *log.Next
	}
	d.Groups = eventGroups(nil)
	c.renderView(w, r, http.StatusOK, "integrations-webhook", view{P: p, Title: "Webhook endpoint", Nav: "integrations", Data: d})
	return nil
}

func (c *Console) hookPath(p *person, id string) string {
	return c.pagePath(p) + "/webhooks/" + url.PathEscape(id)
}

func (c *Console) deleteWebhook(w http.ResponseWriter, r *http.Request, p *person) error {
	id := r.PathValue("hookID")
	if err := c.call(r.Context(), r, p, http.MethodDelete, c.tenantPath(p)+"/webhooks/"+url.PathEscape(id), nil, nil); err != nil {
		return err
	}
	redirect(w, r, c.pagePath(p), "The webhook endpoint was deleted, with its delivery log.")
	return nil
}

func (c *Console) enableWebhook(w http.ResponseWriter, r *http.Request, p *person) error {
	id := r.PathValue("hookID")
	var hook webhookView
	if err := c.call(r.Context(), r, p, http.MethodPost, c.tenantPath(p)+"/webhooks/"+url.PathEscape(id)+"/enable", nil, &hook); err != nil {
		return err
	}
	// The notice shows at the top of the page, so the answer lands there.
	back := c.pagePath(p)
	if r.FormValue("back") == "hook" {
		back = c.hookPath(p, id)
	}
	redirect(w, r, back, fmt.Sprintf("The webhook endpoint %s is enabled again: its waiting deliveries go out, oldest first.", hook.URL))
	return nil
}

func (c *Console) retryDelivery(w http.ResponseWriter, r *http.Request, p *person) error {
	id, did := r.PathValue("hookID"), r.PathValue("deliveryID")
	path := c.tenantPath(p) + "/webhooks/" + url.PathEscape(id) + "/deliveries/" + url.PathEscape(did) + "/retry"
	if err := c.call(r.Context(), r, p, http.MethodPost, path, nil, nil); err != nil {
		return err
	}
	redirect(w, r, c.hookPath(p, id), fmt.Sprintf("Delivery %s will be sent again now.", did))
	return nil
}

// ---- helpers ----

// xmlBody is a request body sent as application/xml (IdP metadata).
type xmlBody []byte
