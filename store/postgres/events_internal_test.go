package postgres

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// TestEventsTrigger_recordsEveryActionThatMakesEvents: the trigger of
// migration 0020 records exactly the audit actions that make events
// (store.EventActions): one missing would make its events silently never
// exist on PostgreSQL.
func TestEventsTrigger_recordsEveryActionThatMakesEvents(t *testing.T) {
	sql, err := migrations.ReadFile("migrations/0020_events.sql")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?s)and action in \(([^)]*)\)`).FindSubmatch(sql)
	require.NotNil(t, m, "the trigger's action list")
	var inTrigger []string
	for _, a := range strings.Split(string(m[1]), ",") {
		inTrigger = append(inTrigger, strings.Trim(strings.TrimSpace(a), "'"))
	}
	want := slices.Clone(store.EventActions)
	slices.Sort(want)
	slices.Sort(inTrigger)
	assert.Equal(t, want, inTrigger)
	for _, a := range store.EventActions {
		e := store.AuditEvent{Action: a, TenantID: "t", TargetID: "x"}
		_ = store.EventsOfAudit(e) // every listed action is one the mapping knows (no panic on empty records)
	}
}
