package conformance_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// This file runs Okta's "SCIM 2.0 SPEC Test" — the Runscope export Okta
// hands ISVs, both versions in testdata/idp/okta/spec-test — step by step against
// the full rosterd stack, as Runscope would: it substitutes the variables,
// sends each request, evaluates every assertion and extracts the variables
// later steps use. Pauses are skipped.
//
// How Runscope's semantics are read where the export leaves them open:
//   - URLs are percent-encoded like JavaScript's encodeURI (Runscope sends
//     `filter=userName eq "x"` as `filter=userName%20eq%20%22x%22`);
//   - a property path walks objects by name and arrays by [i]; a name applied
//     to an array collects that member of every element (`emails.value`);
//   - `equal` compares the value's text (true → "true", 0 → "0"),
//     `equal_number` compares numbers, `contains` is membership in an array
//     or a substring of a string, `has_value` is membership in an array (with
//     no expected value: the property has a non-null value), `not_empty` is
//     present, non-null and not "", [] or {} (booleans are not empty),
//     `is_a_number` is a JSON number, `is_less_than` on response_time is in
//     milliseconds;
//   - the one non-empty script in the exports (2016's Groups check) is
//     translated to Go below, matched by its exact text; any other script
//     fails the step rather than being skipped.
// The "Initial Script" variables come from initialVariables, in the shapes
// of Okta's published initial script.

// runscopeTest is the part of a Runscope export the runner reads.
type runscopeTest struct {
	Name  string         `json:"name"`
	Steps []runscopeStep `json:"steps"`
}

type runscopeStep struct {
	StepType   string              `json:"step_type"`
	Skipped    bool                `json:"skipped"`
	Note       string              `json:"note"`
	Method     string              `json:"method"`
	URL        string              `json:"url"`
	Headers    map[string]any      `json:"headers"` // a list of values, or one string (2016)
	Body       string              `json:"body"`
	Assertions []runscopeAssertion `json:"assertions"`
	Variables  []struct {
		Source   string `json:"source"`
		Name     string `json:"name"`
		Property string `json:"property"`
	} `json:"variables"`
	Scripts []string `json:"scripts"`
}

type runscopeAssertion struct {
	Comparison string  `json:"comparison"`
	Source     string  `json:"source"`
	Property   string  `json:"property"`
	Value      *string `json:"value"`
}

func loadRunscope(t *testing.T, path string) runscopeTest {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var rt runscopeTest
	require.NoError(t, json.Unmarshal(b, &rt))
	require.NotEmpty(t, rt.Steps)
	return rt
}

// initialVariables are what Okta's "Initial Script" sets, freshly random.
func initialVariables(baseURL, token string) map[string]string {
	// Always ten digits (a leading zero kept), so that the slices below fit.
	r := fmt.Sprintf("%010d", rand.Uint64()%1e10)
	given, family := "Runscope"+r[:4], "Okta"+r[4:8]
	user := "Runscope" + r + "Okta@atko.com"
	return map[string]string{
		"SCIMBaseURL":            baseURL,
		"auth":                   "Bearer " + token,
		"InvalidUserEmail":       "invalid-" + r + "@atko.com",
		"randomGivenName":        given,
		"randomFamilyName":       family,
		"randomUsername":         user,
		"randomUsernameCaps":     strings.ToUpper(user),
		"randomEmail":            user,
		"UserIdThatDoesNotExist": "010101001010101" + r,
	}
}

