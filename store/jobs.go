package store

import (
	"time"
)

// Jobs: long work (a large CSV import) runs in the background and is kept in
// the store, so that its progress and per-row results can be read from any
// rosterd while it runs and after, and so that it survives a restart.
//
// A job is claimed by one runner at a time with a lease (LeaseOwner until
// LeaseUntil). Only the holder of an unexpired lease may record progress or
// finish the job; a runner that died leaves its lease to expire, and the
// next claim takes the job over and resumes it after Processed.

// JobRetention is how long a finished job and its results are kept: long
// enough to read an import's outcome again weeks later, bounded so that
// the results of every import ever run (a row each) do not pile up.
const JobRetention = 30 * 24 * time.Hour

// JobState is where a job is in its life.
type JobState string

const (
	JobQueued    JobState = "queued"    // waiting for a runner (new, or handed back at shutdown)
	JobRunning   JobState = "running"   // a runner holds its lease
	JobSucceeded JobState = "succeeded" // every row has its result
	JobFailed    JobState = "failed"    // stopped early; Error says why, the results so far stay
)

// Done says whether the job will not change any more.
func (s JobState) Done() bool { return s == JobSucceeded || s == JobFailed }

// Job is one piece of background work of a tenant.
type Job struct {
	TenantID string
	ID       string
	Kind     string // "users.import"
	// Params are the request's options (dry run, mode) as the kind reads
	// them; Input is what the job works through (the CSV file).
	Params    map[string]string
	Input     []byte
	State     JobState
	Total     int            // rows to process
	Processed int            // rows whose results are recorded
	Counts    map[string]int // results by outcome
	Error     string         // why a failed job stopped
	Actor     Actor          // who asked for it
	CreatedAt time.Time
	StartedAt *time.Time
	// FinishedAt is set when the job is done.
	FinishedAt *time.Time
	UpdatedAt  time.Time

	LeaseOwner string
	LeaseUntil *time.Time
}

// JobResult is one recorded result of a job: the N-th (0-based) item it
// processed, as JSON written by the job's kind.
type JobResult struct {
	N    int
	Data []byte
}

// JobProgress is what a lease holder records after a chunk of work: the
// results of the items after Processed, in order, and the lease's new end.
type JobProgress struct {
	Results []JobResult // N must continue Processed without gaps
	Counts  map[string]int
	Lease   time.Duration // the lease is extended to the store's clock plus this
}

// JobClaim asks for a job to run: the one named (TenantID and ID set), or
// else the oldest claimable one of any tenant. A job is claimable when it is
// queued, or running with its lease ended (by the store's clock).
type JobClaim struct {
	TenantID, ID string
	Owner        string
	Lease        time.Duration
}

// ErrLeaseLost answers a lease holder whose lease is gone: it expired and
// another runner claimed the job, or the job is done. Nothing was recorded;
// the holder must stop working on the job.
var ErrLeaseLost error = newSentinel(KindConflict, CodeLeaseLost, "store: the job's lease is held by another runner or the job is done")

// ErrNoJob answers a claim that found nothing to claim.
var ErrNoJob error = newSentinel(KindNotFound, CodeNoJob, "store: no job to claim")

// Clone returns a deep copy of j.
func (j Job) Clone() Job {
	j.Params = cloneMap(j.Params)
	j.Counts = cloneMap(j.Counts)
	if j.Input != nil {
		j.Input = append([]byte(nil), j.Input...)
	}
	if j.StartedAt != nil {
		at := *j.StartedAt
		j.StartedAt = &at
	}
	if j.FinishedAt != nil {
		at := *j.FinishedAt
		j.FinishedAt = &at
	}
	if j.LeaseUntil != nil {
		at := *j.LeaseUntil
		j.LeaseUntil = &at
	}
	return j
}

func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// CheckProgress checks that results continue a job's Processed without gaps.
func CheckProgress(processed int, results []JobResult) error {
	for i, r := range results {
		if r.N != processed+i {
			return &InvalidError{Field: "results", Reason: "must continue the recorded results without gaps"}
		}
	}
	return nil
}
