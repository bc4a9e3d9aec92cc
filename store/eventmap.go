package store

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"time"
)

// Outbound events are derived, by this one mapping, from what every change
// already writes in its transaction: its audit events and its seat-ledger
// entries (docs/events.md, "Where events come from"). A change cannot forget
// to emit an event it audits, and both stores make the same events from the
// same change.

// EventDraft is an event before it has an id and a place in the order.
type EventDraft struct {
	TenantID   string
	Type       string
	Subject    string
	OccurredAt time.Time
	Actor      Actor
	Data       any
}

// eventBody is the JSON of an event, as webhooks receive it and the pull API
// lists it.
type eventBody struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"`
	Tenant     string     `json:"tenant"`
	OccurredAt time.Time  `json:"occurred_at"`
	Actor      eventActor `json:"actor"`
	Data       any        `json:"data"`
}

type eventActor struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// EventActorKind is the event name of an audit actor's kind: who made the
// change, as an integrator reads it.
func EventActorKind(kind string) string {
	switch kind {
	case "token":
		return "scim_token"
	case "admin":
		return "operator"
	case "key":
		return "api_key"
	case "user":
		return "console"
	case "":
		return "system"
	}
	return kind
}

// EventID is the id of the part-th event (from 0) of the change numbered
// seq: every store makes the events of one audit event or ledger entry
// under one number, so that ids are stable however often they are made.
func EventID(seq int64, part int) string {
	id := "evt_" + strconv.FormatInt(seq, 10)
	if part > 0 {
		id += "_" + strconv.Itoa(part)
	}
	return id
}

// EventRoute says, from an audit action (or "seat.consumed" /
// "seat.released" for a ledger entry) and the record it is about, which
// events the change can make, without reading the change: one (type and
// subject known: the only event it makes) or several (the change must be
// read, EventsOfAudit, to tell). A sequencer routes deliveries by it and
// reads only the changes that may concern an endpoint.
func EventRoute(action, target string) (types []string, subject string, exact bool) {
	switch action {
	case "user.created", "user.deleted", "seat.consumed", "seat.released":
		return []string{action}, target, true
	case "user.updated":
		return []string{"user.updated", "user.role_changed", "user.deactivated", "user.reactivated"}, target, false
	case "group.created":
		return []string{"team.created"}, teamSubject(target), true
	case "group.deleted":
		return []string{"team.deleted"}, teamSubject(target), true
	case "group.updated":
		return []string{"team.updated", "team.members_added", "team.members_removed"}, teamSubject(target), false
	case "role.approval_requested":
		return []string{"approval.requested"}, target, true
	case "role.approval_approved", "role.approval_rejected", "role.approval_superseded":
		return []string{"approval.decided"}, target, true
	case ActionSAMLUpdated:
		return []string{"sso.configured"}, "", true
	case ActionSAMLDeleted:
		return []string{"sso.removed"}, "", true
	case ActionTokenCreated, ActionTokenRevoked:
		return []string{action}, "", true
	}
	return nil, "", true
}

// EventActions are the audit actions that make events (EventsOfAudit); a
// backend may record only those.
var EventActions = []string{"user.created", "user.updated", "user.deleted",
	"group.created", "group.updated", "group.deleted",
	"role.approval_requested", "role.approval_approved", "role.approval_rejected", "role.approval_superseded",
	ActionSAMLUpdated, ActionSAMLDeleted, ActionTokenCreated, ActionTokenRevoked}

// Event numbers the draft (seq, its part among its change's events) and
// renders its body.
func (d EventDraft) Event(seq int64, part int) Event {
	id := EventID(seq, part)
	body, err := json.Marshal(eventBody{ID: id, Type: d.Type, Tenant: d.TenantID, OccurredAt: d.OccurredAt.UTC(),
		Actor: eventActor{Kind: EventActorKind(d.Actor.Kind), ID: d.Actor.ID, Name: d.Actor.Name}, Data: d.Data})
	if err != nil { // every Data is made of plain values here
		panic("store: event body: " + err.Error())
	}
	return Event{Seq: seq, Part: part, TenantID: d.TenantID, ID: id, Type: d.Type, Subject: d.Subject, OccurredAt: d.OccurredAt, Body: body}
}

// EventTypes lists every event type, in the documented order.
var EventTypes = []string{
	"user.created", "user.updated", "user.deactivated", "user.reactivated", "user.deleted", "user.role_changed",
	"team.created", "team.updated", "team.deleted", "team.members_added", "team.members_removed",
	"seat.consumed", "seat.released", "approval.requested", "approval.decided",
	"sso.configured", "sso.removed", "token.created", "token.revoked",
}

// KnownEventType says whether t is an event type.
func KnownEventType(t string) bool {
	for _, e := range EventTypes {
		if e == t {
			return true
		}
	}
	return false
}

