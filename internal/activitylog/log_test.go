package activitylog_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/internal/activitylog"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
)

var ctx = context.Background()

func newStore(t *testing.T, tenants ...string) *memory.Store {
	t.Helper()
	st := memory.New(memory.Options{})
	for _, id := range tenants {
		_, err := st.CreateTenant(ctx, store.Tenant{ID: id, Plan: "ultimate", Settings: store.DefaultSettings()}, store.ActorSystem)
		require.NoError(t, err)
	}
	return st
}

// entry is a write (a PATCH), which the log always keeps.
func entry(tenant string, i int) store.ActivityEntry {
	return store.ActivityEntry{TenantID: tenant, At: time.Now(), Method: "PATCH", Path: fmt.Sprintf("/scim/v2/%s/Users/%d", tenant, i), Status: 200}
}

func count(t *testing.T, st store.Store, tenant string) int {
	t.Helper()
	got, err := st.ListActivity(ctx, tenant, store.ActivityQuery{})
	require.NoError(t, err)
	return len(got)
}

// TestLog_closeWritesWhatIsLeft: entries recorded before Close are written
// by it, whatever the flush interval.
func TestLog_closeWritesWhatIsLeft(t *testing.T) {
	st := newStore(t, "acme")
	l := activitylog.New(activitylog.Config{Store: st, FlushInterval: time.Hour})
	for i := range 3 {
		l.Record(entry("acme", i))
	}
	assert.Zero(t, count(t, st, "acme"), "not written before the interval")
	l.Close()
	assert.Equal(t, 3, count(t, st, "acme"))
	l.Close() // twice is fine
}

// TestLog_fullBatchIsWrittenAtOnce: BatchSize waiting entries start a
// write without waiting for the interval.
func TestLog_fullBatchIsWrittenAtOnce(t *testing.T) {
	st := newStore(t, "acme")
	l := activitylog.New(activitylog.Config{Store: st, FlushInterval: time.Hour, BatchSize: 10})
	t.Cleanup(l.Close)
	for i := range 10 {
		l.Record(entry("acme", i))
	}
	assert.Eventually(t, func() bool { return count(t, st, "acme") == 10 }, 5*time.Second, time.Millisecond)
}

// TestLog_concurrentRecordingLosesNothing: entries recorded from many
// goroutines while writes run are all written, once, while the buffer has
// room.
func TestLog_concurrentRecordingLosesNothing(t *testing.T) {
	st := newStore(t, "acme", "globex")
	var dropped atomic.Int64
	l := activitylog.New(activitylog.Config{Store: st, FlushInterval: time.Millisecond, BatchSize: 7,
		Dropped: func() { dropped.Add(1) }})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				tenant := "acme"
				if i%2 == 1 {
					tenant = "globex"
				}
				l.Record(entry(tenant, g*1000+i))
			}
		}()
	}
	wg.Wait()
	l.Close()
	assert.Zero(t, dropped.Load())
	for _, tenant := range []string{"acme", "globex"} {
		got, err := st.ListActivity(ctx, tenant, store.ActivityQuery{})
		require.NoError(t, err)
		seen := map[string]bool{}
		for _, e := range got {
			seen[e.Path] = true
		}
		assert.Len(t, seen, 400, tenant)
		assert.Len(t, got, 400, tenant)
	}
}

// blocking is a memory store whose activity writes wait until released,
// as a slow database would.
type blocking struct {
	*memory.Store
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blocking) RecordActivity(ctx context.Context, es []store.ActivityEntry) error {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return b.Store.RecordActivity(ctx, es)
}

// TestLog_fullBufferDropsNeverBlocks: while the store does not answer,
// Record keeps returning; past the capacity entries are dropped and
// counted, the rest written once the store answers.
func TestLog_fullBufferDropsNeverBlocks(t *testing.T) {
	st := &blocking{Store: newStore(t, "acme"), entered: make(chan struct{}), release: make(chan struct{})}
	var dropped atomic.Int64
	l := activitylog.New(activitylog.Config{Store: st, FlushInterval: time.Hour, BatchSize: 5, Capacity: 10,
		Dropped: func() { dropped.Add(1) }})
	for i := range 5 { // a full batch: the writer takes it and blocks in the store
		l.Record(entry("acme", i))
	}
	<-st.entered
	for i := 5; i < 20; i++ { // 10 fit in the buffer, 5 are dropped; none waits
		l.Record(entry("acme", i))
	}
	assert.Equal(t, int64(5), dropped.Load())
	close(st.release)
	l.Close()
	assert.Equal(t, 15, count(t, st, "acme"))
}

// failing is a memory store whose activity writes fail until told not to.
type failing struct {
	*memory.Store
	fail atomic.Bool
}

func (f *failing) RecordActivity(ctx context.Context, es []store.ActivityEntry) error {
	if f.fail.Load() {
		return store.ErrUnavailable
	}
	return f.Store.RecordActivity(ctx, es)
}

// TestLog_failedWriteIsRetried: a batch the store refused is written at
// the next flush, before what came after it.
func TestLog_failedWriteIsRetried(t *testing.T) {
	st := &failing{Store: newStore(t, "acme")}
	st.fail.Store(true)
	l := activitylog.New(activitylog.Config{Store: st, FlushInterval: time.Hour})
	l.Record(entry("acme", 1))
	l.Flush(ctx)
	st.fail.Store(false)
	l.Record(entry("acme", 2))
	l.Close()
	got, err := st.ListActivity(ctx, "acme", store.ActivityQuery{})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "/scim/v2/acme/Users/1", got[1].Path)
}

