package auth_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/auth"
)

var tokenRE = regexp.MustCompile(`^` + auth.Pattern + `$`)

// counting yields 0, 1, 2, … so that New's output is fixed.
type counting struct{ n byte }

func (c *counting) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.n
		c.n++
	}
	return len(p), nil
}

func TestNew_deterministic(t *testing.T) {
	plain, id, hash, err := auth.New(&counting{})
	require.NoError(t, err)
	// id = bytes 0..7 in hex; secret = bytes 8..39 in base64url.
	assert.Equal(t, "0001020304050607", id)
	assert.Equal(t, "rst_0001020304050607_CAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJic", plain)
	sum := sha256.Sum256([]byte(plain))
	assert.Equal(t, sum[:], hash)
	assert.Regexp(t, tokenRE, plain)

	got, ok := auth.Parse(plain)
	require.True(t, ok)
	assert.Equal(t, id, got)
}

// TestNew_roundTrip proves that every token New makes from real randomness
// matches the published scanner pattern, parses back to its id and hashes to
// the hash New returned.
func TestNew_roundTrip(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		plain, id, hash, err := auth.New(rand.Reader)
		require.NoError(t, err)
		assert.Regexp(t, tokenRE, plain)
		got, ok := auth.Parse(plain)
		require.True(t, ok, plain)
		assert.Equal(t, id, got)
		assert.True(t, auth.Equal(hash, auth.Hash(plain)))
		assert.False(t, seen[plain], "duplicate token")
		seen[plain] = true
	}
}

func TestNew_shortRandom(t *testing.T) {
	tests := map[string]io.Reader{
		"empty":     bytes.NewReader(nil),
		"too short": bytes.NewReader(make([]byte, 39)),
		"failing":   io.MultiReader(errReader{}),
	}
	for name, r := range tests {
		t.Run(name, func(t *testing.T) {
			plain, id, hash, err := auth.New(r)
			require.Error(t, err)
			assert.Empty(t, plain)
			assert.Empty(t, id)
			assert.Nil(t, hash)
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func TestParse(t *testing.T) {
	valid, id, _, err := auth.New(&counting{})
	require.NoError(t, err)
	secret := valid[len("rst_0001020304050607_"):]

	tests := []struct {
		name   string
		in     string
		wantID string
		ok     bool
	}{
		{"valid", valid, id, true},
		{"secret with - and _", "rst_0123456789abcdef_" + "-_" + secret[2:41] + "AA", "0123456789abcdef", true},
		{"empty", "", "", false},
		{"prefix only", "rst_", "", false},
		{"admin token", "rsa_" + secret, "", false},
		{"wrong prefix", "rsx_0001020304050607_" + secret, "", false},
		{"upper-case prefix", "RST_0001020304050607_" + secret, "", false},
		{"bearer scheme left in", "Bearer " + valid, "", false},
		{"trailing newline", valid + "\n", "", false},
		{"leading space", " " + valid[1:], "", false},
		{"upper-case hex id", "rst_0001020304050ABC_" + secret, "", false},
		{"non-hex id", "rst_000102030405060g_" + secret, "", false},
		{"short id", "rst_000102030405060_A" + secret, "", false},
		{"missing separator", "rst_0001020304050607-" + secret, "", false},
		{"short secret", valid[:len(valid)-1], "", false},
		{"long secret", valid + "A", "", false},
		{"padded secret", valid[:len(valid)-1] + "=", "", false},
		{"standard base64 +", valid[:len(valid)-2] + "+A", "", false},
		{"standard base64 /", valid[:len(valid)-2] + "/A", "", false},
		// The last character carries 4 bits of data and 2 unused bits that
		// must be zero; "B" sets one of them, so it is not the canonical form.
		{"non-canonical last char", valid[:len(valid)-1] + "B", "", false},
		{"NUL in secret", valid[:len(valid)-1] + "\x00", "", false},
		{"non-ASCII", strings.Replace(valid, "C", "é", 1)[:len(valid)], "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := auth.Parse(tt.in)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.wantID, got)
			if tt.ok {
				assert.Regexp(t, tokenRE, tt.in)
			}
		})
	}
}

func TestHash(t *testing.T) {
	a, b := auth.Hash("rst_a"), auth.Hash("rst_b")
	assert.Len(t, a, sha256.Size)
	assert.Equal(t, a, auth.Hash("rst_a"), "deterministic")
	assert.NotEqual(t, a, b)
}

func TestEqual(t *testing.T) {
	h := auth.Hash("x")
	tests := []struct {
		name string
		a, b []byte
		want bool
	}{
		{"same", h, auth.Hash("x"), true},
		{"different", h, auth.Hash("y"), false},
		{"prefix", h, h[:16], false},
		{"nil and hash", nil, h, false},
		{"both empty", nil, []byte{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, auth.Equal(tt.a, tt.b))
		})
	}
}

func TestNewAdminToken(t *testing.T) {
	tok, err := auth.NewAdminToken(&counting{})
	require.NoError(t, err)
	assert.Equal(t, "rsa_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", tok)
	assert.True(t, auth.IsAdminToken(tok))

	_, ok := auth.Parse(tok)
	assert.False(t, ok, "an admin token is not a SCIM token")

	tok2, err := auth.NewAdminToken(rand.Reader)
	require.NoError(t, err)
	assert.Regexp(t, `^rsa_[A-Za-z0-9_-]{43}$`, tok2)
	assert.NotEqual(t, tok, tok2)

	_, err = auth.NewAdminToken(bytes.NewReader(make([]byte, 31)))
	assert.Error(t, err)
}

func TestIsAdminToken(t *testing.T) {
	tok, err := auth.NewAdminToken(&counting{})
	require.NoError(t, err)
	scim, _, _, err := auth.New(&counting{})
	require.NoError(t, err)
	tests := map[string]bool{
		tok:                          true,
		"":                           false,
		"rsa_":                       false,
		tok + "A":                    false,
		tok[:len(tok)-1]:             false,
		"rst_" + tok[4:]:             false,
		scim:                         false,
		"an operator's own password": false,
	}
	for in, want := range tests {
		assert.Equal(t, want, auth.IsAdminToken(in), "%q", in)
	}
}

// TestAdminTokenWeakness: obviously weak operator tokens are refused with a
// reason; random ones (openssl rand -base64 32 / -hex 16, the generated
// rsa_ token) never are.
func TestAdminTokenWeakness(t *testing.T) {
	for in, want := range map[string]string{
		"aaaaaaaaaaaaaaaa":                     "is 16 characters; use at least 32",
		strings.Repeat("a", 40):                "has only 1 distinct characters",
		strings.Repeat("abcdefg", 6):           "has only 7 distinct characters",
		"0123456789abcdef0123456789abcdef":     "repeats a pattern",
		"passwordpasswordpasswordpassword12":   "repeats a pattern",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaabcdefgh": "bits of entropy",
	} {
		assert.Contains(t, auth.AdminTokenWeakness(in), want, "%q", in)
	}
	gen, err := auth.NewAdminToken(rand.Reader)
	require.NoError(t, err)
	assert.Empty(t, auth.AdminTokenWeakness(gen))
	for range 2000 {
		var b [32]byte
		_, err := rand.Read(b[:])
		require.NoError(t, err)
		assert.Empty(t, auth.AdminTokenWeakness(base64.StdEncoding.EncodeToString(b[:])))
		assert.Empty(t, auth.AdminTokenWeakness(hex.EncodeToString(b[:16])))
	}
}
