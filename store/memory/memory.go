// Package memory is the embedded Store: everything in process memory behind
// one mutex. It is Roster's default backend and a second implementation of the
// store contract (store/storetest runs against it and PostgreSQL alike).
package memory

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// Options are the injected dependencies of a Store.
type Options struct {
	Now   func() time.Time // default time.Now
	NewID func() string    // default a random UUID
}

// Store is an in-memory store.Store.
type Store struct {
	now   func() time.Time
	newID func() string

	mu      sync.Mutex
	tenants map[string]*tenant
	order   []string           // tenant ids in creation order
	opAudit []store.AuditEvent // the operator trail (store.OperatorTrail)
	life    lifeIndex          // sessions (lifecycle.go)
	keys    apiKeys            // tenants' admin API keys (apikeys.go)
	events  eventHub           // outbound events and deliveries (events.go)
}

var _ store.Store = (*Store)(nil)

type tenant struct {
	t      store.Tenant
	counts store.SeatCounts

	userSeq  int64
	users    map[string]*userRec // by id, deleted ones included
	userList []*userRec          // creation order
	byKey    map[string]*userRec // live users by FoldKey(userName)
	// byEmail lists, by email key (store.EmailKey), the users written with
	// it: a superset, as a user may since have been deleted or have changed
	// address; readers check (change_keys.go).
	byEmail map[string][]*userRec

	groupSeq  int64
	groups    map[string]*groupRec
	groupList []*groupRec
	groupKeys map[string]*groupRec

	tokens     map[string]store.Token
	tokenOrder []string
	saml       *store.SAMLConfig
	spKey      *spKeyPair // SAML SP key pair (scimauth.go)
	roles      map[string]store.Role
	roleOrder  []string
	mappings   []store.RoleMapping
	seatEvents []store.SeatEvent
	audit      []store.AuditEvent
	approvals  []store.Approval   // privileged grants waiting for an operator (roles.go)
	life       tenantLife         // spent assertions, store catalogue (lifecycle.go)
	jobs       map[string]*jobRec // background jobs by id (jobs.go)
	jobOrder   []string
	ev         tenantEvents // events, webhooks, deliveries (events.go)
}

type userRec struct {
	u       store.User
	seq     int64
	deleted bool
}

type groupRec struct {
	g       store.Group
	seq     int64
	members map[string]bool // user ids; change it only through setMembers, addMember, removeMember
	// order is the members sorted by user creation, built by the first read
	// that needs it after a change (nil: not built), so that members are
	// read in chunks without sorting or copying the whole group per chunk.
	order []*userRec
}

// New returns an empty store.
func New(opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = uuid.NewString
	}
	return &Store{now: opts.Now, newID: opts.NewID, tenants: map[string]*tenant{}}
}

func (s *Store) clock() time.Time { return store.Timestamp(s.now()) }

// tenant returns the tenant's data; the caller holds s.mu.
func (s *Store) tenant(id string) (*tenant, error) {
	t, ok := s.tenants[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return t, nil
}

// Ping always succeeds.
func (s *Store) Ping(context.Context) error { return nil }

// Close does nothing.
func (s *Store) Close() {}

// ---- tenants ----

func (s *Store) CreateTenant(_ context.Context, t store.Tenant, by store.Actor) (store.Tenant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.ID == "" {
		return store.Tenant{}, &store.InvalidError{Field: "id", Reason: "is required"}
	}
	if err := t.ValidateContract(); err != nil {
		return store.Tenant{}, err
	}
	if _, ok := s.tenants[t.ID]; ok {
		return store.Tenant{}, &store.ConflictError{Field: "id", Value: t.ID}
	}
	now := s.clock()
	t = t.Clone()
	t.CreatedAt, t.UpdatedAt = now, now
	if t.ContractStart.IsZero() {
		t.ContractStart = now
	}
	s.tenants[t.ID] = &tenant{
		t:         t,
		users:     map[string]*userRec{},
		byKey:     map[string]*userRec{},
		groups:    map[string]*groupRec{},
		groupKeys: map[string]*groupRec{},
		tokens:    map[string]store.Token{},
		roles:     map[string]store.Role{},
		ev:        tenantEvents{hub: &s.events},
	}
	s.order = append(s.order, t.ID)
	s.tenants[t.ID].appendAudit(store.AuditEvent{Time: now, Actor: by, Action: store.ActionTenantCreated,
		TargetType: "tenant", TargetID: t.ID, After: store.TenantAudit(t)})
	return t.Clone(), nil
}

func (s *Store) GetTenant(_ context.Context, id string) (store.Tenant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(id)
	if err != nil {
		return store.Tenant{}, err
	}
	return t.t.Clone(), nil
}

func (s *Store) ListTenants(context.Context) ([]store.Tenant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]store.Tenant, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.tenants[id].t.Clone())
	}
	return out, nil
}

