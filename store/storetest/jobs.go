package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// testJobsLease: a job is queued, claimed by one runner, records its results
// in order while it holds the lease, and is taken over once the lease has
// run out: the first runner can then record nothing more.
func testJobsLease(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	newTenant(t, s, "globex", 10)
	j, err := s.CreateJob(ctx, "acme", store.Job{Kind: "users.import", Params: map[string]string{"dry_run": "false"},
		Input: []byte("email\na@x.test\n"), Total: 3, Actor: store.ActorAdmin})
	require.NoError(t, err)
	assert.Equal(t, store.JobQueued, j.State)
	assert.Nil(t, j.Input, "GetJob-style answers leave the input out")
	_, err = s.GetJob(ctx, "globex", j.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "another tenant's job is not found")
	_, err = s.CreateJob(ctx, "nope", store.Job{Kind: "users.import", Input: []byte("x")})
	assert.ErrorIs(t, err, store.ErrNotFound)

	a, err := s.ClaimJob(ctx, store.JobClaim{Owner: "a", Lease: 30 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, j.ID, a.ID)
	assert.Equal(t, store.JobRunning, a.State)
	assert.Equal(t, "email\na@x.test\n", string(a.Input), "a claim answers the input")
	require.NotNil(t, a.StartedAt)
	_, err = s.ClaimJob(ctx, store.JobClaim{Owner: "b", Lease: 30 * time.Second})
	assert.ErrorIs(t, err, store.ErrNoJob, "a leased job is not claimable")

	got, err := s.RecordJobProgress(ctx, "acme", j.ID, "a", store.JobProgress{
		Results: []store.JobResult{{N: 0, Data: []byte(`{"line":2}`)}, {N: 1, Data: []byte(`{"line":3}`)}},
		Counts:  map[string]int{"created": 2}, Lease: 30 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, 2, got.Processed)
	assert.Equal(t, map[string]int{"created": 2}, got.Counts)
	_, err = s.RecordJobProgress(ctx, "acme", j.ID, "a", store.JobProgress{
		Results: []store.JobResult{{N: 5, Data: []byte(`{}`)}}, Lease: time.Second})
	assert.ErrorIs(t, err, store.ErrInvalid, "results continue without gaps")
	_, err = s.RecordJobProgress(ctx, "acme", j.ID, "b", store.JobProgress{Lease: time.Second})
	assert.ErrorIs(t, err, store.ErrLeaseLost, "only the holder records")

	// The holder dies: its lease runs out and another runner takes over
	// from the recorded progress.
	clock.Advance(31 * time.Second)
	b, err := s.ClaimJob(ctx, store.JobClaim{Owner: "b", Lease: 30 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, 2, b.Processed)
	assert.Equal(t, *a.StartedAt, *b.StartedAt, "started once")
	_, err = s.RecordJobProgress(ctx, "acme", j.ID, "a", store.JobProgress{
		Results: []store.JobResult{{N: 2, Data: []byte(`{}`)}}, Lease: time.Second})
	assert.ErrorIs(t, err, store.ErrLeaseLost, "the old holder records nothing more")
	_, err = s.FinishJob(ctx, "acme", j.ID, "a", store.JobSucceeded, "")
	assert.ErrorIs(t, err, store.ErrLeaseLost)

	_, err = s.RecordJobProgress(ctx, "acme", j.ID, "b", store.JobProgress{
		Results: []store.JobResult{{N: 2, Data: []byte(`{"line":4}`)}}, Counts: map[string]int{"created": 2, "failed": 1}, Lease: time.Second})
	require.NoError(t, err)
	done, err := s.FinishJob(ctx, "acme", j.ID, "b", store.JobSucceeded, "")
	require.NoError(t, err)
	assert.Equal(t, store.JobSucceeded, done.State)
	assert.Equal(t, 3, done.Processed)
	require.NotNil(t, done.FinishedAt)
	assert.Empty(t, done.LeaseOwner)
	_, err = s.ClaimJob(ctx, store.JobClaim{Owner: "c", Lease: time.Second})
	assert.ErrorIs(t, err, store.ErrNoJob, "a finished job is never claimed again")

	res, err := s.JobResults(ctx, "acme", j.ID, 1, 10)
	require.NoError(t, err)
	require.Len(t, res, 2)
	assert.Equal(t, 1, res[0].N)
	assert.JSONEq(t, `{"line":4}`, string(res[1].Data))
	res, err = s.JobResults(ctx, "acme", j.ID, 0, 1)
	require.NoError(t, err)
	assert.Len(t, res, 1)
	_, err = s.JobResults(ctx, "globex", j.ID, 0, 10)
	assert.ErrorIs(t, err, store.ErrNotFound)

	// A runner that stops early hands the job back, queued.
	k, err := s.CreateJob(ctx, "globex", store.Job{Kind: "users.import", Input: []byte("x"), Total: 1})
	require.NoError(t, err)
	_, err = s.ClaimJob(ctx, store.JobClaim{TenantID: "globex", ID: k.ID, Owner: "a", Lease: time.Minute})
	require.NoError(t, err)
	require.NoError(t, s.ReleaseJob(ctx, "globex", k.ID, "a"))
	k, err = s.GetJob(ctx, "globex", k.ID)
	require.NoError(t, err)
	assert.Equal(t, store.JobQueued, k.State)
	failed, err := s.ClaimJob(ctx, store.JobClaim{TenantID: "globex", ID: k.ID, Owner: "b", Lease: time.Minute})
	require.NoError(t, err)
	_, err = s.FinishJob(ctx, "globex", failed.ID, "b", store.JobFailed, "the database went away")
	require.NoError(t, err)
	k, err = s.GetJob(ctx, "globex", k.ID)
	require.NoError(t, err)
	assert.Equal(t, store.JobFailed, k.State)
	assert.Equal(t, "the database went away", k.Error)

	require.NoError(t, s.DeleteTenant(ctx, "globex", store.ActorAdmin))
	_, err = s.GetJob(ctx, "globex", k.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "a tenant's jobs go with it")
}

// testJobsClaimedOnce: of many runners claiming at once, exactly one gets
// each job.
func testJobsClaimedOnce(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	const jobs, runners = 3, 12
	for range jobs {
		_, err := s.CreateJob(ctx, "acme", store.Job{Kind: "users.import", Input: []byte("x")})
		require.NoError(t, err)
	}
	got := make([]string, runners)
	errs := parallel(runners, func(i int) error {
		j, err := s.ClaimJob(ctx, store.JobClaim{Owner: fmt.Sprintf("r%d", i), Lease: time.Minute})
		got[i] = j.ID
		return err
	})
	claimed := map[string]int{}
	for i, err := range errs {
		if errors.Is(err, store.ErrNoJob) {
			continue
		}
		require.NoError(t, err)
		claimed[got[i]]++
	}
	assert.Len(t, claimed, jobs, "every job claimed")
	for id, n := range claimed {
		assert.Equal(t, 1, n, "job %s claimed once", id)
	}
}

// testJobsPurged: PurgeJobs deletes the jobs that finished before the
// cutoff, with their results; a finished job after it, and queued or
// running jobs of any age, stay.
func testJobsPurged(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	job := func() store.Job {
		t.Helper()
		j, err := s.CreateJob(ctx, "acme", store.Job{Kind: "users.import", Input: []byte("email\na@x.test\n"), Total: 1, Actor: store.ActorAdmin})
		require.NoError(t, err)
		return j
	}
	finish := func(j store.Job, state store.JobState) {
		t.Helper()
		_, err := s.ClaimJob(ctx, store.JobClaim{TenantID: "acme", ID: j.ID, Owner: "r", Lease: time.Minute})
		require.NoError(t, err)
		_, err = s.RecordJobProgress(ctx, "acme", j.ID, "r", store.JobProgress{
			Results: []store.JobResult{{N: 0, Data: []byte(`{"outcome":"created"}`)}}, Counts: map[string]int{"created": 1}, Lease: time.Minute})
		require.NoError(t, err)
		_, err = s.FinishJob(ctx, "acme", j.ID, "r", state, "")
		require.NoError(t, err)
	}
	old, oldFailed, waiting := job(), job(), job()
	finish(old, store.JobSucceeded)
	finish(oldFailed, store.JobFailed)
	clock.Advance(store.JobRetention + time.Hour)
	recent := job()
	finish(recent, store.JobSucceeded)

	n, err := s.PurgeJobs(ctx, clock.Now().Add(-store.JobRetention))
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	for _, gone := range []store.Job{old, oldFailed} {
		_, err := s.GetJob(ctx, "acme", gone.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
		res, err := s.JobResults(ctx, "acme", gone.ID, 0, 10)
		if err == nil {
			assert.Empty(t, res, "its results went with it")
		}
	}
	for _, kept := range []store.Job{recent, waiting} {
		_, err := s.GetJob(ctx, "acme", kept.ID)
		assert.NoError(t, err, "a recent or unfinished job stays")
	}
	res, err := s.JobResults(ctx, "acme", recent.ID, 0, 10)
	require.NoError(t, err)
	assert.Len(t, res, 1)
	n, err = s.PurgeJobs(ctx, clock.Now().Add(-store.JobRetention))
	require.NoError(t, err)
	assert.Zero(t, n, "nothing twice")
}
