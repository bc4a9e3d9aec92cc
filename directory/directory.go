// Package directory holds the use cases that change people (docs/architecture.md
// "The directory layer"): each reads what it needs under the right locks
// through the store's transactional API (store.Store.Change), decides in Go —
// role resolution, seat moves and the cap through licensing, audit events,
// approvals — and hands the backend one plan to write atomically. A use case
// exists here once; the backends persist, they do not decide.
//
// It imports no transport and no net/http: its errors carry a store.Fault
// kind that each transport renders in its own table.
package directory

import (
	"context"
	"errors"
	"time"

	"github.com/roster-dev/roster/store"
)

// Directory runs the use cases on one store.
type Directory struct {
	st  store.Store
	now func() time.Time // nil: time.Now
}

// New is a Directory on st.
func New(st store.Store) *Directory { return &Directory{st: st} }

// WithClock is the directory with the clock that stamps what it decides
// outside a Change (a user's drift): the store's own in tests.
func (d *Directory) WithClock(now func() time.Time) *Directory {
	c := *d
	c.now = now
	return &c
}

// UpdateTenant changes a tenant through fn (its id and creation time stay).
// A new default role moves, in the same transaction, the users who hold it
// by default (no explicit role, no mapped group), their seats checked
// against the updated tenant's cap; an invalid change or moves beyond the
// cap change nothing.
//
// The tenant is locked alone first; only when fn changes the default role
// does it run again with those users locked before the tenant row (the
// order every user write takes), so fn may run twice and must only edit
// the tenant it is given.
func (d *Directory) UpdateTenant(ctx context.Context, id string, by store.Actor, fn func(*store.Tenant) error) (store.Tenant, error) {
	var out store.Tenant
	lock := store.Lock{Tenant: true}
	for {
		err := d.st.Change(ctx, id, lock, func(v *store.View) (*store.Plan, error) {
			old := *v.Tenant
			c := old.Clone()
			if err := fn(&c); err != nil {
				return nil, err
			}
			if err := c.ValidateContract(); err != nil {
				return nil, err
			}
			c.ID, c.CreatedAt, c.UpdatedAt = old.ID, old.CreatedAt, v.Now
			if c.ContractStart.IsZero() {
				c.ContractStart = old.ContractStart
			}
			c = c.Clone() // normalises the contract's times, as the stores keep them
			p := &store.Plan{By: by, Tenant: &c}
			if c.Settings.DefaultRole != old.Settings.DefaultRole {
				if !lock.Unassigned {
					return nil, errNeedUsers
				}
				rc := *v.Roles
				rc.Settings = c.Settings
				moves, err := store.PlanMoves(v.Unassigned, v.Users, v.Groups, &rc, by, nil)
				if err != nil {
					return nil, err
				}
				p.Moves, p.Why = moves, "default role changed"
			}
			out = c
			return p, nil
		})
		if errors.Is(err, errNeedUsers) {
			lock.Unassigned = true
			continue
		}
		if err != nil {
			return store.Tenant{}, err
		}
		return out, nil
	}
}

// errNeedUsers sends UpdateTenant round again with the users it moves locked.
var errNeedUsers = errors.New("directory: the change moves users: lock them first")
