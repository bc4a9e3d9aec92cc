package memory

import (
	"context"
	"time"

	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

func (s *Store) CreateUser(_ context.Context, tenantID string, u store.User, by store.Actor) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.User{}, err
	}
	return s.createUser(t, u, by)
}

// createUser creates a user; the caller holds s.mu.
func (s *Store) createUser(t *tenant, u store.User, by store.Actor) (store.User, error) {
	c, err := s.prepareCreation(t, u, by, s.clock())
	if err != nil {
		return store.User{}, err
	}
	if err := t.checkCap(licensing.Delta(c.ts), c.u.CreatedAt); err != nil {
		return store.User{}, err
	}
	return t.commitCreation(c, by, s.newID), nil
}

// creation is a user creation checked and resolved, not yet written.
type creation struct {
	u  store.User
	d  store.RoleDecision
	ts []licensing.Transition
}

// prepareCreation checks a creation (validation, stores, a free userName
// and id) and resolves its role and seat at now, writing nothing; the seat
// cap is the caller's to check.
func (s *Store) prepareCreation(t *tenant, u store.User, by store.Actor, now time.Time) (creation, error) {
	tenantID := t.t.ID
	if err := store.ValidateUser(&u); err != nil {
		return creation{}, err
	}
	if err := t.checkStores(u.Stores); err != nil {
		return creation{}, err
	}
	if existing, taken := t.byKey[store.FoldKey(u.UserName)]; taken {
		return creation{}, store.NewUserExistsError(existing.u, u) // names the role they hold
	}
	if u.ID == "" {
		u.ID = s.newID()
	}
	if _, taken := t.users[u.ID]; taken {
		return creation{}, &store.ConflictError{Field: "id", Value: u.ID}
	}
	u = u.Clone()
	u.TenantID, u.Version, u.CreatedAt, u.UpdatedAt = tenantID, 1, now, now
	d, err := store.DecideRole(t.roleContext(), nil, &u, nil, by) // a new user is in no group yet
	if err != nil {
		return creation{}, err
	}
	u.Seat = licensing.SeatFor(u.Active, d.Class)
	return creation{u: u, d: d, ts: licensing.SeatTransitions(licensing.OnCreate, store.SeatNone, u.Seat, false)}, nil
}

// commitCreation writes a prepared creation: the user, its ledger entry,
// its audit events.
func (t *tenant) commitCreation(c creation, by store.Actor, newID func() string) store.User {
	u, now := c.u, c.u.CreatedAt
	t.recordSeats(c.ts, u.ID, by, now)
	t.userSeq++
	rec := &userRec{u: u, seq: t.userSeq}
	t.users[u.ID] = rec
	t.userList = append(t.userList, rec)
	t.byKey[store.FoldKey(u.UserName)] = rec
	t.indexEmail(rec)
	t.appendAudit(store.AuditEvent{Time: now, Actor: by, Action: "user.created", TargetType: "user", TargetID: u.ID, After: store.AuditJSON(u)})
	t.recordDecision(c.d, u.ID, by, now, newID)
	return u.Clone()
}

func (t *tenant) liveUser(id string) (*userRec, error) {
	rec, ok := t.users[id]
	if !ok || rec.deleted {
		return nil, store.ErrNotFound
	}
	return rec, nil
}

func (s *Store) GetUser(_ context.Context, tenantID, id string) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.User{}, err
	}
	rec, err := t.liveUser(id)
	if err != nil {
		return store.User{}, err
	}
	return rec.u.Clone(), nil
}

func (s *Store) GetUserByUserName(_ context.Context, tenantID, userName string) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.User{}, err
	}
	rec, ok := t.byKey[store.FoldKey(userName)]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return rec.u.Clone(), nil
}

