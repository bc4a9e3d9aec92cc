package postgres

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type testReq struct {
	n      int
	answer int
	failed bool
}

// TestBatcher_everyRequestAnsweredOnce drives many goroutines through one
// kind: every request is answered exactly once, by a batch that held it,
// batches never exceed max, and one batch runs at a time per kind.
func TestBatcher_everyRequestAnsweredOnce(t *testing.T) {
	var b batcher[string, *testReq]
	var running, batches, biggest atomic.Int32
	run := func(batch []*testReq) {
		assert.Equal(t, int32(1), running.Add(1), "one batch of a kind at a time")
		defer running.Add(-1)
		batches.Add(1)
		if n := int32(len(batch)); n > biggest.Load() {
			biggest.Store(n)
		}
		time.Sleep(200 * time.Microsecond) // let others queue
		for _, r := range batch {
			r.answer += r.n * 2
		}
	}
	const n = 400
	var wg sync.WaitGroup
	reqs := make([]*testReq, n)
	for i := range n {
		reqs[i] = &testReq{n: i}
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.do("k", reqs[i], 16, run, func(r *testReq) { r.failed = true })
			assert.Equal(t, i*2, reqs[i].answer, "answered once, by its own batch")
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, biggest.Load(), int32(16))
	assert.Less(t, batches.Load(), int32(n), "some requests shared a batch")
	assert.Empty(t, b.queues, "an idle kind leaves nothing behind")
}

// TestBatcher_panicAnswersTheBatchAndHandsOn proves that a batch whose run
// panics answers its requests through stopped, and the kind keeps working.
func TestBatcher_panicAnswersTheBatchAndHandsOn(t *testing.T) {
	var b batcher[string, *testReq]
	release := make(chan struct{})
	first := &testReq{n: 1}
	go func() {
		defer func() { _ = recover() }()
		b.do("k", first, 8, func([]*testReq) { <-release; panic("boom") }, func(r *testReq) { r.failed = true })
	}()
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.queues["k"] != nil && b.queues["k"].busy
	}, time.Second, time.Millisecond)
	// Two more queue behind the panicking one; they then run as a batch.
	var wg sync.WaitGroup
	later := []*testReq{{n: 2}, {n: 3}}
	for _, r := range later {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.do("k", r, 8, func(batch []*testReq) {
				for _, x := range batch {
					x.answer = x.n
				}
			}, func(r *testReq) { r.failed = true })
		}()
	}
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.queues["k"].waiting) == 2
	}, time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	assert.True(t, first.failed, "the panicking batch's request is answered as stopped")
	for _, r := range later {
		assert.False(t, r.failed)
		assert.Equal(t, r.n, r.answer)
	}
	assert.Empty(t, b.queues)
}
