package console

// The Import page: a CSV of people, checked row by row by the admin API's
// dry run (POST …/users/import?dry_run=true) before anything is written,
// then imported as a job (POST …/users/import with Prefer: respond-async)
// whose progress and per-row results the job page shows and whose results
// download as CSV (GET …/jobs/{jobID}, …/results).
//
// Between the preview and the import the file travels with the form: the
// preview page carries it in a read-only field that the Import button posts
// back, bounded by maxImportCSV. Nothing is kept on the server between the
// two, so any rosterd may answer either request; the job itself lives in
// the store, so its page and progress work from any rosterd as well.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

func init() {
	funcs["thousands"] = thousands
	routes = append(routes,
		route{"GET /console/{tenant}/import", func(c *Console) pageFunc { return c.importPage }},
		route{"GET /console/{tenant}/import/sample.csv", func(c *Console) pageFunc { return c.importSample }},
		route{"POST /console/{tenant}/import", func(c *Console) pageFunc { return c.importPreview }},
		route{"POST /console/{tenant}/import/run", func(c *Console) pageFunc { return c.importRun }},
		route{"GET /console/{tenant}/import/jobs/{jobID}", func(c *Console) pageFunc { return c.importJob }},
		route{"GET /console/{tenant}/import/jobs/{jobID}/progress", func(c *Console) pageFunc { return c.importProgress }},
		route{"GET /console/{tenant}/import/jobs/{jobID}/results.csv", func(c *Console) pageFunc { return c.importResultsCSV }},
	)
}

const (
	// maxImportCSV bounds a file imported through the console: the preview
	// page carries it back in a form field, so it stays a size a browser
	// handles well. Larger files go to the admin API or `rosterd users
	// import`, which take up to 20 MB.
	maxImportCSV = 2 << 20
	// previewWait is how long the preview waits for the dry run of a large
	// file (the admin API answers one of more than 1,000 rows as a job); a
	// dry run writes nothing and checks thousands of rows a second, so it
	// is normally done well within it.
	previewWait = 45 * time.Second
	// jobResultsPage is how many rows of results the job page shows at once.
	jobResultsPage = 500
)

// importColumnHelp documents the CSV columns on the page, as admin/import.go
// reads them.
var importColumnHelp = []struct{ Name, Text string }{
	{"email", "Required. The person's work address; a row updates the person with this userName, else the one person with this address."},
	{"userName", "Their sign-in name; defaults to the email."},
	{"givenName", "First name."},
	{"familyName", "Last name."},
	{"role", "admin, supervisor, agent or one of your custom roles; empty: the default role for new people, unchanged for existing ones."},
	{"teams", "Team names separated by “;”. The teams must exist."},
	{"stores", "Store ids separated by “;”."},
	{"userType", "Free text, e.g. employee or contractor."},
	{"accessExpiresAt", "A date (2027-03-31) or time (2027-03-31T18:00:00Z) after which the person is deactivated."},
}

const importSampleCSV = "email,userName,givenName,familyName,role,teams,stores,userType,accessExpiresAt\r\n" +
	"ada@example.com,,Ada,Lovelace,agent,,,employee,\r\n" +
	"grace@example.com,,Grace,Hopper,supervisor,,,employee,\r\n" +
	"alan@example.com,,Alan,Turing,agent,,,contractor,2027-03-31\r\n"

// importResult is one row's outcome (admin/import.go importResult).
type importResult struct {
	Line     int    `json:"line"`
	Email    string `json:"email"`
	UserName string `json:"userName"`
	Status   string `json:"status"`
	ID       string `json:"id"`
	Role     string `json:"role"`
	Changes  []struct {
		Field string `json:"field"`
		Old   string `json:"old"`
		New   string `json:"new"`
	} `json:"changes"`
	Errors []string `json:"errors"`
}

type importSeats struct {
	NeededFull int  `json:"needed_full"`
	Available  int  `json:"available"`
	Overage    bool `json:"overage_allowed"`
	Enough     bool `json:"enough"`
}

// importSummary is a dry run answered in the request.
type importSummary struct {
	Rows    int            `json:"rows"`
	Counts  map[string]int `json:"counts"`
	Seats   *importSeats   `json:"seats"`
	Results []importResult `json:"results"`
}

