package console

import (
	"net/http"
	"net/url"
	"time"
)

// The overview: is this organisation ready for SCIM, and what do its
// seats cost — the first questions of an admin who signs in. Each part is
// read only when the person may read it, and the parts are read at once.

type readiness struct {
	Ready  bool `json:"ready"`
	Checks []struct {
		Gate   string `json:"gate"`
		OK     bool   `json:"ok"`
		Detail string `json:"detail"`
	} `json:"checks"`
	Warnings []string `json:"warnings"`
}

type tenantView struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Plan      string     `json:"plan"`
	SCIMReady *readiness `json:"scim_ready"`
}

type samlView struct {
	EntityID            string    `json:"entity_id"`
	SSOURL              string    `json:"sso_url"`
	CertificateNotAfter time.Time `json:"certificate_not_after"`
	Valid               *bool     `json:"valid"`
	Problem             string    `json:"problem"`
}

type tokenView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

type seatsView struct {
	Plan struct {
		ID             string `json:"id"`
		Name           string `json:"name"`
		SeatPriceCents int    `json:"seat_price_cents"`
		BilledAnnually bool   `json:"billed_annually"`
	} `json:"plan"`
	MinimumSeats   int  `json:"minimum_seats"`
	PurchasedSeats int  `json:"purchased_seats"`
	UsableSeats    int  `json:"usable_seats"`
	ConsumedSeats  int  `json:"consumed_seats"`
	AvailableSeats int  `json:"available_seats"`
	OverageSeats   int  `json:"overage_seats"`
	OverageAllowed bool `json:"overage_allowed"`
	BillableSeats  int  `json:"billable_seats"`
	LightSeats     struct {
		Consumed     int   `json:"consumed"`
		PriceCents   int64 `json:"price_cents"`
		MonthlyCents int64 `json:"monthly_cents"`
	} `json:"light_seats"`
	ActiveUsers int `json:"active_users"`
	Addons      []struct {
		ID             string `json:"id"`
		Name           string `json:"name"`
		Users          int    `json:"users"`
		UserPriceCents int    `json:"user_price_cents"`
		IncludedInPlan bool   `json:"included_in_plan"`
		MonthlyCents   int64  `json:"monthly_cents"`
	} `json:"addons"`
	MonthlyCostCents int64 `json:"monthly_cost_cents"`
	Monthly          struct {
		SeatsCents      int64 `json:"seats_cents"`
		LightSeatsCents int64 `json:"light_seats_cents"`
		AddonsCents     int64 `json:"addons_cents"`
		TotalCents      int64 `json:"total_cents"`
	} `json:"monthly"`
	AnnualCommitmentCents int64  `json:"annual_commitment_cents"`
	BillingTrigger        string `json:"billing_trigger"`
}

// activityEntry is one SCIM request of the provisioning activity log.
type activityEntry struct {
	At         time.Time `json:"at"`
	TokenID    string    `json:"token_id"`
	TokenName  string    `json:"token_name"`
	Method     string    `json:"method"`
	Path       string    `json:"path"`
	Status     int       `json:"status"`
	Detail     string    `json:"detail"`
	DurationMS float64   `json:"duration_ms"`
}

type activityView struct {
	Entries   []activityEntry `json:"entries"`
	Errors24h int             `json:"errors_24h"`
}

type overviewData struct {
	Tenant   tenantView
	SAML     *samlView
	SAMLErr  string
	Tokens   []tokenView
	LastUsed *time.Time
	Activity *activityView
	Last     *activityEntry
	Seats    *seatsView
	CertSoon bool
	// DisabledHooks counts webhook endpoints disabled after failing: the
	// overview warns in one line and links to the Integrations page.
	DisabledHooks int
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, p *person) error {
	base := "/admin/v1/tenants/" + url.PathEscape(p.Tenant.ID)
	var d overviewData
	var saml samlView
	var tokens struct {
		Tokens []tokenView `json:"tokens"`
	}
	var act activityView
	var seats seatsView
	var hooks struct {
		Webhooks []struct {
			Status string `json:"status"`
		} `json:"webhooks"`
	}
	samlRead := &apiRead{perm: "integrations.view", path: base + "/saml", out: &saml, optional: true}
	reads := []*apiRead{
		{path: base, out: &d.Tenant},
		samlRead,
		{perm: "integrations.view", path: base + "/tokens", out: &tokens},
		{perm: "integrations.view", path: base + "/scim/activity?limit=1", out: &act},
		{perm: "integrations.view", path: base + "/webhooks", out: &hooks},
		{perm: "billing.view", path: base + "/seats?duplicates=false", out: &seats},
	}
	c.readAll(r, p, reads...)
	if err := firstErr(reads...); err != nil {
		return err
	}
	noSAML := samlRead.absent
	if p.Can("integrations.view") {
		if !noSAML {
			d.SAML = &saml
			d.CertSoon = saml.CertificateNotAfter.Before(c.now().Add(30 * 24 * time.Hour))
		}
		for _, t := range tokens.Tokens {
			if t.RevokedAt != nil {
				continue
			}
			d.Tokens = append(d.Tokens, t)
			if t.LastUsedAt != nil && (d.LastUsed == nil || t.LastUsedAt.After(*d.LastUsed)) {
				d.LastUsed = t.LastUsedAt
			}
		}
		for _, h := range hooks.Webhooks {
			if h.Status == "disabled" {
				d.DisabledHooks++
			}
		}
		d.Activity = &act
		if len(act.Entries) > 0 {
			d.Last = &act.Entries[0]
		}
	}
	if p.Can("billing.view") {
		d.Seats = &seats
	}
	c.renderView(w, r, http.StatusOK, "overview", view{P: p, Title: "Overview", Nav: "overview", Data: d})
	return nil
}
