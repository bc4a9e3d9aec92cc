// Package storetest is the conformance suite of the store contract. Every
// backend runs it (store/memory and store/postgres), so that the embedded
// default and PostgreSQL give the same answers and hold the same invariants.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// Factory opens an empty store for one test whose clock is now. It registers
// its own cleanup with t.
type Factory func(t testing.TB, now func() time.Time) store.Store

// Clock is a settable clock for the stores under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at a fixed instant with sub-microsecond digits, so
// that precision loss shows.
func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))}
}

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t, forwards or back.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock on.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Run runs the whole suite against the backend that open makes.
func Run(t *testing.T, open Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Factory)
	}{
		{"Tenants", testTenants},
		{"TenantIsolation", testTenantIsolation},
		{"UserName_uniqueCaseInsensitive", testUserNameUnique},
		{"UserName_oneWinnerUnderConcurrency", testUserNameOneWinner},
		{"Users_createGetUpdateDelete", testUsersCRUD},
		{"Users_everySimpleStringRoundTrips", testUserStringsRoundTrip},
		{"Users_everySimpleStringCapped", testUserStringsCapped},
		{"Users_closureErrorChangesNothing", testUserClosureError},
		{"Seats_consumedAndReleased", testSeatsLifecycle},
		{"Seats_activeSeatHoldersAsTheReportsReadThem", testActiveSeatHolders},
		{"Roles_holdersCountedInOneRead", testRoleHolders},
		{"Seats_neverOversold", testSeatsNeverOversold},
		{"Seats_overageAllowed", testSeatsOverage},
		{"Seats_ledgerReplaysToCounts", testLedgerReplay},
		{"Seats_lightRolesNotCapped", testLightSeats},
		{"Seats_ledgerReplaysAtAnyTime", testLedgerReplayAtAnyTime},
		{"Seats_ledgerBalancesRandomSequences", testLedgerBalancesRandomSequences},
		{"Seats_historySplitsTheLedgerAtFrom", testSeatHistory},
		{"Seats_churnNeverOversold", testSeatsChurnNeverOversold},
		{"Seats_contractRoundTripAndRenewal", testContractRoundTrip},
		{"Seats_paidPlanMayUseTheMinimum", testSeatsUsableMinimum},
		{"Seats_paidPlanMinimumNeverOversold", testSeatsUsableMinimumRace},
		{"Seats_capFollowsContractTerms", testSeatsCapFollowsContractTerms},
		{"Seats_sumByPlan", testSeatsByPlan},
		{"Groups_members", testGroupMembers},
		{"Groups_unknownMembersChangeNothing", testGroupUnknownMembers},
		{"Groups_concurrentAddsKeepAll", testGroupConcurrentAdds},
		{"Groups_deleteUserLeavesGroups", testDeleteUserLeavesGroups},
		{"Groups_noOpUpdateWritesNothing", testGroupNoOpUpdate},
		{"Users_noOpUpdateWritesNothing", testUserNoOpUpdate},
		{"Groups_deleteUserRacingAddsLeavesNoMembership", testDeleteUserRacesAdd},
		{"Groups_deleteGroupDeletesMemberships", testDeleteGroupDeletesMemberships},
		{"Groups_deleteTenantDeletesMemberships", testDeleteTenantDeletesMemberships},
		{"Groups_addsKeepOneRowAndRefuseStrangers", testAddMembersOnce},
		{"Groups_concurrentSameAddsKeepOneRow", testConcurrentSameAdds},
		{"Groups_membersInChunks", testGroupMembersInChunks},
		{"Groups_membersWalkWhileChanging", testGroupMembersWalkWhileChanging},
		{"Paging_stableWhileAdding", testPagingStable},
		{"Filters_users", testUserFilters},
		{"Filters_groups", testGroupFilters},
		{"Filters_invalid", testInvalidFilters},
		{"Sorting", testSorting},
		{"Copies", testCopies},
		{"Timestamps_roundTrip", testTimestamps},
		{"Tokens", testTokens},
		{"APIKeys", testAPIKeys},
		{"APIKeys_checkedFromMemory", testCheckAPIKey},
		{"SAMLConfig", testSAML},
		{"Roles", testRoles},
		{"Roles_resolution", testRoleResolution},
		{"Roles_errorsChangeNothing", testRoleErrors},
		{"Roles_deleteWithReplacement", testDeleteRoleReplacement},
		{"Roles_concurrentMappedGroupChanges", testRoleRace},
		{"Roles_deleteWhileAssigning", testDeleteRoleRace},
		{"Audit", testAudit},
		{"SignIn_authnRequestsTakenOnce", testAuthnRequests},
		{"Outlets_catalogue", testOutlets},
		{"ExternalUsers_dueExpirations", testExternalUsers},
		{"Users_existingUserNamesTheirRole", testUserExistsNamesRole},
		{"Outlets_deleteRacesUserWrites", testOutletDeleteRace},
		{"Audit_adminChangesInTheirTransaction", testAdminAudit},
		{"Audit_failedAdminChangesRecordNothing", testAdminAuditFailures},
		{"Audit_concurrentAdminChangesEachRecorded", testAdminAuditConcurrent},
		{"Audit_recordsInTheAPIsNames", testAuditAPINames},
		{"Authenticate_currentState", testAuthenticate},
		{"CheckToken_fromMemory", testCheckToken},
		{"SPKeyPair_onePairPerTenant", testSPKeyPair},
		{"Users_getWithGroups", testUserWithGroups},
		{"Users_groupsOfUsers", testGroupsOfUsers},
		{"Jobs_leaseAndResume", testJobsLease},
		{"Jobs_claimedOnce", testJobsClaimedOnce},
		{"Jobs_purged", testJobsPurged},
		{"Change_keyedReads", testChangeKeyedReads},
		{"Change_userWrites", testChangeWrites},
		{"Managed_roundTripAndTakeOver", testManagedRoundTrip},
		{"People_newestFirstFilteredPaged", testListPeople},
		{"Events_ofEveryChange", testEventsOfChanges},
		{"Events_failedChangesMakeNone", testEventsFailedChangesMakeNone},
		{"Events_orderedPerUser", testEventsOrderedPerUser},
		{"Events_purged", testEventsPurged},
		{"Webhooks_deliveries", testWebhookDeliveries},
		{"Activity_roundTripAndCaps", testActivityRoundTrip},
		{"Activity_boundedToNewest1000", testActivityBounded},
		{"Activity_neverOlderThan7Days", testActivitySevenDays},
		{"Activity_errorAndSinceFilters", testActivityFilters},
		{"Activity_tenantIsolationAndDeletion", testActivityIsolation},
		{"Activity_concurrentRecordingLosesNothing", testActivityConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

var (
	token = store.Actor{Kind: "token", ID: "tok-1"}
	ctx   = context.Background()
)

// newTenant creates a tenant with the given purchased seats.
func newTenant(t *testing.T, s store.Store, id string, seats int) store.Tenant {
	t.Helper()
	tn, err := s.CreateTenant(ctx, store.Tenant{
		ID: id, Name: "Tenant " + id, Plan: "ultimate", Seats: seats, Settings: store.DefaultSettings(),
	}, store.ActorSystem)
	require.NoError(t, err)
	return tn
}

// newCappedTenant creates a tenant whose seat cap is exactly seats: a trial
// (licensing.UsableSeats: a trial may use what it was given; a paid plan
// never fewer than the contract minimum of 8). Tests that probe a cap below
// the minimum use it. The store does not gate custom roles by plan (the
// admin API does), so role tests may use it too.
func newCappedTenant(t *testing.T, s store.Store, id string, seats int) store.Tenant {
	t.Helper()
	tn, err := s.CreateTenant(ctx, store.Tenant{
		ID: id, Name: "Tenant " + id, Plan: "trial", Seats: seats, Settings: store.DefaultSettings(),
	}, store.ActorSystem)
	require.NoError(t, err)
	return tn
}

func newUser(t *testing.T, s store.Store, tenant, userName string, active bool) store.User {
	t.Helper()
	u, err := s.CreateUser(ctx, tenant, store.User{UserName: userName, Active: active, Role: store.RoleAgent}, token)
	require.NoError(t, err)
	return u
}

func newGroup(t *testing.T, s store.Store, tenant, name string, members ...string) store.Group {
	t.Helper()
	g := store.Group{DisplayName: name}
	for _, m := range members {
		g.Members = append(g.Members, store.Member{UserID: m})
	}
	g, err := s.CreateGroup(ctx, tenant, g, token)
	require.NoError(t, err)
	return g
}

func ids(users []store.User) []string {
	out := make([]string, 0, len(users))
	for _, u := range users {
		out = append(out, u.ID)
	}
	return out
}

func memberIDs(g store.Group) []string {
	out := make([]string, 0, len(g.Members))
	for _, m := range g.Members {
		out = append(out, m.UserID)
	}
	return out
}

// NewTenant and NewUser are newTenant and newUser for the directory's
// tests: a tenant on a paid plan, an agent active or not.
func NewTenant(t *testing.T, s store.Store, id string, seats int) store.Tenant {
	t.Helper()
	return newTenant(t, s, id, seats)
}

func NewUser(t *testing.T, s store.Store, tenant, userName string, active bool) store.User {
	t.Helper()
	return newUser(t, s, tenant, userName, active)
}

// RoleTenant, RoleOf, UserNamed, NewGroup, AuditActions and Counts are the
// role suite's helpers, for the directory's tests (roles.go).
func RoleTenant(t *testing.T, s store.Store, id string, seats int, policy string, mappings ...store.RoleMapping) {
	t.Helper()
	roleTenant(t, s, id, seats, policy, mappings...)
}

func RoleOf(t *testing.T, s store.Store, tenant, id string) (string, store.SeatClass) {
	t.Helper()
	return roleOf(t, s, tenant, id)
}

func UserNamed(t *testing.T, s store.Store, tenant, userName, explicit string) store.User {
	t.Helper()
	return userNamed(t, s, tenant, userName, explicit)
}

func NewGroup(t *testing.T, s store.Store, tenant, name string, members ...string) store.Group {
	t.Helper()
	return newGroup(t, s, tenant, name, members...)
}

func AuditActions(t *testing.T, s store.Store, tenant string, q store.EventQuery) []string {
	t.Helper()
	return auditActions(t, s, tenant, q)
}

func Counts(t *testing.T, s store.Store, tenant string) store.SeatCounts {
	t.Helper()
	return counts(t, s, tenant)
}

// Parallel runs fn n times at once, released together, and returns the
// errors: the races of the directory's tests, run as storetest's are.
func Parallel(n int, fn func(i int) error) []error { return parallel(n, fn) }

// parallel runs fn n times at once, released together, and returns the errors.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

func tenantID(prefix string, i int) string { return fmt.Sprintf("%s-%03d", prefix, i) }
