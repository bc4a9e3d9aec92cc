package scim_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// TestSCIM_writesHandOwnershipToTheIdP: a user or group created over SCIM is
// the IdP's, named by its token; a SCIM PATCH or PUT of a user invited by
// hand, or of a manual team, hands it to the IdP; and the IdP's next write
// of a user drifted by a manual override ends the drift.
func TestSCIM_writesHandOwnershipToTheIdP(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		admin := store.Actor{Kind: "admin", ID: "alice"}
		id := e.createUser("pushed@x.com")
		u, err := e.st.GetUser(ctx, tenantID, id)
		require.NoError(t, err)
		assert.Equal(t, [2]string{store.ManagedSCIM, "okta"}, [2]string{u.Managed, u.IdP})

		invited, err := e.st.CreateUser(ctx, tenantID, store.User{UserName: "invited@x.com", Active: true, Managed: store.ManagedManual}, admin)
		require.NoError(t, err)
		e.must(200, "PATCH", "/Users/"+invited.ID, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"replace","path":"title","value":"Agent"}]}`)
		u, err = e.st.GetUser(ctx, tenantID, invited.ID)
		require.NoError(t, err)
		assert.Equal(t, store.ManagedSCIM, u.Managed, "a PATCH from the IdP takes the user over")

		// A manual override drifted the user; the IdP's next write ends it.
		drifted := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
		_, err = e.st.UpdateUser(ctx, tenantID, id, admin, func(u *store.User) error {
			u.DisplayName, u.DriftedAt = "By hand", &drifted
			return nil
		})
		require.NoError(t, err)
		e.must(200, "PUT", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"pushed@x.com","displayName":"From Okta","active":true}`)
		u, err = e.st.GetUser(ctx, tenantID, id)
		require.NoError(t, err)
		assert.Nil(t, u.DriftedAt)
		assert.Equal(t, "From Okta", u.DisplayName)

		gid := e.createGroup("Pushed team")
		g, err := e.st.GetGroup(ctx, tenantID, gid, false)
		require.NoError(t, err)
		assert.Equal(t, [2]string{store.ManagedSCIM, "okta"}, [2]string{g.Managed, g.IdP})
		team, err := e.st.CreateGroup(ctx, tenantID, store.Group{DisplayName: "Manual team", Managed: store.ManagedManual}, admin)
		require.NoError(t, err)
		e.must(204, "PATCH", "/Groups/"+team.ID, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"add","path":"members","value":[{"value":"`+id+`"}]}]}`)
		g, err = e.st.GetGroup(ctx, tenantID, team.ID, false)
		require.NoError(t, err)
		assert.Equal(t, store.ManagedSCIM, g.Managed, "a PATCH from the IdP takes the team over")
	})
}
