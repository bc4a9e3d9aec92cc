package main

// rosterd roles, role-mappings, stores, approvals, teams and jobs: the
// admin API's tenant configuration and its long work, one command each.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// subs is a command's subcommands by name, in the order help lists them.
type subs []struct {
	name string
	run  func(context.Context, *system, []string) error
}

// dispatch runs "rosterd name SUB …" through subcommand.
func (s subs) dispatch(ctx context.Context, sys *system, name string, args []string) error {
	m := map[string]func(context.Context, *system, []string) error{}
	order := make([]string, 0, len(s))
	for _, x := range s {
		m[x.name] = x.run
		order = append(order, x.name)
	}
	return subcommand(ctx, sys, name, args, m, order...)
}

// ---- roles ----

func rolesCmd(ctx context.Context, sys *system, args []string) error {
	return subs{{"list", rolesList}, {"get", getCmd("roles get", "roles", "ROLE", writeRole)}, {"create", roleCreate}, {"update", roleUpdate}, {"delete", roleDelete}}.
		dispatch(ctx, sys, "roles", args)
}

// roleAnswer is a role as the admin API shows it.
type roleAnswer struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Permissions []string   `json:"permissions"`
	Privileged  bool       `json:"privileged"`
	SeatClass   string     `json:"seat_class"`
	BuiltIn     bool       `json:"built_in"`
	Users       int        `json:"users"`
	CreatedAt   *time.Time `json:"created_at"`
	UpdatedAt   *time.Time `json:"updated_at"`
}

func rolesList(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseArgs(sys, "roles list", args, nil, "TENANT")
	if err != nil {
		return err
	}
	var ans struct {
		Roles       []roleAnswer `json:"roles"`
		DefaultRole string       `json:"default_role"`
	}
	return c.do(ctx, "GET", tenantPath(pos[0], "roles"), nil, &ans, func(w io.Writer) error {
		rows := make([][]string, 0, len(ans.Roles))
		for _, r := range ans.Roles {
			kind := "custom"
			if r.BuiltIn {
				kind = "built-in"
			}
			rows = append(rows, []string{r.Name, kind, r.SeatClass, yesNo(r.Privileged), strconv.Itoa(r.Users), strings.Join(r.Permissions, ",")})
		}
		if err := writeTable(w, "NAME\tKIND\tSEAT\tPRIVILEGED\tUSERS\tPERMISSIONS", rows); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "Default role (for users no role or mapping decides): %s\n", orDash(ans.DefaultRole))
		return err
	})
}

// getCmd is "NOUN get TENANT ID": one resource of the tenant's collection,
// printed by write.
func getCmd[T any](name, collection, idName string, write func(io.Writer, T) error) func(context.Context, *system, []string) error {
	return func(ctx context.Context, sys *system, args []string) error {
		c, pos, err := parseArgs(sys, name, args, nil, "TENANT", idName)
		if err != nil {
			return err
		}
		var v T
		return c.do(ctx, "GET", tenantPath(pos[0], collection, pos[1]), nil, &v, func(w io.Writer) error { return write(w, v) })
	}
}

func writeRole(w io.Writer, r roleAnswer) error {
	kind := "custom"
	if r.BuiltIn {
		kind = "built-in"
	}
	return writeFields(w,
		[2]string{"name", r.Name}, [2]string{"kind", kind}, [2]string{"description", orDash(r.Description)},
		[2]string{"seat class", r.SeatClass}, [2]string{"privileged", yesNo(r.Privileged)},
		[2]string{"users", strconv.Itoa(r.Users)}, [2]string{"permissions", orDash(strings.Join(r.Permissions, ", "))},
		[2]string{"created", timeOrDash(r.CreatedAt)}, [2]string{"updated", timeOrDash(r.UpdatedAt)})
}

// roleFlags are the fields of roles create and update.
type roleFlags struct {
	fs                                  *flag.FlagSet
	permissions, description, seatClass string
	privileged                          bool
}

func (f *roleFlags) setup(fs *flag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.permissions, "permissions", "", "comma-separated permission flags, e.g. conversations.view_all,reporting.view_org (roles list shows them)")
	fs.StringVar(&f.description, "description", "", "what the role is for")
	fs.BoolVar(&f.privileged, "privileged", false, "a privileged role: SCIM grants of it follow the tenant's privileged_roles setting")
	fs.StringVar(&f.seatClass, "seat-class", "", "the seat its holders take: full or light")
}

