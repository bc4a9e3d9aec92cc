package admin

// Long work is a job: a CSV import of more than asyncThreshold rows, or any
// sent with Prefer: respond-async, answers 202 with a job kept in the store
// (store/jobs.go) and runs in the background with a context of its own, not
// the request's. Its progress and per-row results are readable while it
// runs and after:
//
//	GET /admin/v1/tenants/{id}/jobs/{jobID}          the job (Accept: text/csv: its results as CSV)
//	GET /admin/v1/tenants/{id}/jobs/{jobID}/results  its results, paged (?from=&limit=), or CSV
//
// A runner holds a job's lease while it works and records the results of
// each chunk of rows with the progress, in one write. When a rosterd stops
// (SIGTERM) it records what it did and hands the job back; when it dies,
// the lease runs out. Either way the next claim — by any rosterd on the
// database, including the restarted one, which looks for such jobs at start
// and then every jobPoll — resumes the job after its recorded progress.
// Rows applied but not yet recorded when a process died are applied again,
// which the import makes a no-op (its rows are idempotent), so such a row
// is reported unchanged rather than created: every row has a result.

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/store"
)

const (
	jobKindImport = "users.import"
	// jobLease is how long a runner holds a job between two records of its
	// progress; a chunk of rows takes well under a second.
	jobLease = 30 * time.Second
	// defaultJobPoll is how often a rosterd looks for jobs to resume.
	defaultJobPoll = 10 * time.Second
	// maxResultsPage bounds one page of job results.
	maxResultsPage = 5000
)

// jobs runs the jobs of this process.
type jobs struct {
	owner  string // this runner's lease owner id
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	log    zerolog.Logger
	poll   time.Duration
}

// Close stops the jobs this process runs — each records its progress and is
// handed back for a later claim — and waits for them.
func (a *API) Close() {
	a.jobs.cancel()
	a.jobs.wg.Wait()
	a.closeFlush.Do(func() {
		close(a.stopFlush)
		<-a.flushDone
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.FlushKeyUse(ctx)
	})
}

// jobPurgeEvery is how often RunJobs deletes the jobs finished more than
// store.JobRetention ago (with their results).
const jobPurgeEvery = time.Hour