func (s *Store) DeleteTenant(_ context.Context, id string, by store.Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(id)
	if err != nil {
		return err
	}
	s.opAudit = append(s.opAudit, store.AuditEvent{TenantID: store.OperatorTrail, Seq: int64(len(s.opAudit) + 1),
		Time: s.clock(), Actor: by, Action: store.ActionTenantDeleted, TargetType: "tenant", TargetID: id,
		Before: store.TenantAudit(t.t)})
	delete(s.tenants, id)
	s.keys.dropTenant(id)
	s.order = slices.DeleteFunc(s.order, func(x string) bool { return x == id })
	return nil
}

func (s *Store) SeatCounts(_ context.Context, tenantID string) (store.SeatCounts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.SeatCounts{}, err
	}
	return t.counts, nil
}

func (s *Store) SeatsByPlan(_ context.Context) ([]store.PlanSeats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := map[string]int{}
	var out []store.PlanSeats
	for _, t := range s.tenants {
		i, ok := at[t.t.Plan]
		if !ok {
			i = len(out)
			at[t.t.Plan] = i
			out = append(out, store.PlanSeats{Plan: t.t.Plan})
		}
		out[i].Tenants++
		out[i].Seats.Full += t.counts.Full
		out[i].Seats.Light += t.counts.Light
	}
	slices.SortFunc(out, func(a, b store.PlanSeats) int { return cmp.Compare(a.Plan, b.Plan) })
	return out, nil
}

// ---- tokens ----

func (s *Store) CreateToken(_ context.Context, tenantID string, tok store.Token, by store.Actor) (store.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.Token{}, err
	}
	if tok.ID == "" {
		tok.ID = s.newID()
	}
	if _, ok := t.tokens[tok.ID]; ok {
		return store.Token{}, &store.ConflictError{Field: "id", Value: tok.ID}
	}
	tok = tok.Clone()
	tok.TenantID, tok.CreatedAt = tenantID, s.clock()
	t.tokens[tok.ID] = tok
	t.tokenOrder = append(t.tokenOrder, tok.ID)
	t.appendAudit(store.AuditEvent{Time: tok.CreatedAt, Actor: by, Action: store.ActionTokenCreated,
		TargetType: "token", TargetID: tok.ID, After: store.TokenAudit(tok)})
	return tok.Clone(), nil
}

func (s *Store) GetToken(_ context.Context, tenantID, id string) (store.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.Token{}, err
	}
	tok, ok := t.tokens[id]
	if !ok {
		return store.Token{}, store.ErrNotFound
	}
	return tok.Clone(), nil
}

func (s *Store) ListTokens(_ context.Context, tenantID string) ([]store.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]store.Token, 0, len(t.tokenOrder))
	for _, id := range t.tokenOrder {
		out = append(out, t.tokens[id].Clone())
	}
	return out, nil
}

func (s *Store) RevokeToken(_ context.Context, tenantID, id string, at time.Time, by store.Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return err
	}
	tok, ok := t.tokens[id]
	if !ok {
		return store.ErrNotFound
	}
	if tok.RevokedAt == nil {
		before := store.TokenAudit(tok)
		at = store.Timestamp(at)
		tok.RevokedAt = &at
		t.tokens[id] = tok
		t.appendAudit(store.AuditEvent{Time: s.clock(), Actor: by, Action: store.ActionTokenRevoked,
			TargetType: "token", TargetID: id, Before: before, After: store.TokenAudit(tok)})
	}
	return nil
}

func (s *Store) TouchTokens(_ context.Context, used map[store.TokenKey]time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, at := range used {
		t, ok := s.tenants[k.TenantID]
		if !ok {
			continue
		}
		tok, ok := t.tokens[k.ID]
		if !ok {
			continue
		}
		at = store.Timestamp(at)
		if tok.LastUsedAt == nil || at.After(*tok.LastUsedAt) {
			tok.LastUsedAt = &at
			t.tokens[k.ID] = tok
		}
	}
	return nil
}

// ---- SAML ----

