package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// activity makes n entries of a tenant, one a millisecond from start, the
// i-th with path /scim/v2/<tenant>/Users/<prefix>-<i>; every seventh one is
// a 400.
func activity(tenantID, prefix string, start time.Time, n int) []store.ActivityEntry {
	out := make([]store.ActivityEntry, n)
	for i := range out {
		e := store.ActivityEntry{TenantID: tenantID, At: start.Add(time.Duration(i) * time.Millisecond),
			TokenID: "tok-1", TokenName: "okta", Method: "GET",
			Path: fmt.Sprintf("/scim/v2/%s/Users/%s-%d", tenantID, prefix, i), Status: 200, Duration: 1500 * time.Microsecond}
		if i%7 == 0 {
			e.Status, e.Detail = 400, "bad filter"
		}
		out[i] = e
	}
	return out
}

func paths(es []store.ActivityEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Path
	}
	return out
}

// testActivityRoundTrip: an entry reads back as recorded, texts capped to
// the log's bounds on a character boundary; unknown tenants' entries are
// dropped and their reads are ErrNotFound.
func testActivityRoundTrip(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)

	at := clock.Now().Add(-time.Minute)
	long := strings.Repeat("é", store.ActivityDetailMax) // 2 bytes a character
	require.NoError(t, s.RecordActivity(ctx, []store.ActivityEntry{
		{TenantID: "acme", At: at, TokenID: "tok-1", TokenName: "okta", Method: "PATCH",
			Path: "/scim/v2/acme/Groups/g1?attributes=members", Status: 409, Detail: "userName taken", Duration: 2345678 * time.Nanosecond},
		{TenantID: "acme", At: at.Add(time.Second), Method: "GET", Path: "/scim/v2/acme/Users?filter=" + strings.Repeat("x", 600),
			Status: 401, Detail: long},
		{TenantID: "nope", At: at, Method: "GET", Path: "/scim/v2/nope/Users", Status: 401, Detail: "who?"},
	}))

	got, err := s.ListActivity(ctx, "acme", store.ActivityQuery{})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, store.ActivityEntry{TenantID: "acme", At: store.Timestamp(at), TokenID: "tok-1", TokenName: "okta",
		Method: "PATCH", Path: "/scim/v2/acme/Groups/g1?attributes=members", Status: 409, Detail: "userName taken",
		Duration: 2345 * time.Microsecond}, got[1])
	assert.Empty(t, got[0].TokenID, "a request refused before its token was identified has none")
	assert.LessOrEqual(t, len(got[0].Path), store.ActivityPathMax)
	assert.True(t, strings.HasSuffix(got[0].Path, "…"), "a cut is marked")
	assert.LessOrEqual(t, len(got[0].Detail), store.ActivityDetailMax)
	assert.True(t, strings.HasPrefix(got[0].Detail, "éé"))
	assert.True(t, strings.HasSuffix(got[0].Detail, "é…"), "cut on a character boundary")

	_, err = s.ListActivity(ctx, "nope", store.ActivityQuery{})
	assert.ErrorIs(t, err, store.ErrNotFound, "a made-up tenant's entries were dropped, not kept")
	_, err = s.CountActivityErrors(ctx, "nope", time.Time{})
	assert.ErrorIs(t, err, store.ErrNotFound)

	newTenant(t, s, "empty", 1)
	got, err = s.ListActivity(ctx, "empty", store.ActivityQuery{})
	require.NoError(t, err)
	assert.Equal(t, []store.ActivityEntry{}, got, "no activity is an empty list")
}

// testActivityBounded: a tenant's log answers the newest 1,000 entries,
// whether they came in one batch or many, newest first.
func testActivityBounded(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	newTenant(t, s, "globex", 10)
	start := clock.Now().Add(-time.Hour)

	all := activity("acme", "a", start, 1100)
	for i := 0; i < len(all); i += 250 { // several flushes, then one more after the ring wrapped
		require.NoError(t, s.RecordActivity(ctx, all[i:min(i+250, len(all))]))
	}
	got, err := s.ListActivity(ctx, "acme", store.ActivityQuery{})
	require.NoError(t, err)
	require.Len(t, got, store.ActivityKeep)
	assert.Equal(t, all[1099].Path, got[0].Path, "newest first")
	assert.Equal(t, all[100].Path, got[999].Path, "the oldest 100 are gone")

	// One batch larger than the ring keeps its newest 1,000 too.
	big := activity("globex", "g", start, 1100)
	require.NoError(t, s.RecordActivity(ctx, big))
	got, err = s.ListActivity(ctx, "globex", store.ActivityQuery{})
	require.NoError(t, err)
	require.Len(t, got, store.ActivityKeep)
	assert.Equal(t, big[1099].Path, got[0].Path)
	assert.Equal(t, big[100].Path, got[999].Path)

	got, err = s.ListActivity(ctx, "acme", store.ActivityQuery{Limit: 5})
	require.NoError(t, err)
	assert.Equal(t, []string{all[1099].Path, all[1098].Path, all[1097].Path, all[1096].Path, all[1095].Path}, paths(got))
	got, err = s.ListActivity(ctx, "acme", store.ActivityQuery{Limit: 5000})
	require.NoError(t, err)
	assert.Len(t, got, store.ActivityKeep, "a limit above the ring is the ring")
}