// RunJobs claims and runs the jobs no runner holds — left queued, or whose
// runner died — at once and then every poll interval, until ctx ends; and
// every jobPurgeEvery it deletes the jobs that finished longer than
// store.JobRetention ago (every rosterd does: the delete is idempotent).
func (a *API) RunJobs(ctx context.Context) {
	t := time.NewTicker(a.jobs.poll)
	defer t.Stop()
	var purged time.Time
	for {
		for a.claimAndRun(store.JobClaim{}) {
		}
		if now := a.now(); now.Sub(purged) >= jobPurgeEvery {
			purged = now
			if n, err := a.store.PurgeJobs(a.jobs.ctx, now.Add(-store.JobRetention)); err != nil {
				if a.jobs.ctx.Err() == nil {
					a.jobs.log.Warn().Err(err).Msg("purge finished jobs")
				}
			} else if n > 0 {
				a.jobs.log.Info().Int("jobs", n).Msg("finished jobs past their retention deleted, with their results")
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-a.jobs.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// claimAndRun claims a job (c names one, or any) and starts it; false when
// there was none to claim.
func (a *API) claimAndRun(c store.JobClaim) bool {
	if a.jobs.ctx.Err() != nil {
		return false
	}
	c.Owner, c.Lease = a.jobs.owner, jobLease
	j, err := a.store.ClaimJob(a.jobs.ctx, c)
	if err != nil {
		if !errors.Is(err, store.ErrNoJob) {
			a.jobs.log.Warn().Err(err).Msg("claim a job")
		}
		return false
	}
	a.jobs.wg.Add(1)
	go func() {
		defer a.jobs.wg.Done()
		a.runJob(j)
	}()
	return true
}

// startImportJob stores the import as a job, starts it here and answers 202.
func (a *API) startImportJob(w http.ResponseWriter, r *http.Request, t store.Tenant, req importRequest, rows int) error {
	j, err := a.store.CreateJob(r.Context(), t.ID, store.Job{Kind: jobKindImport, Input: req.body, Total: rows, Actor: actor(r),
		Params: map[string]string{"dry_run": strconv.FormatBool(req.dryRun), "mode": req.mode}})
	if err != nil {
		return err
	}
	a.claimAndRun(store.JobClaim{TenantID: t.ID, ID: j.ID})
	if preferAsync(r) {
		w.Header().Set("Preference-Applied", "respond-async")
	}
	w.Header().Set("Location", jobPath(t.ID, j.ID))
	writeJSON(w, http.StatusAccepted, viewJob(j, nil))
	return nil
}

func jobPath(tenantID, id string) string {
	return "/admin/v1/tenants/" + tenantID + "/jobs/" + id
}

// runJob works through a claimed job from its recorded progress on.
func (a *API) runJob(j store.Job) {
	ctx := a.jobs.ctx
	log := a.jobs.log.With().Str("tenant", j.TenantID).Str("job", j.ID).Logger()
	// Records after the stop (progress, hand-back) get a moment of their own.
	after := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	}
	fail := func(msg string) {
		c, cancel := after()
		defer cancel()
		if _, err := a.store.FinishJob(c, j.TenantID, j.ID, a.jobs.owner, store.JobFailed, msg); err != nil {
			log.Warn().Err(err).Msg("record a failed job; its lease will run out and another claim will retry it")
		}
	}
	if j.Kind != jobKindImport {
		fail("unknown job kind " + j.Kind)
		return
	}
	req := importRequest{dryRun: j.Params["dry_run"] == "true", mode: j.Params["mode"], body: j.Input}
	t, err := a.store.GetTenant(ctx, j.TenantID)
	if err != nil {
		a.stopJob(j, log, err, fail)
		return
	}
	p, err := a.parseImport(ctx, t, req.body)
	if err != nil {
		a.stopJob(j, log, err, fail)
		return
	}
	counts := j.Counts
	if counts == nil {
		counts = map[string]int{}
	}
	processed := j.Processed
	record := func(results []importResult) error {
		p := store.JobProgress{Counts: counts, Lease: jobLease}
		for _, res := range results {
			data, err := json.Marshal(res)
			if err != nil {
				return err
			}
			p.Results = append(p.Results, store.JobResult{N: processed + len(p.Results), Data: data})
			counts[res.Status]++
		}
		c, cancel := after()
		defer cancel()
		if _, err := a.store.RecordJobProgress(c, j.TenantID, j.ID, a.jobs.owner, p); err != nil {
			return err
		}
		processed += len(results)
		return nil
	}
	err = a.importRun(ctx, t, p, req, j.Actor, processed, func(results []importResult) error {
		if req.dryRun {
			counts[seatsNeededKey] += p.ic.neededFull(results)
		}
		return record(results)
	})
	if err != nil {
		a.stopJob(j, log, err, fail)
		return
	}
	c, cancel := after()
	defer cancel()
	if _, err := a.store.FinishJob(c, j.TenantID, j.ID, a.jobs.owner, store.JobSucceeded, ""); err != nil {
		log.Warn().Err(err).Msg("finish a job")
	}
}

// seatsNeededKey keeps a dry run's count of the full seats its new users
// would take with the job's counts (the answer shows it under seats).
const seatsNeededKey = "seats_needed_full"

// stopJob ends a run that could not go on: a stop of this process hands
// the job back; a lost lease leaves it to its new holder; an unavailable
// store leaves the lease to run out, so that a later claim retries; any
// other error fails the job with what was done.
func (a *API) stopJob(j store.Job, log zerolog.Logger, err error, fail func(string)) {
	var e *Error
	switch {
	case errors.Is(err, store.ErrLeaseLost):
		log.Info().Msg("job taken over by another runner")
	case a.jobs.ctx.Err() != nil:
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if rerr := a.store.ReleaseJob(c, j.TenantID, j.ID, a.jobs.owner); rerr != nil {
			log.Warn().Err(rerr).Msg("hand a job back at shutdown; its lease will run out")
		}
	case errors.Is(err, store.ErrUnavailable):
		log.Warn().Err(err).Msg("job paused: the database is unavailable; it resumes once its lease runs out")
	case errors.As(err, &e):
		fail(e.Message)
	case errors.Is(err, store.ErrNotFound):
		fail("the tenant no longer exists")
	default:
		log.Error().Err(err).Msg("job failed")
		fail("the job stopped on an internal error (the cause is in the server log); the results so far are kept. " +
			"Send the file again: rows already applied are no-ops")
	}
}

// jobView is a job as the admin API shows it.
type jobView struct {
	ID         string         `json:"id"`
	TenantID   string         `json:"tenant_id"`
	Kind       string         `json:"kind"`
	State      string         `json:"state"`
	DryRun     bool           `json:"dry_run"`
	Mode       string         `json:"mode"`
	Total      int            `json:"total"`
	Processed  int            `json:"processed"`
	Counts     map[string]int `json:"counts"`
	Seats      *importSeats   `json:"seats,omitempty"`
	Error      string         `json:"error,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
	StartedAt  *time.Time     `json:"started_at"`
	FinishedAt *time.Time     `json:"finished_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
	Location   string         `json:"location"`
	ResultsURL string         `json:"results_url"`
}

func viewJob(j store.Job, seats *importSeats) jobView {
	counts := map[string]int{}
	for k, v := range j.Counts {
		if k != seatsNeededKey {
			counts[k] = v
		}
	}
	return jobView{ID: j.ID, TenantID: j.TenantID, Kind: j.Kind, State: string(j.State), DryRun: j.Params["dry_run"] == "true",
		Mode: j.Params["mode"], Total: j.Total, Processed: j.Processed, Counts: counts, Seats: seats, Error: j.Error,
		CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, UpdatedAt: j.UpdatedAt,
		Location: jobPath(j.TenantID, j.ID), ResultsURL: jobPath(j.TenantID, j.ID) + "/results"}
}

func (a *API) loadJob(r *http.Request) (store.Tenant, store.Job, error) {
	t, err := a.tenant(r)
	if err != nil {
		return t, store.Job{}, err
	}
	j, err := a.store.GetJob(r.Context(), t.ID, r.PathValue("jobID"))
	if errors.Is(err, store.ErrNotFound) {
		return t, j, notFound("job %q not found in tenant %s", r.PathValue("jobID"), t.ID)
	}
	return t, j, err
}

// getJob answers the job, or with Accept: text/csv its results so far.
func (a *API) getJob(w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	t, j, err := a.loadJob(r)
	if err != nil {
		return err
	}
	if wantsCSV(r) {
		return a.writeResultsCSV(w, r, j)
	}
	var seats *importSeats
	if j.Params["dry_run"] == "true" {
		if seats, err = a.seatForecast(r.Context(), t, j.Counts[seatsNeededKey]); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, viewJob(j, seats))
	return nil
}

// jobResults answers a page of the job's results: from (0-based, default
// 0), limit (default and at most maxResultsPage); next is where the next
// page starts, null when the job is done and this page is its last.
func (a *API) jobResults(w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r, "from", "limit"); err != nil {
		return err
	}
	from, limit := 0, maxResultsPage
	var bad []FieldError
	if v, ok := param(r.URL.Query(), "from"); ok {
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			bad = append(bad, FieldError{"from", "must be a whole number from 0"})
		} else {
			from = n
		}
	}
	if v, ok := param(r.URL.Query(), "limit"); ok {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > maxResultsPage {
			bad = append(bad, FieldError{"limit", fmt.Sprintf("must be a whole number from 1 to %d", maxResultsPage)})
		} else {
			limit = n
		}
	}
	if len(bad) > 0 {
		return invalid(bad...)
	}
	_, j, err := a.loadJob(r)
	if err != nil {
		return err
	}
	if wantsCSV(r) {
		return a.writeResultsCSV(w, r, j)
	}
	page, err := a.store.JobResults(r.Context(), j.TenantID, j.ID, from, limit)
	if err != nil {
		return err
	}
	out := struct {
		State     string            `json:"state"`
		Total     int               `json:"total"`
		Processed int               `json:"processed"`
		From      int               `json:"from"`
		Next      *int              `json:"next"`
		Results   []json.RawMessage `json:"results"`
	}{State: string(j.State), Total: j.Total, Processed: j.Processed, From: from, Results: make([]json.RawMessage, 0, len(page))}
	for _, res := range page {
		out.Results = append(out.Results, res.Data)
	}
	if next := from + len(page); !j.State.Done() || next < j.Processed {
		out.Next = &next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// writeResultsCSV writes every result recorded so far, one row per CSV row,
// read from the store a page at a time.
func (a *API) writeResultsCSV(w http.ResponseWriter, r *http.Request, j store.Job) error {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"line", "email", "userName", "status", "id", "role", "changes", "errors"})
	for from := 0; from < j.Processed; from += maxResultsPage {
		page, err := a.store.JobResults(r.Context(), j.TenantID, j.ID, from, maxResultsPage)
		if err != nil {
			zerolog.Ctx(r.Context()).Error().Err(err).Msg("job results as CSV: cut short")
			return nil // the status is sent; the cut-short body is all we can do
		}
		for _, res := range page {
			var v importResult
			if err := json.Unmarshal(res.Data, &v); err != nil {
				continue
			}
			var changes []string
			for _, c := range v.Changes {
				changes = append(changes, fmt.Sprintf("%s: %s → %s", c.Field, orDash(c.Old), orDash(c.New)))
			}
			_ = cw.Write([]string{strconv.Itoa(v.Line), cell(v.Email), cell(v.UserName), v.Status, cell(v.ID), cell(v.Role),
				cell(strings.Join(changes, "; ")), cell(strings.Join(v.Errors, "; "))})
		}
		if len(page) < maxResultsPage {
			break
		}
	}
	cw.Flush()
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// failPartial answers an import the store stopped part-way: the error as
// fail renders it, with the rows applied before and their results.
func (a *API) failPartial(w http.ResponseWriter, r *http.Request, p *partialImport) {
	rec := &bodyRecorder{header: http.Header{}}
	a.fail(rec, r, p.err)
	var e Error
	_ = json.Unmarshal(rec.body, &e)
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	e.Message = fmt.Sprintf("%s; the import stopped after %d of %d rows: the rows in results were applied. "+
		"Send the file again: rows already applied are no-ops", e.Message, len(p.sum.Results), p.total)
	writeJSON(w, rec.status, struct {
		Error
		importSummary
	}{e, p.sum})
}

// bodyRecorder keeps what a handler writes.
type bodyRecorder struct {
	header http.Header
	status int
	body   []byte
}

func (b *bodyRecorder) Header() http.Header    { return b.header }
func (b *bodyRecorder) WriteHeader(status int) { b.status = status }
func (b *bodyRecorder) Write(p []byte) (int, error) {
	b.body = append(b.body, p...)
	return len(p), nil
}
