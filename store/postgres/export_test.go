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
