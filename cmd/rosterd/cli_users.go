package main

// rosterd users: bulk onboarding by CSV and bulk role changes through the
// admin API.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/roster-dev/roster/store"
)

func usersCmd(ctx context.Context, sys *system, args []string) error {
	return subcommand(ctx, sys, "users", args, map[string]func(context.Context, *system, []string) error{
		"import": usersImport, "role": usersRole,
	}, "import", "role")
}

// importJob is the admin API's job of one import request.
type importJob struct {
	ID         string         `json:"id"`
	State      string         `json:"state"`
	DryRun     bool           `json:"dry_run"`
	Total      int            `json:"total"`
	Processed  int            `json:"processed"`
	Counts     map[string]int `json:"counts"`
	Seats      *importSeats   `json:"seats"`
	Error      string         `json:"error"`
	Location   string         `json:"location"`
	ResultsURL string         `json:"results_url"`
}

type importSeats struct {
	NeededFull int  `json:"needed_full"`
	Available  int  `json:"available"`
	Overage    bool `json:"overage_allowed"`
	Enough     bool `json:"enough"`
}

type importResult struct {
	Line     int    `json:"line"`
	Email    string `json:"email,omitempty"`
	UserName string `json:"userName,omitempty"`
	Status   string `json:"status"`
	ID       string `json:"id,omitempty"`
	Role     string `json:"role,omitempty"`
	Changes  []struct {
		Field string `json:"field"`
		Old   string `json:"old"`
		New   string `json:"new"`
	} `json:"changes,omitempty"`
	Errors []string `json:"errors,omitempty"`
}

// csvRow is one non-blank data row of the file and its line there.
type csvRow struct {
	line int
	rec  []string
}

// jobPoll is how often the CLI reads a job's progress.
const jobPoll = 250 * time.Millisecond

