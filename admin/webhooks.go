package admin

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/webhooks"
)

// Webhook endpoints, their delivery logs, and the pull API of the same
// events (docs/events.md). The signing secret is shown once, in the answer
// to POST.

// maxWebhooks bounds a tenant's endpoints: each one is a delivery of every
// event it wants.
const maxWebhooks = 20

// maxEventPage bounds a pull page.
const maxEventPage = 1000

type webhookView struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Events         []string   `json:"events"`
	Secret         string     `json:"secret,omitempty"` // only in the answer to create
	Status         string     `json:"status"`           // enabled, failing or disabled
	CreatedAt      time.Time  `json:"created_at"`
	CreatedBy      actorView  `json:"created_by"`
	FailingSince   *time.Time `json:"failing_since"`
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
}

func viewWebhook(w store.Webhook) webhookView {
	v := webhookView{ID: w.ID, URL: w.URL, Events: w.Events, Status: "enabled", CreatedAt: w.CreatedAt,
		CreatedBy:    actorView{Kind: w.CreatedBy.Kind, ID: w.CreatedBy.ID, Name: w.CreatedBy.Name},
		FailingSince: w.FailingSince, DisabledAt: w.DisabledAt, DisabledReason: w.DisabledReason}
	if v.Events == nil {
		v.Events = []string{}
	}
	switch {
	case w.DisabledAt != nil:
		v.Status = "disabled"
	case w.FailingSince != nil:
		v.Status = "failing"
	}
	return v
}

type deliveryView struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id"`
	EventType     string     `json:"event_type"`
	Status        string     `json:"status"` // pending, delivered or failed
	Attempts      int        `json:"attempts"`
	ResponseCode  *int       `json:"response_code"` // null: no answer (refused, timed out) or not tried yet
	DurationMS    *int       `json:"duration_ms"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"` // pending only
	Error         string     `json:"error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
}

func viewDelivery(d store.Delivery) deliveryView {
	v := deliveryView{ID: strconv.FormatInt(d.ID, 10), EventID: d.EventID, EventType: d.EventType, Status: d.Status,
		Attempts: d.Attempts, LastAttemptAt: d.LastAttemptAt, Error: d.LastError, CreatedAt: d.CreatedAt}
	if d.Attempts > 0 {
		ms := d.DurationMS
		v.DurationMS = &ms
		if d.ResponseCode != 0 {
			code := d.ResponseCode
			v.ResponseCode = &code
		}
	}
	if d.Status == store.DeliveryPending {
		next := d.NextAt
		v.NextAttemptAt = &next
	}
	return v
}

func (a *API) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		URL    *string   `json:"url"`
		Events *[]string `json:"events"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var bad []FieldError
	if in.URL == nil || *in.URL == "" {
		bad = append(bad, FieldError{"url", "is required: the https URL that receives the events"})
	} else if err := webhooks.CheckURL(*in.URL, a.webhookAllowPrivate); err != nil {
		bad = append(bad, FieldError{"url", err.Error()})
	}
	types := []string{}
	if in.Events != nil {
		for _, t := range *in.Events {
			switch {
			case !store.KnownEventType(t):
				bad = append(bad, FieldError{"events", fmt.Sprintf("%q is not an event type; types: %s", t, strings.Join(store.EventTypes, ", "))})
			case !slices.Contains(types, t):
				types = append(types, t)
			}
		}
	}
	if len(bad) > 0 {
		return invalid(bad...)
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	existing, err := a.store.ListWebhooks(r.Context(), t.ID)
	if err != nil {
		return err
	}
	if len(existing) >= maxWebhooks {
		return &Error{Status: http.StatusConflict, Code: "too_many_webhooks",
			Message: fmt.Sprintf("tenant %s has %d webhook endpoints, the most it can have; delete one first", t.ID, len(existing))}
	}
	id, err := a.randomHex(8)
	if err != nil {
		return err
	}
	secret, err := webhooks.NewSecret(a.rand)
	if err != nil {
		return err
	}
	hook, err := a.store.CreateWebhook(r.Context(), t.ID, store.Webhook{ID: "wh_" + id, URL: *in.URL, Events: types, Secret: secret}, actor(r))
	if err != nil {
		return err
	}
	view := viewWebhook(hook)
	view.Secret = secret
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, view)
	return nil
}

