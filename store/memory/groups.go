package memory

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"github.com/roster-dev/roster/store"
)

// unknownMembers lists the ids that are not live users of the tenant, in the
// order given, each once.
func (t *tenant) unknownMembers(ops []store.MemberOp) error {
	var bad []string
	seen := map[string]bool{}
	for _, op := range ops {
		if op.Kind == store.MembersRemove {
			continue // removing a non-member (or a stranger) is a no-op
		}
		for _, id := range op.UserIDs {
			if _, err := t.liveUser(id); err != nil && !seen[id] {
				seen[id] = true
				bad = append(bad, id)
			}
		}
	}
	if len(bad) > 0 {
		return &store.UnknownMembersError{IDs: bad}
	}
	return nil
}

func applyMembers(members map[string]bool, ops []store.MemberOp) (touched int) {
	for _, op := range ops {
		switch op.Kind {
		case store.MembersAdd:
			for _, id := range op.UserIDs {
				if !members[id] {
					members[id] = true
					touched++
				}
			}
		case store.MembersRemove:
			for _, id := range op.UserIDs {
				if members[id] {
					delete(members, id)
					touched++
				}
			}
		case store.MembersReplace:
			keep := make(map[string]bool, len(op.UserIDs))
			for _, id := range op.UserIDs {
				keep[id] = true
			}
			for id := range members {
				if !keep[id] {
					delete(members, id)
					touched++
				}
			}
			for id := range keep {
				if !members[id] {
					members[id] = true
					touched++
				}
			}
		}
	}
	return touched
}

// setMembers applies membership changes to the group.
func (rec *groupRec) setMembers(ops []store.MemberOp) {
	applyMembers(rec.members, ops)
	rec.order = nil
}

func (rec *groupRec) addMember(userID string) {
	rec.members[userID] = true
	rec.order = nil
}

func (rec *groupRec) removeMember(userID string) {
	if rec.members[userID] {
		delete(rec.members, userID)
		rec.order = nil
	}
}

// ordered answers the group's members in user creation order; the slice
// is the group's own, valid until its members change: read it under s.mu
// and copy what leaves the lock.
func (t *tenant) ordered(rec *groupRec) []*userRec {
	if rec.order == nil {
		o := make([]*userRec, 0, len(rec.members))
		for id := range rec.members {
			o = append(o, t.users[id])
		}
		slices.SortFunc(o, func(a, b *userRec) int { return cmp.Compare(a.seq, b.seq) })
		rec.order = o
	}
	return rec.order
}

// view returns a copy of the group with its member count and, when asked, its
// members in the order the users were created.
func (t *tenant) view(rec *groupRec, withMembers bool) store.Group {
	g := rec.g.Clone()
	g.MemberCount = len(rec.members)
	g.Members = nil
	if withMembers {
		g.Members = t.membersOf(rec)
	}
	return g
}

func (t *tenant) membersOf(rec *groupRec) []store.Member {
	return appendMembers(make([]store.Member, 0, len(rec.members)), t.ordered(rec))
}

func appendMembers(out []store.Member, recs []*userRec) []store.Member {
	for _, u := range recs {
		out = append(out, store.Member{UserID: u.u.ID, Display: displayOf(&u.u)})
	}
	return out
}

// GroupMembers copies one chunk of the group's members out of its ordered
// members (store.Store): a binary search finds where the chunk starts.
func (s *Store) GroupMembers(_ context.Context, tenantID, groupID string, after store.MemberPos, limit int) ([]store.Member, store.MemberPos, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil || limit < 1 {
		return []store.Member{}, after, nil
	}
	rec, err := t.liveGroup(groupID)
	if err != nil {
		return []store.Member{}, after, nil
	}
	order := t.ordered(rec)
	from, _ := slices.BinarySearchFunc(order, int64(after)+1, func(u *userRec, seq int64) int { return cmp.Compare(u.seq, seq) })
	chunk := order[from:min(len(order), from+limit)]
	if len(chunk) == 0 {
		return []store.Member{}, after, nil
	}
	return appendMembers(make([]store.Member, 0, len(chunk)), chunk), store.MemberPos(chunk[len(chunk)-1].seq), nil
}

