package storetest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
)

// testAuthenticate proves that the SCIM hot-path read answers the tenant, the
// token and the SAML configuration as they are now: a revocation, a plan
// change or an SSO change shows on the next call.
func testAuthenticate(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	tn := newTenant(t, s, "acme", 10)
	newTenant(t, s, "beta", 10)
	tok, err := s.CreateToken(ctx, "acme", store.Token{Name: "okta", Hash: []byte{9, 9}}, store.ActorAdmin)
	require.NoError(t, err)

	gotT, gotTok, cfg, err := s.Authenticate(ctx, "acme", tok.ID)
	require.NoError(t, err)
	assert.Equal(t, tn, gotT)
	assert.Equal(t, tok, gotTok)
	assert.Nil(t, cfg, "no SAML configuration yet")

	exp := time.Date(2031, 2, 3, 4, 5, 6, 789000000, time.UTC)
	put, err := s.PutSAMLConfig(ctx, "acme", store.SAMLConfig{MetadataXML: "<md/>", EntityID: "https://idp", SSOURL: "https://idp/sso", CertNotAfter: exp}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = directory.New(s).UpdateTenant(ctx, "acme", store.ActorAdmin, func(x *store.Tenant) error { x.Plan = "enterprise"; return nil })
	require.NoError(t, err)
	require.NoError(t, s.RevokeToken(ctx, "acme", tok.ID, clock.Now(), store.ActorAdmin))

	gotT, gotTok, cfg, err = s.Authenticate(ctx, "acme", tok.ID)
	require.NoError(t, err)
	assert.Equal(t, "enterprise", gotT.Plan)
	require.NotNil(t, gotTok.RevokedAt, "a revoked token is answered, marked revoked")
	require.NotNil(t, cfg)
	assert.Equal(t, "https://idp", cfg.EntityID)
	assert.Equal(t, "https://idp/sso", cfg.SSOURL)
	assert.Equal(t, put.CertNotAfter, cfg.CertNotAfter)
	assert.Equal(t, put.UpdatedAt, cfg.UpdatedAt)
	assert.Empty(t, cfg.MetadataXML, "the hot path does not carry the metadata document")

	require.NoError(t, s.DeleteSAMLConfig(ctx, "acme", store.ActorAdmin))
	_, _, cfg, err = s.Authenticate(ctx, "acme", tok.ID)
	require.NoError(t, err)
	assert.Nil(t, cfg, "a deleted configuration is gone on the next call")

	_, _, _, err = s.Authenticate(ctx, "beta", tok.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "a token is found only under its own tenant")
	_, _, _, err = s.Authenticate(ctx, "acme", "nope")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, _, _, err = s.Authenticate(ctx, "nope", tok.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, _, _, err = s.Authenticate(ctx, "acme\x00", "x\xff")
	assert.ErrorIs(t, err, store.ErrNotFound, "keys that cannot be stored find nothing")
}

// testSPKeyPair proves that a tenant's SP key pair is made once: concurrent
// first uses all get the one stored pair, later calls never call create.
func testSPKeyPair(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	newTenant(t, s, "beta", 10)

	var made atomic.Int32
	create := func() ([]byte, []byte, error) {
		n := made.Add(1)
		return []byte(fmt.Sprintf("key-%d", n)), []byte(fmt.Sprintf("cert-%d", n)), nil
	}
	const n = 8
	keys := make([]string, n)
	certs := make([]string, n)
	errs := parallel(n, func(i int) error {
		k, c, err := s.SPKeyPair(ctx, "acme", create)
		keys[i], certs[i] = string(k), string(c)
		return err
	})
	for _, err := range errs {
		require.NoError(t, err)
	}
	for i := range n {
		assert.Equal(t, keys[0], keys[i], "every caller gets the one stored key")
		assert.Equal(t, certs[0], certs[i])
	}
	assert.Equal(t, "key-"+certs[0][len("cert-"):], keys[0], "key and certificate stay a pair")

	before := made.Load()
	k, c, err := s.SPKeyPair(ctx, "acme", create)
	require.NoError(t, err)
	assert.Equal(t, keys[0], string(k))
	assert.Equal(t, certs[0], string(c))
	assert.Equal(t, before, made.Load(), "a stored pair is never made again")

	kb, _, err := s.SPKeyPair(ctx, "beta", create)
	require.NoError(t, err)
	assert.NotEqual(t, keys[0], string(kb), "each tenant has its own pair")

	boom := errors.New("no entropy")
	_, _, err = s.SPKeyPair(ctx, "nope", create)
	assert.ErrorIs(t, err, store.ErrNotFound)
	newTenant(t, s, "gamma", 1)
	_, _, err = s.SPKeyPair(ctx, "gamma", func() ([]byte, []byte, error) { return nil, nil, boom })
	assert.ErrorIs(t, err, boom, "create's error comes out as is")
	kg, _, err := s.SPKeyPair(ctx, "gamma", create)
	require.NoError(t, err, "a failed create stored nothing")
	assert.NotEmpty(t, kg)

	require.NoError(t, s.DeleteTenant(ctx, "acme", store.ActorAdmin))
	newTenant(t, s, "acme", 10)
	k2, _, err := s.SPKeyPair(ctx, "acme", create)
	require.NoError(t, err)
	assert.NotEqual(t, keys[0], string(k2), "a deleted tenant's pair is gone with it")
}

// testCheckToken proves the in-memory verdict the SCIM guard asks before
// any failure budget: a token created in this process matches its hash at
// once (revoked or not: revocation is Authenticate's to say), and never
// another hash, another tenant, an unknown id or a deleted tenant.
func testCheckToken(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	newTenant(t, s, "beta", 10)
	hash := []byte("0123456789abcdef0123456789abcdef")
	other := []byte("0123456789abcdef0123456789abcdeX")
	tok, err := s.CreateToken(ctx, "acme", store.Token{Name: "okta", Hash: hash}, store.ActorAdmin)
	require.NoError(t, err)

	assert.Equal(t, store.TokenMatch, s.CheckToken("acme", tok.ID, hash), "the next call after the creation")
	assert.Equal(t, store.TokenNoMatch, s.CheckToken("acme", tok.ID, other), "a wrong hash of a known id is refused from memory")
	assert.Equal(t, store.TokenNoMatch, s.CheckToken("acme", tok.ID, hash[:8]), "a prefix of the hash")
	for name, verdict := range map[string]store.TokenCheck{
		"another tenant":  s.CheckToken("beta", tok.ID, hash),
		"unknown id":      s.CheckToken("acme", "0000000000000000", hash),
		"unknown tenant":  s.CheckToken("nope", tok.ID, hash),
		"empty arguments": s.CheckToken("", "", nil),
	} {
		assert.NotEqual(t, store.TokenMatch, verdict, name)
	}

	require.NoError(t, s.RevokeToken(ctx, "acme", tok.ID, clock.Now(), store.ActorAdmin))
	assert.Equal(t, store.TokenMatch, s.CheckToken("acme", tok.ID, hash), "revoked: still the guard's to read and explain")

	require.NoError(t, s.DeleteTenant(ctx, "acme", store.ActorAdmin))
	assert.NotEqual(t, store.TokenMatch, s.CheckToken("acme", tok.ID, hash), "the tenant is gone")
}
