package auth

import "io"

// A tenant's admin API key reads
//
//	rsk_<id>_<secret>
//
// in the shape of a SCIM token (16 lower-case hex characters naming the key
// in the store, then 32 random bytes in unpadded base64url), so that the same
// reasoning holds: only Hash(key) is stored, the id finds the one hash to
// compare in constant time, and secret scanners can match
// `rsk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}`. The prefix keeps a key apart from a
// SCIM token at a glance: a key reaches the admin API, a token only SCIM.
const (
	// APIKeyPrefix starts every admin API key.
	APIKeyPrefix = "rsk_"
	// APIKeyPattern is a regular expression matching an API key, for secret scanners.
	APIKeyPattern = `rsk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}`
)

// NewAPIKey makes an admin API key from r. It returns the plaintext (shown
// to its creator once), the key id (the store key) and the hash to store.
func NewAPIKey(r io.Reader) (plaintext, id string, hash []byte, err error) {
	return newCredential(APIKeyPrefix, r)
}

// ParseAPIKey checks that plaintext has the shape of an API key and returns
// its id. Whether the key is valid is for the stored hash to say.
func ParseAPIKey(plaintext string) (id string, ok bool) {
	return parseCredential(APIKeyPrefix, plaintext)
}