var varRE = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// substitute replaces {{name}} with the variable's value; an unknown
// variable is an error, as Runscope leaves it unreplaced and the step fails.
func substitute(s string, vars map[string]string) (string, error) {
	var missing []string
	out := varRE.ReplaceAllStringFunc(s, func(m string) string {
		name := varRE.FindStringSubmatch(m)[1]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return out, fmt.Errorf("undefined variables %v", missing)
	}
	return out, nil
}

// encodeURI percent-encodes what JavaScript's encodeURI does: everything but
// letters, digits, ;,/?:@&=+$-_.!~*'()# and existing %XX escapes.
func encodeURI(s string) string {
	const keep = ";,/?:@&=+$-_.!~*'()#%"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

var pathPartRE = regexp.MustCompile(`^([^\[\]]*)((?:\[\d+\])*)$`)

// lookup walks a Runscope property path in a decoded JSON value.
func lookup(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	cur := v
	for _, part := range strings.Split(path, ".") {
		m := pathPartRE.FindStringSubmatch(part)
		if m == nil {
			return nil, false
		}
		if m[1] != "" {
			switch c := cur.(type) {
			case map[string]any:
				next, ok := c[m[1]]
				if !ok {
					return nil, false
				}
				cur = next
			case []any:
				var col []any
				for _, e := range c {
					if o, ok := e.(map[string]any); ok {
						if x, ok := o[m[1]]; ok {
							col = append(col, x)
						}
					}
				}
				if len(col) == 0 {
					return nil, false
				}
				cur = col
			default:
				return nil, false
			}
		}
		for _, idx := range regexp.MustCompile(`\d+`).FindAllString(m[2], -1) {
			i, _ := strconv.Atoi(idx)
			arr, ok := cur.([]any)
			if !ok || i >= len(arr) {
				return nil, false
			}
			cur = arr[i]
		}
	}
	return cur, true
}

// text renders a JSON value as Runscope compares it.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func notEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// response is what a step got back.
type response struct {
	status  int
	header  http.Header
	body    []byte
	json    any
	jsonErr error
	elapsed time.Duration
}

// check evaluates one assertion; it returns "" when it holds, else why not.
func check(a runscopeAssertion, res response, vars map[string]string) string {
	want := ""
	if a.Value != nil {
		var err error
		if want, err = substitute(*a.Value, vars); err != nil {
			return err.Error()
		}
	}
	var actual any
	switch a.Source {
	case "response_status":
		actual = float64(res.status)
	case "response_time":
		actual = float64(res.elapsed.Milliseconds())
	case "response_json":
		if res.jsonErr != nil {
			return fmt.Sprintf("body is not JSON (%v)", res.jsonErr)
		}
		v, ok := lookup(res.json, a.Property)
		if !ok {
			return fmt.Sprintf("property %q is absent", a.Property)
		}
		actual = v
	default:
		return fmt.Sprintf("unknown assertion source %q", a.Source)
	}
	ok := false
	switch a.Comparison {
	case "equal":
		ok = text(actual) == want
	case "equal_number":
		w, err := strconv.ParseFloat(want, 64)
		n, isNum := actual.(float64)
		ok = err == nil && isNum && n == w
	case "not_empty":
		ok = notEmpty(actual)
	case "is_a_number":
		_, ok = actual.(float64)
	case "has_value", "contains":
		switch x := actual.(type) {
		case []any:
			if a.Value == nil && a.Comparison == "has_value" {
				ok = len(x) > 0
			}
			for _, e := range x {
				ok = ok || text(e) == want
			}
		case string:
			ok = a.Comparison == "contains" && strings.Contains(x, want) || a.Value == nil && x != ""
		default:
			ok = a.Value == nil && actual != nil
		}
	case "is_less_than":
		w, err := strconv.ParseFloat(want, 64)
		n, isNum := actual.(float64)
		ok = err == nil && isNum && n < w
	default:
		return fmt.Sprintf("unknown comparison %q", a.Comparison)
	}
	if ok {
		return ""
	}
	what := a.Source
	if a.Property != "" {
		what += " " + a.Property
	}
	return fmt.Sprintf("%s %s %q failed: actual %s", what, a.Comparison, want, text(actual))
}

// groupsScript is the 2016 export's only script (Groups check).
const groupsScript = "var data = JSON.parse(response.body);\nvar max = data.totalResults;\nvar res = data.Resources;\nvar exists = false;\nif (max >= 1 && Array.isArray(res)) {\n    exists = true;\n}\n    \nassert.ok(exists, \"Resources is of type Array\");\nlog(exists);\n"

// runScript runs a step's script, translated to Go.
func runScript(script string, res response) string {
	switch strings.TrimSpace(script) {
	case "":
		return ""
	case strings.TrimSpace(groupsScript):
		m, _ := res.json.(map[string]any)
		max, _ := m["totalResults"].(float64)
		_, isArray := m["Resources"].([]any)
		if max >= 1 && isArray {
			return ""
		}
		return "script: Resources is of type Array (needs totalResults ≥ 1 and a Resources array)"
	}
	return "script not translated to Go: " + script
}

// runStep sends one request step and returns the faults of its assertions,
// scripts and variable extractions (none: the step passed). Extracted
// variables are stored in vars.
func runStep(c *http.Client, st runscopeStep, vars map[string]string) (faults []string, res response, err error) {
	rawURL, err := substitute(st.URL, vars)
	if err != nil {
		return nil, res, err
	}
	var body io.Reader
	if st.Body != "" {
		b, err := substitute(st.Body, vars)
		if err != nil {
			return nil, res, err
		}
		body = strings.NewReader(b)
	}
	req, err := http.NewRequest(st.Method, encodeURI(rawURL), body)
	if err != nil {
		return nil, res, err
	}
	for k, v := range st.Headers {
		var vs []string
		switch x := v.(type) {
		case string:
			vs = []string{x}
		case []any:
			for _, e := range x {
				vs = append(vs, fmt.Sprint(e))
			}
		}
		for _, s := range vs {
			s, err := substitute(s, vars)
			if err != nil {
				return nil, res, err
			}
			req.Header.Add(k, s)
		}
	}
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return nil, res, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, res, err
	}
	res = response{status: resp.StatusCode, header: resp.Header, body: b, elapsed: time.Since(t0)}
	res.jsonErr = json.Unmarshal(b, &res.json)

	for _, a := range st.Assertions {
		if f := check(a, res, vars); f != "" {
			faults = append(faults, f)
		}
	}
	for _, s := range st.Scripts {
		if f := runScript(s, res); f != "" {
			faults = append(faults, f)
		}
	}
	for _, v := range st.Variables {
		val, ok := lookup(res.json, v.Property)
		if v.Source != "response_json" || !ok {
			faults = append(faults, fmt.Sprintf("variable %s: %s %s not found", v.Name, v.Source, v.Property))
			continue
		}
		vars[v.Name] = text(val)
	}
	return faults, res, nil
}

// runRunscope runs every request step of the export in order (pauses
// skipped) as a subtest, reporting each failing step with its response.
func runRunscope(t *testing.T, rt runscopeTest, vars map[string]string) {
	c := &http.Client{Timeout: 30 * time.Second}
	n := 0
	for _, st := range rt.Steps {
		if st.StepType != "request" || st.Skipped {
			continue
		}
		n++
		t.Run(fmt.Sprintf("%02d %s", n, strings.TrimSpace(st.Note)), func(t *testing.T) {
			faults, res, err := runStep(c, st, vars)
			require.NoError(t, err)
			if len(faults) > 0 {
				var pretty bytes.Buffer
				if json.Indent(&pretty, res.body, "", "  ") != nil {
					pretty.Reset()
					pretty.Write(res.body)
				}
				t.Errorf("%s %s\n%s\nresponse %d %s:\n%s", st.Method, st.URL, strings.Join(faults, "\n"),
					res.status, res.header.Get("Content-Type"), pretty.String())
			}
		})
	}
	require.Positive(t, n)
}
