package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/store"
)

type tokenView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Token      string     `json:"token,omitempty"` // only in the answer to create
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

func viewToken(t store.Token) tokenView {
	return tokenView{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt}
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name *string `json:"name"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" || len(*in.Name) > 100 {
		return invalid(FieldError{"name", "is required: 1 to 100 characters naming the IdP connection, e.g. \"okta\""})
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	secret, id, hash, err := auth.New(a.rand)
	if err != nil {
		return err
	}
	tok, err := a.store.CreateToken(r.Context(), t.ID, store.Token{ID: id, Name: strings.TrimSpace(*in.Name), Hash: hash}, actor(r))
	if err != nil {
		return err
	}
	view := viewToken(tok)
	view.Token = secret
	writeJSON(w, http.StatusCreated, view)
	return nil
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	toks, err := a.store.ListTokens(r.Context(), t.ID)
	if err != nil {
		return err
	}
	out := make([]tokenView, 0, len(toks))
	for _, tok := range toks {
		out = append(out, viewToken(tok))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
	return nil
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	id := r.PathValue("tokenID")
	err = a.store.RevokeToken(r.Context(), t.ID, id, a.now(), actor(r))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("tenant %s has no token %q", t.ID, id)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type auditView struct {
	Seq        int64       `json:"seq"`
	Time       time.Time   `json:"time"`
	Actor      actorView   `json:"actor"`
	Action     string      `json:"action"`
	TargetType string      `json:"target_type"`
	TargetID   string      `json:"target_id"`
	Detail     string      `json:"detail,omitempty"`
	Before     rawOrAbsent `json:"before,omitempty"`
	After      rawOrAbsent `json:"after,omitempty"`
}

type actorView struct {
	Kind      string `json:"kind"`
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// rawOrAbsent is a stored JSON document rendered as is.
type rawOrAbsent string

func (r rawOrAbsent) MarshalJSON() ([]byte, error) {
	if r == "" {
		return []byte("null"), nil
	}
	return []byte(r), nil
}

const maxAuditPage = 500

// listAudit pages through the tenant's audit trail, newest first:
// ?user=&actor=&action=&from=&to=&cursor=&limit=.
func (a *API) listAudit(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	return a.auditPage(w, r, t.ID)
}

// listOperatorAudit pages through the operator's trail: the events that
// outlive a tenant (tenant.deleted, with the tenant as it was). Same query
// parameters as a tenant's trail.
func (a *API) listOperatorAudit(w http.ResponseWriter, r *http.Request) error {
	return a.auditPage(w, r, store.OperatorTrail)
}

func (a *API) auditPage(w http.ResponseWriter, r *http.Request, trail string) error {
	q := r.URL.Query()
	eq := store.EventQuery{UserID: q.Get("user"), ActorID: q.Get("actor"), Action: q.Get("action"), Limit: 100}
	var bad []FieldError
	parseTime := func(name string, into *time.Time) {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				bad = append(bad, FieldError{name, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"})
			}
			*into = t
		}
	}
	parseTime("from", &eq.From)
	parseTime("to", &eq.To)
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			bad = append(bad, FieldError{"cursor", "must be the next_cursor of a previous page"})
		}
		eq.After = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAuditPage {
			bad = append(bad, FieldError{"limit", fmt.Sprintf("must be between 1 and %d", maxAuditPage)})
		}
		eq.Limit = n
	}
	if len(bad) > 0 {
		return invalid(bad...)
	}
	events, err := a.store.ListAudit(r.Context(), trail, eq)
	if err != nil {
		return err
	}
	out := make([]auditView, 0, len(events))
	for _, e := range events {
		out = append(out, auditView{Seq: e.Seq, Time: e.Time, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID,
			Detail: e.Detail, Before: rawOrAbsent(e.Before), After: rawOrAbsent(e.After),
			Actor: actorView{Kind: e.Actor.Kind, ID: e.Actor.ID, Name: e.Actor.Name, RequestID: e.Actor.RequestID}})
	}
	page := map[string]any{"events": out}
	if len(events) == eq.Limit {
		page["next_cursor"] = strconv.FormatInt(events[len(events)-1].Seq, 10)
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}