func displayOf(u *store.User) string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.UserName
}

func (s *Store) CreateGroup(_ context.Context, tenantID string, g store.Group, by store.Actor) (store.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.Group{}, err
	}
	if err := store.ValidateGroup(&g); err != nil {
		return store.Group{}, err
	}
	key := store.FoldKey(g.DisplayName)
	if _, taken := t.groupKeys[key]; taken {
		return store.Group{}, &store.ConflictError{Field: "displayName", Value: g.DisplayName}
	}
	ids := make([]string, 0, len(g.Members))
	for _, m := range g.Members {
		ids = append(ids, m.UserID)
	}
	ops := []store.MemberOp{{Kind: store.MembersAdd, UserIDs: ids}}
	if err := t.unknownMembers(ops); err != nil {
		return store.Group{}, err
	}
	if g.ID == "" {
		g.ID = s.newID()
	}
	if _, taken := t.groups[g.ID]; taken {
		return store.Group{}, &store.ConflictError{Field: "id", Value: g.ID}
	}
	now := s.clock()
	g = g.Clone()
	g.TenantID, g.Version, g.CreatedAt, g.UpdatedAt, g.Members = tenantID, 1, now, now, nil
	t.groupSeq++
	rec := &groupRec{g: g, seq: t.groupSeq, members: map[string]bool{}}
	rec.setMembers(ops)
	// Members of a new role group get its role in this change.
	rc := t.roleContext()
	var moves []store.Move
	if store.IsMappedGroup(g.DisplayName, rc.Mappings) {
		ch := &groupChange{rec: rec, name: g.DisplayName, members: rec.members}
		if moves, err = t.planMoves(ids, rc, ch, by, now, nil); err != nil {
			t.groupSeq--
			return store.Group{}, err
		}
	}
	t.groups[g.ID] = rec
	t.groupList = append(t.groupList, rec)
	t.groupKeys[key] = rec
	created := t.view(rec, true)
	t.appendAudit(store.AuditEvent{Time: now, Actor: by, Action: "group.created", TargetType: "group", TargetID: g.ID, After: store.AuditJSON(created)})
	t.applyMoves(moves, by, now, "member of role group "+g.DisplayName, s.newID)
	return created, nil
}

func (t *tenant) liveGroup(id string) (*groupRec, error) {
	rec, ok := t.groups[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return rec, nil
}

func (s *Store) GetGroup(_ context.Context, tenantID, id string, withMembers bool) (store.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.Group{}, err
	}
	rec, err := t.liveGroup(id)
	if err != nil {
		return store.Group{}, err
	}
	return t.view(rec, withMembers), nil
}

