package memory

import (
	"context"
	"slices"
	"time"

	"github.com/roster-dev/roster/store"
)

// activityRing is a tenant's SCIM activity log: a ring of the newest
// store.ActivityKeep entries. Slot n%ActivityKeep holds the n-th entry
// recorded, so a write never moves or deletes anything.
type activityRing struct {
	entries []store.ActivityEntry // grows to ActivityKeep, then is overwritten in place
	next    int64                 // entries ever recorded
}

func (r *activityRing) add(e store.ActivityEntry) {
	if len(r.entries) < store.ActivityKeep {
		r.entries = append(r.entries, e)
	} else {
		r.entries[r.next%store.ActivityKeep] = e
	}
	r.next++
}

// newestFirst calls fn with the retained entries, newest first, until fn
// answers false.
func (r *activityRing) newestFirst(fn func(store.ActivityEntry) bool) {
	n := int64(len(r.entries))
	for i := int64(1); i <= n; i++ {
		if !fn(r.entries[(r.next-i)%store.ActivityKeep]) {
			return
		}
	}
}

func (s *Store) RecordActivity(_ context.Context, entries []store.ActivityEntry) error {
	entries = store.NewestActivityPerTenant(entries)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		t, ok := s.tenants[e.TenantID]
		if !ok {
			continue // a made-up tenant's URL: nobody's activity
		}
		t.activity.add(e.Normalize())
	}
	return nil
}

func (s *Store) ListActivity(_ context.Context, tenantID string, q store.ActivityQuery) ([]store.ActivityEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 || limit > store.ActivityKeep {
		limit = store.ActivityKeep
	}
	cut := store.ActivityCutoff(s.clock(), q.Since)
	out := []store.ActivityEntry{}
	t.activity.newestFirst(func(e store.ActivityEntry) bool {
		if e.At.Before(cut) {
			return true // entries of several processes need not be in time order
		}
		if q.ErrorsOnly && e.Status < 400 {
			return true
		}
		out = append(out, e)
		return true
	})
	// Newest first by time, ties in recording order, newest first (the
	// walk's order, which the stable sort keeps).
	slices.SortStableFunc(out, func(a, b store.ActivityEntry) int { return b.At.Compare(a.At) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *Store) CountActivityErrors(_ context.Context, tenantID string, since time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return 0, err
	}
	cut := store.ActivityCutoff(s.clock(), since)
	n := 0
	t.activity.newestFirst(func(e store.ActivityEntry) bool {
		if e.Status >= 400 && !e.At.Before(cut) {
			n++
		}
		return true
	})
	return n, nil
}