// usersImport sends the file as import jobs (Prefer: respond-async; files
// beyond --batch rows as several jobs, one after the other), follows each
// with a progress bar on a terminal (plain lines otherwise), then reads
// every row's result. Exit: 0 all rows fine; 1 a row failed, or a dry run
// found a row that would fail or too few seats; 3 a job failed on the
// server (its rows so far are reported).
func usersImport(ctx context.Context, sys *system, args []string) error {
	var dryRun bool
	var mode string
	batch := maxRowsPerJob
	c, pos, err := parseCLI(sys, "users import", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "check every row and say what would happen; change nothing")
		fs.StringVar(&mode, "mode", "create", "create: never change an existing user's role or drop their stores; update: also those")
		fs.IntVar(&batch, "batch", maxRowsPerJob, "rows per import job")
	})
	if err != nil {
		return err
	}
	if err := wantArgs("users import", pos, "TENANT", "FILE"); err != nil {
		return err
	}
	if batch < 1 || batch > maxRowsPerJob {
		return usageErr("users import: --batch must be between 1 and %d", maxRowsPerJob)
	}
	if mode != "create" && mode != "update" {
		return usageErr("users import: --mode must be create or update")
	}
	tenant, file := pos[0], pos[1]
	var in io.Reader = sys.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("users import: %w", err)
		}
		defer f.Close()
		in = f
	} else if in == nil {
		in = strings.NewReader("")
	}
	header, rows, err := readImportCSV(in)
	if err != nil {
		return fmt.Errorf("users import: %s: %w", file, err)
	}

	// Duplicates across the whole file (the server sees one job at a time).
	var results []importResult
	emailCol, userCol := column(header, "email"), column(header, "username")
	seen := map[string]int{}
	var send []csvRow
	for _, r := range rows {
		dup := ""
		for _, k := range []string{"e:" + strings.ToLower(cell(r.rec, emailCol)), "u:" + store.FoldKey(firstNonEmpty(cell(r.rec, userCol), cell(r.rec, emailCol)))} {
			if k == "e:" || k == "u:" {
				continue
			}
			if first, ok := seen[k]; ok {
				dup = fmt.Sprintf("duplicate of line %d (same %s)", first, map[byte]string{'e': "email", 'u': "userName"}[k[0]])
				break
			}
			seen[k] = r.line
		}
		if dup != "" {
			results = append(results, importResult{Line: r.line, Email: cell(r.rec, emailCol), Status: failedStatus(dryRun), Errors: []string{dup}})
			continue
		}
		send = append(send, r)
	}

	path := "/admin/v1/tenants/" + escape(tenant) + "/users/import?mode=" + mode
	if dryRun {
		path += "&dry_run=true"
	}
	bar := newProgress(sys.stderr, len(send))
	var jobs []json.RawMessage
	var seats *importSeats
	var jobErr error
	before := map[string]int{} // the counts of the jobs done
	for start := 0; start < len(send); start += batch {
		part := send[start:min(start+batch, len(send))]
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		_ = w.Write(header)
		for _, r := range part {
			_ = w.Write(r.rec)
		}
		w.Flush()
		var job importJob
		if _, err := c.callHeader(ctx, "POST", path, buf.Bytes(), "text/csv", http.Header{"Prefer": {"respond-async"}}, &job); err != nil {
			if start > 0 {
				fmt.Fprintf(sys.stderr, "rosterd: stopped after %d of %d rows; the rows before were applied\n", start, len(send))
			}
			return err
		}
		raw, err := followJob(ctx, c, &job, func(j importJob) {
			sum := maps.Clone(before)
			for k, v := range j.Counts {
				sum[k] += v
			}
			bar.show(start+j.Processed, sum, dryRun)
		})
		if err != nil {
			return err
		}
		got, err := jobResults(ctx, c, job)
		if err != nil {
			return err
		}
		for _, res := range got {
			if i := res.Line - 2; i >= 0 && i < len(part) { // the line in the job's file (header first) → in ours
				res.Line = part[i].line
			}
			results = append(results, res)
		}
		jobs = append(jobs, withResults(raw, got))
		for k, v := range job.Counts {
			before[k] += v
		}
		if job.Seats != nil { // a dry run: nothing is taken between jobs
			if seats == nil {
				seats = &importSeats{Available: job.Seats.Available, Overage: job.Seats.Overage}
			}
			seats.NeededFull += job.Seats.NeededFull
			seats.Enough = seats.Overage || seats.NeededFull <= seats.Available
		}
		if job.State == "failed" {
			jobErr = &exitError{code: ExitUnreachable, err: fmt.Errorf("users import: the server's import job %s failed after %d of %d rows: %s",
				job.ID, job.Processed, job.Total, job.Error)}
			break
		}
	}
	bar.done()
	sortResults(results)
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Status]++
	}

	var raw []byte
	if len(jobs) == 1 {
		raw = jobs[0]
	} else {
		raw, _ = json.Marshal(jobs)
	}
	err = c.print(raw, func(w io.Writer) error {
		if dryRun {
			fmt.Fprintf(w, "Dry run, nothing changed: of %d rows for tenant %s, %d would be created, %d would be updated, %d unchanged, %d would fail.\n",
				len(rows), tenant, counts["create"], counts["update"], counts["unchanged"], counts["invalid"])
		} else {
			fmt.Fprintf(w, "Imported %d rows into tenant %s: %d created, %d updated, %d unchanged, %d failed.\n",
				len(rows), tenant, counts["created"], counts["updated"], counts["unchanged"], counts["failed"])
		}
		if sc := seats; sc != nil {
			note := ""
			if !sc.Enough {
				note = " — not enough: raise the seat count or allow overage before importing"
			}
			fmt.Fprintf(w, "New users would take %d full seat(s); %d are free%s.\n", sc.NeededFull, sc.Available, note)
		}
		for _, r := range results {
			if len(r.Errors) > 0 {
				fmt.Fprintf(w, "  line %d (%s): %s\n", r.Line, orDash(r.Email), strings.Join(r.Errors, "; "))
			} else if dryRun && len(r.Changes) > 0 {
				var ch []string
				for _, c := range r.Changes {
					ch = append(ch, fmt.Sprintf("%s %s → %s", c.Field, orDash(c.Old), orDash(c.New)))
				}
				fmt.Fprintf(w, "  line %d (%s): would update %s\n", r.Line, orDash(r.Email), strings.Join(ch, ", "))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if jobErr != nil {
		return jobErr
	}
	failed := counts["failed"] + counts["invalid"]
	switch {
	case failed > 0 && dryRun:
		return &exitError{code: ExitRefused, err: fmt.Errorf("users import: dry run: %d of %d rows would fail", failed, len(rows))}
	case failed > 0:
		return &exitError{code: ExitRefused, err: fmt.Errorf("users import: %d of %d rows failed", failed, len(rows))}
	case seats != nil && !seats.Enough:
		return &exitError{code: ExitRefused, err: fmt.Errorf("users import: dry run: the import would fail: the new users need %d full seat(s) and %d are free",
			seats.NeededFull, seats.Available)}
	}
	return nil
}

// maxRowsPerJob is the admin API's limit of rows per import.
const maxRowsPerJob = 50_000

// followJob reads the job until it is done, calling show on each reading,
// and answers its last reading as the API sent it.
func followJob(ctx context.Context, c *cli, job *importJob, show func(importJob)) ([]byte, error) {
	t := time.NewTicker(jobPoll)
	defer t.Stop()
	for {
		raw, err := c.call(ctx, "GET", job.Location, nil, "", job)
		if err != nil {
			return nil, err
		}
		show(*job)
		if job.State == "succeeded" || job.State == "failed" {
			return raw, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("users import: stopped following job %s (it goes on in the server; GET %s): %w", job.ID, job.Location, ctx.Err())
		case <-t.C:
		}
	}
}

// jobResults reads every result of a done job.
func jobResults(ctx context.Context, c *cli, job importJob) ([]importResult, error) {
	_, raw, err := allResults(ctx, c, job.ResultsURL)
	if err != nil {
		return nil, err
	}
	return decodeResults(raw)
}

// allResults reads every page of a job's results at path (from=0, then each
// page's next). It answers the last page (state, total, processed) and the
// results as the API sent them.
func allResults(ctx context.Context, c *cli, path string) (map[string]json.RawMessage, []json.RawMessage, error) {
	all := []json.RawMessage{}
	for from := 0; ; {
		var page map[string]json.RawMessage
		if _, err := c.call(ctx, "GET", fmt.Sprintf("%s?from=%d", path, from), nil, "", &page); err != nil {
			return nil, nil, err
		}
		var results []json.RawMessage
		var next *int
		if err := errors.Join(json.Unmarshal(orNull(page["results"]), &results), json.Unmarshal(orNull(page["next"]), &next)); err != nil {
			return nil, nil, fmt.Errorf("the server's answer is not the JSON expected: %w", err)
		}
		all = append(all, results...)
		if next == nil || len(results) == 0 {
			return page, all, nil
		}
		from = *next
	}
}

func decodeResults(raw []json.RawMessage) ([]importResult, error) {
	out := make([]importResult, 0, len(raw))
	for _, x := range raw {
		var r importResult
		if err := json.Unmarshal(x, &r); err != nil {
			return nil, fmt.Errorf("the server's answer is not the JSON expected: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

func orNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

// withResults adds the results (lines as in the file) to a job's JSON, for --json.
func withResults(raw []byte, results []importResult) json.RawMessage {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	m["results"] = results
	out, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return out
}

// progress shows a job's progress on stderr: a bar redrawn in place on a
// terminal, a plain line per change otherwise (logs, CI).
type progress struct {
	w     io.Writer
	tty   bool
	total int
	last  int
}

func newProgress(w io.Writer, total int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, tty: tty, total: total, last: -1}
}

func (p *progress) show(done int, counts map[string]int, dryRun bool) {
	if done == p.last || p.total == 0 {
		return
	}
	p.last = done
	pct := 100 * done / p.total
	var tally string
	if dryRun {
		tally = fmt.Sprintf("%d would be created, %d would be updated, %d unchanged, %d would fail",
			counts["create"], counts["update"], counts["unchanged"], counts["invalid"])
	} else {
		tally = fmt.Sprintf("%d created, %d updated, %d unchanged, %d failed",
			counts["created"], counts["updated"], counts["unchanged"], counts["failed"])
	}
	if p.tty {
		const width = 30
		fill := width * done / p.total
		fmt.Fprintf(p.w, "\r[%s%s] %d/%d (%d%%) %s\x1b[K", strings.Repeat("#", fill), strings.Repeat("-", width-fill), done, p.total, pct, tally)
		return
	}
	fmt.Fprintf(p.w, "rosterd: %d/%d rows (%d%%): %s\n", done, p.total, pct, tally)
}

func (p *progress) done() {
	if p.tty && p.last >= 0 {
		fmt.Fprintln(p.w)
	}
}

func failedStatus(dryRun bool) string {
	if dryRun {
		return "invalid"
	}
	return "failed"
}

// readImportCSV reads the header and the non-blank rows with their lines.
func readImportCSV(in io.Reader) ([]string, []csvRow, error) {
	b, err := io.ReadAll(in)
	if err != nil {
		return nil, nil, err
	}
	rd := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF"))))
	rd.FieldsPerRecord = -1
	rd.TrimLeadingSpace = true
	header, err := rd.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, errors.New("the file is empty; it needs a header row (email,…) and one row per user")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("not valid CSV: %w", err)
	}
	var rows []csvRow
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return header, rows, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("not valid CSV: %w", err)
		}
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue
		}
		line, _ := rd.FieldPos(0)
		rows = append(rows, csvRow{line: line, rec: rec})
	}
}

func column(header []string, name string) int {
	for i, h := range header {
		if strings.EqualFold(strings.TrimSpace(h), name) {
			return i
		}
	}
	return -1
}

func cell(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func sortResults(rs []importResult) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].Line < rs[j-1].Line; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// usersRole is the bulk role change.
func usersRole(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "users role", args, nil)
	if err != nil {
		return err
	}
	if len(pos) < 3 {
		return usageErr("users role needs TENANT ROLE USER..., got %d argument(s)", len(pos))
	}
	body, _ := json.Marshal(map[string]any{"users": pos[2:], "role": pos[1]})
	var ans struct {
		Role    string `json:"role"`
		Changed int    `json:"changed"`
		Users   []struct {
			ID       string `json:"id"`
			UserName string `json:"userName"`
			OldRole  string `json:"old_role"`
			NewRole  string `json:"new_role"`
			OldSeat  string `json:"old_seat"`
			NewSeat  string `json:"new_seat"`
		} `json:"users"`
	}
	raw, err := c.call(ctx, "POST", "/admin/v1/tenants/"+escape(pos[0])+"/users/role", body, "application/json", &ans)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		fmt.Fprintf(w, "%d of %d users now hold role %s.\n", ans.Changed, len(ans.Users), ans.Role)
		for _, u := range ans.Users {
			seat := ""
			if u.OldSeat != u.NewSeat {
				seat = fmt.Sprintf(" (seat %s → %s)", u.OldSeat, u.NewSeat)
			}
			fmt.Fprintf(w, "  %s: %s → %s%s\n", u.UserName, u.OldRole, u.NewRole, seat)
		}
		return nil
	})
}
