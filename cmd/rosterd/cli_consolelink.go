package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// ---- console-link: a single-use sign-in link to the console ----

func consoleLinkCmd(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "console-link", args, nil)
	if err != nil {
		return err
	}
	if err := wantArgs("console-link", pos, "TENANT", "USER"); err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]string{"user": pos[1]})
	var out struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	raw, err := c.call(ctx, "POST", "/admin/v1/tenants/"+escape(pos[0])+"/console-links", body, "application/json", &out)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, `Console link for %s in tenant %s: it signs them in once, until %s.

  %s
`, pos[1], pos[0], out.ExpiresAt.UTC().Format(time.RFC3339), out.URL)
		return err
	})
}
