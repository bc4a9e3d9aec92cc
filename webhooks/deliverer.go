package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/store"
)

// Config are a Deliverer's dependencies and limits; zero values take the
// defaults in brackets.
type Config struct {
	Store        store.EventStore
	AllowPrivate bool          // ROSTER_WEBHOOK_ALLOW_PRIVATE: http and private destinations allowed
	Timeout      time.Duration // one attempt, connection to last byte [10s]
	Client       *http.Client  // [NewClient(AllowPrivate, Timeout)]
	Now          func() time.Time
	Logger       zerolog.Logger
	Workers      int           // concurrent requests [64]
	Batch        int           // deliveries claimed at once [1000]
	Poll         time.Duration // how often an idle deliverer looks for work [200ms]
	// Observe, when set, is told each attempt's outcome (delivered, retry,
	// failed) and duration, for metrics.
	Observe func(outcome string, took time.Duration)
	// Jitter returns a float in [0, 1) [math/rand/v2].
	Jitter func() float64
}

// Deliverer sequences events and delivers them; Run it in every rosterd.
type Deliverer struct {
	cfg Config
	// mu guards the fields below: RunOnce may be called from several
	// goroutines (a process's loop and an admin's retry, or tests).
	mu sync.Mutex
	// hooksUntil is when to ask the store again whether any endpoint
	// exists; while none does, events are numbered only when pulled.
	hooksUntil time.Time
	hooks      bool
	// numbered is when changes were last numbered while no endpoint
	// existed (see idleNumbering).
	numbered time.Time
}

// idleNumbering is how often changes are numbered while no tenant has an
// endpoint: the pull API numbers what it reads, and this keeps what it
// finds to do small (a month of changes numbered at one read could
// outlast the request), in large passes that cost less a row than
// numbering each change as it commits.
const idleNumbering = 30 * time.Second

// New returns a Deliverer.
func New(cfg Config) *Deliverer {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = NewClient(cfg.AllowPrivate, cfg.Timeout)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	return &Deliverer{cfg: cfg}
}

// NewClient returns the HTTP client deliveries use: no proxy from the
// environment (it would carry requests past the address check), no
// redirects (a 3xx is a failed attempt: a redirect could lead to a private
// address), the whole attempt bounded by timeout, and, unless allowPrivate,
// every connection refused whose address — after DNS, at connect time, so
// that a name cannot resolve once to a public and then to a private
// address — is loopback, private or link-local.
func NewClient(allowPrivate bool, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip := net.ParseIP(host)
			if ip == nil {
				return fmt.Errorf("%w: %s", errBlocked, host)
			}
			if err := checkIP(ip); err != nil {
				return fmt.Errorf("%w: %v", errBlocked, err)
			}
			return nil
		}
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			TLSHandshakeTimeout: timeout,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// lease is how long a claimed delivery is kept from other deliverers: long
// enough for the attempt and its bookkeeping, short enough that a dead
// process's deliveries go out soon after.
func (d *Deliverer) lease() time.Duration { return 2*d.cfg.Timeout + 2*time.Second }

