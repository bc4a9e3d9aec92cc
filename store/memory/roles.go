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

// membersOfChange lists the users whose resolution a group change can alter:
// none unless the group is (or becomes, or stops being) a role group; all
// members before and after when its name changes that; else those who join
// or leave.
func membersOfChange(rc *store.RoleContext, oldName string, oldMembers map[string]bool, ch *groupChange) []string {
	wasMapped := store.IsMappedGroup(oldName, rc.Mappings)
	isMapped := ch.members != nil && store.IsMappedGroup(ch.name, rc.Mappings)
	if !wasMapped && !isMapped {
		return nil
	}
	var ids []string
	renamed := ch.members == nil || store.FoldKey(oldName) != store.FoldKey(ch.name)
	for id := range oldMembers {
		if renamed || !ch.members[id] {
			ids = append(ids, id)
		}
	}
	for id := range ch.members {
		if renamed && oldMembers[id] {
			continue
		}
		if renamed || !oldMembers[id] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// liveIDs lists the tenant's live users in creation order.
func (t *tenant) liveIDs() []string {
	var out []string
	for _, rec := range t.userList {
		if !rec.deleted {
			out = append(out, rec.u.ID)
		}
	}
	return out
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
	ids := lock.Users
	approval := -1
	if lock.Approval != "" {
		approval = slices.IndexFunc(t.approvals, func(a store.Approval) bool { return a.ID == lock.Approval })
		if approval < 0 {
			return store.ErrNotFound
		}
		a := cloneApproval(t.approvals[approval])
		v.Approval = &a
		ids = append(slices.Clip(ids), a.UserID)
	}
	v.Users, v.Groups = t.usersAndGroups(ids, nil)
	t.readKeys(v, lock)
	p, err := fn(v)
	if err != nil || p == nil {
		return err
	}
	if len(p.Writes) > 0 {
		if len(p.Moves) > 0 || p.Approval != nil {
			return fmt.Errorf("memory: a plan with writes has no moves and no approval")
		}
		return s.applyWrites(t, p, v.Now)
	}
	if err := t.checkCap(store.MovesDelta(p.Moves), v.Now); err != nil {
		return err
	}
	if p.Approval != nil {
		if approval < 0 || p.Approval.ID != lock.Approval {
			return fmt.Errorf("memory: a plan may decide only the approval it locked")
		}
		t.approvals[approval] = cloneApproval(*p.Approval)
		t.appendAudit(store.ApprovalAudit(*p.Approval, p.By, v.Now))
	}
	t.applyMoves(p.Moves, p.By, v.Now, p.Why, s.newID)
	return nil
}

// remapPlan checks a new mapping list and plans the moves of the users it
// re-resolves. Users with an explicit role keep it.
func (t *tenant) remapPlan(m []store.RoleMapping, by store.Actor, now time.Time) ([]store.Move, error) {
	rc := t.roleContext()
	rc.Mappings = slices.Clone(m)
	if err := store.ValidateMappings(rc, m); err != nil {
		return nil, err
	}
	var ids []string
	for _, rec := range t.userList {
		if !rec.deleted && rec.u.ExplicitRole == "" {
			ids = append(ids, rec.u.ID)
		}
	}
	return t.planMoves(ids, rc, nil, by, now, nil)
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

// deleteRolePlan checks a role deletion and plans the holders' moves: their
// explicit role becomes the replacement, mappings to the role follow it (or
// go, without a replacement), and every holder re-resolves.
func (t *tenant) deleteRolePlan(name, replacement string, by store.Actor, now time.Time) ([]store.Move, []store.RoleMapping, error) {
	holders := t.holders(name)
	if len(holders) > 0 && replacement == "" {
		return nil, nil, &store.RoleInUseError{Role: name, Users: len(holders)}
	}
	if t.t.Settings.DefaultRole == name {
		return nil, nil, &store.InvalidError{Field: "role",
			Reason: fmt.Sprintf("%s is the tenant's default role; change settings.default_role first", name)}
	}
	rc := t.roleContext()
	rc.Roles = slices.DeleteFunc(rc.Roles, func(r store.Role) bool { return r.Name == name })
	if replacement != "" {
		if _, _, ok := rc.Lookup(replacement); !ok || replacement == name {
			return nil, nil, &store.UnknownRoleError{Role: replacement, Known: rc.Known()}
		}
	}
	mappings := []store.RoleMapping{}
	for _, m := range t.mappings {
		if m.Role == name {
			if replacement == "" {
				continue
			}
			m.Role = replacement
		}
		mappings = append(mappings, m)
	}
	rc.Mappings = mappings
	moves, err := t.planMoves(holders, rc, nil, by, now, func(u *store.User) {
		if u.ExplicitRole == name {
			u.ExplicitRole = replacement
		}
	})
	return moves, mappings, err
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

// defaultRolePlan plans the moves of a tenant update that changes the
// default role: users without an explicit role re-resolve (those a mapping
// decides stay). The seat cap is the updated tenant's.
func (t *tenant) defaultRolePlan(c store.Tenant, by store.Actor) ([]store.Move, error) {
	if c.Settings.DefaultRole == t.t.Settings.DefaultRole {
		return nil, nil
	}
	old := t.t
	t.t = c
	defer func() { t.t = old }()
	var ids []string
	for _, rec := range t.userList {
		if !rec.deleted && rec.u.ExplicitRole == "" {
			ids = append(ids, rec.u.ID)
		}
	}
	return t.planMoves(ids, t.roleContext(), nil, by, c.UpdatedAt, nil)
}