// apply sets on r the fields whose flags were given; it says whether any was.
func (f *roleFlags) apply(r *roleAnswer) bool {
	given := false
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "permissions":
			r.Permissions = splitList(f.permissions)
		case "description":
			r.Description = f.description
		case "privileged":
			r.Privileged = f.privileged
		case "seat-class":
			r.SeatClass = f.seatClass
		default:
			return
		}
		given = true
	})
	return given
}

// roleBody is the body of POST …/roles and PUT …/roles/{role}.
func roleBody(r roleAnswer, withName bool) map[string]any {
	m := map[string]any{"description": r.Description, "permissions": r.Permissions, "privileged": r.Privileged}
	if r.SeatClass != "" {
		m["seat_class"] = r.SeatClass
	}
	if withName {
		m["name"] = r.Name
	}
	return m
}

// splitList is a comma-separated flag as a list; "" is the empty list.
func splitList(s string) []string {
	out := []string{}
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func roleCreate(ctx context.Context, sys *system, args []string) error {
	var f roleFlags
	c, pos, err := parseArgs(sys, "roles create", args, f.setup, "TENANT", "NAME")
	if err != nil {
		return err
	}
	r := roleAnswer{Name: pos[1]}
	f.apply(&r)
	if r.Permissions == nil {
		return usageErr("roles create: --permissions is required: the role's permission flags, comma-separated (\"\" for none); rosterd roles list %s shows them", pos[0])
	}
	var got roleAnswer
	return c.do(ctx, "POST", tenantPath(pos[0], "roles"), roleBody(r, true), &got, func(w io.Writer) error {
		fmt.Fprintf(w, "Role %s created in tenant %s.\n", got.Name, pos[0])
		return writeRole(w, got)
	})
}

// roleUpdate reads the role, applies the flags given and sends it whole
// (the API's PUT replaces the role), so that a flag not given keeps its value.
func roleUpdate(ctx context.Context, sys *system, args []string) error {
	var f roleFlags
	c, pos, err := parseArgs(sys, "roles update", args, f.setup, "TENANT", "ROLE")
	if err != nil {
		return err
	}
	var r roleAnswer
	if !f.apply(&r) {
		return usageErr("roles update: nothing to change; give --permissions, --description, --privileged or --seat-class")
	}
	path := tenantPath(pos[0], "roles", pos[1])
	if _, err := c.call(ctx, "GET", path, nil, "", &r); err != nil {
		return err
	}
	f.apply(&r)
	var got roleAnswer
	return c.do(ctx, "PUT", path, roleBody(r, false), &got, func(w io.Writer) error {
		fmt.Fprintf(w, "Role %s of tenant %s updated.\n", got.Name, pos[0])
		return writeRole(w, got)
	})
}

func roleDelete(ctx context.Context, sys *system, args []string) error {
	var fs *flag.FlagSet
	c, pos, err := parseArgs(sys, "roles delete", args, func(s *flag.FlagSet) {
		fs = s
		s.String("replacement", "", "the role the role's holders move to")
	}, "TENANT", "ROLE")
	if err != nil {
		return err
	}
	err = c.do(ctx, "DELETE", withParams(tenantPath(pos[0], "roles", pos[1]), fs, "replacement"), nil, nil, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Role %s deleted from tenant %s.\n", pos[1], pos[0])
		return err
	})
	var e *apiError
	if errors.As(err, &e) && e.Code == "role_in_use" {
		var held struct {
			Users int `json:"users"`
		}
		_ = json.Unmarshal(e.raw, &held)
		e.Message = fmt.Sprintf("role %s is held by %d user(s); add --replacement ROLE to move them to another role", pos[1], held.Users)
	}
	return err
}

// ---- role-mappings ----

func roleMappingsCmd(ctx context.Context, sys *system, args []string) error {
	return subs{{"get", mappingsGet}, {"set", mappingsSet}}.dispatch(ctx, sys, "role-mappings", args)
}

