package store

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ActivityEntry is one SCIM request as Roster answered it, kept in the
// tenant's provisioning activity log (docs/contract.md "SCIM activity") so
// that an IT admin can see what their IdP was told. It never holds a
// request body, a header or a credential.
type ActivityEntry struct {
	TenantID string
	At       time.Time // when the answer was written
	// TokenID and TokenName name the SCIM token the request authenticated
	// with (its name as stored); both are empty when the request was
	// refused before a token of the tenant was identified (a wrong or
	// missing token).
	TokenID   string
	TokenName string
	Method    string
	Path      string // path and query string, at most ActivityPathMax bytes
	Status    int
	Detail    string // the SCIM error detail answered (status >= 400), at most ActivityDetailMax bytes
	Duration  time.Duration
}

// Bounds of the activity log. Per tenant, reads never answer more than the
// newest ActivityKeep entries nor any older than ActivityMaxAge (by the
// store's clock); storage keeps at most ActivityKeep entries per tenant.
const (
	ActivityKeep      = 1000
	ActivityMaxAge    = 7 * 24 * time.Hour
	ActivityPathMax   = 512
	ActivityDetailMax = 500
	// ActivityMethodMax caps the method: a client may send any token.
	ActivityMethodMax = 16
)

// ActivityQuery selects entries of a tenant's activity log.
type ActivityQuery struct {
	ErrorsOnly bool      // only answers with status >= 400
	Since      time.Time // zero: the whole retained window; else At >= Since
	Limit      int       // 0 or above ActivityKeep: ActivityKeep
}

// ActivityStore is the part of the Store contract that keeps the SCIM
// provisioning activity log: per tenant a ring of the newest ActivityKeep
// entries, read back no older than ActivityMaxAge. Deleting a tenant deletes
// its log.
type ActivityStore interface {
	// RecordActivity appends entries (of any tenants) in one write, each
	// tenant's in the order given. Entries of tenants that do not exist are
	// dropped without error: a request to a made-up tenant's URL is nobody's
	// activity. Entries are normalised with Normalize first.
	RecordActivity(ctx context.Context, entries []ActivityEntry) error
	// ListActivity answers a tenant's entries, newest first, as q selects.
	// ErrNotFound for an unknown tenant.
	ListActivity(ctx context.Context, tenantID string, q ActivityQuery) ([]ActivityEntry, error)
	// CountActivityErrors counts the tenant's retained entries with status
	// >= 400 at or after since. ErrNotFound for an unknown tenant.
	CountActivityErrors(ctx context.Context, tenantID string, since time.Time) (int, error)
}

// Normalize caps the entry's texts to the log's bounds (on a UTF-8
// boundary) and its time to the stores' precision.
func (e ActivityEntry) Normalize() ActivityEntry {
	e.Method = capText(e.Method, ActivityMethodMax)
	e.Path = capText(e.Path, ActivityPathMax)
	e.Detail = capText(e.Detail, ActivityDetailMax)
	e.TokenName = capText(e.TokenName, 200)
	e.At = Timestamp(e.At)
	if e.Duration < 0 {
		e.Duration = 0
	}
	e.Duration = e.Duration.Truncate(time.Microsecond)
	return e
}

// ActivityCutoff is the oldest time a read at now may answer, given the
// caller's since (at the stores' precision, as the entries' times are).
func ActivityCutoff(now, since time.Time) time.Time {
	since = Timestamp(since)
	cut := Timestamp(now.Add(-ActivityMaxAge))
	if since.After(cut) {
		return since
	}
	return cut
}

// NewestActivityPerTenant keeps, of a batch, at most the newest
// ActivityKeep entries of each tenant (the later ones in the batch), in
// their order: older ones would be overwritten in the ring by the same
// write anyway.
func NewestActivityPerTenant(entries []ActivityEntry) []ActivityEntry {
	if len(entries) <= ActivityKeep {
		return entries
	}
	seen := map[string]int{}
	keep := make([]bool, len(entries))
	for i := len(entries) - 1; i >= 0; i-- {
		id := entries[i].TenantID
		if seen[id] < ActivityKeep {
			seen[id]++
			keep[i] = true
		}
	}
	out := make([]ActivityEntry, 0, len(entries))
	for i, e := range entries {
		if keep[i] {
			out = append(out, e)
		}
	}
	return slices.Clip(out)
}

// capText cuts s to at most n bytes, on a rune boundary, marking a cut with "…".
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.ToValidUTF8(s[:cut], "") + mark
}
