package store

import (
	"context"
	"time"
)

// Event is one outbound event (docs/events.md): what changed, in the admin
// API's shapes, derived from the audit trail and the seat ledger of the
// change that made it (EventsOfAudit, EventOfSeat). Body is the JSON a webhook receives and
// the pull API lists; the other fields are what delivery needs to route it.
type Event struct {
	// Seq is the commit order across all tenants, the pull API's cursor;
	// the events one audit event or ledger entry makes share it, told
	// apart by Part (EventID).
	Seq        int64
	Part       int
	TenantID   string
	ID         string // evt_…, the webhook-id of every delivery of it
	Type       string // user.deactivated, seat.released, …
	Subject    string // the ordering key: deliveries of one subject go in Seq order
	OccurredAt time.Time
	Body       []byte
}

// Event retention and delivery windows (docs/events.md).
const (
	// EventRetention is how long events stay readable by the pull API
	// and their deliveries in the log.
	EventRetention = 30 * 24 * time.Hour
	// DeliveryWindow is how long a delivery is retried before it fails,
	// and how long an endpoint may fail without a success before it is
	// disabled.
	DeliveryWindow = 72 * time.Hour
	// GaveUpStreak is how long an endpoint must have failed every attempt
	// for a delivery that gives up to disable it. A delivery's last try
	// comes 62 to 72 hours after it was made (the backoff's schedule), so
	// an endpoint down since then has failed for longer; one enabled again
	// a moment ago, or one that answers other deliveries, has not.
	GaveUpStreak = 48 * time.Hour
)

// GaveUpDisables says whether a delivery that gave up disables its
// endpoint, whose failure streak began at failingSince, given
// FinishDeliveries' disableBefore (DeliveryWindow ago): only after a
// streak of GaveUpStreak. Both stores decide with it.
func GaveUpDisables(failingSince, disableBefore time.Time) bool {
	return failingSince.Before(GaveUpBefore(disableBefore))
}

// GaveUpBefore is the time a failure streak must have begun before for a
// give-up to disable its endpoint (GaveUpDisables), for a store that
// decides in SQL.
func GaveUpBefore(disableBefore time.Time) time.Time {
	return disableBefore.Add(DeliveryWindow - GaveUpStreak)
}

// Webhook is a tenant's endpoint for events.
type Webhook struct {
	TenantID       string
	ID             string
	URL            string
	Events         []string // event types; empty: all
	Secret         string   // whsec_…; the store keeps it to sign, the API shows it once
	CreatedAt      time.Time
	CreatedBy      Actor
	FailingSince   *time.Time // first failure since the last success
	DisabledAt     *time.Time
	DisabledReason string
}

// Wants says whether the endpoint subscribes to events of type t.
func (w Webhook) Wants(t string) bool {
	if len(w.Events) == 0 {
		return true
	}
	for _, e := range w.Events {
		if e == t {
			return true
		}
	}
	return false
}

