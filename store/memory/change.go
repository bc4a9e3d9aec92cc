package memory

// The transaction of a directory use case (store.Store.Change; the
// contract is store/change.go, docs/architecture.md "The directory layer"),
// under the store's one lock: read what a store.Lock names, hand it to the
// use case, and write the store.Plan it answers, checking the plan's seat
// moves against the cap before anything is written. Nothing here decides.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/roster-dev/roster/store"
)

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
	if lock.Link != nil { // the link's user is locked and read as Lock.Users are
		if l, ok := t.life.links[string(lock.Link)]; ok {
			ids = append(ids, l.UserID)
		}
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
		if len(p.Moves) > 0 || p.Approval != nil || p.Tenant != nil || p.Role != nil || p.DeleteRole != "" || p.Mappings != nil || p.Session != nil || p.NewLink != nil || p.UseLink {
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
	if err := s.checkSignIn(t, v, p); err != nil {
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
	for _, m := range p.Moves {
		if m.Before.Active && !m.After.Active {
			s.endSessions(t, m.After.ID) // deactivation signs the user out, as updateUser does
		}
	}
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