func (s *Store) PutSAMLConfig(_ context.Context, tenantID string, c store.SAMLConfig, by store.Actor) (store.SAMLConfig, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.SAMLConfig{}, err
	}
	c.TenantID, c.UpdatedAt, c.CertNotAfter = tenantID, s.clock(), store.Timestamp(c.CertNotAfter)
	var before string
	if t.saml != nil {
		before = store.SAMLAudit(*t.saml)
	}
	t.saml = &c
	t.appendAudit(store.AuditEvent{Time: c.UpdatedAt, Actor: by, Action: store.ActionSAMLUpdated,
		TargetType: "saml", TargetID: tenantID, Before: before, After: store.SAMLAudit(c)})
	return c, nil
}

func (s *Store) GetSAMLConfig(_ context.Context, tenantID string) (store.SAMLConfig, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.SAMLConfig{}, err
	}
	if t.saml == nil {
		return store.SAMLConfig{}, store.ErrNotFound
	}
	return *t.saml, nil
}

func (s *Store) DeleteSAMLConfig(_ context.Context, tenantID string, by store.Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return err
	}
	if t.saml == nil {
		return store.ErrNotFound
	}
	t.appendAudit(store.AuditEvent{Time: s.clock(), Actor: by, Action: store.ActionSAMLDeleted,
		TargetType: "saml", TargetID: tenantID, Before: store.SAMLAudit(*t.saml)})
	t.saml = nil
	return nil
}

// ---- seats, ledger, audit ----

// seatClassOf is the seat class of a role name in the tenant: a custom role's
// own class, else full.
func (t *tenant) seatClassOf(role string) store.SeatClass {
	if r, ok := t.roles[role]; ok && r.SeatClass == store.SeatLight {
		return store.SeatLight
	}
	return store.SeatFull
}

// checkCap refuses a change of seat counts that the cap does not allow
// (licensing.CapAllows): one that would take more full seats than are usable
// at now — the purchased seats in force (a pending reduction counts from its
// renewal), raised to the contract minimum on a paid plan
// (licensing.Contract.UsableAt) — unless the tenant allows overage.
func (t *tenant) checkCap(d store.SeatCounts, now time.Time) error {
	c := t.t.Contract()
	usable := c.UsableAt(now)
	if !licensing.CapAllows(t.counts.Full, d.Full, usable, c.Overage) {
		return &store.SeatLimitError{TenantID: t.t.ID, InUse: t.counts.Full, Purchased: usable}
	}
	return nil
}

// recordSeats moves the counters and appends the ledger entries of a change
// that checkCap has allowed.
func (t *tenant) recordSeats(ts []licensing.Transition, userID string, by store.Actor, now time.Time) {
	d := licensing.Delta(ts)
	t.counts.Full += d.Full
	t.counts.Light += d.Light
	for _, tr := range ts {
		t.seatEvents = append(t.seatEvents, store.SeatEvent{
			TenantID: t.t.ID, Seq: int64(len(t.seatEvents) + 1), Time: now, UserID: userID,
			Class: tr.Class, Delta: tr.Delta, Reason: tr.Reason, Actor: by,
		})
		t.ev.seatDrafts = append(t.ev.seatDrafts, store.EventOfSeat(t.seatEvents[len(t.seatEvents)-1]))
	}
}

func (t *tenant) appendAudit(e store.AuditEvent) {
	e.TenantID = t.t.ID
	e.Seq = int64(len(t.audit) + 1)
	e.Time = store.Timestamp(e.Time)
	t.audit = append(t.audit, e)
	// A change's events are those of its audit events, then those of the
	// seat-ledger entries it recorded before them (docs/events.md).
	t.ev.emit(store.EventsOfAudit(e)...)
	for _, d := range t.ev.seatDrafts {
		t.ev.emit(d)
	}
	t.ev.seatDrafts = t.ev.seatDrafts[:0]
}

