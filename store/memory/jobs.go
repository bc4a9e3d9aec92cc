package memory

import (
	"context"
	"time"

	"github.com/roster-dev/roster/store"
)

// Jobs live with their tenant (deleting the tenant deletes them); claims
// look through the tenants in creation order, each tenant's jobs in
// creation order. The store's one mutex makes every claim exclusive.

type jobRec struct {
	j       store.Job
	results []store.JobResult
}

func (t *tenant) job(id string) (*jobRec, error) {
	if rec, ok := t.jobs[id]; ok {
		return rec, nil
	}
	return nil, store.ErrNotFound
}

func (s *Store) CreateJob(_ context.Context, tenantID string, j store.Job) (store.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.Job{}, err
	}
	if j.ID == "" {
		j.ID = s.newID()
	}
	if _, taken := t.jobs[j.ID]; taken {
		return store.Job{}, &store.ConflictError{Field: "id", Value: j.ID}
	}
	now := s.clock()
	j = j.Clone()
	j.TenantID, j.State, j.Processed, j.Error = tenantID, store.JobQueued, 0, ""
	j.CreatedAt, j.UpdatedAt, j.StartedAt, j.FinishedAt, j.LeaseOwner, j.LeaseUntil = now, now, nil, nil, "", nil
	if j.Counts == nil {
		j.Counts = map[string]int{}
	}
	if t.jobs == nil {
		t.jobs = map[string]*jobRec{}
	}
	t.jobs[j.ID] = &jobRec{j: j}
	t.jobOrder = append(t.jobOrder, j.ID)
	out := j.Clone()
	out.Input = nil
	return out, nil
}

func (s *Store) GetJob(_ context.Context, tenantID, id string) (store.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.Job{}, err
	}
	rec, err := t.job(id)
	if err != nil {
		return store.Job{}, err
	}
	out := rec.j.Clone()
	out.Input = nil
	return out, nil
}

func (s *Store) JobResults(_ context.Context, tenantID, id string, from, limit int) ([]store.JobResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	rec, err := t.job(id)
	if err != nil {
		return nil, err
	}
	from = max(from, 0)
	out := []store.JobResult{}
	for _, r := range rec.results[min(from, len(rec.results)):] {
		if len(out) == limit {
			break
		}
		out = append(out, store.JobResult{N: r.N, Data: append([]byte(nil), r.Data...)})
	}
	return out, nil
}

func claimable(j store.Job, now time.Time) bool {
	return j.State == store.JobQueued || (j.State == store.JobRunning && j.LeaseUntil != nil && j.LeaseUntil.Before(now))
}

func (s *Store) ClaimJob(_ context.Context, c store.JobClaim) (store.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	var found *jobRec
	if c.ID != "" {
		t, err := s.tenant(c.TenantID)
		if err != nil {
			return store.Job{}, store.ErrNoJob
		}
		if rec, err := t.job(c.ID); err == nil && claimable(rec.j, now) {
			found = rec
		}
	} else {
	search:
		for _, tid := range s.order {
			t := s.tenants[tid]
			if t == nil {
				continue
			}
			for _, id := range t.jobOrder {
				if rec := t.jobs[id]; claimable(rec.j, now) {
					found = rec
					break search
				}
			}
		}
	}
	if found == nil {
		return store.Job{}, store.ErrNoJob
	}
	until := store.Timestamp(now.Add(c.Lease))
	found.j.State, found.j.LeaseOwner, found.j.LeaseUntil, found.j.UpdatedAt = store.JobRunning, c.Owner, &until, now
	if found.j.StartedAt == nil {
		at := now
		found.j.StartedAt = &at
	}
	return found.j.Clone(), nil
}

// held answers the job when owner holds its unexpired lease.
func (s *Store) held(tenantID, id, owner string) (*jobRec, error) {
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	rec, err := t.job(id)
	if err != nil {
		return nil, err
	}
	if rec.j.State != store.JobRunning || rec.j.LeaseOwner != owner || rec.j.LeaseUntil == nil || rec.j.LeaseUntil.Before(s.clock()) {
		return nil, store.ErrLeaseLost
	}
	return rec, nil
}

func (s *Store) RecordJobProgress(_ context.Context, tenantID, id, owner string, p store.JobProgress) (store.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.held(tenantID, id, owner)
	if err != nil {
		return store.Job{}, err
	}
	if err := store.CheckProgress(rec.j.Processed, p.Results); err != nil {
		return store.Job{}, err
	}
	for _, r := range p.Results {
		rec.results = append(rec.results, store.JobResult{N: r.N, Data: append([]byte(nil), r.Data...)})
	}
	now := s.clock()
	until := store.Timestamp(now.Add(p.Lease))
	rec.j.Processed += len(p.Results)
	if p.Counts != nil {
		rec.j.Counts = store.Job{Counts: p.Counts}.Clone().Counts
	}
	rec.j.LeaseUntil, rec.j.UpdatedAt = &until, now
	out := rec.j.Clone()
	out.Input = nil
	return out, nil
}

func (s *Store) FinishJob(_ context.Context, tenantID, id, owner string, state store.JobState, msg string) (store.Job, error) {
	if !state.Done() {
		return store.Job{}, &store.InvalidError{Field: "state", Reason: "must be succeeded or failed"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.held(tenantID, id, owner)
	if err != nil {
		return store.Job{}, err
	}
	now := s.clock()
	rec.j.State, rec.j.Error, rec.j.FinishedAt, rec.j.UpdatedAt = state, msg, &now, now
	rec.j.LeaseOwner, rec.j.LeaseUntil, rec.j.Input = "", nil, nil
	out := rec.j.Clone()
	out.Input = nil
	return out, nil
}

func (s *Store) PurgeJobs(_ context.Context, cutoff time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.tenants {
		kept := t.jobOrder[:0]
		for _, id := range t.jobOrder {
			if rec := t.jobs[id]; rec.j.State.Done() && rec.j.FinishedAt != nil && rec.j.FinishedAt.Before(cutoff) {
				delete(t.jobs, id) // its results are the record's
				n++
				continue
			}
			kept = append(kept, id)
		}
		t.jobOrder = kept
	}
	return n, nil
}

func (s *Store) ReleaseJob(_ context.Context, tenantID, id, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.held(tenantID, id, owner)
	if err != nil {
		return err
	}
	rec.j.State, rec.j.LeaseOwner, rec.j.LeaseUntil, rec.j.UpdatedAt = store.JobQueued, "", nil, s.clock()
	return nil
}