func (a *API) randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(a.rand, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	hooks, err := a.store.ListWebhooks(r.Context(), t.ID)
	if err != nil {
		return err
	}
	out := make([]webhookView, 0, len(hooks))
	for _, h := range hooks {
		out = append(out, viewWebhook(h))
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": out})
	return nil
}

func (a *API) getWebhook(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	h, err := a.store.GetWebhook(r.Context(), t.ID, r.PathValue("hookID"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no webhook %q in tenant %s", r.PathValue("hookID"), t.ID)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewWebhook(h))
	return nil
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	err = a.store.DeleteWebhook(r.Context(), t.ID, r.PathValue("hookID"), actor(r))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no webhook %q in tenant %s", r.PathValue("hookID"), t.ID)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// enableWebhook turns a disabled endpoint back on: its pending deliveries
// go out again, oldest first.
func (a *API) enableWebhook(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	h, err := a.store.EnableWebhook(r.Context(), t.ID, r.PathValue("hookID"), actor(r))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no webhook %q in tenant %s", r.PathValue("hookID"), t.ID)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewWebhook(h))
	return nil
}

func (a *API) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r, "status", "cursor", "limit"); err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	dq := store.DeliveryQuery{Limit: 100}
	var bad []FieldError
	if v, ok := param(q, "status"); ok {
		if v != store.DeliveryPending && v != store.DeliveryDelivered && v != store.DeliveryFailed {
			bad = append(bad, FieldError{"status", "must be pending, delivered or failed"})
		}
		dq.Status = v
	}
	if v, ok := param(q, "cursor"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			bad = append(bad, FieldError{"cursor", "must be the next_cursor of a previous page"})
		}
		dq.Before = n
	}
	if v, ok := param(q, "limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxEventPage {
			bad = append(bad, FieldError{"limit", fmt.Sprintf("must be a number between 1 and %d", maxEventPage)})
		}
		dq.Limit = n
	}
	if len(bad) > 0 {
		return invalid(bad...)
	}
	limit := dq.Limit
	dq.Limit++
	ds, err := a.store.ListDeliveries(r.Context(), t.ID, r.PathValue("hookID"), dq)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no webhook %q in tenant %s", r.PathValue("hookID"), t.ID)
	}
	if err != nil {
		return err
	}
	var next any
	if len(ds) > limit {
		ds = ds[:limit]
		next = strconv.FormatInt(ds[len(ds)-1].ID, 10)
	}
	out := make([]deliveryView, 0, len(ds))
	for _, d := range ds {
		out = append(out, viewDelivery(d))
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": out, "next_cursor": next})
	return nil
}

// retryDelivery sends a delivery again now, whatever became of it.
func (a *API) retryDelivery(w http.ResponseWriter, r *http.Request) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("deliveryID"), 10, 64)
	if err != nil || id < 1 {
		return notFound("no delivery %q of webhook %s", r.PathValue("deliveryID"), r.PathValue("hookID"))
	}
	d, err := a.store.RetryDelivery(r.Context(), t.ID, r.PathValue("hookID"), id, actor(r))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no delivery %q of webhook %s in tenant %s", r.PathValue("deliveryID"), r.PathValue("hookID"), t.ID)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, viewDelivery(d))
	return nil
}

// listEvents is the pull API: the tenant's events after a cursor, oldest
// first, exactly as webhooks receive them. next_cursor is always set (the
// cursor given back when there is nothing new), so that a poller keeps
// passing the last one it got.
func (a *API) listEvents(w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r, "after", "limit"); err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	after, limit := int64(0), 100
	var bad []FieldError
	if v, ok := param(q, "after"); ok && v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			bad = append(bad, FieldError{"after", "must be a next_cursor of a previous page (or absent for the oldest events kept)"})
		}
		after = n
	}
	if v, ok := param(q, "limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxEventPage {
			bad = append(bad, FieldError{"limit", fmt.Sprintf("must be a number between 1 and %d", maxEventPage)})
		}
		limit = n
	}
	if len(bad) > 0 {
		return invalid(bad...)
	}
	// Changes committed but not yet numbered are numbered now (a
	// deliverer numbers them only while some tenant has an endpoint), so
	// that a poller sees its own change at once.
	for range 1000 {
		n, err := a.store.SequenceEvents(r.Context())
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	evs, err := a.store.ListEvents(r.Context(), t.ID, after, limit+1)
	if err != nil {
		return err
	}
	more := len(evs) > limit
	if more {
		evs = evs[:limit]
	}
	next := after
	if len(evs) > 0 {
		next = evs[len(evs)-1].Seq
	}
	// The bodies are written as stored: they are the delivered JSON.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	var b strings.Builder
	b.WriteString(`{"events":[`)
	for i, e := range evs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(e.Body)
	}
	fmt.Fprintf(&b, `],"next_cursor":"%d","has_more":%t}`+"\n", next, more)
	_, err = io.WriteString(w, b.String())
	return err
}
