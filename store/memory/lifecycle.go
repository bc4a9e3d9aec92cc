package memory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/roster-dev/roster/store"
)

// Sign-in and lifecycle: sessions, spent SAML assertions, the store
// catalogue and the access-expiry query. Everything runs under s.mu like the
// rest of the backend, so each method is one atomic step.

// lifeIndex is the store-wide part: sessions by id (ids are unique across
// tenants). A session belongs to the tenant record it was created in; a
// tenant deleted and created again under the same id does not inherit it.
type lifeIndex struct {
	sessions map[string]sessionRec
}

type sessionRec struct {
	s store.Session
	t *tenant
}

// tenantLife is the per-tenant part, stored on the tenant.
type tenantLife struct {
	assertions map[assertionKey]time.Time    // spent assertion → remembered until
	requests   map[string]store.AuthnRequest // AuthnRequests in flight by RelayState
	outlets    map[string]store.Outlet
	outletList []string                     // ids in creation order
	links      map[string]store.ConsoleLink // console links by string(code hash)
}

type assertionKey struct{ issuer, id string }

// live returns the tenant a session belongs to when that tenant still exists.
func (s *Store) sessionTenant(rec sessionRec) (*tenant, bool) {
	t, ok := s.tenants[rec.s.TenantID]
	return t, ok && t == rec.t
}

// endSessions removes every session of a user; the caller holds s.mu. It is
// called when the user is deactivated or deleted, so that a later
// reactivation does not revive them.
func (s *Store) endSessions(t *tenant, userID string) {
	for id, rec := range s.life.sessions {
		if rec.t == t && rec.s.UserID == userID {
			delete(s.life.sessions, id)
		}
	}
}

// checkStores refuses stores that are not in the tenant's catalogue; the
// caller holds s.mu.
func (t *tenant) checkStores(stores []string) error {
	missing := store.MissingStores(stores, func(id string) bool {
		_, ok := t.life.outlets[id]
		return ok
	})
	if len(missing) > 0 {
		return &store.UnknownStoresError{Stores: missing}
	}
	return nil
}

// The sign-in parts of Change (store.Lock.Spend, store.View.Replayed and
// Deleted, store.Plan.Session, LastActive and Audit); the caller holds s.mu.

// viewSignIn reads, for the View, whether lock.Spend was spent already and
// which of ids name deleted users.
func (t *tenant) viewSignIn(v *store.View, lock store.Lock, ids []string) {
	if a := lock.Spend; a != nil {
		until, used := t.life.assertions[assertionKey{a.Issuer, a.ID}]
		v.Replayed = used && until.After(v.Now)
	}
	if lock.Link != nil {
		if l, ok := t.life.links[string(lock.Link)]; ok {
			l = l.Clone()
			v.Link = &l
		}
	}
	v.Deleted = map[string]bool{}
	for _, id := range ids {
		if rec, ok := t.users[id]; ok && rec.deleted {
			v.Deleted[id] = true
		}
	}
}

// checkSignIn refuses, before anything is written, a plan's session whose
// id is taken (ids are unique across tenants) or whose user it did not lock.
func (s *Store) checkSignIn(t *tenant, v *store.View, p *store.Plan) error {
	for _, id := range p.LastActive {
		if _, ok := v.Users[id]; !ok {
			return fmt.Errorf("memory: a plan may record activity only of a user it locked")
		}
	}
	if l := p.NewLink; l != nil {
		if _, ok := v.Users[l.UserID]; !ok {
			return fmt.Errorf("memory: a plan may store a console link only for a user it locked")
		}
		if _, taken := t.life.links[string(l.Hash)]; taken {
			return &store.ConflictError{Field: "code", Value: "(console link code)"}
		}
	}
	if p.UseLink && v.Link == nil {
		return fmt.Errorf("memory: a plan may use only the console link it locked")
	}
	if p.Session == nil {
		return nil
	}
	if _, ok := v.Users[p.Session.UserID]; !ok {
		return fmt.Errorf("memory: a plan may start a session only for a user it locked")
	}
	if _, taken := s.life.sessions[p.Session.ID]; taken {
		return &store.ConflictError{Field: "id", Value: p.Session.ID}
	}
	return nil
}

