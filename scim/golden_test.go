package scim_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden_discovery: the discovery documents and representative error
// bodies, compared with reviewed golden files (-update rewrites them).
func TestGolden_discovery(t *testing.T) {
	e := newEnv(t, backends[0].open, 10)
	for name, req := range map[string][3]string{
		"service_provider_config": {"GET", "/ServiceProviderConfig", ""},
		"resource_types":          {"GET", "/ResourceTypes", ""},
		"schemas":                 {"GET", "/Schemas", ""},
		"error_not_found":         {"GET", "/Users/00000000-0000-0000-0000-000000000000", ""},
		"error_invalid_filter":    {"GET", "/Users?filter=externalId%20eq%20jyoung", ""},
		"error_method":            {"POST", "/Schemas", "{}"},
		"error_duplicate_key":     {"POST", "/Users", `{"userName":"a","userName":"b"}`},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do(req[0], req[1], req[2])
			var pretty bytes.Buffer
			require.NoError(t, json.Indent(&pretty, []byte(r.Raw), "", "  "))
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, pretty.Bytes(), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./scim -run TestGolden -update")
			assert.Equal(t, string(want), pretty.String())
		})
	}
}
