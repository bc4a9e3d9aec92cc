package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// report prints the rows as a Markdown table (BENCHMARKS.md takes it as is)
// and, when asked, writes them as JSON.
func report(w io.Writer, c commonFlags, rows []row) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d connections; each load scenario measures %s per side, in %d alternating rounds each after a %s warm-up.\n\n",
		c.conns, c.dur, max(1, c.rounds), c.warmup)
	b.WriteString("| scenario | Roster | baseline | Roster / baseline | target | met |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		met := "yes"
		if !r.Met {
			met = "**no**"
		}
		if r.Failed != "" {
			met = "**failed**: " + r.Failed
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.Scenario, side(r.Roster), baseSide(r), ratio(r), r.Target, met)
	}
	for _, r := range rows {
		if r.Note != "" {
			fmt.Fprintf(&b, "\n- %s: %s", r.Scenario, r.Note)
		}
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if c.jsonOut != "" {
		j, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(c.jsonOut, append(j, '\n'), 0o644)
	}
	return nil
}

func side(m measure) string {
	switch {
	case m.RPS > 0:
		return fmt.Sprintf("%.0f req/s, p50 %s, p99 %s", m.RPS, ms(m.P50), ms(m.P99))
	case m.Requests > 1 && m.Total > 0:
		return fmt.Sprintf("%s in all (%d requests, p50 %s, p99 %s)", ms(m.Total), m.Requests, ms(m.P50), ms(m.P99))
	case m.Requests > 0:
		return fmt.Sprintf("%s (median), max %s", ms(m.P50), ms(m.P99))
	}
	return "—"
}

func baseSide(r row) string {
	s := side(r.Base)
	if s == "—" {
		return s
	}
	return s + " — " + r.BaseName
}

func ratio(r row) string {
	if strings.HasPrefix(r.Scenario, "auth flood") {
		return fmt.Sprintf("%.0f lookups/s", r.Ratio)
	}
	if r.Ratio == 0 {
		return "—"
	}
	if strings.HasPrefix(r.Scenario, "rosterd resident memory") || strings.Contains(r.Scenario, "concurrent GET /Groups?count=1000") {
		return fmt.Sprintf("peak %.0f MB", r.Ratio)
	}
	return fmt.Sprintf("%.2f", r.Ratio)
}

func ms(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
}
