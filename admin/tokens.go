package admin

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

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

// auditCSVPage is how many events a CSV export reads at a time.
const auditCSVPage = 1000

// listAudit pages through the tenant's audit trail, newest first:
// ?user=&actor=&action=&from=&to=&cursor=&limit=&format=. With Accept:
// text/csv or format=csv it answers the events as CSV instead.
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

// auditQuery reads the trail's query parameters: the filters, the page
// (cursor, limit) and whether CSV is asked for. from and to are RFC 3339
// times or dates (a date is its midnight UTC); from is inclusive, to
// exclusive. limit is unbounded for CSV unless given.
func auditQuery(r *http.Request) (eq store.EventQuery, csvOut bool, err error) {
	if err := onlyParams(r, "user", "actor", "action", "from", "to", "cursor", "limit", "format"); err != nil {
		return eq, false, err
	}
	q := r.URL.Query()
	eq = store.EventQuery{UserID: q.Get("user"), ActorID: q.Get("actor"), Action: q.Get("action")}
	var bad []FieldError
	parseTime := func(name string, into *time.Time) {
		if v, ok := param(q, name); ok {
			t, err := parseInstant(v)
			if err != nil {
				bad = append(bad, FieldError{name, err.Error()})
			}
			*into = t
		}
	}
	parseTime("from", &eq.From)
	parseTime("to", &eq.To)
	if !eq.From.IsZero() && !eq.To.IsZero() && !eq.From.Before(eq.To) {
		bad = append(bad, FieldError{"to", "must be after from"})
	}
	if v, ok := param(q, "cursor"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			bad = append(bad, FieldError{"cursor", "must be the next_cursor of a previous page"})
		}
		eq.After = n
	}
	csvOut = wantsCSV(r)
	if v, ok := param(q, "format"); ok {
		switch strings.ToLower(v) {
		case "csv":
			csvOut = true
		case "json":
			csvOut = false
		default:
			bad = append(bad, FieldError{"format", "must be json or csv"})
		}
	}
	max := maxAuditPage
	if csvOut {
		max = math.MaxInt32
	} else {
		eq.Limit = 100
	}
	if v, ok := param(q, "limit"); ok {
		n, err := strconv.Atoi(v)
		switch {
		case csvOut && (err != nil || n < 1):
			bad = append(bad, FieldError{"limit", "must be a positive number (a CSV export answers every event without it)"})
		case err != nil || n < 1 || n > max:
			bad = append(bad, FieldError{"limit", fmt.Sprintf("must be between 1 and %d", maxAuditPage)})
		}
		eq.Limit = n
	}
	if len(bad) > 0 {
		return eq, false, invalid(bad...)
	}
	return eq, csvOut, nil
}

func (a *API) auditPage(w http.ResponseWriter, r *http.Request, trail string) error {
	eq, csvOut, err := auditQuery(r)
	if err != nil {
		return err
	}
	if csvOut {
		return a.auditCSV(w, r, trail, eq)
	}
	limit := eq.Limit
	eq.Limit = limit + 1 // one more says whether there is a next page
	events, err := a.store.ListAudit(r.Context(), trail, eq)
	if err != nil {
		return err
	}
	page := map[string]any{"next_cursor": nil}
	if len(events) > limit {
		events = events[:limit]
		page["next_cursor"] = strconv.FormatInt(events[len(events)-1].Seq, 10)
	}
	out := make([]auditView, 0, len(events))
	for _, e := range events {
		out = append(out, viewAudit(e))
	}
	page["events"] = out
	writeJSON(w, http.StatusOK, page)
	return nil
}

func viewAudit(e store.AuditEvent) auditView {
	return auditView{Seq: e.Seq, Time: e.Time, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID,
		Detail: e.Detail, Before: rawOrAbsent(e.Before), After: rawOrAbsent(e.After),
		Actor: actorView{Kind: e.Actor.Kind, ID: e.Actor.ID, Name: e.Actor.Name, RequestID: e.Actor.RequestID}}
}

// auditCSVHeader are the columns of the trail's CSV export.
var auditCSVHeader = []string{"seq", "time", "action", "actor_kind", "actor_id", "actor_name", "request_id",
	"target_type", "target_id", "detail", "before", "after"}

// auditCSV writes the events the query selects as CSV, newest first, every
// one of them unless limit is given: read a page at a time by keyset (the
// seq of the last row written), so that an export of a long trail holds
// one page in memory. before and after are the audited record as JSON.
// Cells a spreadsheet would run as a formula are prefixed with a quote.
func (a *API) auditCSV(w http.ResponseWriter, r *http.Request, trail string, eq store.EventQuery) error {
	left := eq.Limit // 0: all
	eq.Limit = auditCSVPage
	if left > 0 && left < auditCSVPage {
		eq.Limit = left
	}
	events, err := a.store.ListAudit(r.Context(), trail, eq)
	if err != nil {
		return err // before anything is written: an ordinary error answer
	}
	name := "operator"
	if trail != store.OperatorTrail {
		name = safeFileName(trail)
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="audit-%s.csv"`, name))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_ = cw.Write(auditCSVHeader)
	for len(events) > 0 {
		for _, e := range events {
			_ = cw.Write([]string{strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(time.RFC3339Nano), cell(e.Action),
				cell(e.Actor.Kind), cell(e.Actor.ID), cell(e.Actor.Name), cell(e.Actor.RequestID),
				cell(e.TargetType), cell(e.TargetID), cell(e.Detail), cell(e.Before), cell(e.After)})
		}
		full := len(events) == eq.Limit
		if left > 0 {
			if left -= len(events); left <= 0 {
				break
			}
			eq.Limit = min(left, auditCSVPage)
		}
		if !full {
			break
		}
		eq.After = events[len(events)-1].Seq
		cw.Flush()
		if events, err = a.store.ListAudit(r.Context(), trail, eq); err != nil {
			// The answer is under way: the export ends short, and the
			// cause goes to the log.
			zerolog.Ctx(r.Context()).Error().Err(err).Msg("audit CSV export ended early")
			break
		}
	}
	cw.Flush()
	return nil
}