// jobView is an import job (admin/jobs.go jobView).
type jobView struct {
	ID         string         `json:"id"`
	State      string         `json:"state"`
	DryRun     bool           `json:"dry_run"`
	Mode       string         `json:"mode"`
	Total      int            `json:"total"`
	Processed  int            `json:"processed"`
	Counts     map[string]int `json:"counts"`
	Seats      *importSeats   `json:"seats"`
	Error      string         `json:"error"`
	CreatedAt  time.Time      `json:"created_at"`
	FinishedAt *time.Time     `json:"finished_at"`
}

func (j jobView) Done() bool { return j.State == "succeeded" || j.State == "failed" }

// Percent is how far the job is, 0–100.
func (j jobView) Percent() int {
	if j.Done() {
		return 100
	}
	if j.Total <= 0 {
		return 0
	}
	return min(100, j.Processed*100/j.Total)
}

type jobResultsPageView struct {
	Next    *int           `json:"next"`
	Results []importResult `json:"results"`
}

// importForm is the upload page's data.
type importForm struct {
	Columns []struct{ Name, Text string }
	Sample  string
	CSV     string // a pasted file sent back after a problem
	Mode    string
	Max     string
}

// importPreviewData is the preview page's data.
type importPreviewData struct {
	CSV       string
	Mode      string
	Rows      int
	Create    int
	Update    int
	Unchanged int
	Invalid   int
	Seats     *importSeats
	Results   []importResult
	JobID     string // set when the check ran as a job
	Pending   bool   // the check had not finished when the page was made
}

type importJobData struct {
	Job      jobView
	Results  []importResult
	From     int
	Prev     int
	Next     int // -1: none
	Progress string
}

func (c *Console) importBase(p *person) string {
	return "/admin/v1/tenants/" + url.PathEscape(p.Tenant.ID)
}

func (c *Console) renderImport(w http.ResponseWriter, r *http.Request, p *person, status int, csv, mode, problem string) {
	d := importForm{Columns: importColumnHelp, Sample: importSampleCSV, CSV: csv, Mode: mode, Max: "2 MB"}
	c.renderView(w, r, status, "import", view{P: p, Title: "Import people", Nav: "import", Data: d, Problem: problem})
}

func (c *Console) importPage(w http.ResponseWriter, r *http.Request, p *person) error {
	if !p.Can("users.manage") {
		return &apiError{Status: http.StatusForbidden, Missing: []string{"users.manage"}}
	}
	c.renderImport(w, r, p, http.StatusOK, "", "create", "")
	return nil
}

