package admin_test

import (
	"testing"
	"time"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

// TestMain stops the throwaway PostgreSQL cluster of this package's tests.
func TestMain(m *testing.M) { pgtest.Main(m) }

// openPostgres is a PostgreSQL store on a fresh database for one test. The
// seat tests (seats_test.go) run against it; other tests join by adding it
// to their backends.
func openPostgres(t *testing.T, now func() time.Time) store.Store {
	return pgtest.Store(t, now)
}