// Run sequences and delivers until ctx ends. Store failures are logged and
// retried after a pause; they never stop it.
func (d *Deliverer) Run(ctx context.Context) {
	lastPurge := time.Time{}
	for ctx.Err() == nil {
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.cfg.Logger.Warn().Err(err).Msg("webhook delivery pass failed; retrying")
		}
		if now := d.cfg.Now(); now.Sub(lastPurge) > 10*time.Minute {
			lastPurge = now
			if _, err := d.cfg.Store.PurgeEvents(ctx, now.Add(-store.EventRetention)); err != nil && ctx.Err() == nil {
				d.cfg.Logger.Warn().Err(err).Msg("purging old events failed")
			}
		}
		if n > 0 && err == nil {
			continue // more may be waiting
		}
		t := time.NewTimer(d.cfg.Poll)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// plan answers whether any endpoint exists and, when none does, whether
// it is time to number the backlog (which it then counts as done).
func (d *Deliverer) plan(ctx context.Context) (hooks, number bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.cfg.Now()
	if !d.hooks || !now.Before(d.hooksUntil) {
		ok, err := d.cfg.Store.WebhooksEnabled(ctx)
		if err != nil {
			return false, false, err
		}
		d.hooks, d.hooksUntil = ok, now.Add(5*time.Second)
	}
	if d.hooks {
		return true, false, nil
	}
	if now.Sub(d.numbered) >= idleNumbering {
		d.numbered = now
		return false, true, nil
	}
	return false, false, nil
}

// RunOnce makes events of what was committed, then claims and sends one
// batch of due deliveries; it answers how much it did (events made plus
// attempts made).
func (d *Deliverer) RunOnce(ctx context.Context) (int, error) {
	// Whether any endpoint exists is asked at every idle pass (a new one
	// gets its first delivery within a poll), and every few seconds while
	// there are endpoints.
	hooks, number, err := d.plan(ctx)
	if err != nil {
		return 0, err
	}
	if !hooks {
		// Nothing to deliver: the pull API numbers events when it reads
		// them, and now and then the backlog is numbered here.
		if number {
			for range 1000 {
				n, err := d.cfg.Store.SequenceEvents(ctx)
				if err != nil || n == 0 {
					return 0, err
				}
			}
		}
		return 0, nil
	}
	made, err := d.cfg.Store.SequenceEvents(ctx)
	if err != nil {
		return 0, err
	}
	claims, err := d.cfg.Store.ClaimDeliveries(ctx, d.cfg.Now(), d.lease(), d.cfg.Batch)
	if err != nil || len(claims) == 0 {
		return made, err
	}
	results := make([]store.DeliveryResult, len(claims))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(d.cfg.Workers, len(claims)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] = d.attempt(ctx, claims[i])
			}
		}()
	}
	for i := range claims {
		work <- i
	}
	close(work)
	wg.Wait()
	// Recorded even if ctx ended meanwhile: an attempt made is an attempt
	// to record (a lost record only means one more delivery later).
	finishCtx := context.WithoutCancel(ctx)
	if err := d.cfg.Store.FinishDeliveries(finishCtx, results, d.cfg.Now().Add(-store.DeliveryWindow)); err != nil {
		return made, err
	}
	return made + len(claims), nil
}

// schedule is the wait after each failed attempt (the last repeats), close
// to what Standard Webhooks senders use; Backoff adds jitter.
var schedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour}

// Backoff is when to try again after the attempts-th failed attempt of a
// delivery created at created, or the zero time when the delivery window
// is over: the schedule's wait, ±20 % (jitter in [0, 1)).
func Backoff(attempts int, created, now time.Time, jitter float64) time.Time {
	wait := schedule[min(max(attempts, 1), len(schedule))-1]
	wait = time.Duration(float64(wait) * (0.8 + 0.4*jitter))
	next := now.Add(wait)
	if next.After(created.Add(store.DeliveryWindow)) {
		return time.Time{}
	}
	return next
}

func (d *Deliverer) attempt(ctx context.Context, c store.Claim) store.DeliveryResult {
	start := d.cfg.Now()
	res := store.DeliveryResult{TenantID: c.Delivery.TenantID, ID: c.Delivery.ID, WebhookID: c.Delivery.WebhookID, At: start}
	code, err := d.send(ctx, c, start)
	took := d.cfg.Now().Sub(start)
	res.ResponseCode, res.DurationMS = code, int(took.Milliseconds())
	outcome := "delivered"
	if err == nil {
		res.Delivered = true
	} else {
		res.Error = err.Error()
		res.NextAt = Backoff(c.Delivery.Attempts+1, c.Delivery.CreatedAt, start, d.cfg.Jitter())
		outcome = "retry"
		if res.NextAt.IsZero() {
			outcome = "failed"
		}
	}
	if d.cfg.Observe != nil {
		d.cfg.Observe(outcome, took)
	}
	return res
}

// send makes one attempt: 2xx is delivered, anything else (an error, a
// timeout, a redirect, a refused address) is a failure with its reason.
func (d *Deliverer) send(ctx context.Context, c store.Claim, at time.Time) (int, error) {
	if err := CheckURL(c.Webhook.URL, d.cfg.AllowPrivate); err != nil {
		return 0, err
	}
	ts := at.Unix()
	sig, err := Sign(c.Webhook.Secret, c.Event.ID, ts, c.Event.Body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Webhook.URL, bytes.NewReader(c.Event.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Roster-Webhooks/1")
	req.Header.Set("webhook-id", c.Event.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		if errors.Is(err, errBlocked) {
			return 0, fmt.Errorf("refused: the endpoint's address is not allowed (loopback, private or link-local): %w", errors.Unwrap(err))
		}
		return 0, err
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(head))
}
