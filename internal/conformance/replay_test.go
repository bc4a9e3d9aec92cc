package conformance_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the replay goldens in testdata/idp from the memory store's answers")

// A conversation is one IdP's whole provisioning session, in that IdP's
// exact request shapes (docs/idp-decisions.md and the vendor test
// files), stored as testdata/idp/<idp>/<name>.json; the answers Roster must
// give are beside it in <name>.golden.json.
type conversation struct {
	Description string            `json:"description"`
	Sources     []string          `json:"sources"`
	Headers     map[string]string `json:"headers"` // sent with every request (the IdP's User-Agent, Accept, Content-Type)
	Steps       []convStep        `json:"steps"`
}

type convStep struct {
	Name    string            `json:"name"`
	Method  string            `json:"method"`
	Path    string            `json:"path"` // below /scim/v2/{tenant}, with the query; {{var}} substituted
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
	// Capture names values of the answer for later steps: var → top-level
	// member (usually "id").
	Capture map[string]string `json:"capture,omitempty"`
}

// answer is one recorded response, masked.
type answer struct {
	Step    string            `json:"step"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body"`
}

// goldenHeaders are the response headers a golden keeps.
var goldenHeaders = []string{"Content-Type", "Location", "ETag", "Allow", "WWW-Authenticate", "Retry-After"}

var (
	uuidRE = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	timeRE = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})`)
)

// mask replaces what differs from run to run: captured ids by their
// {{name}} (so a golden shows which resource an id names), other UUIDs by
// <uuid>, timestamps by <time>.
func mask(s string, vars map[string]string) string {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if v := vars[k]; v != "" {
			s = strings.ReplaceAll(s, v, "{{"+k+"}}")
		}
	}
	s = uuidRE.ReplaceAllString(s, "<uuid>")
	return timeRE.ReplaceAllString(s, "<time>")
}

func loadConversation(t *testing.T, path string) conversation {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var c conversation
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&c), path)
	require.NotEmpty(t, c.Steps, path)
	return c
}

// replay sends the conversation's requests one by one and returns the
// masked answers.
func replay(t *testing.T, s stack, c conversation) []answer {
	t.Helper()
	vars := map[string]string{}
	client := &http.Client{}
	var out []answer
	for i, st := range c.Steps {
		path, err := substitute(st.Path, vars)
		require.NoError(t, err, "step %d %s", i+1, st.Name)
		var body io.Reader
		if len(st.Body) > 0 {
			b, err := substitute(string(st.Body), vars)
			require.NoError(t, err, "step %d %s", i+1, st.Name)
			body = strings.NewReader(b)
		}
		req, err := http.NewRequest(st.Method, s.URL+path, body)
		require.NoError(t, err, "step %d %s", i+1, st.Name)
		for k, v := range c.Headers {
			req.Header.Set(k, v)
		}
		for k, v := range st.Headers {
			if v == "" {
				req.Header.Del(k)
			} else {
				req.Header.Set(k, v)
			}
		}
		if req.Header.Get("Authorization") == "" {
			req.Header.Set("Authorization", "Bearer "+s.Token)
		}
		resp, err := client.Do(req)
		require.NoError(t, err, "step %d %s", i+1, st.Name)
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)

		var decoded map[string]any
		if len(raw) > 0 {
			require.NoError(t, json.Unmarshal(raw, &decoded), "step %d %s: body is not a JSON object: %s", i+1, st.Name, raw)
		}
		for name, member := range st.Capture {
			v, ok := decoded[member].(string)
			require.True(t, ok, "step %d %s: no %q to capture as %s in %d %s", i+1, st.Name, member, name, resp.StatusCode, raw)
			vars[name] = v
		}
		a := answer{Step: fmt.Sprintf("%02d %s %s %s", i+1, st.Method, st.Path, st.Name), Status: resp.StatusCode, Headers: map[string]string{}}
		for _, h := range goldenHeaders {
			if v := resp.Header.Get(h); v != "" {
				a.Headers[h] = mask(v, vars)
			}
		}
		if len(raw) > 0 {
			require.NoError(t, json.Unmarshal([]byte(mask(string(raw), vars)), &a.Body))
		}
		out = append(out, a)
	}
	return out
}

func marshalAnswers(t *testing.T, as []answer) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(as))
	return b.Bytes()
}

// TestReplay replays every recorded conversation under testdata/idp against
// the full stack on both stores and compares each answer — status, the
// Content-Type, Location and ETag headers, and the body — with the golden,
// after masking ids and times. Both stores must give the same answers.
//
//	go test ./internal/conformance -run TestReplay -update   # rewrite the goldens, then review them
func TestReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "idp", "*", "*.json"))
	require.NoError(t, err)
	var convs []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".golden.json") {
			convs = append(convs, f)
		}
	}
	require.NotEmpty(t, convs)
	for _, f := range convs {
		c := loadConversation(t, f)
		idp := filepath.Base(filepath.Dir(f))
		golden := strings.TrimSuffix(f, ".json") + ".golden.json"
		for _, backend := range backends {
			t.Run(idp+"/"+strings.TrimSuffix(filepath.Base(f), ".json")+"/"+backend, func(t *testing.T) {
				got := marshalAnswers(t, replay(t, newStack(t, backend), c))
				if *update && backend == backends[0] {
					require.NoError(t, os.WriteFile(golden, got, 0o644))
					return
				}
				want, err := os.ReadFile(golden)
				require.NoError(t, err, "no golden: run with -update and review it")
				var w, g []answer
				require.NoError(t, json.Unmarshal(want, &w))
				require.NoError(t, json.Unmarshal(got, &g))
				require.Len(t, g, len(w), "steps")
				for i := range w {
					assert.Equal(t, w[i], g[i], "step %s", w[i].Step)
				}
			})
		}
	}
}
