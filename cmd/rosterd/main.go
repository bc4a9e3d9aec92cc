// Command rosterd is the Roster server: SCIM 2.0 provisioning, the admin API
// and per-tenant SAML, over the in-memory store or PostgreSQL.
//
// All the work happens in run, which tests call directly.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if err := run(signalContext(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rosterd:", err)
		os.Exit(exitCode(err)) // cli.go: 1 refused or failed, 2 usage, 3 server unreachable or token refused
	}
}

// signalContext is cancelled by the first SIGINT or SIGTERM, which starts a
// graceful shutdown; the signals then get their default handling back, so a
// second one ends the process at once.
func signalContext() context.Context {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx
}
