package store

import (
	"slices"
	"time"
)

// ConsoleLink is a single-use link that signs one user into the console
// (docs/contract.md "Console links"). Only a SHA-256 of its code is kept:
// the code itself is shown once, in the link, to whoever minted it.
type ConsoleLink struct {
	TenantID  string
	Hash      []byte // SHA-256 of the code
	UserID    string // the user it signs in
	CreatedBy string // the minter, as "kind:id"
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time // set once, when it is redeemed
}

// ConsoleLinkRetention is how long a console link is kept after its expiry
// (Store.PurgeExpired), used or not: long enough that a late click is told
// the link expired, short enough that links do not pile up.
const ConsoleLinkRetention = 24 * time.Hour

// Clone returns a deep copy.
func (l ConsoleLink) Clone() ConsoleLink {
	l.Hash = slices.Clone(l.Hash)
	if l.UsedAt != nil {
		at := *l.UsedAt
		l.UsedAt = &at
	}
	return l
}
