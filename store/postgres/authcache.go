package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/store"
)

// The SCIM guard calls Authenticate on every request. Reading tenant, token
// and SAML configuration from the database each time doubled the round trips
// of every SCIM request (BENCHMARKS.md, "SCIM over HTTP"), so the answers are
// cached, and a change to any of them takes the tenant's entries out:
//
//   - in this process, synchronously: every Store method that changes a
//     tenant, revokes a token or changes SAML drops the tenant's entries
//     after its commit, before it returns (so the next request re-reads);
//   - in every process, through PostgreSQL: triggers (migration 0010) send
//     NOTIFY roster_auth with the tenant id when a tenant's plan, settings
//     or name change, a token is revoked or deleted, or a SAML configuration
//     is written or deleted; each Store LISTENs on a connection of its own
//     and drops what it is told to. NOTIFY is delivered at commit, so another
//     process stops using an old answer within the notification's delivery
//     (well under a millisecond on one host).
//
// Nothing is cached while the listening connection is down or has not yet
// received a notification it sent itself (a pooler in transaction mode would
// swallow them): every call then reads the database, as before. The whole
// cache is emptied when the listener comes back or goes away, so no
// notification can be missed. Entries also expire after
// authTTL, and a fill that raced with an invalidation is not kept (gen).
// The cached tenant's seat counters are not kept current: the guard reads
// only its id, plan and settings.
type authCache struct {
	mu      sync.Mutex
	live    bool   // the listener is connected and listening
	gen     uint64 // bumped by every invalidation
	last    string // the payload of the last notification (tests wait for theirs)
	entries map[authKey]authEntry
}

type authKey struct{ tenant, token string }

type authEntry struct {
	tenant  store.Tenant
	token   store.Token
	saml    *store.SAMLConfig
	expires time.Time
}

const (
	authTTL        = 5 * time.Second
	authMaxEntries = 10_000
	authChannel    = "roster_auth"
	authProbeWait  = 5 * time.Second
)

// errProbe is the listener's failure when its own notification never came
// back: LISTEN succeeded, but on a connection notifications do not reach (a
// pooler in transaction mode hands the session back after every statement),
// or the listen URL names another database than the pool's.
var errProbe = errors.New("notifications do not reach the listening connection (a pooler in transaction mode, or a listen URL naming another database?)")

// errNoListen is the listener's "failure" when Options.NoListen is set.
var errNoListen = errors.New("not listening (Options.NoListen)")

// get answers a live, unexpired entry.
func (c *authCache) get(k authKey) (authEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || !c.live {
		return authEntry{}, false
	}
	if time.Now().After(e.expires) {
		delete(c.entries, k)
		return authEntry{}, false
	}
	return e, true
}

// begin is called before a database read that may fill the cache: it
// answers the generation to hand to put, and whether caching is on.
func (c *authCache) begin() (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen, c.live
}

// put keeps e unless an invalidation came since begin answered gen.
func (c *authCache) put(k authKey, gen uint64, e authEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || c.gen != gen {
		return
	}
	if len(c.entries) >= authMaxEntries {
		clear(c.entries) // tokens in use are few; a full map is a flood of made-up ids
	}
	e.expires = time.Now().Add(authTTL)
	c.entries[k] = e
}

// invalidate drops a tenant's entries and fails the fills in flight.
func (c *authCache) invalidate(tenantID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k := range c.entries {
		if k.tenant == tenantID {
			delete(c.entries, k)
		}
	}
}

// setLive turns caching on (listening) or off, emptying the cache either way.
func (c *authCache) setLive(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.live = live
	clear(c.entries)
}

