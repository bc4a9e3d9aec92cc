package main

// rosterd users: bulk onboarding by CSV and bulk role changes through the
// admin API (issue 6).

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/roster-dev/roster/store"
)

func usersCmd(ctx context.Context, sys *system, args []string) error {
	return subcommand(ctx, sys, "users", args, map[string]func(context.Context, *system, []string) error{
		"import": usersImport, "role": usersRole,
	}, "import", "role")
}

// importAnswer is the admin API's answer to one import request.
type importAnswer struct {
	DryRun    bool           `json:"dry_run"`
	Rows      int            `json:"rows"`
	Created   int            `json:"created"`
	Updated   int            `json:"updated"`
	Unchanged int            `json:"unchanged"`
	Failed    int            `json:"failed"`
	Seats     *importSeats   `json:"seats,omitempty"`
	Results   []importResult `json:"results"`
}

type importSeats struct {
	NeededFull int  `json:"needed_full"`
	Available  int  `json:"available"`
	Overage    bool `json:"overage_allowed"`
	Enough     bool `json:"enough"`
}

type importResult struct {
	Line     int      `json:"line"`
	Email    string   `json:"email,omitempty"`
	UserName string   `json:"userName,omitempty"`
	Status   string   `json:"status"`
	ID       string   `json:"id,omitempty"`
	Role     string   `json:"role,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

// csvRow is one non-blank data row of the file and its line there.
type csvRow struct {
	line int
	rec  []string
}

func usersImport(ctx context.Context, sys *system, args []string) error {
	var dryRun bool
	batch := 500
	c, pos, err := parseCLI(sys, "users import", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "validate every row, change nothing")
		fs.IntVar(&batch, "batch", 500, "rows per request")
	})
	if err != nil {
		return err
	}
	if err := wantArgs("users import", pos, "TENANT", "FILE"); err != nil {
		return err
	}
	if batch < 1 || batch > 50_000 {
		return usageErr("users import: --batch must be between 1 and 50000")
	}
	tenant, file := pos[0], pos[1]
	var in io.Reader = sys.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("users import: %w", err)
		}
		defer f.Close()
		in = f
	} else if in == nil {
		in = strings.NewReader("")
	}
	header, rows, err := readImportCSV(in)
	if err != nil {
		return fmt.Errorf("users import: %s: %w", file, err)
	}

	// Duplicates across the whole file (the server sees one batch at a time).
	total := importAnswer{DryRun: dryRun, Rows: len(rows), Results: []importResult{}}
	emailCol, userCol := column(header, "email"), column(header, "username")
	seen := map[string]int{}
	var send []csvRow
	for _, r := range rows {
		dup := ""
		for _, k := range []string{"e:" + strings.ToLower(cell(r.rec, emailCol)), "u:" + store.FoldKey(firstNonEmpty(cell(r.rec, userCol), cell(r.rec, emailCol)))} {
			if k == "e:" || k == "u:" {
				continue
			}
			if first, ok := seen[k]; ok {
				dup = fmt.Sprintf("duplicate of line %d (same %s)", first, map[byte]string{'e': "email", 'u': "userName"}[k[0]])
				break
			}
			seen[k] = r.line
		}
		if dup != "" {
			total.Failed++
			total.Results = append(total.Results, importResult{Line: r.line, Email: cell(r.rec, emailCol), Status: failedStatus(dryRun), Errors: []string{dup}})
			continue
		}
		send = append(send, r)
	}

	path := "/admin/v1/tenants/" + escape(tenant) + "/users/import"
	if dryRun {
		path += "?dry_run=true"
	}
	for start := 0; start < len(send); start += batch {
		part := send[start:min(start+batch, len(send))]
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		_ = w.Write(header)
		for _, r := range part {
			_ = w.Write(r.rec)
		}
		w.Flush()
		var ans importAnswer
		if _, err := c.call(ctx, "POST", path, buf.Bytes(), "text/csv", &ans); err != nil {
			if start > 0 {
				fmt.Fprintf(sys.stderr, "rosterd: stopped after %d of %d rows; the rows before were applied\n", start, len(send))
			}
			return err
		}
		if len(ans.Results) != len(part) {
			return fmt.Errorf("users import: the server answered %d results for %d rows", len(ans.Results), len(part))
		}
		for i, res := range ans.Results {
			res.Line = part[i].line // the line in the file, not in the batch
			total.Results = append(total.Results, res)
		}
		total.Created += ans.Created
		total.Updated += ans.Updated
		total.Unchanged += ans.Unchanged
		total.Failed += ans.Failed
		if ans.Seats != nil { // a dry run: nothing is taken between batches
			if total.Seats == nil {
				total.Seats = &importSeats{Available: ans.Seats.Available, Overage: ans.Seats.Overage}
			}
			total.Seats.NeededFull += ans.Seats.NeededFull
			total.Seats.Enough = total.Seats.Overage || total.Seats.NeededFull <= total.Seats.Available
		}
		done := start + len(part)
		fmt.Fprintf(sys.stderr, "rosterd: %d/%d rows (%d%%): %d created, %d updated, %d unchanged, %d failed\n",
			done, len(send), 100*done/len(send), total.Created, total.Updated, total.Unchanged, total.Failed)
	}
	sortResults(total.Results)

	raw, _ := json.Marshal(total)
	err = c.print(raw, func(w io.Writer) error {
		verb := "Imported"
		if dryRun {
			verb = "Checked (dry run, nothing changed)"
		}
		fmt.Fprintf(w, "%s %d rows into tenant %s: %d created, %d updated, %d unchanged, %d failed.\n",
			verb, total.Rows, tenant, total.Created, total.Updated, total.Unchanged, total.Failed)
		if sc := total.Seats; sc != nil {
			note := ""
			if !sc.Enough {
				note = " — not enough: raise the seat count or allow overage before importing"
			}
			fmt.Fprintf(w, "New users would take %d full seat(s); %d are free%s.\n", sc.NeededFull, sc.Available, note)
		}
		for _, r := range total.Results {
			if len(r.Errors) > 0 {
				fmt.Fprintf(w, "  line %d (%s): %s\n", r.Line, orDash(r.Email), strings.Join(r.Errors, "; "))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if total.Failed > 0 {
		return &exitError{code: ExitRefused, err: fmt.Errorf("users import: %d of %d rows failed", total.Failed, total.Rows)}
	}
	return nil
}

func failedStatus(dryRun bool) string {
	if dryRun {
		return "invalid"
	}
	return "failed"
}

// readImportCSV reads the header and the non-blank rows with their lines.
func readImportCSV(in io.Reader) ([]string, []csvRow, error) {
	b, err := io.ReadAll(in)
	if err != nil {
		return nil, nil, err
	}
	rd := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF"))))
	rd.FieldsPerRecord = -1
	rd.TrimLeadingSpace = true
	header, err := rd.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, errors.New("the file is empty; it needs a header row (email,…) and one row per user")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("not valid CSV: %w", err)
	}
	var rows []csvRow
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return header, rows, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("not valid CSV: %w", err)
		}
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue
		}
		line, _ := rd.FieldPos(0)
		rows = append(rows, csvRow{line: line, rec: rec})
	}
}

func column(header []string, name string) int {
	for i, h := range header {
		if strings.EqualFold(strings.TrimSpace(h), name) {
			return i
		}
	}
	return -1
}

func cell(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func sortResults(rs []importResult) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].Line < rs[j-1].Line; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// usersRole is the bulk role change.
func usersRole(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "users role", args, nil)
	if err != nil {
		return err
	}
	if len(pos) < 3 {
		return usageErr("users role needs TENANT ROLE USER..., got %d argument(s)", len(pos))
	}
	body, _ := json.Marshal(map[string]any{"users": pos[2:], "role": pos[1]})
	var ans struct {
		Role    string `json:"role"`
		Changed int    `json:"changed"`
		Users   []struct {
			ID       string `json:"id"`
			UserName string `json:"userName"`
			OldRole  string `json:"old_role"`
			NewRole  string `json:"new_role"`
			OldSeat  string `json:"old_seat"`
			NewSeat  string `json:"new_seat"`
		} `json:"users"`
	}
	raw, err := c.call(ctx, "POST", "/admin/v1/tenants/"+escape(pos[0])+"/users/role", body, "application/json", &ans)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		fmt.Fprintf(w, "%d of %d users now hold role %s.\n", ans.Changed, len(ans.Users), ans.Role)
		for _, u := range ans.Users {
			seat := ""
			if u.OldSeat != u.NewSeat {
				seat = fmt.Sprintf(" (seat %s → %s)", u.OldSeat, u.NewSeat)
			}
			fmt.Fprintf(w, "  %s: %s → %s%s\n", u.UserName, u.OldRole, u.NewRole, seat)
		}
		return nil
	})
}
