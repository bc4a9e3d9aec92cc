package memory_test

import (
	"testing"
	"time"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
	"github.com/roster-dev/roster/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB, now func() time.Time) store.Store {
		s := memory.New(memory.Options{Now: now})
		t.Cleanup(s.Close)
		return s
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(t testing.TB, now func() time.Time) store.Store {
		return memory.New(memory.Options{Now: now})
	}, 100_000, nil)
}
