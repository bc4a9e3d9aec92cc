// Package activitylog records SCIM requests into the tenants' provisioning
// activity logs (store.ActivityStore) without slowing them: Record appends
// to a bounded in-process buffer under a mutex and never waits on the
// store; a goroutine writes the buffer in one store call (one statement on
// PostgreSQL) every FlushInterval, or as soon as BatchSize entries wait,
// and Close writes what is left. When the buffer is full (the store slower
// than the requests for long), new entries are dropped and counted, never
// waited for: the log is a diagnostic, the requests are the product.
//
// Every write and every refusal is kept; a token's successful reads are
// kept at most once every ReadEvery (docs/contract.md "SCIM activity"). An
// IdP's cycle is mostly lookups — Entra asks for each user by userName
// before it writes — and keeping each would push the writes and errors an
// admin comes for out of the tenant's 1,000 entries within seconds, and
// make every lookup a database write.
package activitylog

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/store"
)

// Config is what a Log is built from.
type Config struct {
	Store  store.ActivityStore
	Logger zerolog.Logger // failed writes and drops
	// FlushInterval is how often buffered entries are written (default
	// 250 ms): what an admin may wait to see their IdP's last request.
	FlushInterval time.Duration
	// BatchSize starts a write at once when that many entries wait
	// (default 500).
	BatchSize int
	// Capacity is how many entries the buffer holds at most (default
	// 10,000, a few MB: texts are capped at Record); beyond it new
	// entries are dropped.
	Capacity int
	// Dropped, when set, is told of every entry dropped (a metrics hook;
	// it must be cheap and safe for concurrent use).
	Dropped func()
	// ReadEvery is how often a token's successful reads are kept at most
	// (default 10 s): a read answered within ReadEvery of the last kept
	// read of the same tenant and token is left out. Negative keeps every
	// read.
	ReadEvery time.Duration
}

// Log buffers activity entries and writes them in batches.
type Log struct {
	st       store.ActivityStore
	log      zerolog.Logger
	batch    int
	capacity int
	dropHook func()
	every    time.Duration // ReadEvery; 0 keeps every read

	mu       sync.Mutex
	buf      []store.ActivityEntry
	spare    []store.ActivityEntry // the previous batch's slice, reused
	dropped  int                   // since the last report
	lastRead map[readKey]time.Time // when each token's last kept read was answered

	flushMu sync.Mutex // one write at a time, in recording order
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

const (
	defaultInterval  = 250 * time.Millisecond
	defaultBatch     = 500
	defaultCapacity  = 10_000
	defaultReadEvery = 10 * time.Second
	writeTimeout     = 10 * time.Second
)

// New starts a Log; Close stops it.
func New(c Config) *Log {
	if c.FlushInterval <= 0 {
		c.FlushInterval = defaultInterval
	}
	if c.BatchSize <= 0 {
		c.BatchSize = defaultBatch
	}
	if c.Capacity <= 0 {
		c.Capacity = defaultCapacity
	}
	switch {
	case c.ReadEvery == 0:
		c.ReadEvery = defaultReadEvery
	case c.ReadEvery < 0:
		c.ReadEvery = 0
	}
	l := &Log{st: c.Store, log: c.Logger, batch: c.BatchSize, capacity: c.Capacity, dropHook: c.Dropped,
		every: c.ReadEvery, lastRead: map[readKey]time.Time{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go l.loop(c.FlushInterval)
	return l
}

// readKey names whose reads are thinned together: one token of one
// tenant (a request refused before its token was known is never a
// successful read).
type readKey struct{ tenant, token string }

// IsRead tells whether e is a successful read, the kind of entry kept at
// most once every ReadEvery per token: a GET or HEAD, or a POST to a
// .search endpoint (RFC 7644 §3.4.3, a query sent in a body), answered
// below 400. Everything else — writes, refusals, errors — is always kept.
func IsRead(e store.ActivityEntry) bool {
	if e.Status >= 400 {
		return false
	}
	switch e.Method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodPost:
		p, _, _ := strings.Cut(e.Path, "?")
		return strings.HasSuffix(p, "/.search")
	}
	return false
}

// Record buffers e for the next write. It never blocks on the store: when
// the buffer is full, e is dropped and counted. A successful read within
// ReadEvery of its token's last kept read is left out (not a drop: the log
// keeps reads that way by design). Texts are capped here
// (store.ActivityEntry.Normalize), so that the buffer's size is bounded
// and no entry keeps a large request string alive.
func (l *Log) Record(e store.ActivityEntry) {
	if l.every > 0 && IsRead(e) && !l.keepRead(e) {
		return
	}
	e = e.Normalize()
	l.mu.Lock()
	if len(l.buf) >= l.capacity {
		l.dropped++
		l.mu.Unlock()
		if l.dropHook != nil {
			l.dropHook()
		}
		return
	}
	l.buf = append(l.buf, e)
	full := len(l.buf) == l.batch
	l.mu.Unlock()
	if full {
		select {
		case l.kick <- struct{}{}:
		default: // a write is already due
		}
	}
}

func (l *Log) loop(every time.Duration) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		case <-l.kick:
		}
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		l.Flush(ctx)
		cancel()
	}
}

// Flush writes the buffered entries now, in one store call. On failure
// they are put back in front of what was buffered since, as far as the
// capacity allows (the rest is dropped and counted), for the next write.
func (l *Log) Flush(ctx context.Context) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	batch := l.buf
	l.buf, l.spare = l.spare[:0], nil
	dropped := l.dropped
	l.dropped = 0
	l.forgetOldReads()
	l.mu.Unlock()
	if dropped > 0 {
		l.log.Warn().Int("dropped", dropped).Msg("SCIM activity log: buffer full, entries dropped (the store is slower than the requests)")
	}
	if len(batch) == 0 {
		l.mu.Lock()
		l.spare = batch
		l.mu.Unlock()
		return
	}
	err := l.st.RecordActivity(ctx, batch)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		clear(batch) // drop the strings before the slice is reused
		l.spare = batch[:0]
		return
	}
	l.log.Warn().Err(err).Int("entries", len(batch)).Msg("SCIM activity log: write failed; retrying at the next flush")
	keep := min(len(batch), l.capacity-len(l.buf))
	if lost := len(batch) - keep; lost > 0 {
		l.dropped += lost
		for range lost {
			if l.dropHook != nil {
				l.dropHook()
			}
		}
	}
	// The oldest entries go first: a ring keeps the newest anyway.
	l.buf = append(batch[len(batch)-keep:], l.buf...)
}

// keepRead tells whether the successful read e is kept: the first of its
// token in ReadEvery. Reads answered concurrently may arrive slightly out
// of order; one answered before the last kept read is within its window.
func (l *Log) keepRead(e store.ActivityEntry) bool {
	k := readKey{e.TenantID, e.TokenID}
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, ok := l.lastRead[k]; ok && e.At.Sub(last) < l.every {
		return false
	}
	l.lastRead[k] = e.At
	return true
}

// forgetOldReads bounds lastRead: a token whose last kept read is older
// than ReadEvery would have its next read kept anyway. Called under mu.
func (l *Log) forgetOldReads() {
	if len(l.lastRead) < 64 {
		return // few tokens: not worth a pass
	}
	now := time.Now()
	for k, at := range l.lastRead {
		if now.Sub(at) >= l.every {
			delete(l.lastRead, k)
		}
	}
}

// Close stops the background writer and writes what is left. It is safe to
// call more than once; Record after Close buffers entries nobody writes.
func (l *Log) Close() {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		defer cancel()
		l.Flush(ctx)
	})
}
