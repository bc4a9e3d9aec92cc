package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"
)

// scimActivityCmd prints a tenant's recent SCIM requests as Roster answered
// them, newest first (GET …/scim/activity; README "SCIM activity").
func scimActivityCmd(ctx context.Context, sys *system, args []string) error {
	var errorsOnly bool
	var since string
	var limit int
	c, pos, err := parseCLI(sys, "scim-activity", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&errorsOnly, "errors", false, "only answers with status 400 or above")
		fs.StringVar(&since, "since", "", "only requests answered at or after this RFC 3339 time")
		fs.IntVar(&limit, "limit", 100, "how many entries, newest first (1 to 1000)")
	})
	if err != nil {
		return err
	}
	if err := wantArgs("scim-activity", pos, "TENANT"); err != nil {
		return err
	}
	q := "?limit=" + strconv.Itoa(limit)
	if errorsOnly {
		q += "&errors=true"
	}
	if since != "" {
		q += "&since=" + escape(since)
	}
	var page struct {
		Entries []struct {
			At         time.Time `json:"at"`
			TokenName  string    `json:"token_name"`
			Method     string    `json:"method"`
			Path       string    `json:"path"`
			Status     int       `json:"status"`
			Detail     string    `json:"detail"`
			DurationMS float64   `json:"duration_ms"`
		} `json:"entries"`
		Errors24h int `json:"errors_24h"`
	}
	raw, err := c.call(ctx, "GET", tenantPath(pos[0], "scim", "activity")+q, nil, "", &page)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		if _, err := fmt.Fprintf(w, "%d error(s) in the last 24 hours.\n", page.Errors24h); err != nil {
			return err
		}
		rows := make([][]string, 0, len(page.Entries))
		for _, e := range page.Entries {
			token := e.TokenName
			if token == "" {
				token = "(no token)"
			}
			rows = append(rows, []string{e.At.UTC().Format(time.RFC3339), token, e.Method, e.Path, strconv.Itoa(e.Status),
				strconv.FormatFloat(e.DurationMS, 'f', -1, 64), orDash(e.Detail)})
		}
		return writeTable(w, "AT\tTOKEN\tMETHOD\tPATH\tSTATUS\tMS\tDETAIL", rows)
	})
}