func (s *Store) ListSeatEvents(_ context.Context, tenantID string, q store.EventQuery) ([]store.SeatEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	limit := eventLimit(q.Limit)
	out := []store.SeatEvent{}
	for i := range t.seatEvents {
		e := t.seatEvents[i]
		after := e.Seq > q.After
		if q.Newest {
			e = t.seatEvents[len(t.seatEvents)-1-i]
			after = q.After <= 0 || e.Seq < q.After
		}
		if !after || !inRange(e.Time, q) || (q.UserID != "" && e.UserID != q.UserID) {
			continue
		}
		out = append(out, e)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

func (s *Store) SeatHistory(_ context.Context, tenantID string, from, to time.Time) (store.SeatHistory, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.SeatHistory{}, err
	}
	// The entries before from are summed as licensing replays a ledger.
	var h store.SeatHistory
	var before []licensing.SeatMove
	for _, e := range t.seatEvents {
		m := licensing.SeatMove{Time: e.Time, UserID: e.UserID, Class: e.Class, Delta: e.Delta}
		switch {
		case e.Time.Before(from):
			before = append(before, m)
		case to.IsZero() || e.Time.Before(to):
			h.Moves = append(h.Moves, m)
		}
	}
	h.Opening = licensing.Replay(before)
	return h, nil
}

func (s *Store) AppendAudit(_ context.Context, tenantID string, e store.AuditEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return err
	}
	if e.Time.IsZero() {
		e.Time = s.clock()
	}
	t.appendAudit(e)
	return nil
}

func (s *Store) ListAudit(_ context.Context, tenantID string, q store.EventQuery) ([]store.AuditEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	trail := s.opAudit
	if tenantID != store.OperatorTrail {
		t, err := s.tenant(tenantID)
		if err != nil {
			return nil, err
		}
		trail = t.audit
	}
	limit := eventLimit(q.Limit)
	out := []store.AuditEvent{}
	for i := len(trail) - 1; i >= 0; i-- {
		e := trail[i]
		if (q.After > 0 && e.Seq >= q.After) || !inRange(e.Time, q) ||
			(q.UserID != "" && (e.TargetType != "user" || e.TargetID != q.UserID)) ||
			(q.ActorID != "" && e.Actor.ID != q.ActorID) || (q.Action != "" && e.Action != q.Action) {
			continue
		}
		e.Members = nil
		out = append(out, e)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

func eventLimit(n int) int {
	if n <= 0 {
		return 100
	}
	return n
}

func inRange(at time.Time, q store.EventQuery) bool {
	return (q.From.IsZero() || !at.Before(q.From)) && (q.To.IsZero() || at.Before(q.To))
}

// ---- roles ----

func (s *Store) CreateRole(_ context.Context, tenantID string, r store.Role, by store.Actor) (store.Role, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.Role{}, err
	}
	if err := store.ValidateRole(&r); err != nil {
		return store.Role{}, err
	}
	if _, ok := t.roles[r.Name]; ok {
		return store.Role{}, &store.ConflictError{Field: "name", Value: r.Name}
	}
	now := s.clock()
	r = r.Clone()
	r.TenantID, r.CreatedAt, r.UpdatedAt = tenantID, now, now
	if r.SeatClass == "" {
		r.SeatClass = store.SeatFull
	}
	t.roles[r.Name] = r
	t.roleOrder = append(t.roleOrder, r.Name)
	t.appendAudit(store.AuditEvent{Time: now, Actor: by, Action: store.ActionRoleCreated,
		TargetType: "role", TargetID: r.Name, After: store.RoleAudit(r)})
	return r.Clone(), nil
}

func (s *Store) GetRole(_ context.Context, tenantID, name string) (store.Role, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.Role{}, err
	}
	r, ok := t.roles[name]
	if !ok {
		return store.Role{}, store.ErrNotFound
	}
	return r.Clone(), nil
}

func (s *Store) ListRoles(_ context.Context, tenantID string) ([]store.Role, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]store.Role, 0, len(t.roleOrder))
	for _, name := range t.roleOrder {
		out = append(out, t.roles[name].Clone())
	}
	return out, nil
}

func (s *Store) GetRoleMappings(_ context.Context, tenantID string) ([]store.RoleMapping, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(t.mappings)
	if out == nil {
		out = []store.RoleMapping{}
	}
	return out, nil
}

// page slices a filtered, ordered list by 1-based startIndex and count.
func page[T any](all []T, startIndex, count int) []T {
	if startIndex < 1 {
		startIndex = 1
	}
	if count <= 0 || startIndex > len(all) {
		return []T{}
	}
	end := min(startIndex-1+count, len(all))
	return all[startIndex-1 : end]
}

// sortStable orders items by key when a sort attribute is given; ties (and no
// sort) keep creation order, which is the order items arrive in.
func sortStable[T any](items []T, key func(T) sortKey, desc bool) {
	sort.SliceStable(items, func(i, j int) bool {
		a, b := key(items[i]), key(items[j])
		if desc {
			return b.less(a)
		}
		return a.less(b)
	})
}
