package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/session"
)

// TestCLI_consoleLink: the operator prints a console link for a person;
// rosterd serves its redemption, which signs the person in once.
func TestCLI_consoleLink(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "ultimate")
	s.ok(t, "people", "invite", "acme", "ann@acme.test", "--email", "ann@acme.test")

	out := s.ok(t, "console-link", "acme", "ann@acme.test")
	link := regexp.MustCompile(`http://roster\.test/console/acme/enter\?code=[A-Za-z0-9_-]{43}`).FindString(out)
	require.NotEmpty(t, link, out)
	assert.Contains(t, out, "signs them in once, until ")

	var answer map[string]string
	require.NoError(t, json.Unmarshal([]byte(s.ok(t, "console-link", "acme", "ann@acme.test", "--json")), &answer))
	assert.NotEmpty(t, answer["expires_at"])

	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	enter := func() *http.Response {
		res, err := cl.Get(strings.Replace(link, "http://roster.test", s.url, 1))
		require.NoError(t, err)
		res.Body.Close()
		return res
	}
	res := enter()
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/console/acme/", res.Header.Get("Location"))
	require.NotEmpty(t, res.Cookies())
	assert.Equal(t, session.CookieName, res.Cookies()[0].Name)
	assert.Equal(t, http.StatusGone, enter().StatusCode, "a link signs in once")

	r := s.run(t, "", nil, "console-link", "acme")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.err.Error(), "TENANT USER")
	r = s.run(t, "", nil, "console-link", "acme", "nobody")
	assert.Equal(t, ExitRefused, r.code)
}
