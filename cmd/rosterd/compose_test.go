package main

import (
	"flag"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The compose file is read with go.yaml.in/yaml/v3, already in the module
// graph through testify: "it parses as YAML" is the first thing docker
// compose checks, and a hand-written reader would not prove it.

// composeFile is the part of docker-compose.yml these tests read.
type composeFile struct {
	Services map[string]struct {
		Build struct {
			Args map[string]string `yaml:"args"`
		} `yaml:"build"`
		Environment map[string]string `yaml:"environment"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
}

// composeRef is one ${NAME…} of the compose file: ${NAME:?message} (required),
// ${NAME:-default} or ${NAME}.
var composeRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:\?|:-)([^}]*))?\}`)

// interpolate does what docker compose does with the forms the file uses,
// and names the required variables that env lacks.
func interpolate(s string, env map[string]string) (string, []string) {
	var missing []string
	out := composeRef.ReplaceAllStringFunc(s, func(m string) string {
		p := composeRef.FindStringSubmatch(m)
		if v := env[p[1]]; v != "" {
			return v
		}
		if p[2] == ":?" {
			missing = append(missing, p[1])
		}
		return p[3]
	})
	return out, missing
}

func readCompose(t *testing.T) (composeFile, string) {
	t.Helper()
	raw, err := os.ReadFile("../../docker-compose.yml")
	require.NoError(t, err)
	var c composeFile
	require.NoError(t, yaml.Unmarshal(raw, &c), "docker-compose.yml must parse as YAML")
	return c, string(raw)
}

// TestCompose_requiredVariablesAndTheServerTheyConfigure: the compose file
// parses; the public URL, the database password and the admin token are
// required variables with a message (no fixed http://localhost base URL, no
// fixed password, none in the database URL); VERSION reaches the Dockerfile's
// ARG; every ROSTER_* it sets is one rosterd reads; and with the variables
// set, rosterd's configuration inside the container is valid, on PostgreSQL,
// and the admin CLI run in the container calls the server it sits beside.
// Docker is not needed: this reads the files.
func TestCompose_requiredVariablesAndTheServerTheyConfigure(t *testing.T) {
	c, raw := readCompose(t)
	rosterd, ok := c.Services["rosterd"]
	require.True(t, ok)
	pg, ok := c.Services["postgres"]
	require.True(t, ok)

	required := map[string]bool{}
	for _, m := range composeRef.FindAllStringSubmatch(raw, -1) {
		if m[2] == ":?" {
			required[m[1]] = true
			assert.Contains(t, m[3], "set "+m[1], "the message of %s says what to set", m[1])
		}
	}
	assert.Equal(t, map[string]bool{"ROSTER_ADMIN_TOKEN": true, "ROSTER_DB_PASSWORD": true, "ROSTER_BASE_URL": true}, required)
	assert.True(t, strings.HasPrefix(rosterd.Environment["ROSTER_BASE_URL"], "${ROSTER_BASE_URL:?"), "no fixed base URL")
	assert.True(t, strings.HasPrefix(pg.Environment["POSTGRES_PASSWORD"], "${ROSTER_DB_PASSWORD:?"), "no fixed database password")
	dsn, err := url.Parse(rosterd.Environment["ROSTER_DATABASE_URL"])
	require.NoError(t, err)
	_, hasPassword := dsn.User.Password()
	assert.False(t, hasPassword, "the password is not in the URL: rosterd gets it as PGPASSWORD")
	assert.Equal(t, pg.Environment["POSTGRES_PASSWORD"], rosterd.Environment["PGPASSWORD"], "one password for both")
	for i, line := range strings.Split(raw, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			assert.NotContains(t, line, "$(", "line %d: docker compose refuses $( outside comments", i+1)
		}
	}

	// VERSION is passed to the Dockerfile, which declares it.
	assert.Equal(t, "${VERSION:-}", rosterd.Build.Args["VERSION"])
	dockerfile, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^ARG VERSION\b`, string(dockerfile))
	assert.Contains(t, string(dockerfile), "-X main.version=${VERSION}")

	// Every ROSTER_* set is read by rosterd (serve, or the CLI's ROSTER_URL).
	known := map[string]bool{"ROSTER_URL": true}
	var cfg Config
	for _, v := range cfg.vars() {
		known[v.env] = true
	}
	for k := range rosterd.Environment {
		if strings.HasPrefix(k, "ROSTER_") {
			assert.True(t, known[k], "%s is not a variable rosterd reads", k)
		}
	}

	// Every variable the file references is described in the README.
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	for _, m := range composeRef.FindAllStringSubmatch(raw, -1) {
		assert.Contains(t, string(readme), "`"+m[1]+"`", "README describes %s", m[1])
	}

	// Without the variables, compose stops naming each.
	env := map[string]string{}
	for k, v := range rosterd.Environment {
		_, missing := interpolate(v, map[string]string{})
		for _, m := range missing {
			env[m] = k
		}
	}
	assert.Len(t, env, 3, "ROSTER_ADMIN_TOKEN, ROSTER_DB_PASSWORD, ROSTER_BASE_URL are each refused when unset")

	// With them, the container's configuration is a valid PostgreSQL server.
	vars := map[string]string{"ROSTER_ADMIN_TOKEN": "compose-test-admin-token-0123456789", "ROSTER_DB_PASSWORD": "p@ss/word:with#chars",
		"ROSTER_BASE_URL": "https://roster.example.com"}
	inside := map[string]string{}
	for k, v := range rosterd.Environment {
		got, missing := interpolate(v, vars)
		require.Empty(t, missing)
		inside[k] = got
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	loaded, err := loadConfig(fs, nil, func(k string) string { return inside[k] })
	require.NoError(t, err)
	require.NoError(t, loaded.Validate())
	assert.Equal(t, "https://roster.example.com", loaded.BaseURL)
	assert.NotEmpty(t, loaded.DatabaseURL)
	assert.Equal(t, vars["ROSTER_DB_PASSWORD"], inside["PGPASSWORD"], "any password, unescaped")

	// The CLI in the container (docker compose exec rosterd /rosterd …) calls
	// the server it sits beside, with the server's own token.
	assert.Equal(t, strings.Replace(localURL(loaded.Addr, ""), "127.0.0.1", "localhost", 1), inside["ROSTER_URL"])
	assert.Equal(t, []string{"CMD", "/rosterd", "healthcheck"}, rosterd.Healthcheck.Test)
	sys, _, _ := testSystem(inside)
	c2, _, err := parseCLI(sys, "tenant list", nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "http://localhost:8080", c2.baseURL)
	assert.Equal(t, vars["ROSTER_ADMIN_TOKEN"], c2.token)
	assert.Contains(t, string(readme), "docker compose exec rosterd /rosterd tenant create")
}
