package postgres

import "sync"

// batcher coalesces concurrent requests of one kind (createbatch.go,
// readbatch.go): a request that finds its kind idle runs at once, alone;
// requests that arrive while one runs wait, and when it ends all that waited
// (up to max) run together, led by the first of them. Nothing waits on
// purpose, and each batch starts after every request in it arrived.
type batcher[K comparable, R any] struct {
	mu     sync.Mutex
	queues map[K]*batchQueue[R]
}

type batchQueue[R any] struct {
	busy    bool
	waiting []*batchSlot[R]
}

type batchSlot[R any] struct {
	req  R
	done chan []*batchSlot[R] // nil: answered; else the batch this request leads
}

// do runs req in a batch of its kind: run must answer every request of the
// batch it is given (first the leader's own); if it panics, stopped answers
// those it left and the panic goes on up the leader's stack. do returns
// when req is answered.
func (b *batcher[K, R]) do(kind K, req R, max int, run func([]R), stopped func(R)) {
	slot := &batchSlot[R]{req: req, done: make(chan []*batchSlot[R], 1)}
	b.mu.Lock()
	if b.queues == nil {
		b.queues = map[K]*batchQueue[R]{}
	}
	q := b.queues[kind]
	if q == nil {
		q = &batchQueue[R]{}
		b.queues[kind] = q
	}
	batch := []*batchSlot[R]{slot}
	if q.busy {
		q.waiting = append(q.waiting, slot)
		b.mu.Unlock()
		if batch = <-slot.done; batch == nil {
			return
		}
	} else {
		q.busy = true
		b.mu.Unlock()
	}

	reqs := make([]R, len(batch))
	for i, s := range batch {
		reqs[i] = s.req
	}
	ran := false
	defer func() {
		if !ran {
			for _, r := range reqs {
				stopped(r)
			}
		}
		for _, s := range batch[1:] {
			s.done <- nil
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(q.waiting) == 0 {
			q.busy = false
			delete(b.queues, kind)
			return
		}
		n := min(len(q.waiting), max)
		next := q.waiting[:n:n]
		q.waiting = append([]*batchSlot[R](nil), q.waiting[n:]...)
		next[0].done <- next
	}()
	run(reqs)
	ran = true
}