// discard is an activity store that keeps nothing, so that BenchmarkRecord
// measures Record, not a store's write.
type discard struct{}

func (discard) RecordActivity(context.Context, []store.ActivityEntry) error { return nil }
func (discard) ListActivity(context.Context, string, store.ActivityQuery) ([]store.ActivityEntry, error) {
	return nil, nil
}
func (discard) CountActivityErrors(context.Context, string, time.Time) (int, error) { return 0, nil }

// BenchmarkRecord is what the activity log costs a request: one Record
// (cap the texts, append under the mutex), with the writer taking batches
// in the background. "dropped/op" should stay near 0, else the figure is
// the cheaper drop path's. "read" is a token's lookups, kept once every
// ReadEvery: the cost of deciding to leave one out.
func BenchmarkRecord(b *testing.B) {
	for _, method := range []string{"PATCH", "GET"} {
		b.Run(map[string]string{"PATCH": "write", "GET": "read"}[method], func(b *testing.B) {
			var dropped atomic.Int64
			l := activitylog.New(activitylog.Config{Store: discard{}, Dropped: func() { dropped.Add(1) }})
			b.Cleanup(l.Close)
			e := store.ActivityEntry{TenantID: "acme", At: time.Now(), TokenID: "0123456789abcdef", TokenName: "okta",
				Method: method, Path: "/scim/v2/acme/Users/2819c223-7f76-453a-919d-413861904646", Status: 200, Duration: time.Millisecond}
			b.ReportAllocs()
			for b.Loop() {
				l.Record(e)
			}
			b.ReportMetric(float64(dropped.Load())/float64(b.N), "dropped/op")
		})
	}
}

// TestIsRead: successful GETs, HEADs and .search POSTs are reads; writes
// and every answer of 400 or more are not.
func TestIsRead(t *testing.T) {
	for _, c := range []struct {
		method, path string
		status       int
		want         bool
	}{
		{"GET", "/scim/v2/acme/Users?filter=userName+eq+%22a%22", 200, true},
		{"HEAD", "/scim/v2/acme/Users/1", 200, true},
		{"POST", "/scim/v2/acme/Users/.search", 200, true},
		{"POST", "/scim/v2/acme/.search?x=1", 200, true},
		{"GET", "/scim/v2/acme/Users/1", 404, false},
		{"GET", "/scim/v2/acme/Users", 401, false},
		{"GET", "/scim/v2/acme/Users", 429, false},
		{"POST", "/scim/v2/acme/Users/.search", 400, false},
		{"POST", "/scim/v2/acme/Users", 201, false},
		{"PATCH", "/scim/v2/acme/Groups/1", 204, false},
		{"PUT", "/scim/v2/acme/Users/1", 200, false},
		{"DELETE", "/scim/v2/acme/Users/1", 204, false},
	} {
		e := store.ActivityEntry{Method: c.method, Path: c.path, Status: c.status}
		assert.Equal(t, c.want, activitylog.IsRead(e), "%s %s %d", c.method, c.path, c.status)
	}
}

// TestLog_readsKeptOncePerTokenEvery: of a token's successful reads, the
// first in each ReadEvery is kept; another token's reads, every write and
// every refusal are kept whatever the time; ReadEvery < 0 keeps all.
func TestLog_readsKeptOncePerTokenEvery(t *testing.T) {
	st := newStore(t, "acme")
	l := activitylog.New(activitylog.Config{Store: st, FlushInterval: time.Hour, ReadEvery: 10 * time.Second})
	t0 := time.Now()
	at := func(d time.Duration, token, method string, status int) store.ActivityEntry {
		return store.ActivityEntry{TenantID: "acme", At: t0.Add(d), TokenID: token, TokenName: token,
			Method: method, Path: "/scim/v2/acme/Users?filter=x", Status: status}
	}
	l.Record(at(0, "okta", "GET", 200))               // kept: the first
	l.Record(at(time.Second, "okta", "GET", 200))     // left out
	l.Record(at(-time.Second, "okta", "GET", 200))    // left out: answered before the kept one
	l.Record(at(2*time.Second, "entra", "GET", 200))  // kept: another token
	l.Record(at(3*time.Second, "okta", "POST", 201))  // kept: a write
	l.Record(at(4*time.Second, "okta", "GET", 404))   // kept: an error
	l.Record(at(9*time.Second, "okta", "GET", 200))   // left out
	l.Record(at(10*time.Second, "okta", "GET", 200))  // kept: ReadEvery after the first
	l.Record(at(11*time.Second, "okta", "HEAD", 200)) // left out
	l.Record(at(12*time.Second, "entra", "GET", 200)) // kept: entra's window ended
	l.Close()
	got, err := st.ListActivity(ctx, "acme", store.ActivityQuery{})
	require.NoError(t, err)
	var seen []string
	for _, e := range got {
		seen = append(seen, fmt.Sprintf("%s %s %d %s", e.TokenID, e.Method, e.Status, e.At.Sub(t0).Round(time.Second)))
	}
	assert.ElementsMatch(t, []string{
		"okta GET 200 0s", "entra GET 200 2s", "okta POST 201 3s", "okta GET 404 4s",
		"okta GET 200 10s", "entra GET 200 12s",
	}, seen)

	all := activitylog.New(activitylog.Config{Store: st, FlushInterval: time.Hour, ReadEvery: -1})
	before := count(t, st, "acme")
	for i := range 5 {
		all.Record(at(20*time.Second+time.Duration(i)*time.Millisecond, "okta", "GET", 200))
	}
	all.Close()
	assert.Equal(t, before+5, count(t, st, "acme"), "ReadEvery < 0 keeps every read")
}
