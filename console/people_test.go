package console

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/roster-dev/roster/session"
)

// TestListURL: the list a bulk form returns to keeps the list's own
// filters only, so that a crafted "back" field leads nowhere else.
func TestListURL(t *testing.T) {
	p := &person{Tenant: session.TenantView{ID: "acme"}}
	assert.Equal(t, "/console/acme/people", listURL(p, ""))
	assert.Equal(t, "/console/acme/people?q=ann&role=agent", listURL(p, "role=agent&q=ann"))
	assert.Equal(t, "/console/acme/people?managed=scim", listURL(p, "managed=scim&next=https%3A%2F%2Fevil.test&cursor=abc"))
	assert.Equal(t, "/console/acme/people", listURL(p, "%zz"))
}

// TestDescribeAudit: a person's audit events in words, from the records
// the trail kept before and after.
func TestDescribeAudit(t *testing.T) {
	user := func(role string, active bool, name string, stores ...string) json.RawMessage {
		b, _ := json.Marshal(map[string]any{"userName": "bob@x.test", "displayName": name, "active": active,
			"urn:ietf:params:scim:schemas:extension:roster:2.0:User": map[string]any{"role": role, "stores": stores}})
		return b
	}
	for _, c := range []struct {
		e    auditEvent
		want string
	}{
		{auditEvent{Action: "user.created", After: user("agent", true, "Bob")}, "Created with the role agent"},
		{auditEvent{Action: "user.updated", Before: user("agent", true, "Bob"), After: user("supervisor", true, "Bob")}, "Role agent → supervisor"},
		{auditEvent{Action: "user.updated", Before: user("agent", true, "Bob"), After: user("agent", false, "Bob")}, "Deactivated"},
		{auditEvent{Action: "user.updated", Before: user("agent", false, "Bob"), After: user("agent", true, "Bobby", "s1")},
			"Reactivated; Display name Bob → Bobby; Stores none → s1"},
		{auditEvent{Action: "user.updated", Before: user("agent", true, "Bob"), After: user("agent", true, "Bob")}, "Updated"},
		{auditEvent{Action: "user.signed_in", Detail: "console link"}, "Signed in (console link)"},
		{auditEvent{Action: "user.deleted", Before: user("agent", true, "Bob")}, "Deleted"},
		{auditEvent{Action: "approval.requested"}, "approval.requested"},
	} {
		assert.Equal(t, c.want, describeAudit(c.e), c.e.Action)
	}
	assert.Equal(t, "Light seat released (role changed)", describeSeat(seatEvent{Seat: "light", Delta: -1, Reason: "role_changed"}))
	assert.Equal(t, "Full seat taken (provisioned)", describeSeat(seatEvent{Seat: "full", Delta: 1, Reason: "provisioned"}))
}
