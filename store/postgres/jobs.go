package postgres

// Background jobs (store/jobs.go; table jobs, migration 0013). A claim takes
// the job's row with FOR UPDATE SKIP LOCKED and sets its lease in the same
// statement, so that of several rosterd sharing the database exactly one
// runs a job; every later write of the runner re-checks, in its statement,
// that it still holds an unexpired lease.

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/store"
)

const jobCols = `j.tenant_id, j.id, j.kind, j.params, j.state, j.total, j.processed, j.counts, j.error,
j.actor_kind, j.actor_id, j.actor_name, j.actor_request_id, j.created_at, j.started_at, j.finished_at, j.updated_at,
j.lease_owner, j.lease_until`

func scanJob(row pgx.Row, extra ...any) (store.Job, error) {
	var j store.Job
	var params, counts []byte
	var state string
	err := row.Scan(append([]any{&j.TenantID, &j.ID, &j.Kind, &params, &state, &j.Total, &j.Processed, &counts, &j.Error,
		&j.Actor.Kind, &j.Actor.ID, &j.Actor.Name, &j.Actor.RequestID, &j.CreatedAt, &j.StartedAt, &j.FinishedAt, &j.UpdatedAt,
		&j.LeaseOwner, &j.LeaseUntil}, extra...)...)
	if err != nil {
		return store.Job{}, err
	}
	j.State = store.JobState(state)
	if err := json.Unmarshal(params, &j.Params); err != nil {
		return store.Job{}, err
	}
	if err := json.Unmarshal(counts, &j.Counts); err != nil {
		return store.Job{}, err
	}
	j.CreatedAt, j.UpdatedAt = j.CreatedAt.UTC(), j.UpdatedAt.UTC()
	j.StartedAt, j.FinishedAt, j.LeaseUntil = tsPtr(j.StartedAt), tsPtr(j.FinishedAt), tsPtr(j.LeaseUntil)
	return j, nil
}

func (s *Store) CreateJob(ctx context.Context, tenantID string, j store.Job) (store.Job, error) {
	if !keysOK(tenantID, j.ID) {
		return store.Job{}, store.ErrNotFound
	}
	if j.ID == "" {
		j.ID = s.newID()
	}
	if j.Params == nil {
		j.Params = map[string]string{}
	}
	if j.Counts == nil {
		j.Counts = map[string]int{}
	}
	params, err := json.Marshal(j.Params)
	if err != nil {
		return store.Job{}, err
	}
	counts, err := json.Marshal(j.Counts)
	if err != nil {
		return store.Job{}, err
	}
	now := s.clock()
	out, err := scanJob(s.pool.QueryRow(ctx, `insert into jobs as j (tenant_id, id, kind, params, input, state, total, counts,
	actor_kind, actor_id, actor_name, actor_request_id, created_at, updated_at)
select $1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $10, $11, $12, $12
where exists (select 1 from tenants where id = $1)
returning `+jobCols, tenantID, j.ID, j.Kind, params, j.Input, j.Total, counts,
		j.Actor.Kind, j.Actor.ID, j.Actor.Name, j.Actor.RequestID, now))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Job{}, store.ErrNotFound
	}
	if err != nil {
		return store.Job{}, s.convert("CreateJob", err, vals{"id": j.ID})
	}
	return out, nil
}

func (s *Store) GetJob(ctx context.Context, tenantID, id string) (store.Job, error) {
	if !keysOK(tenantID, id) {
		return store.Job{}, store.ErrNotFound
	}
	j, err := scanJob(s.pool.QueryRow(ctx, `select `+jobCols+` from jobs j where j.tenant_id = $1 and j.id = $2`, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Job{}, store.ErrNotFound
	}
	if err != nil {
		return store.Job{}, s.convert("GetJob", err, nil)
	}
	return j, nil
}

func (s *Store) JobResults(ctx context.Context, tenantID, id string, from, limit int) ([]store.JobResult, error) {
	if !keysOK(tenantID, id) {
		return nil, store.ErrNotFound
	}
	rows, err := s.pool.Query(ctx, `select n, data from job_results
where tenant_id = $1 and job_id = $2 and n >= $3 order by n limit $4`, tenantID, id, max(from, 0), max(limit, 0))
	if err != nil {
		return nil, s.convert("JobResults", err, nil)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.JobResult, error) {
		var res store.JobResult
		err := r.Scan(&res.N, &res.Data)
		return res, err
	})
	if err != nil {
		return nil, s.convert("JobResults", err, nil)
	}
	if len(out) == 0 {
		if _, err := s.GetJob(ctx, tenantID, id); err != nil {
			return nil, err
		}
		out = []store.JobResult{}
	}
	return out, nil
}

