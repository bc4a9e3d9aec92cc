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

func entry(tenant string, i int) store.ActivityEntry {
	return store.ActivityEntry{TenantID: tenant, At: time.Now(), Method: "GET", Path: fmt.Sprintf("/scim/v2/%s/Users/%d", tenant, i), Status: 200}
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
// the cheaper drop path's.
func BenchmarkRecord(b *testing.B) {
	var dropped atomic.Int64
	l := activitylog.New(activitylog.Config{Store: discard{}, Dropped: func() { dropped.Add(1) }})
	b.Cleanup(l.Close)
	e := store.ActivityEntry{TenantID: "acme", At: time.Now(), TokenID: "0123456789abcdef", TokenName: "okta",
		Method: "GET", Path: "/scim/v2/acme/Users/2819c223-7f76-453a-919d-413861904646", Status: 200, Duration: time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		l.Record(e)
	}
	b.ReportMetric(float64(dropped.Load())/float64(b.N), "dropped/op")
}
