package conformance_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// TestOktaSpecTest runs Okta's SCIM 2.0 SPEC Test, both exports, against the
// full stack on both stores; every step and every assertion must pass.
//
// The suite expects a tenant that already holds a user (its first step lists
// one user and reads its name and email) and, in 2016, a group (its last
// script wants totalResults ≥ 1): both are provisioned first, through the
// store, as an earlier sync would have.
func TestOktaSpecTest(t *testing.T) {
	for _, version := range []string{"2016", "2024"} {
		rt := loadRunscope(t, filepath.Join("..", "..", "testdata", "idp", "okta", "spec-test", "Okta-SCIM-20-SPEC-Test."+version+".json"))
		for _, backend := range backends {
			t.Run(version+"/"+backend, func(t *testing.T) {
				s := newStack(t, backend)
				ctx := context.Background()
				u, err := s.Store.CreateUser(ctx, tenantID, store.User{UserName: "existing.user@atko.com", Active: true,
					Name:        store.Name{GivenName: "Existing", FamilyName: "User"},
					DisplayName: "Existing User",
					Emails:      []store.MultiValue{{Value: "existing.user@atko.com", Type: "work", Primary: true}},
				}, adminActor)
				require.NoError(t, err)
				_, err = s.Store.CreateGroup(ctx, tenantID, store.Group{DisplayName: "Existing group",
					Members: []store.Member{{UserID: u.ID}}}, adminActor)
				require.NoError(t, err)
				runRunscope(t, rt, initialVariables(s.URL, s.Token))
			})
		}
	}
}