func (s *Store) ClaimJob(ctx context.Context, c store.JobClaim) (store.Job, error) {
	if !keysOK(c.TenantID, c.ID, c.Owner) {
		return store.Job{}, store.ErrNoJob
	}
	now := s.clock()
	until := store.Timestamp(now.Add(c.Lease))
	var input []byte
	j, err := scanJob(s.pool.QueryRow(ctx, `with c as (
	select tenant_id, id from jobs
	where (state = 'queued' or (state = 'running' and lease_until < $1))
	  and ($4 = '' or (tenant_id = $4 and id = $5))
	order by created_at, tenant_id, id
	limit 1
	for update skip locked
)
update jobs j set state = 'running', lease_owner = $2, lease_until = $3, updated_at = $1,
	started_at = coalesce(j.started_at, $1)
from c where j.tenant_id = c.tenant_id and j.id = c.id
returning `+jobCols+`, j.input`, now, c.Owner, until, c.TenantID, c.ID), &input)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Job{}, store.ErrNoJob
	}
	if err != nil {
		return store.Job{}, s.convert("ClaimJob", err, nil)
	}
	j.Input = input
	return j, nil
}

// heldSQL is the condition that owner ($3) holds the job's lease at $4.
const heldSQL = `tenant_id = $1 and id = $2 and state = 'running' and lease_owner = $3 and lease_until >= $4`

func (s *Store) RecordJobProgress(ctx context.Context, tenantID, id, owner string, p store.JobProgress) (store.Job, error) {
	if !keysOK(tenantID, id, owner) {
		return store.Job{}, store.ErrNotFound
	}
	counts, err := json.Marshal(p.Counts)
	if err != nil {
		return store.Job{}, err
	}
	ns := make([]int32, len(p.Results))
	data := make([]string, len(p.Results))
	for i, r := range p.Results {
		ns[i], data[i] = int32(r.N), string(r.Data)
	}
	now := s.clock()
	var out store.Job
	err = s.inTx(ctx, "RecordJobProgress", nil, func(tx pgx.Tx) error {
		var processed int
		err := tx.QueryRow(ctx, `select processed from jobs where `+heldSQL+` for no key update`, tenantID, id, owner, now).Scan(&processed)
		if errors.Is(err, pgx.ErrNoRows) {
			return callerErr{s.leaseLost(ctx, tenantID, id)}
		}
		if err != nil {
			return err
		}
		if err := store.CheckProgress(processed, p.Results); err != nil {
			return callerErr{err}
		}
		b := &pgx.Batch{}
		b.Queue(`insert into job_results (tenant_id, job_id, n, data)
select $1, $2, n, d::jsonb from unnest($3::int[], $4::text[]) as r (n, d)`, tenantID, id, ns, data)
		b.Queue(`update jobs j set processed = processed + $3, counts = coalesce($4::jsonb, counts), lease_until = $5, updated_at = $6
where tenant_id = $1 and id = $2 returning `+jobCols, tenantID, id, len(p.Results), nullJSON(p.Counts, counts),
			store.Timestamp(now.Add(p.Lease)), now)
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return err
		}
		out, err = scanJob(br.QueryRow())
		return err
	})
	if err != nil {
		return store.Job{}, err
	}
	return out, nil
}

func nullJSON(m map[string]int, b []byte) any {
	if m == nil {
		return nil
	}
	return string(b)
}

// leaseLost answers ErrNotFound for a job that is not there, else ErrLeaseLost.
func (s *Store) leaseLost(ctx context.Context, tenantID, id string) error {
	if _, err := s.GetJob(ctx, tenantID, id); err != nil {
		return err
	}
	return store.ErrLeaseLost
}

func (s *Store) PurgeJobs(ctx context.Context, cutoff time.Time) (int, error) {
	// Their results go with them (job_results_job_fkey cascades).
	tag, err := s.pool.Exec(ctx, `delete from jobs where state in ('succeeded', 'failed') and finished_at < $1`, cutoff)
	if err != nil {
		return 0, s.convert("PurgeJobs", err, nil)
	}
	return int(tag.RowsAffected()), nil
}

func (s *Store) FinishJob(ctx context.Context, tenantID, id, owner string, state store.JobState, msg string) (store.Job, error) {
	if !state.Done() {
		return store.Job{}, &store.InvalidError{Field: "state", Reason: "must be succeeded or failed"}
	}
	if !keysOK(tenantID, id, owner, msg) {
		return store.Job{}, store.ErrNotFound
	}
	now := s.clock()
	j, err := scanJob(s.pool.QueryRow(ctx, `update jobs j set state = $5, error = $6, finished_at = $4, updated_at = $4,
	lease_owner = '', lease_until = null, input = ''::bytea
where `+heldSQL+` returning `+jobCols, tenantID, id, owner, now, string(state), msg))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Job{}, s.leaseLost(ctx, tenantID, id)
	}
	if err != nil {
		return store.Job{}, s.convert("FinishJob", err, nil)
	}
	return j, nil
}

func (s *Store) ReleaseJob(ctx context.Context, tenantID, id, owner string) error {
	if !keysOK(tenantID, id, owner) {
		return store.ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, `update jobs set state = 'queued', lease_owner = '', lease_until = null, updated_at = $4
where `+heldSQL, tenantID, id, owner, s.clock())
	if err != nil {
		return s.convert("ReleaseJob", err, nil)
	}
	if tag.RowsAffected() == 0 {
		return s.leaseLost(ctx, tenantID, id)
	}
	return nil
}