func (s *Store) ListGroups(_ context.Context, tenantID string, q store.GroupQuery) (store.GroupPage, error) {
	f, err := store.Normalize(store.Groups, q.Filter)
	if err != nil {
		return store.GroupPage{}, err
	}
	sortBy, err := store.SortAttr(store.Groups, q.SortBy)
	if err != nil {
		return store.GroupPage{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.GroupPage{}, err
	}
	var match []*groupRec
	for _, rec := range t.groupList {
		if f == nil || eval(f, groupValues{t, rec}) {
			match = append(match, rec)
		}
	}
	if sortBy.Name != "" {
		sortStable(match, func(r *groupRec) sortKey { return keyOf(sortBy, groupValues{t, r}) }, q.Descending)
	}
	out := store.GroupPage{Total: len(match), Groups: []store.Group{}}
	for _, rec := range page(match, q.StartIndex, q.Count) {
		out.Groups = append(out.Groups, t.view(rec, q.WithMembers))
	}
	return out, nil
}

func (s *Store) UpdateGroup(_ context.Context, tenantID, id string, by store.Actor, fn func(*store.GroupUpdate) error) (store.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.Group{}, err
	}
	rec, err := t.liveGroup(id)
	if err != nil {
		return store.Group{}, err
	}
	up := store.GroupUpdate{Group: t.view(rec, false)}
	if err := fn(&up); err != nil {
		return store.Group{}, err
	}
	g := up.Group
	if err := store.ValidateGroup(&g); err != nil {
		return store.Group{}, err
	}
	if store.GroupUnchanged(rec.g, g, up.Members) {
		return t.view(rec, false), nil // nothing to write: no new version, no audit event
	}
	oldKey, newKey := store.FoldKey(rec.g.DisplayName), store.FoldKey(g.DisplayName)
	if other, taken := t.groupKeys[newKey]; taken && other != rec {
		return store.Group{}, &store.ConflictError{Field: "displayName", Value: g.DisplayName}
	}
	if err := t.unknownMembers(up.Members); err != nil {
		return store.Group{}, err
	}
	now := s.clock()
	// Members whose role a role group decides re-resolve in this change.
	rc := t.roleContext()
	ch := &groupChange{rec: rec, name: g.DisplayName, members: maps.Clone(rec.members)}
	if applyMembers(ch.members, up.Members) == 0 && store.GroupUnchanged(rec.g, g, nil) {
		// Every operation added only present members and removed only
		// absent ones (the row count PostgreSQL's statements affect).
		return t.view(rec, false), nil
	}
	moves, err := t.planMoves(groupReach(rc, rec.g.DisplayName, rec.members, ch, up.Members), rc, ch, by, now, nil)
	if err != nil {
		return store.Group{}, err
	}
	before := t.view(rec, false)
	g.ID, g.TenantID, g.CreatedAt, g.Version, g.UpdatedAt, g.Members = rec.g.ID, tenantID, rec.g.CreatedAt, rec.g.Version+1, now, nil
	rec.g = g.Clone()
	rec.setMembers(up.Members)
	delete(t.groupKeys, oldKey)
	t.groupKeys[newKey] = rec
	after := t.view(rec, false)
	t.appendAudit(store.AuditEvent{Time: now, Actor: by, Action: "group.updated", TargetType: "group", TargetID: g.ID,
		Detail: store.MemberOpsDetail(up.Members), Before: store.AuditJSON(before), After: store.AuditJSON(after),
		Members: store.CloneMemberOps(up.Members)})
	t.applyMoves(moves, by, now, "membership of role group "+g.DisplayName, s.newID)
	return after, nil
}

func (s *Store) DeleteGroup(_ context.Context, tenantID, id string, by store.Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return err
	}
	rec, err := t.liveGroup(id)
	if err != nil {
		return err
	}
	now := s.clock()
	// Deleting a role group re-resolves its members.
	rc := t.roleContext()
	ch := &groupChange{rec: rec, name: rec.g.DisplayName}
	moves, err := t.planMoves(groupReach(rc, rec.g.DisplayName, rec.members, ch, nil), rc, ch, by, now, nil)
	if err != nil {
		return err
	}
	before := t.view(rec, false)
	delete(t.groups, id)
	t.groupList = slices.DeleteFunc(t.groupList, func(g *groupRec) bool { return g == rec })
	delete(t.groupKeys, store.FoldKey(rec.g.DisplayName))
	t.appendAudit(store.AuditEvent{Time: now, Actor: by, Action: "group.deleted", TargetType: "group", TargetID: id, Before: store.AuditJSON(before)})
	t.applyMoves(moves, by, now, "role group "+rec.g.DisplayName+" deleted", s.newID)
	return nil
}

func (s *Store) UserGroups(_ context.Context, tenantID, userID string) ([]store.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	if _, err := t.liveUser(userID); err != nil {
		return nil, err
	}
	out := []store.Group{}
	for _, rec := range t.groupList {
		if rec.members[userID] {
			out = append(out, t.view(rec, false))
		}
	}
	return out, nil
}
