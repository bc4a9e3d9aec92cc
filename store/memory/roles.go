package memory

// Role resolution: every write that can change what a user's role
// resolves to re-resolves it here, under the store's one lock, with
// store.DecideRole.

import (
	"context"
	"fmt"
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

// Change runs a directory use case under the store's one lock (store.Store).
func (s *Store) Change(_ context.Context, tenantID string, lock store.Lock, fn func(*store.View) (*store.Plan, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return err
	}
	v := &store.View{Roles: t.roleContext(), Now: s.clock()}
	ids := slices.Clip(lock.Users)
	if lock.Role != "" {
		r, ok := t.roles[lock.Role]
		if !ok {
			return store.ErrNotFound
		}
		r = r.Clone()
		v.Role = &r
	}
	if lock.Holders != "" {
		v.Holders = store.LockOrder(t.holders(lock.Holders))
		ids = append(ids, v.Holders...)
	}
	if lock.Remap != nil {
		v.Remapped = t.remapped(lock.Remap)
		ids = append(ids, v.Remapped...)
	}
	if lock.Unassigned {
		v.Unassigned = t.unassigned()
		ids = append(ids, v.Unassigned...)
	}
	if lock.Tenant {
		c := t.t.Clone()
		v.Tenant = &c
	}
	approval := -1
	if lock.Approval != "" {
		approval = slices.IndexFunc(t.approvals, func(a store.Approval) bool { return a.ID == lock.Approval })
		if approval < 0 {
			return store.ErrNotFound
		}
		a := cloneApproval(t.approvals[approval])
		v.Approval = &a
		ids = append(ids, a.UserID)
	}
	v.Users, v.Groups = t.usersAndGroups(ids, nil)
	t.viewSignIn(v, lock, ids)
	t.readKeys(v, lock)
	p, err := fn(v)
	if err != nil {
		return err
	}
	if p == nil {
		p = &store.Plan{} // nothing to write but the spend
	}
	if len(p.Writes) > 0 {
		if len(p.Moves) > 0 || p.Approval != nil || p.Tenant != nil || p.Role != nil || p.DeleteRole != "" || p.Mappings != nil || p.Session != nil {
			return fmt.Errorf("memory: a plan with writes has nothing else")
		}
		return s.applyWrites(t, p, v.Now)
	}
	if p.Tenant != nil && !lock.Tenant {
		return fmt.Errorf("memory: a plan may change the tenant only when it locked it")
	}
	if err := t.checkPlanCap(p, v.Now); err != nil {
		return err
	}
	if err := s.checkSignIn(v, p); err != nil {
		return err
	}
	if p.Tenant != nil {
		t.appendAudit(store.AuditEvent{Time: v.Now, Actor: p.By, Action: store.ActionTenantUpdated,
			TargetType: "tenant", TargetID: t.t.ID, Before: store.TenantAudit(t.t), After: store.TenantAudit(*p.Tenant)})
		t.t = p.Tenant.Clone()
	}
	if p.Approval != nil {
		if approval < 0 || p.Approval.ID != lock.Approval {
			return fmt.Errorf("memory: a plan may decide only the approval it locked")
		}
		t.approvals[approval] = cloneApproval(*p.Approval)
		t.appendAudit(store.ApprovalAudit(*p.Approval, p.By, v.Now))
	}
	if r := p.Role; r != nil {
		old, ok := t.roles[r.Name]
		if !ok || lock.Role != r.Name {
			return fmt.Errorf("memory: a plan may change only the role it locked")
		}
		t.roles[r.Name] = r.Clone()
		t.appendAudit(store.AuditEvent{Time: v.Now, Actor: p.By, Action: store.ActionRoleUpdated,
			TargetType: "role", TargetID: r.Name, Before: store.RoleAudit(old), After: store.RoleAudit(*r)})
	}
	if p.DeleteRole != "" {
		t.deleteRole(p.DeleteRole, p.By, v.Now)
	}
	if p.Mappings != nil {
		t.appendAudit(store.AuditEvent{Time: v.Now, Actor: p.By, Action: store.ActionMappingsUpdated, TargetType: "role_mappings",
			TargetID: t.t.ID, Before: store.MappingsAudit(t.mappings), After: store.MappingsAudit(p.Mappings)})
		t.mappings = slices.Clone(p.Mappings)
	}
	t.applyMoves(p.Moves, p.By, v.Now, p.Why, s.newID)
	s.applySignIn(t, lock, v, p)
	return nil
}

// checkPlanCap checks the plan's moves against the cap of the tenant as the
// plan leaves it.
func (t *tenant) checkPlanCap(p *store.Plan, now time.Time) error {
	if p.Tenant != nil {
		old := t.t
		t.t = *p.Tenant
		defer func() { t.t = old }()
	}
	return t.checkCap(store.MovesDelta(p.Moves), now)
}

// unassigned lists, in id order, the live users without an explicit role.
func (t *tenant) unassigned() []string {
	var out []string
	for _, rec := range t.userList {
		if !rec.deleted && rec.u.ExplicitRole == "" {
			out = append(out, rec.u.ID)
		}
	}
	return store.LockOrder(out)
}

// deleteRole removes a custom role and closes its pending approvals.
func (t *tenant) deleteRole(name string, by store.Actor, now time.Time) {
	delete(t.roles, name)
	t.roleOrder = slices.DeleteFunc(t.roleOrder, func(x string) bool { return x == name })
	t.appendAudit(store.AuditEvent{Time: now, Actor: by, Action: "role.deleted", TargetType: "role", TargetID: name})
	t.supersede(func(a store.Approval) bool { return a.Role == name }, now)
}

// remapped lists, in id order, the live users without an explicit role who
// are in a group the current mappings or the names given name.
func (t *tenant) remapped(names []string) []string {
	keys := map[string]bool{}
	for _, m := range t.mappings {
		keys[store.FoldKey(m.Group)] = true
	}
	for _, n := range names {
		keys[store.FoldKey(n)] = true
	}
	var out []string
	for _, g := range t.groupList {
		if !keys[store.FoldKey(g.g.DisplayName)] {
			continue
		}
		for id := range g.members {
			if rec, err := t.liveUser(id); err == nil && rec.u.ExplicitRole == "" {
				out = append(out, id)
			}
		}
	}
	return store.LockOrder(out)
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
