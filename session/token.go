package session

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/roster-dev/roster/auth"
)

// A session token reads
//
//	rss_<id>_<secret>
//
// where id is 16 lower-case hex characters (8 random bytes) naming the
// session in the store, and secret is 32 random bytes in unpadded
// base64url. Only auth.Hash(token) is stored; the id lets the server find
// the one hash to compare, in constant time. The shape lets secret scanners
// match `rss_[0-9a-f]{16}_[A-Za-z0-9_-]{43}`.
const (
	tokenPrefix = "rss_"
	idBytes     = 8
	secretBytes = 32
	idLen       = 2 * idBytes
	secretLen   = 43
	tokenLen    = len(tokenPrefix) + idLen + 1 + secretLen
)

var secretEncoding = base64.RawURLEncoding.Strict()

// newToken makes a session token from r: plaintext (given to the client
// once), id (the store key) and hash (what is stored).
func newToken(r io.Reader) (plaintext, id string, hash []byte, err error) {
	var buf [idBytes + secretBytes]byte
	if _, err := io.ReadFull(r, buf[:]); err != nil {
		return "", "", nil, fmt.Errorf("session: read random bytes: %w", err)
	}
	id = hex.EncodeToString(buf[:idBytes])
	plaintext = tokenPrefix + id + "_" + secretEncoding.EncodeToString(buf[idBytes:])
	return plaintext, id, auth.Hash(plaintext), nil
}

// parseToken checks the shape of a session token and returns its id. Whether
// it is valid is for the stored hash to say.
func parseToken(s string) (id string, ok bool) {
	if len(s) != tokenLen || !strings.HasPrefix(s, tokenPrefix) || s[len(tokenPrefix)+idLen] != '_' {
		return "", false
	}
	id = s[len(tokenPrefix) : len(tokenPrefix)+idLen]
	if _, err := hex.DecodeString(id); err != nil || strings.ToLower(id) != id {
		return "", false
	}
	var secret [secretBytes]byte
	n, err := secretEncoding.Decode(secret[:], []byte(s[len(tokenPrefix)+idLen+1:]))
	return id, err == nil && n == secretBytes
}
