package console

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/session"
)

func testPerson() *person {
	return &person{Tenant: session.TenantView{ID: "acme", Name: "Acme"}, CSRF: "token",
		Permissions: map[string]bool{"users.manage": true, "users.view": true, "billing.view": true}}
}

// A running job's page refreshes itself when script is off (a refresh
// inside noscript, in the head: with script, console.js follows the
// progress JSON instead) and names its progress URL; a finished job's page
// does neither.
func TestImportJobPage_refreshesItselfOnlyWhileRunning(t *testing.T) {
	c := New(Config{})
	render := func(j jobView) string {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/console/acme/import/jobs/"+j.ID, nil)
		c.renderView(rec, req, http.StatusOK, "import-job", view{P: testPerson(), Title: "Importing", Nav: "import",
			Data: importJobData{Job: j, Next: -1, Progress: jobText(j)}})
		require.Equal(t, http.StatusOK, rec.Code)
		return rec.Body.String()
	}
	body := render(jobView{ID: "j1", State: "running", Total: 1200, Processed: 500})
	head := body[:strings.Index(body, "</head>")]
	assert.Contains(t, head, `<noscript><meta http-equiv="refresh" content="2"></noscript>`)
	assert.Contains(t, body, `data-progress="/console/acme/import/jobs/j1/progress"`)
	assert.Contains(t, body, `value="41"`)
	assert.Contains(t, body, "500 of 1,200 rows done (41%).")
	assert.NotContains(t, body, "results.csv", "no results before the end")

	body = render(jobView{ID: "j1", State: "succeeded", Total: 1200, Processed: 1200, Counts: map[string]int{"created": 1200}})
	assert.NotContains(t, body, "http-equiv")
	assert.NotContains(t, body, "data-progress=")
	assert.Contains(t, body, `value="100"`)
	assert.Contains(t, body, "Done: 1,200 of 1,200 rows.")
	assert.Contains(t, body, `href="/console/acme/import/jobs/j1/results.csv"`)
}

func TestJobPercent(t *testing.T) {
	assert.Equal(t, 0, jobView{State: "queued", Total: 0}.Percent())
	assert.Equal(t, 33, jobView{State: "running", Total: 3, Processed: 1}.Percent())
	assert.Equal(t, 100, jobView{State: "failed", Total: 10, Processed: 4}.Percent(), "a stopped job is at its end")
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4200: "-4,200"} {
		assert.Equal(t, want, thousands(n))
	}
}

// The file of an upload: the chosen file, else the pasted text; too large,
// empty or not UTF-8 is a sentence to show, not a call to the API.
func TestImportFile(t *testing.T) {
	post := func(file []byte, text string) *http.Request {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if file != nil {
			fw, err := mw.CreateFormFile("file", "people.csv")
			require.NoError(t, err)
			_, _ = fw.Write(file)
		}
		require.NoError(t, mw.WriteField("csv", text))
		require.NoError(t, mw.WriteField("mode", "update"))
		require.NoError(t, mw.Close())
		r := httptest.NewRequest(http.MethodPost, "/console/acme/import", &body)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		require.NoError(t, r.ParseMultipartForm(maxUpload))
		return r
	}
	csv, mode, problem := importFile(post([]byte("email\na@b.c\n"), "ignored"))
	assert.Equal(t, "email\na@b.c\n", csv)
	assert.Equal(t, "update", mode)
	assert.Empty(t, problem)

	csv, _, problem = importFile(post(nil, "email\nd@e.f\n"))
	assert.Equal(t, "email\nd@e.f\n", csv, "the pasted text when no file is chosen")
	assert.Empty(t, problem)

	_, _, problem = importFile(post(nil, "  \n"))
	assert.Contains(t, problem, "Choose a CSV file")

	big := append([]byte("email\n"), bytes.Repeat([]byte("someone@example.com\n"), maxImportCSV/20+1)...)
	_, _, problem = importFile(post(big, ""))
	assert.Contains(t, problem, "up to 2 MB")

	_, _, problem = importFile(post([]byte("email\n\xff\xfe@x\n"), ""))
	assert.Contains(t, problem, "UTF-8")
}