func (c *Console) importSample(w http.ResponseWriter, r *http.Request, p *person) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="roster-import-sample.csv"`)
	_, _ = io.WriteString(w, importSampleCSV)
	return nil
}

// importFile reads the file of a form: the uploaded file, else the text
// field (pasted, or carried by the preview page). The problem is a sentence
// for the page.
func importFile(r *http.Request) (csv, mode, problem string) {
	mode = r.FormValue("mode")
	if mode != "update" {
		mode = "create"
	}
	var data []byte
	if f, h, err := r.FormFile("file"); err == nil {
		defer f.Close()
		if h.Size > maxImportCSV {
			return "", mode, fmt.Sprintf("%s is %s; the console takes files up to 2 MB (about 20,000 rows). "+
				"Split it, or send it to the admin API or with rosterd users import, which take up to 20 MB.", h.Filename, size(h.Size))
		}
		data, err = io.ReadAll(io.LimitReader(f, maxImportCSV+1))
		if err != nil {
			return "", mode, "The file could not be read. Choose it again."
		}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte(r.FormValue("csv"))
	}
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return "", mode, "Choose a CSV file, or paste its rows, first."
	case len(data) > maxImportCSV:
		return "", mode, fmt.Sprintf("The file is %s; the console takes files up to 2 MB (about 20,000 rows). "+
			"Split it, or send it to the admin API or with rosterd users import, which take up to 20 MB.", size(int64(len(data))))
	case !utf8.Valid(data):
		return "", mode, "The file is not UTF-8 text. Save it from your spreadsheet as “CSV UTF-8” and choose it again."
	}
	return string(data), mode, ""
}

func size(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KB", (n+1023)/1024)
}

// importPreview checks the file with the admin API's dry run and shows
// every row's outcome; nothing is written.
func (c *Console) importPreview(w http.ResponseWriter, r *http.Request, p *person) error {
	csv, mode, problem := importFile(r)
	if problem != "" {
		c.renderImport(w, r, p, http.StatusBadRequest, csv, mode, problem)
		return nil
	}
	raw, hdr, err := c.callRaw(r.Context(), r, p, http.MethodPost, c.importBase(p)+"/users/import?dry_run=true&mode="+mode,
		"application/json", []byte(csv))
	var e *apiError
	if errors.As(err, &e) && e.Status != http.StatusForbidden {
		c.renderImport(w, r, p, e.Status, csv, mode, "The file was not checked: "+e.Text())
		return nil
	}
	if err != nil {
		return err
	}
	d := importPreviewData{CSV: csv, Mode: mode}
	if hdr.Get("Location") == "" {
		var sum importSummary
		if err := json.Unmarshal(raw, &sum); err != nil {
			return fmt.Errorf("console: decoding a dry run: %w", err)
		}
		d.Rows, d.Seats, d.Results = sum.Rows, sum.Seats, sum.Results
		d.count(sum.Counts)
	} else {
		// A large file: the dry run is a job of its own. Wait for it (it
		// writes nothing and is quick), then read its results.
		var j jobView
		if err := json.Unmarshal(raw, &j); err != nil {
			return fmt.Errorf("console: decoding a dry-run job: %w", err)
		}
		d.JobID = j.ID
		j, err = c.waitJob(r.Context(), r, p, j.ID, previewWait)
		if err != nil {
			return err
		}
		if j.State == "failed" {
			c.renderImport(w, r, p, http.StatusBadRequest, csv, mode, "The file could not be checked: "+j.Error)
			return nil
		}
		d.Rows, d.Seats, d.Pending = j.Total, j.Seats, !j.Done()
		d.count(j.Counts)
		if j.Done() {
			if d.Results, err = c.allJobResults(r.Context(), r, p, j.ID); err != nil {
				return err
			}
		}
	}
	c.renderView(w, r, http.StatusOK, "import-preview", view{P: p, Title: "Check the import", Nav: "import", Data: d})
	return nil
}

func (d *importPreviewData) count(counts map[string]int) {
	d.Create, d.Update, d.Unchanged, d.Invalid = counts["create"], counts["update"], counts["unchanged"], counts["invalid"]
}

// waitJob reads the job until it is done or wait has passed (then it
// answers the job as it stands).
func (c *Console) waitJob(ctx context.Context, r *http.Request, p *person, jobID string, wait time.Duration) (jobView, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var j jobView
		if err := c.call(ctx, r, p, http.MethodGet, c.importBase(p)+"/jobs/"+url.PathEscape(jobID), nil, &j); err != nil {
			return j, err
		}
		if j.Done() {
			return j, nil
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-deadline.C:
			return j, nil
		case <-tick.C:
		}
	}
}

// allJobResults reads every result of a finished job, a page at a time.
func (c *Console) allJobResults(ctx context.Context, r *http.Request, p *person, jobID string) ([]importResult, error) {
	var out []importResult
	from := 0
	for {
		var page jobResultsPageView
		path := c.importBase(p) + "/jobs/" + url.PathEscape(jobID) + "/results?from=" + strconv.Itoa(from)
		if err := c.call(ctx, r, p, http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Results...)
		if page.Next == nil || len(page.Results) == 0 {
			return out, nil
		}
		from = *page.Next
	}
}

// importRun imports the file the preview page carried, as a job, and goes
// to the job's page.
func (c *Console) importRun(w http.ResponseWriter, r *http.Request, p *person) error {
	csv, mode, problem := importFile(r)
	if problem != "" {
		c.renderImport(w, r, p, http.StatusBadRequest, csv, mode, problem)
		return nil
	}
	raw, hdr, err := c.callRaw(r.Context(), r, p, http.MethodPost, c.importBase(p)+"/users/import?mode="+mode,
		"application/json", []byte(csv), "Prefer", "respond-async")
	var e *apiError
	if errors.As(err, &e) && e.Status != http.StatusForbidden {
		c.renderImport(w, r, p, e.Status, csv, mode, "Nothing was imported: "+e.Text())
		return nil
	}
	if err != nil {
		return err
	}
	var j jobView
	if err := json.Unmarshal(raw, &j); err != nil || hdr.Get("Location") == "" || j.ID == "" {
		return fmt.Errorf("console: the import was not answered as a job (%s)", strings.TrimSpace(string(raw)))
	}
	redirect(w, r, "/console/"+url.PathEscape(p.Tenant.ID)+"/import/jobs/"+url.PathEscape(j.ID), "")
	return nil
}

func (c *Console) getJob(r *http.Request, p *person) (jobView, error) {
	var j jobView
	err := c.call(r.Context(), r, p, http.MethodGet, c.importBase(p)+"/jobs/"+url.PathEscape(r.PathValue("jobID")), nil, &j)
	return j, err
}

func jobText(j jobView) string {
	switch {
	case j.State == "queued":
		return fmt.Sprintf("Waiting to start: %s rows.", thousands(j.Total))
	case j.Done():
		return fmt.Sprintf("Done: %s of %s rows.", thousands(j.Processed), thousands(j.Total))
	}
	return fmt.Sprintf("%s of %s rows done (%d%%).", thousands(j.Processed), thousands(j.Total), j.Percent())
}

// importJob is a job's page: its progress while it runs (refreshing itself
// without script; console.js follows …/progress), its counts and per-row
// results once done.
func (c *Console) importJob(w http.ResponseWriter, r *http.Request, p *person) error {
	j, err := c.getJob(r, p)
	if err != nil {
		return err
	}
	d := importJobData{Job: j, Next: -1, Progress: jobText(j)}
	if j.Done() {
		from, _ := strconv.Atoi(r.URL.Query().Get("from"))
		from = max(0, from)
		var page jobResultsPageView
		path := c.importBase(p) + "/jobs/" + url.PathEscape(j.ID) + "/results?from=" + strconv.Itoa(from) + "&limit=" + strconv.Itoa(jobResultsPage)
		if err := c.call(r.Context(), r, p, http.MethodGet, path, nil, &page); err != nil {
			return err
		}
		d.Results, d.From, d.Prev = page.Results, from, max(0, from-jobResultsPage)
		if page.Next != nil && *page.Next < j.Processed {
			d.Next = *page.Next
		}
	}
	title := "Importing"
	switch {
	case j.DryRun:
		title = "Import check"
	case j.State == "succeeded":
		title = "Import done"
	case j.State == "failed":
		title = "Import stopped"
	}
	c.renderView(w, r, http.StatusOK, "import-job", view{P: p, Title: title, Nav: "import", Data: d})
	return nil
}

// importProgress answers the JSON console.js polls: {"percent", "text",
// "done", "next"}.
// A refusal of the API ends the polling: the answer is done, and the job's
// page (next) shows the refusal in its words.
func (c *Console) importProgress(w http.ResponseWriter, r *http.Request, p *person) error {
	page := "/console/" + url.PathEscape(p.Tenant.ID) + "/import/jobs/" + url.PathEscape(r.PathValue("jobID"))
	out := struct {
		Percent int    `json:"percent"`
		Text    string `json:"text"`
		Done    bool   `json:"done"`
		Next    string `json:"next,omitempty"`
	}{}
	status := http.StatusOK
	j, err := c.getJob(r, p)
	var e *apiError
	switch {
	case errors.As(err, &e):
		status, out.Text, out.Done, out.Next = e.Status, e.Text(), true, page
	case err != nil:
		return err
	default:
		out.Percent, out.Text, out.Done = j.Percent(), jobText(j), j.Done()
		if j.Done() {
			out.Next = page
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(out)
}

// importResultsCSV downloads the job's per-row results as the admin API
// writes them.
func (c *Console) importResultsCSV(w http.ResponseWriter, r *http.Request, p *person) error {
	id := r.PathValue("jobID")
	raw, _, err := c.callRaw(r.Context(), r, p, http.MethodGet, c.importBase(p)+"/jobs/"+url.PathEscape(id)+"/results", "text/csv", nil)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="import-results-`+fileSafe(id)+`.csv"`)
	_, _ = w.Write(raw)
	return nil
}

// fileSafe keeps letters, digits, - and _ of a name for a download.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// thousands writes a count as an admin reads it: 12345 → "12,345".
func thousands(n int) string {
	digits := strconv.Itoa(n)
	sign := ""
	if n < 0 {
		sign, digits = "-", digits[1:]
	}
	var b strings.Builder
	for i, ch := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	return sign + b.String()
}
