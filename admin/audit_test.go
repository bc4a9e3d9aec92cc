package admin_test

import (
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// rawGet GETs path as the operator and answers the body unparsed, with
// the status and headers.
func (c *client) rawGet(path string, headers ...string) response {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.srv.URL+path, nil)
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	return response{Status: res.StatusCode, Header: res.Header, Raw: string(b)}
}

// TestAdmin_auditRangesPagesAndCSV: the trail takes from/to as times or
// dates, pages newest first with next_cursor (null on the last page), and
// answers CSV for Accept: text/csv or format=csv — every event the filters
// select unless limit is given, formula cells neutralised. Bad parameters
// are 400s naming each.
func TestAdmin_auditRangesPagesAndCSV(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 50)
		var ids []string
		for i := range 5 {
			c.now = time.Date(2026, 11, 23+i, 9, 0, 0, 0, time.UTC) // one a day, 23 to 27 November
			ids = append(ids, c.user("acme", "u"+itoa(i)+"@acme.test", true, "").ID)
		}
		_, err := c.store.CreateUser(t.Context(), "acme", store.User{UserName: "=cmd|calc@acme.test", Active: true}, scimToken)
		require.NoError(t, err)

		r := c.do("GET", "/admin/v1/tenants/acme/audit?action=user.created&from=2026-11-24&to=2026-11-26", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		events := r.Body["events"].([]any)
		require.Len(t, events, 2)
		assert.Equal(t, ids[2], events[0].(map[string]any)["target_id"], "newest first")
		assert.Equal(t, ids[1], events[1].(map[string]any)["target_id"])
		assert.Nil(t, r.Body["next_cursor"], "no next page")

		r = c.do("GET", "/admin/v1/tenants/acme/audit?action=user.created&limit=4", "")
		require.Len(t, r.Body["events"], 4)
		cursor := r.Body["next_cursor"].(string)
		r = c.do("GET", "/admin/v1/tenants/acme/audit?action=user.created&limit=4&cursor="+cursor, "")
		require.Len(t, r.Body["events"], 2)
		assert.Equal(t, ids[0], r.Body["events"].([]any)[1].(map[string]any)["target_id"])
		assert.Nil(t, r.Body["next_cursor"])

		for _, path := range []string{"/admin/v1/tenants/acme/audit?format=csv&action=user.created", "/admin/v1/tenants/acme/audit?action=user.created"} {
			res := c.rawGet(path, "Accept", "text/csv")
			require.Equal(t, http.StatusOK, res.Status, res.Raw)
			assert.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
			assert.Contains(t, res.Header.Get("Content-Disposition"), `filename="audit-acme.csv"`)
			rows, err := csv.NewReader(strings.NewReader(res.Raw)).ReadAll()
			require.NoError(t, err)
			require.Len(t, rows, 7, "the header and every creation")
			assert.Equal(t, []string{"seq", "time", "action", "actor_kind", "actor_id", "actor_name", "request_id",
				"target_type", "target_id", "detail", "before", "after"}, rows[0])
			assert.Equal(t, "user.created", rows[1][2])
			assert.Equal(t, "token", rows[1][3])
			assert.True(t, strings.HasPrefix(rows[1][11], `{"id":`), "the record after, as JSON: %s", rows[1][11])
			assert.Equal(t, ids[4], rows[2][8])
			assert.Equal(t, "2026-11-27T09:00:00Z", rows[2][1])
		}
		res := c.rawGet("/admin/v1/tenants/acme/audit?format=csv&action=user.created&limit=2")
		rows, err := csv.NewReader(strings.NewReader(res.Raw)).ReadAll()
		require.NoError(t, err)
		assert.Len(t, rows, 3)

		r = c.do("GET", "/admin/v1/tenants/acme/audit?from=2026-11-26&to=2026-11-24&format=xml", "")
		require.Equal(t, http.StatusBadRequest, r.Status)
		assert.Contains(t, fields(r)["to"], "after from")
		assert.Contains(t, fields(r)["format"], "json or csv")
		r = c.do("GET", "/admin/v1/tenants/acme/audit?sort=time", "")
		require.Equal(t, http.StatusBadRequest, r.Status)
		assert.Contains(t, fields(r)["sort"], "not a parameter", "a misspelt filter never answers everything")
		r = c.do("GET", "/admin/v1/tenants/acme/audit?from=26/11/2026", "")
		assert.Contains(t, fields(r)["from"], "a date such as 2026-01-02")
	})
}
