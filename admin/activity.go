package admin

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/roster-dev/roster/store"
)

// activityView is one entry of a tenant's SCIM activity log as the API
// answers it (docs/contract.md "SCIM activity").
type activityView struct {
	At         time.Time `json:"at"`
	TokenID    string    `json:"token_id"`
	TokenName  string    `json:"token_name"`
	Method     string    `json:"method"`
	Path       string    `json:"path"`
	Status     int       `json:"status"`
	Detail     string    `json:"detail"`
	DurationMS float64   `json:"duration_ms"`
}

// defaultActivityPage is how many entries a read answers without a limit.
const defaultActivityPage = 100

// listSCIMActivity answers the tenant's recent SCIM requests, newest
// first, as Roster answered them (GET …/scim/activity?errors=&since=&limit=),
// and how many of those kept were errors in the last 24 hours.
func (a *API) listSCIMActivity(w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r, "errors", "since", "limit"); err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	aq := store.ActivityQuery{Limit: defaultActivityPage}
	var bad []FieldError
	if v, ok := param(q, "errors"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad = append(bad, FieldError{"errors", "must be true or false"})
		}
		aq.ErrorsOnly = b
	}
	if v, ok := param(q, "since"); ok {
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			bad = append(bad, FieldError{"since", "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"})
		}
		aq.Since = at
	}
	if v, ok := param(q, "limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.ActivityKeep {
			bad = append(bad, FieldError{"limit", fmt.Sprintf("must be a number between 1 and %d", store.ActivityKeep)})
		}
		aq.Limit = n
	}
	if len(bad) > 0 {
		return invalid(bad...)
	}
	entries, err := a.store.ListActivity(r.Context(), t.ID, aq)
	if err != nil {
		return err
	}
	errs, err := a.store.CountActivityErrors(r.Context(), t.ID, a.now().Add(-24*time.Hour))
	if err != nil {
		return err
	}
	out := make([]activityView, 0, len(entries))
	for _, e := range entries {
		out = append(out, activityView{At: e.At, TokenID: e.TokenID, TokenName: e.TokenName, Method: e.Method,
			Path: e.Path, Status: e.Status, Detail: e.Detail,
			DurationMS: math.Round(float64(e.Duration.Microseconds())) / 1000})
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out, "errors_24h": errs})
	return nil
}