// eventUser is a user as events carry it: the admin API's person, without
// what the audit trail of a single change does not know (teams, last
// sign-in).
type eventUser struct {
	ID          string     `json:"id"`
	ExternalID  string     `json:"externalId,omitempty"`
	UserName    string     `json:"userName"`
	DisplayName string     `json:"displayName"`
	Emails      []string   `json:"emails"`
	Role        string     `json:"role"`
	Seat        string     `json:"seat"` // full, light or none
	Active      bool       `json:"active"`
	Stores      []string   `json:"stores"`
	Managed     string     `json:"managed"`
	IdP         string     `json:"idp,omitempty"`
	Drifted     bool       `json:"drifted"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	AccessUntil *time.Time `json:"access_expires_at,omitempty"`
}

func eventUserOf(a userAudit) eventUser {
	u := eventUser{ID: a.ID, ExternalID: a.ExternalID, UserName: a.UserName, DisplayName: a.DisplayName,
		Emails: []string{}, Role: a.Roster.Role, Seat: a.Roster.Seat, Active: a.Active, Stores: nonNil(a.Roster.Stores),
		Managed: a.Roster.Managed, IdP: a.Roster.IdP, Drifted: a.Roster.DriftedAt != nil,
		CreatedAt: a.Meta.Created.UTC(), UpdatedAt: a.Meta.LastModified.UTC(), AccessUntil: a.Roster.AccessExpiresAt}
	if u.Seat == "consumed" {
		u.Seat = string(SeatFull)
	}
	if u.Managed == "" {
		u.Managed = "manual"
	}
	for _, e := range a.Emails {
		u.Emails = append(u.Emails, e.Value)
	}
	return u
}

type eventTeam struct {
	ID          string    `json:"id"`
	ExternalID  string    `json:"externalId,omitempty"`
	Name        string    `json:"name"`
	MemberCount int       `json:"member_count"`
	Managed     string    `json:"managed"`
	IdP         string    `json:"idp,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func eventTeamOf(raw string) (eventTeam, bool) {
	var g struct {
		groupAudit
		MemberCountGo *int `json:"MemberCount"` // group updates written before the audit views
	}
	if raw == "" || json.Unmarshal([]byte(raw), &g) != nil {
		return eventTeam{}, false
	}
	t := eventTeam{ID: g.ID, ExternalID: g.ExternalID, Name: g.DisplayName, MemberCount: g.MemberCount,
		Managed: g.Managed, IdP: g.IdP, CreatedAt: g.Meta.Created.UTC(), UpdatedAt: g.Meta.LastModified.UTC()}
	if g.MemberCountGo != nil {
		t.MemberCount = *g.MemberCountGo
	}
	if t.Managed == "" {
		t.Managed = "manual"
	}
	return t, true
}

// teamSubject is the ordering key of a team's events: never a user id.
func teamSubject(id string) string { return "team:" + id }

// EventsOfAudit makes the events an audit event stands for: none for the
// actions integrators are not told about (sign-ins, roles, stores, keys).
func EventsOfAudit(e AuditEvent) []EventDraft {
	d := EventDraft{TenantID: e.TenantID, OccurredAt: e.Time, Actor: e.Actor, Subject: e.TargetID}
	one := func(typ string, data any) []EventDraft {
		d.Type, d.Data = typ, data
		return []EventDraft{d}
	}
	switch e.Action {
	case "user.created":
		if u, ok := decodeUserAudit(e.After); ok {
			return one("user.created", map[string]any{"user": eventUserOf(u)})
		}
	case "user.deleted":
		if u, ok := decodeUserAudit(e.Before); ok {
			return one("user.deleted", map[string]any{"user": eventUserOf(u)})
		}
		return one("user.deleted", map[string]any{"user": map[string]string{"id": e.TargetID}})
	case "user.updated":
		return userUpdateEvents(d, e)
	case "group.created":
		if t, ok := eventTeamOf(e.After); ok {
			d.Subject = teamSubject(e.TargetID)
			return one("team.created", map[string]any{"team": t})
		}
	case "group.deleted":
		t, ok := eventTeamOf(e.Before)
		if !ok {
			t = eventTeam{ID: e.TargetID, Managed: "manual"}
		}
		d.Subject = teamSubject(e.TargetID)
		return one("team.deleted", map[string]any{"team": t})
	case "group.updated":
		return teamUpdateEvents(d, e)
	case "role.approval_requested":
		return one("approval.requested", map[string]any{"approval": json.RawMessage(orNull(e.After))})
	case "role.approval_approved", "role.approval_rejected", "role.approval_superseded":
		return one("approval.decided", map[string]any{"approval": json.RawMessage(orNull(e.After))})
	case ActionSAMLUpdated:
		d.Subject = ""
		return one("sso.configured", map[string]any{"sso": json.RawMessage(orNull(e.After))})
	case ActionSAMLDeleted:
		d.Subject = ""
		return one("sso.removed", map[string]any{"sso": json.RawMessage(orNull(e.Before))})
	case ActionTokenCreated:
		d.Subject = ""
		return one("token.created", map[string]any{"token": json.RawMessage(orNull(e.After))})
	case ActionTokenRevoked:
		d.Subject = ""
		return one("token.revoked", map[string]any{"token": json.RawMessage(orNull(firstOf(e.After, e.Before)))})
	}
	return nil
}