// testActivitySevenDays: nothing older than 7 days by the store's clock is
// answered or counted, whatever since asks for.
func testActivitySevenDays(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	now := clock.Now()
	require.NoError(t, s.RecordActivity(ctx, []store.ActivityEntry{
		{TenantID: "acme", At: now.Add(-8 * 24 * time.Hour), Method: "GET", Path: "/old", Status: 500, Detail: "old"},
		{TenantID: "acme", At: now.Add(-6 * 24 * time.Hour), Method: "GET", Path: "/six-days", Status: 400, Detail: "x"},
		{TenantID: "acme", At: now.Add(-time.Hour), Method: "GET", Path: "/recent", Status: 404, Detail: "y"},
	}))
	got, err := s.ListActivity(ctx, "acme", store.ActivityQuery{Since: now.Add(-30 * 24 * time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, []string{"/recent", "/six-days"}, paths(got), "never older than 7 days")
	n, err := s.CountActivityErrors(ctx, "acme", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	n, err = s.CountActivityErrors(ctx, "acme", now.Add(-24*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, n, "errors in the last 24 h")

	clock.Advance(2 * 24 * time.Hour) // the six-day-old entry is now eight days old
	got, err = s.ListActivity(ctx, "acme", store.ActivityQuery{})
	require.NoError(t, err)
	assert.Equal(t, []string{"/recent"}, paths(got))
	n, err = s.CountActivityErrors(ctx, "acme", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

// testActivityFilters: errors only is status >= 400; since is inclusive.
func testActivityFilters(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	start := clock.Now().Add(-time.Hour)
	es := activity("acme", "a", start, 30) // 400s at 0, 7, 14, 21, 28
	es[3].Status = 399
	es[4].Status = 503
	require.NoError(t, s.RecordActivity(ctx, es))

	got, err := s.ListActivity(ctx, "acme", store.ActivityQuery{ErrorsOnly: true})
	require.NoError(t, err)
	assert.Equal(t, []string{es[28].Path, es[21].Path, es[14].Path, es[7].Path, es[4].Path, es[0].Path}, paths(got))
	got, err = s.ListActivity(ctx, "acme", store.ActivityQuery{ErrorsOnly: true, Since: es[7].At})
	require.NoError(t, err)
	assert.Equal(t, []string{es[28].Path, es[21].Path, es[14].Path, es[7].Path}, paths(got), "since is inclusive")
	got, err = s.ListActivity(ctx, "acme", store.ActivityQuery{Since: es[27].At})
	require.NoError(t, err)
	assert.Equal(t, []string{es[29].Path, es[28].Path, es[27].Path}, paths(got))
	n, err := s.CountActivityErrors(ctx, "acme", es[7].At)
	require.NoError(t, err)
	assert.Equal(t, 4, n)
}

// testActivityIsolation: a tenant sees only its own entries; deleting a
// tenant deletes its log (a tenant made again with the id starts empty).
func testActivityIsolation(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	newTenant(t, s, "globex", 10)
	start := clock.Now().Add(-time.Hour)
	mixed := append(activity("acme", "a", start, 5), activity("globex", "g", start, 3)...)
	require.NoError(t, s.RecordActivity(ctx, mixed))

	a, err := s.ListActivity(ctx, "acme", store.ActivityQuery{})
	require.NoError(t, err)
	g, err := s.ListActivity(ctx, "globex", store.ActivityQuery{})
	require.NoError(t, err)
	assert.Len(t, a, 5)
	assert.Len(t, g, 3)
	for _, e := range a {
		assert.Equal(t, "acme", e.TenantID)
		assert.Contains(t, e.Path, "/acme/")
	}

	require.NoError(t, s.DeleteTenant(ctx, "acme", store.ActorAdmin))
	_, err = s.ListActivity(ctx, "acme", store.ActivityQuery{})
	assert.ErrorIs(t, err, store.ErrNotFound)
	newTenant(t, s, "acme", 10)
	a, err = s.ListActivity(ctx, "acme", store.ActivityQuery{})
	require.NoError(t, err)
	assert.Empty(t, a, "the deleted tenant's log went with it")
	require.NoError(t, s.RecordActivity(ctx, activity("acme", "again", start, 2)))
	a, err = s.ListActivity(ctx, "acme", store.ActivityQuery{})
	require.NoError(t, err)
	assert.Len(t, a, 2, "and a new log starts from empty")
	g, err = s.ListActivity(ctx, "globex", store.ActivityQuery{})
	require.NoError(t, err)
	assert.Len(t, g, 3, "another tenant's log is untouched")
}

// testActivityConcurrent: concurrent recordings (flushes of several
// processes) of the same tenants lose nothing while the rings have room,
// and number no two entries alike.
func testActivityConcurrent(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	newTenant(t, s, "globex", 10)
	start := clock.Now().Add(-time.Hour)
	const writers, batches, per = 8, 10, 10 // 800 entries per tenant
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				prefix := fmt.Sprintf("w%d-b%d", w, b)
				batch := append(activity("globex", prefix, start, per), activity("acme", prefix, start, per)...)
				if w%2 == 1 {
					batch = append(activity("acme", prefix, start, per), activity("globex", prefix, start, per)...)
				}
				errs <- s.RecordActivity(ctx, batch)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for _, tenant := range []string{"acme", "globex"} {
		got, err := s.ListActivity(ctx, tenant, store.ActivityQuery{})
		require.NoError(t, err)
		seen := map[string]bool{}
		for _, e := range got {
			seen[e.Path] = true
		}
		assert.Len(t, got, writers*batches*per, tenant)
		assert.Len(t, seen, writers*batches*per, "%s: every entry once", tenant)
	}
}