type mappingsAnswer struct {
	Mappings []struct {
		Group   string `json:"group"`
		Role    string `json:"role"`
		GroupID string `json:"group_id"`
		Members *int   `json:"members"`
	} `json:"mappings"`
}

func (m *mappingsAnswer) write(w io.Writer) error {
	if len(m.Mappings) == 0 {
		_, err := fmt.Fprintln(w, "No role mappings: roles come from the users' own role attribute or the default role.")
		return err
	}
	rows := make([][]string, 0, len(m.Mappings))
	for i, x := range m.Mappings {
		members := "no such group yet"
		if x.Members != nil {
			members = strconv.Itoa(*x.Members)
		}
		rows = append(rows, []string{strconv.Itoa(i + 1), x.Group, x.Role, members})
	}
	return writeTable(w, "#\tGROUP\tROLE\tMEMBERS", rows)
}

func mappingsGet(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseArgs(sys, "role-mappings get", args, nil, "TENANT")
	if err != nil {
		return err
	}
	var m mappingsAnswer
	return c.do(ctx, "GET", tenantPath(pos[0], "role-mappings"), nil, &m, m.write)
}

// mappingsSet replaces the mappings with GROUP=ROLE pairs in the order given
// (the first that matches a user's group decides). Clearing them all is a
// change to every mapped user, so it needs --yes.
func mappingsSet(ctx context.Context, sys *system, args []string) error {
	var yes bool
	c, pos, err := parseCLI(sys, "role-mappings set", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&yes, "yes", false, "confirm clearing every mapping (set TENANT with no GROUP=ROLE)")
	})
	if err != nil {
		return err
	}
	if len(pos) < 1 {
		return usageErr("role-mappings set needs TENANT GROUP=ROLE..., got 0 argument(s)")
	}
	body := make([]map[string]string, 0, len(pos)-1)
	for _, p := range pos[1:] {
		i := strings.LastIndex(p, "=")
		if i <= 0 || i == len(p)-1 {
			return usageErr("role-mappings set: %q is not GROUP=ROLE (the group's displayName, then the role it gives)", p)
		}
		body = append(body, map[string]string{"group": p[:i], "role": p[i+1:]})
	}
	if len(body) == 0 && !yes {
		return usageErr("role-mappings set %s with no GROUP=ROLE removes every mapping; add --yes to confirm", pos[0])
	}
	var m mappingsAnswer
	return c.do(ctx, "PUT", tenantPath(pos[0], "role-mappings"), body, &m, func(w io.Writer) error {
		fmt.Fprintf(w, "Role mappings of tenant %s replaced (%d); the users they move were re-resolved.\n", pos[0], len(m.Mappings))
		return m.write(w)
	})
}

// ---- stores ----

func storesCmd(ctx context.Context, sys *system, args []string) error {
	return subs{{"list", storesList}, {"create", storeCreate}, {"rename", storeRename}, {"delete", storeDelete}}.
		dispatch(ctx, sys, "stores", args)
}

type storeAnswer struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func storesList(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseArgs(sys, "stores list", args, nil, "TENANT")
	if err != nil {
		return err
	}
	var ans struct {
		Stores []storeAnswer `json:"stores"`
	}
	return c.do(ctx, "GET", tenantPath(pos[0], "stores"), nil, &ans, func(w io.Writer) error {
		rows := make([][]string, 0, len(ans.Stores))
		for _, s := range ans.Stores {
			rows = append(rows, []string{s.ID, s.Name, s.CreatedAt.UTC().Format(time.RFC3339), s.UpdatedAt.UTC().Format(time.RFC3339)})
		}
		return writeTable(w, "ID\tNAME\tCREATED\tUPDATED", rows)
	})
}

func storeCreate(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseArgs(sys, "stores create", args, nil, "TENANT", "ID", "NAME")
	if err != nil {
		return err
	}
	var s storeAnswer
	return c.do(ctx, "POST", tenantPath(pos[0], "stores"), map[string]string{"id": pos[1], "name": pos[2]}, &s, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Store %s (%s) created in tenant %s.\n", s.ID, s.Name, pos[0])
		return err
	})
}