// EventOfSeat makes the event of a seat-ledger entry.
func EventOfSeat(e SeatEvent) EventDraft {
	typ := "seat.consumed"
	if e.Delta < 0 {
		typ = "seat.released"
	}
	return EventDraft{TenantID: e.TenantID, Type: typ, Subject: e.UserID, OccurredAt: e.Time, Actor: e.Actor,
		Data: map[string]any{"user_id": e.UserID, "seat": string(e.Class), "reason": e.Reason}}
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func decodeUserAudit(raw string) (userAudit, bool) {
	var u userAudit
	if raw == "" || json.Unmarshal([]byte(raw), &u) != nil || u.ID == "" {
		return u, false
	}
	return u, true
}

// userUpdateEvents splits a user update into what an integrator acts on: a
// deactivation or reactivation, a role change, and user.updated naming the
// other attributes that changed. An update that changed none of them (a
// sign-in's last activity) makes no event.
func userUpdateEvents(d EventDraft, e AuditEvent) []EventDraft {
	before, okB := decodeUserAudit(e.Before)
	after, okA := decodeUserAudit(e.After)
	if !okB || !okA {
		return nil
	}
	user := eventUserOf(after)
	var out []EventDraft
	add := func(typ string, data map[string]any) {
		x := d
		x.Type, x.Data = typ, data
		out = append(out, x)
	}
	if changed := changedAttributes(e.Before, e.After); len(changed) > 0 {
		add("user.updated", map[string]any{"user": user, "changed": changed})
	}
	if before.Roster.Role != after.Roster.Role {
		add("user.role_changed", map[string]any{"user": user, "previous_role": before.Roster.Role})
	}
	if before.Active != after.Active {
		if after.Active {
			add("user.reactivated", map[string]any{"user": user})
		} else {
			add("user.deactivated", map[string]any{"user": user})
		}
	}
	return out
}

// notAttributeChanges are the parts of a user's audit JSON whose change has
// its own event (active, role, seat) or is bookkeeping (meta, last activity,
// the role the user's own attributes named before mappings).
var notAttributeChanges = map[string]bool{
	"active": true, "meta": true, "role": true, "seat": true, "lastActiveAt": true, "explicitRole": true,
}

// changedAttributes names the top-level attributes (and those of the Roster
// extension, by their own names) that differ between two user audit JSONs.
func changedAttributes(before, after string) []string {
	var b, a map[string]json.RawMessage
	if json.Unmarshal([]byte(before), &b) != nil || json.Unmarshal([]byte(after), &a) != nil {
		return nil
	}
	var out []string
	diff := func(b, a map[string]json.RawMessage, nested bool) {
		for k := range union(b, a) {
			if notAttributeChanges[k] || (!nested && k == rosterUserURN) {
				continue
			}
			if !bytes.Equal(b[k], a[k]) {
				out = append(out, k)
			}
		}
	}
	diff(b, a, false)
	var rb, ra map[string]json.RawMessage
	_ = json.Unmarshal(b[rosterUserURN], &rb)
	_ = json.Unmarshal(a[rosterUserURN], &ra)
	diff(rb, ra, true)
	sort.Strings(out)
	return out
}

func union(a, b map[string]json.RawMessage) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// teamUpdateEvents splits a group update into a rename (team.updated) and its
// membership changes: team.members_added and team.members_removed name the
// users each operation named; a replacement of the whole list is
// team.updated with the new list (members_replaced).
func teamUpdateEvents(d EventDraft, e AuditEvent) []EventDraft {
	d.Subject = teamSubject(e.TargetID)
	after, ok := eventTeamOf(e.After)
	if !ok {
		after = eventTeam{ID: e.TargetID, Managed: "manual"}
	}
	var out []EventDraft
	add := func(typ string, data map[string]any) {
		x := d
		x.Type, x.Data = typ, data
		out = append(out, x)
	}
	if before, ok := eventTeamOf(e.Before); ok && (before.Name != after.Name || before.ExternalID != after.ExternalID ||
		before.Managed != after.Managed || before.IdP != after.IdP) {
		add("team.updated", map[string]any{"team": after, "previous_name": before.Name})
	}
	for _, op := range e.Members {
		ids := nonNil(op.UserIDs)
		switch op.Kind {
		case MembersAdd:
			add("team.members_added", map[string]any{"team": after, "users": ids})
		case MembersRemove:
			add("team.members_removed", map[string]any{"team": after, "users": ids})
		case MembersReplace:
			add("team.updated", map[string]any{"team": after, "members_replaced": ids})
		}
	}
	return out
}