// applySignIn writes the spend, the last-active times, the session and the
// further audit events of a checked plan.
func (s *Store) applySignIn(t *tenant, lock store.Lock, v *store.View, p *store.Plan) {
	if a := lock.Spend; a != nil && !v.Replayed {
		if t.life.assertions == nil {
			t.life.assertions = map[assertionKey]time.Time{}
		}
		t.life.assertions[assertionKey{a.Issuer, a.ID}] = store.Timestamp(a.ExpiresAt)
	}
	for _, id := range p.LastActive {
		now := v.Now
		t.users[id].u.LastActiveAt = &now
	}
	if l := p.NewLink; l != nil {
		if t.life.links == nil {
			t.life.links = map[string]store.ConsoleLink{}
		}
		c := l.Clone()
		c.TenantID = t.t.ID
		t.life.links[string(c.Hash)] = c
	}
	if p.UseLink {
		l := t.life.links[string(lock.Link)]
		now := v.Now
		l.UsedAt = &now
		t.life.links[string(lock.Link)] = l
	}
	if p.Session != nil {
		sess := p.Session.Clone()
		sess.TenantID = t.t.ID
		if s.life.sessions == nil {
			s.life.sessions = map[string]sessionRec{}
		}
		s.life.sessions[sess.ID] = sessionRec{s: sess, t: t}
	}
	for _, e := range p.Audit {
		e.Time, e.Actor = v.Now, p.By
		t.appendAudit(e)
	}
}

func (s *Store) GetSession(_ context.Context, id string) (store.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.life.sessions[id]
	if !ok {
		return store.Session{}, store.ErrNotFound
	}
	if _, ok := s.sessionTenant(rec); !ok {
		delete(s.life.sessions, id)
		return store.Session{}, store.ErrNotFound
	}
	return rec.s.Clone(), nil
}

func (s *Store) DeleteSession(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.life.sessions[id]
	if !ok {
		return store.ErrNotFound
	}
	delete(s.life.sessions, id)
	if _, ok := s.sessionTenant(rec); !ok {
		return store.ErrNotFound
	}
	return nil
}

func (s *Store) PurgeExpired(_ context.Context, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, rec := range s.life.sessions {
		if _, live := s.sessionTenant(rec); !live || !rec.s.ExpiresAt.After(now) {
			delete(s.life.sessions, id)
			n++
		}
	}
	for _, t := range s.tenants {
		for k, until := range t.life.assertions {
			if !until.After(now) {
				delete(t.life.assertions, k)
				n++
			}
		}
		for k, r := range t.life.requests {
			if !r.ExpiresAt.After(now) {
				delete(t.life.requests, k)
				n++
			}
		}
		for k, l := range t.life.links {
			if !l.ExpiresAt.After(now.Add(-store.ConsoleLinkRetention)) {
				delete(t.life.links, k)
				n++
			}
		}
	}
	return n, nil
}

func (s *Store) DueExpirations(_ context.Context, now time.Time, limit int) ([]store.UserRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	type due struct {
		ref store.UserRef
		at  time.Time
	}
	var all []due
	for _, tid := range s.order {
		for _, rec := range s.tenants[tid].userList {
			if !rec.deleted && rec.u.Active && store.Expired(rec.u.AccessExpiresAt, now) {
				all = append(all, due{store.UserRef{TenantID: tid, UserID: rec.u.ID}, *rec.u.AccessExpiresAt})
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	out := make([]store.UserRef, 0, len(all))
	for _, d := range all {
		out = append(out, d.ref)
	}
	return out, nil
}

// ---- store catalogue ----

func (s *Store) CreateOutlet(_ context.Context, tenantID string, o store.Outlet, by store.Actor) (store.Outlet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.Outlet{}, err
	}
	if err := store.ValidateOutlet(&o); err != nil {
		return store.Outlet{}, err
	}
	if _, taken := t.life.outlets[o.ID]; taken {
		return store.Outlet{}, &store.ConflictError{Field: "id", Value: o.ID}
	}
	now := s.clock()
	o.TenantID, o.CreatedAt, o.UpdatedAt = tenantID, now, now
	if t.life.outlets == nil {
		t.life.outlets = map[string]store.Outlet{}
	}
	t.life.outlets[o.ID] = o
	t.life.outletList = append(t.life.outletList, o.ID)
	t.appendAudit(store.AuditEvent{Time: now, Actor: by, Action: "store.created", TargetType: "store", TargetID: o.ID,
		After: store.AuditJSON(o)})
	return o, nil
}

func (s *Store) ListOutlets(_ context.Context, tenantID string) ([]store.Outlet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]store.Outlet, 0, len(t.life.outletList))
	for _, id := range t.life.outletList {
		out = append(out, t.life.outlets[id])
	}
	return out, nil
}

