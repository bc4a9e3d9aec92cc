package admin

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/roster-dev/roster/licensing"
	rsaml "github.com/roster-dev/roster/saml"
	"github.com/roster-dev/roster/store"
)

// maxMetadataBody caps an uploaded IdP metadata document before it is parsed.
const maxMetadataBody = 1 << 20

type samlView struct {
	EntityID            string     `json:"entity_id"`
	SSOURL              string     `json:"sso_url"`
	CertificateNotAfter time.Time  `json:"certificate_not_after"`
	UpdatedAt           *time.Time `json:"updated_at,omitempty"`
	Valid               *bool      `json:"valid,omitempty"`
	Problem             string     `json:"problem,omitempty"`
}

// samlPutView is the answer of PUT: the configuration, and what an accepted
// upload may still leave off — sign-in or SCIM on a plan without SAML SSO, an
// expiring certificate, no SCIM token — so that the operator hears it then.
type samlPutView struct {
	samlView
	Warnings  []string       `json:"warnings"`
	SCIMReady *scimReadyView `json:"scim_ready"`
}

// putSAML validates IdP metadata and stores it as the tenant's SSO
// configuration. A fault is a 400 naming it; nothing is stored and the
// previous configuration stays.
func (a *API) putSAML(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	body, err := readBody(w, r, maxMetadataBody)
	var tooBig *Error
	if errors.As(err, &tooBig) && tooBig.Status == http.StatusRequestEntityTooLarge {
		msg := fmt.Sprintf("the metadata is larger than %d KiB; upload the IdP's own SAML metadata file, not a federation aggregate", rsaml.MaxMetadataSize>>10)
		return &Error{Status: http.StatusBadRequest, Code: "invalid_metadata", Message: msg, Fields: []FieldError{{Field: "metadata", Message: msg}}}
	}
	if err != nil {
		return err
	}
	idp, err := rsaml.ValidateMetadata(body, a.now())
	var fault *rsaml.MetadataError
	if errors.As(err, &fault) {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_metadata", Message: fault.Error(),
			Fields: []FieldError{{Field: fault.Field, Message: fault.Error()}}}
	}
	if err != nil {
		return err
	}
	cfg, err := a.store.PutSAMLConfig(r.Context(), t.ID, store.SAMLConfig{
		MetadataXML: string(body), EntityID: idp.EntityID, SSOURL: idp.SSOURL, CertNotAfter: idp.CertNotAfter,
	}, actor(r))
	if err != nil {
		return err
	}
	v := samlPutView{samlView: samlView{EntityID: cfg.EntityID, SSOURL: cfg.SSOURL, CertificateNotAfter: cfg.CertNotAfter}}
	v.Warnings = licensing.SSOWarnings(t.ID, t.Plan, licensing.SSOStatus{Configured: true, CertNotAfter: cfg.CertNotAfter}, a.now())
	if v.Warnings == nil {
		v.Warnings = []string{}
	}
	if v.SCIMReady, err = a.scimReadiness(r.Context(), t); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// viewSAML shows a stored configuration; with a non-zero now it also says
// whether it still satisfies the SSO prerequisite.
func viewSAML(c store.SAMLConfig, now time.Time) samlView {
	v := samlView{EntityID: c.EntityID, SSOURL: c.SSOURL, CertificateNotAfter: c.CertNotAfter}
	if !now.IsZero() {
		updated := c.UpdatedAt
		v.UpdatedAt = &updated
		valid := now.Before(c.CertNotAfter)
		v.Valid = &valid
		if !valid {
			v.Problem = fmt.Sprintf("the IdP signing certificate expired on %s; upload current metadata",
				c.CertNotAfter.Format("2006-01-02"))
		}
	}
	return v
}

func (a *API) getSAML(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	cfg, err := a.store.GetSAMLConfig(r.Context(), t.ID)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("tenant %s has no SAML configuration; PUT its IdP metadata to /admin/v1/tenants/%s/saml", t.ID, t.ID)
	}
	if err != nil {
		return err
	}
	v := viewSAML(cfg, a.now())
	if plan, ok := licensing.Lookup(t.Plan); ok && !plan.Has(licensing.SAMLSSO) {
		v.Problem = fmt.Sprintf("the %s plan does not include SAML SSO; the configuration is kept for an upgrade", t.Plan)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) deleteSAML(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	err = a.store.DeleteSAMLConfig(r.Context(), t.ID, actor(r))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("tenant %s has no SAML configuration", t.ID)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
