package auth_test

import (
	"crypto/rand"
	"crypto/sha256"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/auth"
)

var apiKeyRE = regexp.MustCompile(`^` + auth.APIKeyPattern + `$`)

func TestNewAPIKey_deterministic(t *testing.T) {
	plain, id, hash, err := auth.NewAPIKey(&counting{})
	require.NoError(t, err)
	assert.Equal(t, "0001020304050607", id)
	assert.Equal(t, "rsk_0001020304050607_CAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJic", plain)
	sum := sha256.Sum256([]byte(plain))
	assert.Equal(t, sum[:], hash)
	got, ok := auth.ParseAPIKey(plain)
	require.True(t, ok)
	assert.Equal(t, id, got)
}

// TestNewAPIKey_roundTrip: every key made from real randomness matches the
// scanner pattern and parses back to its id; a key is never a SCIM token
// nor the other way round.
func TestNewAPIKey_roundTrip(t *testing.T) {
	for range 200 {
		plain, id, _, err := auth.NewAPIKey(rand.Reader)
		require.NoError(t, err)
		assert.Regexp(t, apiKeyRE, plain)
		got, ok := auth.ParseAPIKey(plain)
		require.True(t, ok, plain)
		assert.Equal(t, id, got)
		_, ok = auth.Parse(plain)
		assert.False(t, ok, "an API key is not a SCIM token")
	}
	tok, _, _, err := auth.New(rand.Reader)
	require.NoError(t, err)
	_, ok := auth.ParseAPIKey(tok)
	assert.False(t, ok, "a SCIM token is not an API key")
}

func TestParseAPIKey_refusesMalformed(t *testing.T) {
	good, _, _, err := auth.NewAPIKey(&counting{})
	require.NoError(t, err)
	for name, s := range map[string]string{
		"empty":          "",
		"short":          good[:len(good)-1],
		"long":           good + "A",
		"upper hex id":   "rsk_000102030405060A" + good[20:],
		"other prefix":   "rsx_" + good[4:],
		"no separator":   strings.Replace(good, "7_", "7-", 1),
		"bad secret":     good[:len(good)-1] + "!",
		"non-canonical":  good[:len(good)-1] + "l", // the last character's unused low bits set
		"session token":  "rss_" + good[4:],
		"operator token": "rsa_" + good[21:],
	} {
		_, ok := auth.ParseAPIKey(s)
		assert.False(t, ok, name)
	}
}
