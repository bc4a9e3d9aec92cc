package postgres

// Test hooks for the black-box tests in package postgres_test.
var (
	MigrateFS          = migrateFS
	EmbeddedMigrations = embeddedMigrations
	GetByUserNameSQL   = getByUserNameSQL
	BoundStatements    = map[string]string{
		"createUser": createUserSQL, "updateUser": updateUserSQL, "deleteUser": deleteUserSQL,
	}
)

// AuthCacheLive says whether the auth cache's listener is listening (the
// cache is in use).
func (s *Store) AuthCacheLive() bool {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	return s.auth.live
}

// AuthCacheLast is the payload of the last notification the store handled.
func (s *Store) AuthCacheLast() string {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	return s.auth.last
}