func storeRename(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseArgs(sys, "stores rename", args, nil, "TENANT", "ID", "NAME")
	if err != nil {
		return err
	}
	var s storeAnswer
	return c.do(ctx, "PATCH", tenantPath(pos[0], "stores", pos[1]), map[string]string{"name": pos[2]}, &s, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Store %s of tenant %s renamed to %s.\n", s.ID, pos[0], s.Name)
		return err
	})
}

func storeDelete(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseArgs(sys, "stores delete", args, nil, "TENANT", "ID")
	if err != nil {
		return err
	}
	var ans struct {
		UsersUpdated int `json:"users_updated"`
	}
	return c.do(ctx, "DELETE", tenantPath(pos[0], "stores", pos[1]), nil, &ans, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Store %s deleted from tenant %s; %d user(s) lost access to it.\n", pos[1], pos[0], ans.UsersUpdated)
		return err
	})
}

// ---- approvals ----

func approvalsCmd(ctx context.Context, sys *system, args []string) error {
	return subs{{"list", approvalsList}, {"approve", approvalDecide("approve")}, {"reject", approvalDecide("reject")}}.
		dispatch(ctx, sys, "approvals", args)
}

type approvalAnswer struct {
	ID          string `json:"id"`
	UserID      string `json:"user_id"`
	UserName    string `json:"user_name"`
	Role        string `json:"role"`
	Status      string `json:"status"`
	RequestedBy struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"requested_by"`
	CreatedAt   time.Time  `json:"created_at"`
	DecidedAt   *time.Time `json:"decided_at"`
	DecidedBy   string     `json:"decided_by"`
	CurrentRole string     `json:"current_role"`
}

func approvalsList(ctx context.Context, sys *system, args []string) error {
	var fs *flag.FlagSet
	c, pos, err := parseArgs(sys, "approvals list", args, func(s *flag.FlagSet) {
		fs = s
		s.String("status", "", "pending (the server's default), approved, rejected, superseded or all")
	}, "TENANT")
	if err != nil {
		return err
	}
	var ans struct {
		Approvals       []approvalAnswer `json:"approvals"`
		PrivilegedRoles string           `json:"privileged_roles"`
	}
	return c.do(ctx, "GET", withParams(tenantPath(pos[0], "approvals"), fs, "status"), nil, &ans, func(w io.Writer) error {
		rows := make([][]string, 0, len(ans.Approvals))
		for _, a := range ans.Approvals {
			rows = append(rows, []string{a.ID, firstNonEmpty(a.UserName, a.UserID), a.Role, a.Status, a.CurrentRole,
				actorName(a.RequestedBy.Kind, a.RequestedBy.Name, a.RequestedBy.ID), a.CreatedAt.UTC().Format(time.RFC3339), timeOrDash(a.DecidedAt)})
		}
		if err := writeTable(w, "ID\tUSER\tROLE\tSTATUS\tCURRENT ROLE\tREQUESTED BY\tREQUESTED\tDECIDED", rows); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "SCIM grants of privileged roles: %s (tenant setting privileged_roles)\n", orDash(ans.PrivilegedRoles))
		return err
	})
}

// approvalDecide is approvals approve or reject.
func approvalDecide(decision string) func(context.Context, *system, []string) error {
	return func(ctx context.Context, sys *system, args []string) error {
		c, pos, err := parseArgs(sys, "approvals "+decision, args, nil, "TENANT", "ID")
		if err != nil {
			return err
		}
		var a approvalAnswer
		return c.do(ctx, "POST", tenantPath(pos[0], "approvals", pos[1]), map[string]string{"decision": decision}, &a, func(w io.Writer) error {
			user := firstNonEmpty(a.UserName, a.UserID)
			if a.Status == "approved" {
				_, err := fmt.Fprintf(w, "Approval %s approved: %s now holds role %s.\n", a.ID, user, a.Role)
				return err
			}
			_, err := fmt.Fprintf(w, "Approval %s %s: %s keeps role %s (asked: %s).\n", a.ID, a.Status, user, orDash(a.CurrentRole), a.Role)
			return err
		})
	}
}

// actorName shows who did something: "scim okta", "admin".
func actorName(kind, name, id string) string {
	who := firstNonEmpty(name, id)
	if who == "" || who == kind {
		return kind
	}
	return kind + " " + who
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// ---- teams ----

func teamsCmd(ctx context.Context, sys *system, args []string) error {
	return subs{{"list", teamsList}, {"create", teamCreate}, {"get", getCmd("teams get", "teams", "ID", writeTeam)}, {"rename", teamRename}, {"delete", confirmedDelete("teams", "teams", "team", "its members stay users")},
		{"add", teamMembers("add", "POST", "added to")}, {"remove", teamMembers("remove", "DELETE", "removed from")}}.
		dispatch(ctx, sys, "teams", args)
}

func teamsList(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseArgs(sys, "teams list", args, nil, "TENANT")
	if err != nil {
		return err
	}
	type team struct {
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
		Members     int    `json:"members"`
		Role        string `json:"role"`
	}
	var ans struct {
		Teams      []team `json:"teams"`
		RoleGroups []team `json:"role_groups"`
	}
	return c.do(ctx, "GET", tenantPath(pos[0], "teams"), nil, &ans, func(w io.Writer) error {
		var rows [][]string
		for _, t := range ans.Teams {
			rows = append(rows, []string{t.DisplayName, "team", strconv.Itoa(t.Members), t.ID})
		}
		for _, t := range ans.RoleGroups {
			rows = append(rows, []string{t.DisplayName, "role group → " + t.Role, strconv.Itoa(t.Members), t.ID})
		}
		return writeTable(w, "NAME\tKIND\tMEMBERS\tID", rows)
	})
}

// ---- jobs ----

func jobsCmd(ctx context.Context, sys *system, args []string) error {
	return subs{{"get", jobGet}, {"results", jobResultsCmd}}.dispatch(ctx, sys, "jobs", args)
}

func jobGet(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseArgs(sys, "jobs get", args, nil, "TENANT", "JOB_ID")
	if err != nil {
		return err
	}
	var j struct {
		importJob
		Kind       string     `json:"kind"`
		Mode       string     `json:"mode"`
		CreatedAt  time.Time  `json:"created_at"`
		StartedAt  *time.Time `json:"started_at"`
		FinishedAt *time.Time `json:"finished_at"`
	}
	return c.do(ctx, "GET", tenantPath(pos[0], "jobs", pos[1]), nil, &j, func(w io.Writer) error {
		keys := make([]string, 0, len(j.Counts))
		for _, k := range []string{"created", "updated", "unchanged", "failed", "create", "update", "invalid"} {
			if n, ok := j.Counts[k]; ok {
				keys = append(keys, fmt.Sprintf("%d %s", n, k))
			}
		}
		fields := [][2]string{{"id", j.ID}, {"kind", j.Kind}, {"state", j.State}, {"dry run", yesNo(j.DryRun)}, {"mode", orDash(j.Mode)},
			{"progress", fmt.Sprintf("%d of %d rows", j.Processed, j.Total)}, {"counts", orDash(strings.Join(keys, ", "))}}
		if j.Error != "" {
			fields = append(fields, [2]string{"error", j.Error})
		}
		fields = append(fields, [2]string{"created", j.CreatedAt.UTC().Format(time.RFC3339)},
			[2]string{"started", timeOrDash(j.StartedAt)}, [2]string{"finished", timeOrDash(j.FinishedAt)})
		return writeFields(w, fields...)
	})
}

// jobResultsCmd reads every page of a job's results (a job has at most
// maxRowsPerJob rows, so all of them is a bounded read). --json prints the
// job's state and counts as the last page has them, with every result.
func jobResultsCmd(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseArgs(sys, "jobs results", args, nil, "TENANT", "JOB_ID")
	if err != nil {
		return err
	}
	page, all, err := allResults(ctx, c, tenantPath(pos[0], "jobs", pos[1], "results"))
	if err != nil {
		return err
	}
	results, err := decodeResults(all)
	if err != nil {
		return err
	}
	page["results"], _ = json.Marshal(all)
	delete(page, "from")
	delete(page, "next")
	raw, err := json.Marshal(page)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		rows := make([][]string, 0, len(results))
		for _, r := range results {
			rows = append(rows, []string{strconv.Itoa(r.Line), r.Email, r.UserName, r.Status, r.Role, strings.Join(r.Errors, "; ")})
		}
		return writeTable(w, "LINE\tEMAIL\tUSERNAME\tSTATUS\tROLE\tERRORS", rows)
	})
}
