package memory

import (
	"context"

	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// ListPeople walks the tenant's users newest first from q.Before.
func (s *Store) ListPeople(_ context.Context, tenantID string, q store.PeopleQuery) (store.PeoplePage, error) {
	f, err := store.Normalize(store.Users, q.Filter)
	if err != nil {
		return store.PeoplePage{}, err
	}
	limit := max(q.Limit, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.PeoplePage{}, err
	}
	var team *groupRec
	if q.Team != "" {
		if team = t.groups[q.Team]; team == nil {
			return store.PeoplePage{Users: []store.User{}}, nil // an unknown team has no members
		}
	}
	page := store.PeoplePage{Users: []store.User{}}
	for i := len(t.userList) - 1; i >= 0; i-- {
		rec := t.userList[i]
		switch {
		case rec.deleted,
			q.Before > 0 && rec.seq >= int64(q.Before),
			team != nil && !team.members[rec.u.ID],
			q.Managed != "" && store.ManagedOf(rec.u.Managed) != q.Managed,
			q.Seat != "" && rec.u.Seat != q.Seat,
			f != nil && !eval(f, userValues{&rec.u}):
			continue
		}
		if len(page.Users) == limit {
			last := page.Users[limit-1]
			page.Next = store.UserPos(t.users[last.ID].seq)
			break
		}
		page.Users = append(page.Users, rec.u.Clone())
	}
	return page, nil
}

// ActiveSeatHolders reads the tenant's live active users as the seat
// reports read them (store.Store).
func (s *Store) ActiveSeatHolders(_ context.Context, tenantID string) ([]licensing.SeatHolder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	var users []store.User
	for _, rec := range t.userList {
		if !rec.deleted && rec.u.Active {
			users = append(users, rec.u.Clone())
		}
	}
	return store.SeatHolders(users), nil
}
