package memory_test

import (
	"testing"
	"time"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
	"github.com/roster-dev/roster/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
		s := memory.New(memory.Options{Now: now})
		t.Cleanup(s.Close)
		return s
	})
}
