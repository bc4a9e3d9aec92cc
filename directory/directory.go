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
	"github.com/roster-dev/roster/store"
)

// Directory runs the use cases on one store.
type Directory struct {
	st store.Store
}

// New is a Directory on st.
func New(st store.Store) *Directory { return &Directory{st: st} }
