package memory

// Re-resolved users: the reads role resolution needs (the role context, the
// groups a user is in as a pending group change leaves them) and the
// writing of store.Moves — the users, their ledger entries, their audit
// events and what each RoleDecision asks for — for the group writes and for
// Change. The rule itself is store.PlanMoves.

import (
	"context"
	"slices"
	"time"

	"github.com/roster-dev/roster/store"
)

// roleContext is what role resolution reads; the caller holds s.mu.
func (t *tenant) roleContext() *store.RoleContext {
	rc := &store.RoleContext{Settings: t.t.Settings, Mappings: slices.Clone(t.mappings)}
	for _, name := range t.roleOrder {
		rc.Roles = append(rc.Roles, t.roles[name])
	}
	return rc
}

// groupChange is a group write not yet applied, as role resolution must see it.
type groupChange struct {
	rec     *groupRec
	name    string          // its displayName after the change
	members map[string]bool // its members after the change; nil when deleted
}

// groupNames lists the displayNames of the groups the user is in, seeing
// pending changes.
func (t *tenant) groupNames(userID string, pending *groupChange) []string {
	var out []string
	for _, g := range t.groupList {
		if pending != nil && g == pending.rec {
			continue
		}
		if g.members[userID] {
			out = append(out, g.g.DisplayName)
		}
	}
	if pending != nil && pending.members[userID] {
		out = append(out, pending.name)
	}
	return out
}

// planMoves re-resolves the listed users (live ones, each once) under rc,
// seeing the pending group change, after mutate (when given) edits each
// (store.PlanMoves). The seat moves of all are checked against the cap
// together: all or nothing.
func (t *tenant) planMoves(ids []string, rc *store.RoleContext, pending *groupChange, by store.Actor,
	now time.Time, mutate func(*store.User)) ([]store.Move, error) {
	users, groups := t.usersAndGroups(ids, pending)
	moves, err := store.PlanMoves(ids, users, groups, rc, by, mutate)
	if err != nil {
		return nil, err
	}
	if err := t.checkCap(store.MovesDelta(moves), now); err != nil {
		return nil, err
	}
	return moves, nil
}

// usersAndGroups copies the live users among ids and the displayNames of
// their groups, seeing the pending group change.
func (t *tenant) usersAndGroups(ids []string, pending *groupChange) (map[string]store.User, map[string][]string) {
	users := make(map[string]store.User, len(ids))
	groups := make(map[string][]string, len(ids))
	for _, id := range ids {
		if rec, err := t.liveUser(id); err == nil {
			users[id] = rec.u.Clone()
			groups[id] = t.groupNames(id, pending)
		}
	}
	return users, groups
}

// applyMoves writes planned moves: the users, their ledger entries, and the
// audit events (user.updated naming the role change, privileged grants,
// approval requests).
func (t *tenant) applyMoves(moves []store.Move, by store.Actor, now time.Time, why string, newID func() string) {
	for _, m := range moves {
		u := m.After
		u.Version, u.UpdatedAt = m.Before.Version+1, now
		t.recordSeats(m.Transitions, u.ID, by, now)
		t.users[u.ID].u = u.Clone()
		t.appendAudit(store.AuditEvent{Time: now, Actor: by, Action: "user.updated", TargetType: "user", TargetID: u.ID,
			Detail: store.MoveDetail(m, why), Before: store.AuditJSON(m.Before), After: store.AuditJSON(u)})
		t.recordDecision(m.Decision, u.ID, by, now, newID)
	}
}

// recordDecision writes what a role decision asks for beyond the user row:
// the audit event of a privileged grant, a pending approval.
func (t *tenant) recordDecision(d store.RoleDecision, userID string, by store.Actor, now time.Time, newID func() string) {
	if d.Grant {
		t.appendAudit(store.GrantAudit(d, userID, by, now))
	}
	if d.Pending == nil {
		return
	}
	for _, a := range t.approvals {
		if (a.Status == store.ApprovalPending || a.Status == store.ApprovalRejected) && a.UserID == userID && a.Role == d.Pending.Role {
			return // already waiting, or refused: a re-sent attribute asks nothing new
		}
	}
	a := *d.Pending
	a.TenantID, a.ID, a.UserID, a.Status, a.CreatedAt = t.t.ID, newID(), userID, store.ApprovalPending, now
	t.approvals = append(t.approvals, a)
	t.appendAudit(store.PendingAudit(a, by, now))
}

// groupReach lists the users whose role a group change can move
// (store.GroupChangeReach): the members before and after when it reaches
// them all.
func groupReach(rc *store.RoleContext, oldName string, oldMembers map[string]bool, ch *groupChange, ops []store.MemberOp) []string {
	newName := ""
	if ch.members != nil {
		newName = ch.name
	}
	reach, whole, ids := store.GroupChangeReach(rc, oldName, newName, ops)
	if !reach || !whole {
		return ids
	}
	for id := range oldMembers {
		ids = append(ids, id)
	}
	for id := range ch.members {
		ids = append(ids, id)
	}
	return store.LockOrder(ids)
}

func (s *Store) ListApprovals(_ context.Context, tenantID, status string) ([]store.Approval, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	out := []store.Approval{}
	for _, a := range t.approvals {
		if status == "" || a.Status == status {
			out = append(out, cloneApproval(a))
		}
	}
	return out, nil
}

func cloneApproval(a store.Approval) store.Approval {
	if a.DecidedAt != nil {
		at := *a.DecidedAt
		a.DecidedAt = &at
	}
	return a
}

// holders lists the live users who hold the role or name it explicitly.
func (t *tenant) holders(name string) []string {
	var out []string
	for _, rec := range t.userList {
		if !rec.deleted && (rec.u.Role == name || rec.u.ExplicitRole == name) {
			out = append(out, rec.u.ID)
		}
	}
	return out
}

// supersede closes the pending approvals a change makes moot.
func (t *tenant) supersede(match func(store.Approval) bool, now time.Time) {
	for i, a := range t.approvals {
		if a.Status == store.ApprovalPending && match(a) {
			a.Status, a.DecidedAt, a.DecidedBy = store.ApprovalSuperseded, &now, "system:rosterd"
			t.approvals[i] = a
		}
	}
}