func (s *Store) ListUsers(_ context.Context, tenantID string, q store.UserQuery) (store.UserPage, error) {
	f, err := store.Normalize(store.Users, q.Filter)
	if err != nil {
		return store.UserPage{}, err
	}
	sortBy, err := store.SortAttr(store.Users, q.SortBy)
	if err != nil {
		return store.UserPage{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.UserPage{}, err
	}
	var match []*userRec
	for _, rec := range t.userList {
		if !rec.deleted && (f == nil || eval(f, userValues{&rec.u})) {
			match = append(match, rec)
		}
	}
	if sortBy.Name != "" {
		sortStable(match, func(r *userRec) sortKey { return keyOf(sortBy, userValues{&r.u}) }, q.Descending)
	}
	out := store.UserPage{Total: len(match), Users: []store.User{}}
	for _, rec := range page(match, q.StartIndex, q.Count) {
		out.Users = append(out.Users, rec.u.Clone())
	}
	return out, nil
}

func (s *Store) UpdateUser(_ context.Context, tenantID, id string, by store.Actor, fn func(*store.User) error) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.User{}, err
	}
	return s.updateUser(t, id, by, fn)
}

// updateUser updates a user; the caller holds s.mu.
func (s *Store) updateUser(t *tenant, id string, by store.Actor, fn func(*store.User) error) (store.User, error) {
	rec, err := t.liveUser(id)
	if err != nil {
		return store.User{}, err
	}
	old := rec.u
	u := old.Clone()
	if err := fn(&u); err != nil {
		return store.User{}, err
	}
	if err := store.ValidateUser(&u); err != nil {
		return store.User{}, err
	}
	if store.SameUser(old, u) {
		return old.Clone(), nil // nothing to write: no new version, no audit or seat event
	}
	if err := t.checkStores(u.Stores); err != nil {
		return store.User{}, err
	}
	oldKey, newKey := store.FoldKey(old.UserName), store.FoldKey(u.UserName)
	if other, taken := t.byKey[newKey]; taken && other != rec {
		return store.User{}, &store.ConflictError{Field: "userName", Value: u.UserName}
	}
	now := s.clock()
	u.ID, u.TenantID, u.CreatedAt, u.Version, u.UpdatedAt = old.ID, old.TenantID, old.CreatedAt, old.Version+1, now
	d, err := store.DecideRole(t.roleContext(), &old, &u, t.groupNames(old.ID, nil), by)
	if err != nil {
		return store.User{}, err
	}
	u.Seat = licensing.SeatFor(u.Active, d.Class)
	ts := licensing.SeatTransitions(licensing.OnUpdate, old.Seat, u.Seat, store.Expired(u.AccessExpiresAt, now))
	if err := t.checkCap(licensing.Delta(ts), now); err != nil {
		return store.User{}, err
	}
	t.recordSeats(ts, u.ID, by, now)
	rec.u = u.Clone()
	if old.Active && !u.Active {
		s.endSessions(t, u.ID) // deactivation signs the user out
	}
	delete(t.byKey, oldKey)
	t.byKey[newKey] = rec
	t.indexEmail(rec)
	t.appendAudit(store.AuditEvent{Time: now, Actor: by, Action: "user.updated", TargetType: "user", TargetID: u.ID,
		Before: store.AuditJSON(old), After: store.AuditJSON(u)})
	t.recordDecision(d, u.ID, by, now, s.newID)
	return u, nil
}

func (s *Store) DeleteUser(_ context.Context, tenantID, id string, by store.Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return err
	}
	rec, err := t.liveUser(id)
	if err != nil {
		return err
	}
	now := s.clock()
	before := store.AuditJSON(rec.u)
	t.recordSeats(licensing.SeatTransitions(licensing.OnDelete, rec.u.Seat, store.SeatNone, false), id, by, now)
	rec.deleted = true
	t.supersede(func(a store.Approval) bool { return a.UserID == id }, now) // nobody left to approve
	rec.u.Seat, rec.u.UpdatedAt = store.SeatNone, now
	rec.u.Stores = nil // deleting a user removes all their store access
	s.endSessions(t, id)
	delete(t.byKey, store.FoldKey(rec.u.UserName))
	for _, g := range t.groupList {
		g.removeMember(id)
	}
	t.appendAudit(store.AuditEvent{Time: now, Actor: by, Action: "user.deleted", TargetType: "user", TargetID: id, Before: before})
	return nil
}
