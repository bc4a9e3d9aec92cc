package console

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDiffRecords: an audited change reads as the fields it changed — a
// scalar before → after, a list as what was kept, removed and added, a
// reordered list as the whole list before and after — with the
// bookkeeping fields counted, not listed; a creation lists every field of
// the new record; an event without a record has no change.
func TestDiffRecords(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }

	cs := diffRecords(raw(`{"id":"g1","displayName":"Night shift","meta":{"version":"W/\"1\"","lastModified":"2026-12-07T10:00:00Z"}}`),
		raw(`{"id":"g1","displayName":"Late shift","meta":{"version":"W/\"2\"","lastModified":"2026-12-07T11:00:00Z"}}`))
	assert.Equal(t, "changed", cs.Kind)
	require.Len(t, cs.Rows, 1)
	assert.Equal(t, diffRow{Field: "displayName", Before: "Night shift", After: "Late shift", HasBefore: true, HasAfter: true}, cs.Rows[0])
	assert.Equal(t, 2, cs.Quiet)

	cs = diffRecords(raw(`{"name":"auditor","permissions":["reporting.view_org","users.view"],"privileged":false}`),
		raw(`{"name":"auditor","permissions":["users.view","customers.view"],"privileged":true}`))
	require.Len(t, cs.Rows, 2)
	assert.Equal(t, diffRow{Field: "permissions", HasBefore: true, HasAfter: true, List: true,
		Kept: []string{"users.view"}, Gone: []string{"reporting.view_org"}, Added: []string{"customers.view"}}, cs.Rows[0])
	assert.Equal(t, diffRow{Field: "privileged", Before: "no", After: "yes", HasBefore: true, HasAfter: true}, cs.Rows[1])

	cs = diffRecords(raw(`[{"group":"Support","role":"supervisor"},{"group":"Agents","role":"agent"}]`),
		raw(`[{"group":"Agents","role":"agent"},{"group":"Support","role":"supervisor"}]`))
	require.Len(t, cs.Rows, 1)
	assert.False(t, cs.Rows[0].List, "a reordered list is shown whole, before and after")
	assert.Equal(t, "1. group: Support, role: supervisor  2. group: Agents, role: agent", cs.Rows[0].Before)
	assert.Equal(t, "1. group: Agents, role: agent  2. group: Support, role: supervisor", cs.Rows[0].After)

	cs = diffRecords(nil, raw(`{"userName":"bob@demo.test","active":true,"emails":[{"value":"bob@demo.test","primary":true}]}`))
	assert.Equal(t, "created", cs.Kind)
	require.Len(t, cs.Rows, 3)
	assert.Equal(t, "active", cs.Rows[0].Field)
	assert.Equal(t, []string{"primary: yes, value: bob@demo.test"}, cs.Rows[1].Added)
	assert.False(t, cs.Rows[2].HasBefore)

	assert.Equal(t, "deleted", diffRecords(raw(`{"name":"x"}`), raw(`null`)).Kind)
	assert.Equal(t, "", diffRecords(nil, nil).Kind)
}

// TestAuditFilter_toDayIsIncluded: the form's "to" day is included; the
// API's to is exclusive, so the console sends the next midnight.
func TestAuditFilter_toDayIsIncluded(t *testing.T) {
	q := auditFilter{From: "2026-12-01", To: "2026-12-07", PersonID: "u1", Action: "group.created"}.apiQuery()
	assert.Equal(t, "2026-12-01", q.Get("from"))
	assert.Equal(t, "2026-12-08", q.Get("to"))
	assert.Equal(t, "u1", q.Get("user"))
	assert.Equal(t, "group.created", q.Get("action"))
}