// listen keeps a connection of its own listening on authChannel until ctx
// ends, reconnecting with a back-off; it closes done when it returns.
func (s *Store) listen(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := errNoListen
		if !s.noListen {
			err = s.listenOnce(ctx)
		}
		s.auth.setLive(false)
		s.tokens.setSure(false)
		s.keys.setSure(false)
		if ctx.Err() != nil {
			return
		}
		// Unproven, the token set is only as current as its last load:
		// reload it at every attempt, so that a token created in another
		// process is known without a read within one back-off.
		if lerr := s.loadTokens(ctx); lerr != nil && ctx.Err() == nil {
			s.log.Warn().Err(lerr).Msg("postgres: reloading the token ids failed")
		}
		if lerr := s.loadAPIKeys(ctx); lerr != nil && ctx.Err() == nil {
			s.log.Warn().Err(lerr).Msg("postgres: reloading the API key ids failed")
		}
		switch {
		case s.noListen:
			backoff = unprovenReload
		case errors.Is(err, errProbe):
			// Behind a pooler in transaction mode this repeats for as long as
			// the process runs: say it once, with what to do, then quietly.
			backoff = unprovenReload
			ev := s.log.Debug()
			if !s.listenWarned {
				s.listenWarned = true
				ev = s.log.Warn()
				// Without a listen URL a failed probe means the pool's own
				// connections go through such a pooler, where pgx's default
				// statement cache fails too.
				if s.listenURL == "" && s.pool.Config().ConnConfig.DefaultQueryExecMode == pgx.QueryExecModeCacheStatement {
					s.log.Error().Msg("postgres: " + statementCacheHint)
				}
			}
			ev.Err(err).Msg("postgres: the auth cache is off: notifications do not reach this process (a pooler in transaction mode between it and PostgreSQL?), so every SCIM and admin request reads its token from the database; " +
				"give the listener a direct connection to the same database (rosterd: ROSTER_DATABASE_LISTEN_URL) to turn it on")
		default:
			s.log.Warn().Err(err).Dur("retry_in", backoff).Msg("postgres: auth cache listener lost; authenticating from the database until it is back")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context) error {
	cfg := s.pool.Config().ConnConfig.Copy()
	if s.listenURL != "" {
		var err error
		if cfg, err = pgx.ParseConfig(s.listenURL); err != nil {
			return fmt.Errorf("listen url: %w", err)
		}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background()) //nolint:errcheck // closing a connection we are done with
	if _, err := conn.Exec(ctx, "listen "+authChannel); err != nil {
		return err
	}
	// Prove that notifications reach this connection before relying on
	// them: behind a pooler in transaction mode (PgBouncer) LISTEN succeeds
	// but nothing is delivered, and the cache must then stay off.
	probe := fmt.Sprintf("probe-%p-%d", s, time.Now().UnixNano())
	if _, err := s.pool.Exec(ctx, "select pg_notify($1, $2)", authChannel, probe); err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, authProbeWait)
	for {
		n, err := conn.WaitForNotification(pctx)
		if err != nil {
			cancel()
			return fmt.Errorf("%w: %w", errProbe, err)
		}
		if n.Payload == probe {
			break
		}
	}
	cancel()
	// Every token committed from here on is notified; load the ones before.
	if err := s.loadTokens(ctx); err != nil {
		return err
	}
	if err := s.loadAPIKeys(ctx); err != nil {
		return err
	}
	s.auth.setLive(true) // from here on, no change goes unnoticed
	s.tokens.setSure(true)
	s.keys.setSure(true)
	// A notification is acted on in two steps: at once, as it arrives, the
	// tenant's cached answers are dropped and its token and key misses made
	// unsure; the re-reads follow in order in a goroutine of their own. Done
	// in one loop, a burst of notifications (a tenant's set-up: its SAML
	// configuration, then its token) left the later ones waiting for the
	// earlier ones' reads, and a token created in another process was
	// refused here for tens of milliseconds after its commit.
	reloads := make(chan reload, 1024)
	rctx, stop := context.WithCancel(ctx)
	reloaded := make(chan struct{})
	go func() {
		defer close(reloaded)
		for {
			select {
			case <-rctx.Done():
				return
			case r := <-reloads:
				if g := s.reloadGate.Load(); g != nil {
					select {
					case <-*g:
					case <-rctx.Done():
						return
					}
				}
				s.reloadTenantFrom(rctx, r.tenant, r.tokenSeq)
				s.reloadTenantAPIKeysFrom(rctx, r.tenant, r.keySeq)
				s.auth.mu.Lock()
				s.auth.last = r.tenant
				s.auth.mu.Unlock()
			}
		}
	}()
	defer func() { stop(); <-reloaded }()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		s.auth.invalidate(n.Payload)
		r := reload{tenant: n.Payload, tokenSeq: s.tokens.markStale(n.Payload), keySeq: s.keys.markStale(n.Payload)}
		select {
		case reloads <- r:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// reload is a tenant to re-read after its notification, with the sequence
// numbers its sets had when it was marked stale.
type reload struct {
	tenant           string
	tokenSeq, keySeq uint64
}
