package store_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/roster-dev/roster/store"
)

// The 409 of a create whose userName is taken says what to do next, and only
// mentions stores when the create asked for some.
func TestUserExistsError_detail(t *testing.T) {
	existing := store.User{ID: "u1", UserName: "ann@x.com", Role: "agent", Stores: []string{"s1"}}
	for _, tc := range []struct {
		name      string
		requested store.User
		want      string
	}{
		{"an IdP retrying its create", store.User{UserName: "Ann@x.com"},
			`userName "Ann@x.com" already exists (id u1, role "agent"); update that user instead of creating it again`},
		{"an invite for another store", store.User{UserName: "ann@x.com", Stores: []string{"s2"}},
			`userName "ann@x.com" already exists with role "agent" (stores s1); update that user instead, e.g. add the store to their stores`},
		{"another role for another store", store.User{UserName: "ann@x.com", ExplicitRole: "supervisor", Stores: []string{"s2"}},
			`userName "ann@x.com" already exists with role "agent" (stores s1); one role covers all of a user's stores, so they cannot also hold "supervisor" for another store: add the store to their stores and keep role "agent", or change their role for all their stores`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := store.NewUserExistsError(existing, tc.requested)
			assert.Equal(t, tc.want, err.Error())
			assert.True(t, errors.Is(err, store.ErrConflict))
			// A Conflict on userName with its own code and message: every
			// transport answers it as such (409 uniqueness on SCIM, proved
			// by scim's kind table test).
			assert.Equal(t, store.Fault{Kind: store.KindConflict, Code: store.CodeUserExists, Field: "userName", Message: tc.want},
				store.FaultOf(fmt.Errorf("create: %w", err)))
		})
	}
}
