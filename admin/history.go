package admin

// A person's history: GET /admin/v1/tenants/{id}/users/{userID}/history,
// the audit events about the user and their seat ledger entries merged
// newest first, for the console's person page.

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/roster-dev/roster/store"
)

// maxHistory bounds a person's history answer.
const maxHistory = 500

// historyEntry is one line of a person's history: an audit event (kind
// audit: action, detail, before, after) or a seat ledger entry (kind seat:
// action is the ledger's reason, with seat and delta).
type historyEntry struct {
	At     time.Time   `json:"at"`
	Kind   string      `json:"kind"` // audit | seat
	Seq    int64       `json:"seq"`  // the event's number in its own trail
	Action string      `json:"action"`
	Actor  actorView   `json:"actor"`
	Detail string      `json:"detail,omitempty"`
	Before rawOrAbsent `json:"before,omitempty"`
	After  rawOrAbsent `json:"after,omitempty"`
	Seat   string      `json:"seat,omitempty"`  // full | light
	Delta  int         `json:"delta,omitempty"` // +1 consumed, -1 released
}

// personHistory answers the newest limit (default 100) entries of a
// person's history. userID is a user id or the userName of a live user; the
// id of a deleted user still answers their history. more says whether older
// entries exist beyond limit.
func (a *API) personHistory(w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r, "limit"); err != nil {
		return err
	}
	limit := 100
	if v, ok := param(r.URL.Query(), "limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxHistory {
			return invalid(FieldError{"limit", fmt.Sprintf("must be a number between 1 and %d", maxHistory)})
		}
		limit = n
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	ref := r.PathValue("userID")
	id := ref
	u, err := a.lookupUser(r, t.ID, ref)
	switch {
	case err == nil:
		id = u.ID
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	// One more of each says whether there is more than limit.
	audit, err := a.store.ListAudit(r.Context(), t.ID, store.EventQuery{UserID: id, Limit: limit + 1})
	if err != nil {
		return err
	}
	seats, err := a.store.ListSeatEvents(r.Context(), t.ID, store.EventQuery{UserID: id, Newest: true, Limit: limit + 1})
	if err != nil {
		return err
	}
	if u.ID == "" && len(audit) == 0 && len(seats) == 0 {
		return notFound("no user %q in tenant %s, and no history of one", ref, t.ID)
	}
	out := make([]historyEntry, 0, min(limit, len(audit)+len(seats)))
	i, j := 0, 0
	for len(out) < limit && (i < len(audit) || j < len(seats)) {
		// Newest first; at the same instant the audit event (the change)
		// comes before the ledger entries it caused.
		if j == len(seats) || (i < len(audit) && !audit[i].Time.Before(seats[j].Time)) {
			e := audit[i]
			i++
			out = append(out, historyEntry{At: e.Time, Kind: "audit", Seq: e.Seq, Action: e.Action, Detail: e.Detail,
				Before: rawOrAbsent(e.Before), After: rawOrAbsent(e.After),
				Actor: actorView{Kind: e.Actor.Kind, ID: e.Actor.ID, Name: e.Actor.Name, RequestID: e.Actor.RequestID}})
			continue
		}
		e := seats[j]
		j++
		out = append(out, historyEntry{At: e.Time, Kind: "seat", Seq: e.Seq, Action: e.Reason, Seat: string(e.Class), Delta: e.Delta,
			Actor: actorView{Kind: e.Actor.Kind, ID: e.Actor.ID, Name: e.Actor.Name, RequestID: e.Actor.RequestID}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"user_id": id, "entries": out, "more": i < len(audit) || j < len(seats)})
	return nil
}
