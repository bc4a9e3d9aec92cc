// Package conformance holds no code: its tests run vendor SCIM test suites
// (Okta's SCIM 2.0 SPEC Test, both Runscope exports) and the recorded IdP
// conversations of testdata/idp against the full SCIM stack — scimauth.Guard
// in front of the scim handler, mounted at /scim/v2/{tenant}/ as rosterd
// mounts it — on the memory and the PostgreSQL store.
//
//	go test ./internal/conformance                          # everything
//	go test ./internal/conformance -run TestReplay -update  # rewrite the replay goldens, then review them
package conformance