func (s *Store) RenameOutlet(_ context.Context, tenantID, id, name string, by store.Actor) (store.Outlet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.Outlet{}, err
	}
	old, ok := t.life.outlets[id]
	if !ok {
		return store.Outlet{}, store.ErrNotFound
	}
	o := old
	o.Name, o.UpdatedAt = name, s.clock()
	if err := store.ValidateOutlet(&o); err != nil {
		return store.Outlet{}, err
	}
	t.life.outlets[id] = o
	t.appendAudit(store.AuditEvent{Time: o.UpdatedAt, Actor: by, Action: "store.updated", TargetType: "store", TargetID: id,
		Before: store.AuditJSON(old), After: store.AuditJSON(o)})
	return o, nil
}

func (s *Store) DeleteOutlet(_ context.Context, tenantID, id string, by store.Actor) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return 0, err
	}
	old, ok := t.life.outlets[id]
	if !ok {
		return 0, store.ErrNotFound
	}
	now := s.clock()
	n := 0
	for _, rec := range t.userList {
		if rec.deleted || !slices.Contains(rec.u.Stores, id) {
			continue
		}
		before := rec.u.Clone()
		rec.u.Stores = slices.DeleteFunc(slices.Clone(rec.u.Stores), func(x string) bool { return x == id })
		rec.u.Version, rec.u.UpdatedAt = rec.u.Version+1, now
		t.appendAudit(store.AuditEvent{Time: now, Actor: by, Action: "user.updated", TargetType: "user", TargetID: rec.u.ID,
			Detail: "store " + id + " deleted from the catalogue", Before: store.AuditJSON(before), After: store.AuditJSON(rec.u)})
		n++
	}
	delete(t.life.outlets, id)
	t.life.outletList = slices.DeleteFunc(t.life.outletList, func(x string) bool { return x == id })
	t.appendAudit(store.AuditEvent{Time: now, Actor: by, Action: "store.deleted", TargetType: "store", TargetID: id,
		Before: store.AuditJSON(old)})
	return n, nil
}

// ---- AuthnRequests in flight ----

func (s *Store) PutAuthnRequest(_ context.Context, tenantID string, r store.AuthnRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return err
	}
	if r.RelayState == "" || r.RequestID == "" {
		return &store.InvalidError{Field: "relayState", Reason: "and the request id are required"}
	}
	if _, taken := t.life.requests[r.RelayState]; taken {
		return &store.ConflictError{Field: "relayState", Value: r.RelayState}
	}
	if t.life.requests == nil {
		t.life.requests = map[string]store.AuthnRequest{}
	}
	r.TenantID, r.ExpiresAt, r.BrowserHash = tenantID, store.Timestamp(r.ExpiresAt), slices.Clone(r.BrowserHash)
	t.life.requests[r.RelayState] = r
	return nil
}

func (s *Store) TakeAuthnRequest(_ context.Context, tenantID, relayState string) (store.AuthnRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.AuthnRequest{}, err
	}
	r, ok := t.life.requests[relayState]
	if !ok {
		return store.AuthnRequest{}, store.ErrNotFound
	}
	delete(t.life.requests, relayState)
	if !r.ExpiresAt.After(s.clock()) {
		return store.AuthnRequest{}, store.ErrNotFound
	}
	return r, nil
}
