package memory

// The keyed reads and whole-user writes of Store.Change (store/change_keys.go),
// under the store's one lock.

import (
	"errors"
	"slices"
	"time"

	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// indexEmail lists rec under its email key (tenant.byEmail), once.
func (t *tenant) indexEmail(rec *userRec) {
	k := store.EmailKey(rec.u.Emails)
	if k == "" || slices.Contains(t.byEmail[k], rec) {
		return
	}
	if t.byEmail == nil {
		t.byEmail = map[string][]*userRec{}
	}
	t.byEmail[k] = append(t.byEmail[k], rec)
}

// readKeys adds to v what lock names by key: the live users holding its
// userNames and email keys (into v.Users too), its teams, and which of them
// each user of v.Users is in.
func (t *tenant) readKeys(v *store.View, lock store.Lock) {
	if len(lock.UserNames) == 0 && len(lock.EmailKeys) == 0 && len(lock.Teams) == 0 {
		return
	}
	v.Named, v.Emailed = map[string]string{}, map[string][]string{}
	v.Teams, v.InTeams = map[string]store.Group{}, map[string][]string{}
	if lock.Peek {
		t.peekKeys(v, lock)
		lock.UserNames, lock.EmailKeys = nil, nil
	}
	add := func(rec *userRec) {
		if _, ok := v.Users[rec.u.ID]; !ok {
			v.Users[rec.u.ID] = rec.u.Clone()
		}
	}
	for _, name := range lock.UserNames {
		if rec, ok := t.byKey[store.FoldKey(name)]; ok {
			v.Named[store.FoldKey(name)] = rec.u.ID
			add(rec)
		}
	}
	for _, k := range lock.EmailKeys {
		if _, done := v.Emailed[k]; done {
			continue
		}
		var ids []string
		for _, rec := range t.byEmail[k] {
			if !rec.deleted && store.EmailKey(rec.u.Emails) == k && !slices.Contains(ids, rec.u.ID) {
				ids = append(ids, rec.u.ID)
				add(rec)
			}
		}
		if len(ids) > 0 {
			slices.Sort(ids)
			v.Emailed[k] = ids
		}
	}
	for _, id := range lock.Teams {
		g, err := t.liveGroup(id)
		if err != nil {
			continue
		}
		v.Teams[id] = store.Group{TenantID: g.g.TenantID, ID: g.g.ID, DisplayName: g.g.DisplayName}
		for userID := range v.Users {
			if g.members[userID] && !slices.Contains(v.InTeams[userID], id) {
				v.InTeams[userID] = append(v.InTeams[userID], id)
			}
		}
	}
	for _, ids := range v.InTeams {
		slices.Sort(ids)
	}
}

// peekKeys says which of lock's keys a live user holds (Lock.Peek).
func (t *tenant) peekKeys(v *store.View, lock store.Lock) {
	v.NamesHeld, v.EmailsHeld = map[string]bool{}, map[string]bool{}
	for _, name := range lock.UserNames {
		if _, ok := t.byKey[store.FoldKey(name)]; ok {
			v.NamesHeld[store.FoldKey(name)] = true
		}
	}
	for _, k := range lock.EmailKeys {
		for _, rec := range t.byEmail[k] {
			if !rec.deleted && store.EmailKey(rec.u.Emails) == k {
				v.EmailsHeld[k] = true
				break
			}
		}
	}
}

// applyWrites writes a plan's users and their teams, all or nothing: a
// single write checks everything before it changes anything (createUser,
// updateUser); several creations are all checked, the cap for all of them
// together, before the first is written.
func (s *Store) applyWrites(t *tenant, p *store.Plan, now time.Time) error {
	switch {
	case len(p.Writes) == 1 && p.Writes[0].Before != nil:
		w := &p.Writes[0]
		u, err := s.updateUser(t, w.Before.ID, p.By, func(u *store.User) error { *u = w.After.Clone(); return nil })
		if err != nil {
			return err
		}
		w.Written = u
	case !p.Creates():
		return errors.New("memory: a plan with several writes may only create")
	default:
		cs := make([]creation, len(p.Writes))
		var all []licensing.Transition
		names, ids := map[string]bool{}, map[string]bool{}
		for i, w := range p.Writes {
			c, err := s.prepareCreation(t, w.After, p.By, now)
			if err != nil {
				return err
			}
			if key := store.FoldKey(c.u.UserName); names[key] {
				return &store.ConflictError{Field: "userName", Value: c.u.UserName}
			} else if ids[c.u.ID] {
				return &store.ConflictError{Field: "id", Value: c.u.ID}
			} else {
				names[key], ids[c.u.ID] = true, true
			}
			cs[i], all = c, append(all, c.ts...)
		}
		if err := t.checkCap(licensing.Delta(all), now); err != nil {
			return err
		}
		for i, c := range cs {
			p.Writes[i].Written = t.commitCreation(c, p.By, s.newID)
		}
	}
	for _, w := range p.Writes {
		t.joinTeams(w.Written.ID, w.Join, p.By, s.clock())
	}
	return nil
}

// joinTeams adds the user to the groups (live ones, each once) they are not
// in yet: each group's version, and a group.updated audit event.
func (t *tenant) joinTeams(userID string, groupIDs []string, by store.Actor, now time.Time) {
	for _, id := range groupIDs {
		g, err := t.liveGroup(id)
		if err != nil || g.members[userID] {
			continue
		}
		before := t.view(g, false)
		g.addMember(userID)
		g.g.Version, g.g.UpdatedAt = g.g.Version+1, now
		t.appendAudit(store.AuditEvent{Time: now, Actor: by, Action: "group.updated", TargetType: "group", TargetID: g.g.ID,
			Detail: "add 1 member(s)", Before: store.AuditJSON(before), After: store.AuditJSON(t.view(g, false)),
			Members: []store.MemberOp{{Kind: store.MembersAdd, UserIDs: []string{userID}}}})
	}
}
