package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// importRows is more than the admin API answers in the request (1,000
// rows): both the check and the import of the file run as jobs.
const importRows = 1200

// TestBrowser_importCSVPreviewThenJob: an admin uploads a CSV of 1,200
// people; the preview lists every row's outcome (new, update, problem) and
// the seat forecast while nobody has been created; "Import" runs the import
// as a job whose page shows the progress reach 100 % and then the counts
// and every row; the per-row results download as CSV; the people exist,
// created with the admin as the actor.
func TestBrowser_importCSVPreviewThenJob(t *testing.T) {
	site := newConsoleSite(t)
	site.person("ann@demo.test", "Ann Admin", "admin")
	// Enough seats for everyone in the file.
	require.Equal(t, http.StatusOK, site.api(site.admin, "PATCH", "/admin/v1/tenants/demo", map[string]any{"seats": 1500}, &map[string]any{}))
	// One person the file updates: made by hand, so the import may change them.
	var pat struct {
		ID string `json:"id"`
	}
	require.Equal(t, http.StatusCreated, site.api(site.admin, "POST", "/admin/v1/tenants/demo/users",
		map[string]any{"userName": "pat@demo.test", "email": "pat@demo.test", "displayName": "Pat"}, &pat))

	var file bytes.Buffer
	file.WriteString("email,givenName,familyName,role\n")
	file.WriteString("pat@demo.test,Patricia,Lee,\n")  // line 2: an update
	file.WriteString("not-an-address,Bad,Row,agent\n") // line 3: a problem
	for i := 3; i <= importRows; i++ {
		fmt.Fprintf(&file, "person%04d@demo.test,Person,%04d,agent\n", i, i)
	}
	path := filepath.Join(t.TempDir(), "people.csv")
	require.NoError(t, os.WriteFile(path, file.Bytes(), 0o644))
	users := func() int {
		n, cursor := 0, ""
		for {
			var page struct {
				Users      []map[string]any `json:"users"`
				NextCursor *string          `json:"next_cursor"`
			}
			require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/users?limit=200"+cursor, nil, &page))
			n += len(page.Users)
			if page.NextCursor == nil {
				return n
			}
			cursor = "&cursor=" + *page.NextCursor
		}
	}
	before := users()
	require.Equal(t, 2, before)

	b := site.newBrowser()
	b.signInWithSSO("/console/demo/import", "ann@demo.test")
	assert.Equal(t, "Import people", b.text("h1"))
	assert.Contains(t, b.text("main"), "accessExpiresAt", "the columns are on the page")
	assert.Contains(t, b.text(".import-sample"), "email,userName,givenName", "with a sample")
	b.shot("import")

	// The check: every row's outcome, nothing written.
	b.upload("#import-file", path)
	b.click("form[action$='/import'] button[type=submit]", "#run-import", "footer p")
	assert.Equal(t, "Check the import", b.text("h1"))
	assert.Equal(t, "1,200", b.text("#pv-rows"))
	assert.Equal(t, "1,198", b.text("#pv-create"))
	assert.Equal(t, "1", b.text("#pv-update"))
	assert.Equal(t, "1", b.text("#pv-invalid"))
	assert.Equal(t, importRows, b.count("table.import-rows tbody tr[data-status]"), "every row is listed")
	assert.Equal(t, "update", b.attr("tr[data-line='2']", "data-status"))
	assert.Contains(t, b.text("tr[data-line='2']"), "Patricia", "the update shows the field it changes")
	assert.Equal(t, "invalid", b.attr("tr[data-line='3']", "data-status"))
	assert.Contains(t, b.text("tr[data-line='3']"), "not a valid address")
	assert.Equal(t, "create", b.attr(fmt.Sprintf("tr[data-line='%d']", importRows+1), "data-status"))
	assert.Contains(t, b.text("#pv-seats"), "take 1,198 paid seats")
	assert.Equal(t, "Import 1,199 people", b.text("#run-import"))
	assert.Equal(t, before, users(), "the check created nobody")
	b.shot("import-preview")

	// The import: a job, followed to the end.
	b.click("#run-import", "#job-progress")
	assert.Regexp(t, `^/console/demo/import/jobs/[^/]+$`, b.location())
	b.waitFor("#job-rows")
	b.waitFor("footer p") // the finished job's page (console.js goes there when the job is done)
	assert.Equal(t, "Import done", b.text("h1"))
	assert.Equal(t, 100, eval[int](b, "document.querySelector('#job-progress').value"), "the progress reached 100 %")
	assert.Equal(t, "Done: 1,200 of 1,200 rows.", b.text("#job-progress-text"))
	assert.Equal(t, "1,198", b.text("#job-created"))
	assert.Equal(t, "1", b.text("#job-updated"))
	assert.Equal(t, "1", b.text("#job-failed"))
	assert.Equal(t, 500, b.count("table.import-rows tbody tr[data-status]"), "a page of results")
	assert.Equal(t, "updated", b.attr("tr[data-line='2']", "data-status"))
	assert.Equal(t, "failed", b.attr("tr[data-line='3']", "data-status"))
	b.shot("import-progress")
	jobPage := b.location()

	// The progress JSON console.js follows says the same.
	status, _, body := b.download(jobPage + "/progress")
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, fmt.Sprintf(`{"percent":100,"text":"Done: 1,200 of 1,200 rows.","done":true,"next":%q}`, jobPage), string(body))

	// Of a job that does not exist, the answer ends the polling on the
	// job page, which says so.
	status, _, body = b.download("/console/demo/import/jobs/nope/progress")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, string(body), `"done":true`)
	assert.Contains(t, string(body), `"next":"/console/demo/import/jobs/nope"`)

	// The people exist, created by Ann.
	assert.Equal(t, before+importRows-2, users())
	var found struct {
		Users []struct {
			ID string `json:"id"`
		} `json:"users"`
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/users?q=person0007%40demo.test", nil, &found))
	require.Len(t, found.Users, 1)
	var audit struct {
		Events []struct {
			Action string `json:"action"`
			Actor  struct {
				Kind string `json:"kind"`
				Name string `json:"name"`
			} `json:"actor"`
		} `json:"events"`
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/audit?user="+found.Users[0].ID, nil, &audit))
	require.NotEmpty(t, audit.Events)
	assert.Equal(t, "user", audit.Events[0].Actor.Kind)
	assert.Equal(t, "ann@demo.test", audit.Events[0].Actor.Name, "the import is Ann's")
	var patNow struct {
		Name struct {
			GivenName string `json:"givenName"`
		} `json:"name"`
	}
	require.Equal(t, http.StatusOK, site.api(site.scim, "GET", "/scim/v2/demo/Users/"+pat.ID, nil, &patNow))
	assert.Equal(t, "Patricia", patNow.Name.GivenName)

	// Every row's result downloads as CSV.
	href := b.attr("#results-csv", "href")
	status, hdr, body := b.download(href)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, hdr.Get("Content-Type"), "text/csv")
	assert.Contains(t, hdr.Get("Content-Disposition"), "attachment")
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, importRows+1, "a header and one line per row")
	assert.Equal(t, []string{"line", "email", "userName", "status", "id", "role", "changes", "errors"}, recs[0])
	byStatus := map[string]int{}
	for _, r := range recs[1:] {
		byStatus[r[3]]++
	}
	assert.Equal(t, map[string]int{"created": importRows - 2, "updated": 1, "failed": 1}, byStatus)
	assert.Equal(t, "not-an-address", recs[2][1])
	assert.Contains(t, recs[2][7], "not a valid address")

	// Importing the same file again changes nothing.
	b.open("/console/demo/import")
	b.upload("#import-file", path)
	b.click("form[action$='/import'] button[type=submit]", "#pv-rows", "footer p")
	assert.Equal(t, "1,199", b.text("#pv-unchanged"))
	assert.Equal(t, "0", b.text("#pv-create"))
	assert.True(t, eval[bool](b, "document.querySelector('#run-import').disabled"), "nothing to import")

	// A file the API cannot read is refused on the upload page, with the
	// API's sentence, and the pasted text kept for fixing.
	b.open("/console/demo/import")
	b.click("details summary")
	b.choose("#import-csv", "mail,name\nx@y.z,X\n")
	b.click("form[action$='/import'] button[type=submit]", "p.problem", "footer p")
	assert.Contains(t, b.text("p.problem"), "unknown column")
	assert.Contains(t, eval[string](b, "document.querySelector('#import-csv').value"), "mail,name")

	// A small file is checked in the request; its import is a job too.
	b.choose("#import-csv", "email,givenName,role\nzed@demo.test,Zed,supervisor\n")
	b.click("form[action$='/import'] button[type=submit]", "#pv-rows", "footer p")
	assert.Equal(t, "1", b.text("#pv-create"))
	assert.Equal(t, "supervisor", b.text("tr[data-line='2'] td:nth-child(5)"))
	b.click("#run-import", "#job-rows", "footer p")
	assert.Equal(t, "1", b.text("#job-created"))
	var zed struct {
		Users []struct {
			Role string `json:"role"`
		} `json:"users"`
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/users?q=zed%40demo.test", nil, &zed))
	require.Len(t, zed.Users, 1)
	assert.Equal(t, "supervisor", zed.Users[0].Role)

	b.phone()
	b.open(jobPage)
	b.shot("import-phone")
	assert.LessOrEqual(t, eval[int](b, "document.documentElement.scrollWidth"), 390, "no sideways scrolling at phone width")
}
