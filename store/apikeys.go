package store

import (
	"context"
	"time"
)

// APIKey is a tenant's admin API credential (rsk_<ID>_<secret>, package
// auth): it reaches the tenant's own /admin/v1/tenants/{id}/… paths with
// exactly Permissions. Only Hash (SHA-256 of the whole key) is stored. IDs
// are unique across tenants: the key names its record, and so its tenant.
type APIKey struct {
	TenantID    string
	ID          string
	Name        string
	Permissions []string // permission flags (package access), catalogue order
	Hash        []byte
	CreatedAt   time.Time
	CreatedBy   Actor // who minted it (without a request id)
	LastUsedAt  *time.Time
	RevokedAt   *time.Time
}

// Clone returns a deep copy of the key.
func (k APIKey) Clone() APIKey {
	k.Permissions = cloneSlice(k.Permissions)
	k.Hash = cloneSlice(k.Hash)
	k.LastUsedAt = clonePtr(k.LastUsedAt)
	k.RevokedAt = clonePtr(k.RevokedAt)
	return k
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// Audit actions of API keys.
const (
	ActionAPIKeyCreated = "api_key.created"
	ActionAPIKeyRevoked = "api_key.revoked"
)

// apiKeyAudit is a key without its hash, in the admin API's names.
type apiKeyAudit struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Permissions []string   `json:"permissions"`
	CreatedAt   time.Time  `json:"created_at"`
	CreatedBy   string     `json:"created_by"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// APIKeyAudit is the audit JSON of an API key: id, name, permissions and
// times, never the hash.
func APIKeyAudit(k APIKey) string {
	return AuditJSON(apiKeyAudit{ID: k.ID, Name: k.Name, Permissions: nonNil(k.Permissions), CreatedAt: k.CreatedAt,
		CreatedBy: actorRef(k.CreatedBy), RevokedAt: k.RevokedAt})
}

// actorRef names an actor as approvals' decided_by does: "kind:id"
// ("admin:operator", "key:0123456789abcdef", "user:<id>").
func actorRef(a Actor) string {
	if a.Kind == "" {
		return ""
	}
	return a.Kind + ":" + a.ID
}

// APIKeyStore is the part of the Store contract that keeps tenants' admin
// API keys. Every mutation writes its audit event (api_key.created,
// api_key.revoked; without the hash) in the transaction of the change.
// DeleteTenant deletes the tenant's keys.
type APIKeyStore interface {
	// CreateAPIKey stores a new key of a tenant (ID, Hash, Name and
	// Permissions given; CreatedAt set by the store; CreatedBy is by without
	// its request id). ErrNotFound for an unknown tenant, a ConflictError for
	// a taken id.
	CreateAPIKey(ctx context.Context, tenantID string, k APIKey, by Actor) (APIKey, error)
	// GetAPIKey returns a key by id, whatever its tenant (the key names its
	// tenant); revoked keys included. ErrNotFound when there is none.
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	// ListAPIKeys lists a tenant's keys, revoked ones included, oldest first.
	ListAPIKeys(ctx context.Context, tenantID string) ([]APIKey, error)
	// RevokeAPIKey revokes a key of the tenant at at; revoking it again keeps
	// the first time and records nothing. It returns the key as it is now.
	RevokeAPIKey(ctx context.Context, tenantID, id string, at time.Time, by Actor) (APIKey, error)
	// TouchAPIKeys records last-use times (key id → time) in one write, for
	// batching; a time never moves back, unknown keys are ignored.
	TouchAPIKeys(ctx context.Context, used map[string]time.Time) error
	// CheckAPIKey says, from memory and without I/O, whether id is a stored
	// key with this hash (revoked ones included): TokenMatch, TokenNoMatch,
	// or TokenUnsure when only a read can tell (the PostgreSQL store while
	// its change listener is not proven). The admin API calls it before
	// GetAPIKey, so that a made-up key costs no read unless the store is
	// unsure, and then only within the failure budget.
	CheckAPIKey(id string, hash []byte) TokenCheck
}
