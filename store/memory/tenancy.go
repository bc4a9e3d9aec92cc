package memory

import (
	"context"
	"slices"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/store"
)

type spKeyPair struct{ key, cert []byte }

// Authenticate answers the tenant, the token and the SAML configuration
// under one lock: a consistent snapshot, as PostgreSQL's one statement.
func (s *Store) Authenticate(_ context.Context, tenantID, tokenID string) (store.Tenant, store.Token, *store.SAMLConfig, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.Tenant{}, store.Token{}, nil, err
	}
	tok, ok := t.tokens[tokenID]
	if !ok {
		return store.Tenant{}, store.Token{}, nil, store.ErrNotFound
	}
	var cfg *store.SAMLConfig
	if t.saml != nil {
		c := *t.saml
		c.MetadataXML = ""
		cfg = &c
	}
	return t.t.Clone(), tok.Clone(), cfg, nil
}

// CheckToken answers from the store's own maps: it is never unsure.
func (s *Store) CheckToken(tenantID, tokenID string, hash []byte) store.TokenCheck {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenantID]
	if !ok {
		return store.TokenNoMatch
	}
	tok, ok := t.tokens[tokenID]
	if !ok || !auth.Equal(hash, tok.Hash) {
		return store.TokenNoMatch
	}
	return store.TokenMatch
}

// SPKeyPair returns the tenant's SP key pair, creating it on first use.
// create runs without the store's lock (key generation is slow); when two
// callers race, the first to store wins and both get its pair.
func (s *Store) SPKeyPair(_ context.Context, tenantID string, create func() (keyPEM, certPEM []byte, err error)) ([]byte, []byte, error) {
	get := func() (*spKeyPair, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		t, err := s.tenant(tenantID)
		if err != nil {
			return nil, err
		}
		return t.spKey, nil
	}
	kp, err := get()
	if err != nil {
		return nil, nil, err
	}
	if kp != nil {
		return slices.Clone(kp.key), slices.Clone(kp.cert), nil
	}
	key, cert, err := create()
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, nil, err
	}
	if t.spKey == nil {
		t.spKey = &spKeyPair{key: slices.Clone(key), cert: slices.Clone(cert)}
	}
	return slices.Clone(t.spKey.key), slices.Clone(t.spKey.cert), nil
}