// Clone returns a deep copy of the webhook.
func (w Webhook) Clone() Webhook {
	w.Events = cloneSlice(w.Events)
	w.FailingSince = clonePtr(w.FailingSince)
	w.DisabledAt = clonePtr(w.DisabledAt)
	return w
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Delivery is one event's delivery to one endpoint, with its last attempt.
type Delivery struct {
	TenantID      string
	ID            int64
	WebhookID     string
	EventSeq      int64
	EventID       string
	EventType     string
	Subject       string
	Status        string
	Attempts      int
	NextAt        time.Time // pending: not before
	CreatedAt     time.Time
	LastAttemptAt *time.Time
	ResponseCode  int // 0: no answer (refused, timed out, blocked)
	DurationMS    int
	LastError     string
}

// Claim is a delivery leased to one deliverer, with what sending it needs.
type Claim struct {
	Delivery Delivery
	Event    Event
	Webhook  Webhook
}

// DeliveryResult is the outcome of one attempt of a claimed delivery.
type DeliveryResult struct {
	TenantID     string
	ID           int64
	WebhookID    string
	At           time.Time // when the attempt started
	Delivered    bool
	ResponseCode int
	DurationMS   int
	Error        string
	// NextAt is when to try again after a failure; zero gives up (the
	// delivery fails).
	NextAt time.Time
}

// DeliveryQuery pages through an endpoint's delivery log, newest first.
type DeliveryQuery struct {
	Before int64 // ids below Before when > 0
	Status string
	Limit  int // 0: 100
}

// OutboxStats says how far event handling is behind.
type OutboxStats struct {
	Unsequenced int       // changes committed but not yet made events
	Pending     int       // deliveries not yet made
	Oldest      time.Time // the oldest of either; zero when none
}

// DisabledReason says why an endpoint was disabled: it failed every
// delivery since the time given, for longer than DeliveryWindow.
func DisabledReason(failingSince time.Time) string {
	return "every delivery failed since " + failingSince.UTC().Format(time.RFC3339) +
		" (more than " + DeliveryWindow.String() + "); fix the endpoint, then enable it again"
}

// Audit actions of webhooks.
const (
	ActionWebhookCreated  = "webhook.created"
	ActionWebhookDeleted  = "webhook.deleted"
	ActionWebhookDisabled = "webhook.disabled"
	ActionWebhookEnabled  = "webhook.enabled"
	ActionDeliveryRetried = "webhook.delivery_retried"
)

// webhookAudit is an endpoint without its secret.
type webhookAudit struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Events         []string   `json:"events"`
	CreatedAt      time.Time  `json:"created_at"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
}

// WebhookAudit is the audit JSON of an endpoint: never its secret.
func WebhookAudit(w Webhook) string {
	return AuditJSON(webhookAudit{ID: w.ID, URL: w.URL, Events: nonNil(w.Events), CreatedAt: w.CreatedAt,
		DisabledAt: w.DisabledAt, DisabledReason: w.DisabledReason})
}

// EventStore is the part of the Store contract that keeps outbound events
// and their webhook deliveries (docs/events.md).
//
// Every change that writes an audit event or a seat-ledger entry makes its
// events (EventsOfAudit, EventOfSeat) in the same transaction: a change that rolls back makes
// none, a committed one is never lost. Events get their Seq in commit
// order; two changes of one user are ordered as they committed.
type EventStore interface {
	// SequenceEvents turns committed changes into events and queues their
	// deliveries to the tenant's enabled endpoints that want them and
	// existed when the change was made; it answers how many events it made. Safe to call from several processes
	// at once (one does the work). The memory store makes events as it
	// commits and answers 0.
	SequenceEvents(ctx context.Context) (int, error)
	// WebhooksEnabled says whether any tenant has an enabled endpoint: a
	// deliverer that finds none leaves the events to be numbered when they
	// are pulled.
	WebhooksEnabled(ctx context.Context) (bool, error)
	// ListEvents lists a tenant's events with Seq > after, oldest first:
	// at least limit of them (0: 100) when there are, and never only some
	// of the events sharing a Seq. ErrNotFound for an unknown tenant.
	ListEvents(ctx context.Context, tenantID string, after int64, limit int) ([]Event, error)

	// CreateWebhook stores an endpoint (ID, URL, Events, Secret given);
	// audited without the secret. ErrNotFound for an unknown tenant.
	CreateWebhook(ctx context.Context, tenantID string, w Webhook, by Actor) (Webhook, error)
	GetWebhook(ctx context.Context, tenantID, id string) (Webhook, error)
	ListWebhooks(ctx context.Context, tenantID string) ([]Webhook, error)
	// DeleteWebhook removes an endpoint and its deliveries.
	DeleteWebhook(ctx context.Context, tenantID, id string, by Actor) error
	// EnableWebhook clears a disabled endpoint's disabled state and its
	// failure streak; its pending deliveries go out again.
	EnableWebhook(ctx context.Context, tenantID, id string, by Actor) (Webhook, error)
	ListDeliveries(ctx context.Context, tenantID, webhookID string, q DeliveryQuery) ([]Delivery, error)
	// RetryDelivery queues a delivery again, now, whatever its status
	// (a manual "send again"); audited.
	RetryDelivery(ctx context.Context, tenantID, webhookID string, id int64, by Actor) (Delivery, error)

	// ClaimDeliveries leases up to limit due deliveries of enabled
	// endpoints until now+lease, so that no other deliverer takes them
	// meanwhile (a deliverer that dies loses its lease, and another takes
	// the delivery when it runs out). Of one endpoint's pending deliveries
	// of one subject, only the earliest is ever claimed: deliveries of one
	// user go out in order.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Claim, error)
	// FinishDeliveries records attempts' outcomes and ends their leases. A
	// failure starts the endpoint's failure streak, a success ends it; an
	// endpoint that fails and whose streak began before disableBefore
	// (DeliveryWindow ago), or one of whose deliveries gave up (a zero
	// NextAt) after a streak of at least GaveUpStreak, is disabled, with
	// the audit event webhook.disabled. A give-up alone disables nothing:
	// an endpoint enabled again (its streak cleared) whose oldest
	// deliveries are past their window would otherwise be disabled by the
	// first of them to fail, within a second of being enabled.
	FinishDeliveries(ctx context.Context, results []DeliveryResult, disableBefore time.Time) error
	// PurgeEvents removes events that occurred before cutoff and the
	// deliveries made before it (whatever became of them: only a disabled
	// endpoint keeps one pending that long), and answers how many events
	// it removed.
	PurgeEvents(ctx context.Context, cutoff time.Time) (int, error)
	OutboxStats(ctx context.Context) (OutboxStats, error)
}
