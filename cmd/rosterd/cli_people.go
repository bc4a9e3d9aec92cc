package main

// rosterd people and the team writes of rosterd teams: managing a tenant's
// people and teams by hand (README "Managing people without SCIM").

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ---- people ----

func peopleCmd(ctx context.Context, sys *system, args []string) error {
	return subs{{"list", peopleList}, {"get", getCmd("people get", "users", "ID", writePerson)}, {"invite", personInvite}, {"update", personUpdate},
		{"deactivate", personActive(false)}, {"reactivate", personActive(true)}, {"delete", confirmedDelete("people", "users", "person", "their seat is released, their sessions end")}}.
		dispatch(ctx, sys, "people", args)
}

// personAnswer is a person as the admin API shows them.
type personAnswer struct {
	ID          string   `json:"id"`
	UserName    string   `json:"userName"`
	DisplayName string   `json:"displayName"`
	Emails      []string `json:"emails"`
	Role        string   `json:"role"`
	Seat        string   `json:"seat"`
	Active      bool     `json:"active"`
	Teams       []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"teams"`
	Stores     []string   `json:"stores"`
	Managed    string     `json:"managed"`
	IdP        string     `json:"idp"`
	Drifted    bool       `json:"drifted"`
	LastSignIn *time.Time `json:"last_sign_in_at"`
	CreatedAt  *time.Time `json:"created_at"`
	UpdatedAt  *time.Time `json:"updated_at"`
}

// managedBy shows who owns a person or team: "manual", "scim (okta)".
func managedBy(managed, idp string) string {
	if idp == "" {
		return managed
	}
	return managed + " (" + idp + ")"
}

func writePerson(w io.Writer, p personAnswer) error {
	teams := make([]string, 0, len(p.Teams))
	for _, t := range p.Teams {
		teams = append(teams, t.Name+" ("+t.ID+")")
	}
	return writeFields(w,
		[2]string{"id", p.ID}, [2]string{"userName", p.UserName}, [2]string{"display name", orDash(p.DisplayName)},
		[2]string{"emails", orDash(strings.Join(p.Emails, ", "))}, [2]string{"role", p.Role}, [2]string{"seat", p.Seat},
		[2]string{"active", yesNo(p.Active)}, [2]string{"teams", orDash(strings.Join(teams, ", "))},
		[2]string{"stores", orDash(strings.Join(p.Stores, ", "))}, [2]string{"managed", managedBy(p.Managed, p.IdP)},
		[2]string{"drifted", yesNo(p.Drifted)}, [2]string{"last sign-in", timeOrDash(p.LastSignIn)},
		[2]string{"created", timeOrDash(p.CreatedAt)}, [2]string{"updated", timeOrDash(p.UpdatedAt)})
}

// peopleList is a page of people, newest first (or every page with --all).
func peopleList(ctx context.Context, sys *system, args []string) error {
	l := listQuery{filters: [][2]string{
		{"q", "people whose userName, display name or email contains this text"},
		{"role", "people holding this role"},
		{"team", "members of this team id"},
		{"active", "true: active people only; false: deactivated only"},
		{"managed", "scim (pushed by the IdP) or manual"},
		{"seat", "full, light or none"},
	}}
	c, pos, err := parseArgs(sys, "people list", args, l.setup, "TENANT")
	if err != nil {
		return err
	}
	path := l.path(tenantPath(pos[0], "users"))
	return listEntries(ctx, c, path, "users", l.page, "USERNAME\tDISPLAY NAME\tROLE\tSEAT\tACTIVE\tMANAGED\tDRIFTED\tLAST SIGN-IN\tID",
		func(u personAnswer) []string {
			return []string{u.UserName, u.DisplayName, u.Role, u.Seat, yesNo(u.Active), managedBy(u.Managed, u.IdP),
				yesNo(u.Drifted), timeOrDash(u.LastSignIn), u.ID}
		})
}

// listFlag collects a repeated flag (--team a --team b) as a list; an empty
// value adds nothing, so that --team "" gives the empty list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	if *l == nil {
		*l = []string{}
	}
	if v = strings.TrimSpace(v); v != "" {
		*l = append(*l, v)
	}
	return nil
}

// personFlags are the fields of people invite and update: each flag given
// is the body field of its name.
type personFlags struct {
	fs                               *flag.FlagSet
	email, displayName, role, active string
	teams, stores                    listFlag
	withActive                       bool
}

func (f *personFlags) setup(fs *flag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.email, "email", "", "the person's email address")
	fs.StringVar(&f.displayName, "display-name", "", "the name shown for the person")
	fs.StringVar(&f.role, "role", "", `the role the person holds ("" on update: back to the mapping or default role)`)
	fs.Var(&f.teams, "team", "a team id, repeatable: the person's whole list of teams (--team \"\" for none)")
	fs.Var(&f.stores, "store", "a store id, repeatable: the person's whole list of stores (--store \"\" for none)")
	if f.withActive {
		fs.StringVar(&f.active, "active", "", "false deactivates the person (the seat is released), true reactivates")
	}
}

// parse parses the command line of people invite or update: the flags
// given as the API's body, and the positional arguments.
func (f *personFlags) parse(sys *system, name string, args []string, names ...string) (*cli, []string, map[string]any, error) {
	c, pos, err := parseArgs(sys, name, args, f.setup, names...)
	if err != nil {
		return nil, nil, nil, err
	}
	body, err := f.body(name)
	return c, pos, body, err
}

// body is the flags given as the API's body.
func (f *personFlags) body(name string) (map[string]any, error) {
	b := map[string]any{}
	var err error
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "email":
			b["email"] = f.email
		case "display-name":
			b["displayName"] = f.displayName
		case "role":
			b["role"] = f.role
		case "team":
			b["teams"] = f.teams
		case "store":
			b["stores"] = f.stores
		case "active":
			v, perr := strconv.ParseBool(f.active)
			if perr != nil {
				err = usageErr("%s: --active must be true or false, got %q", name, f.active)
			}
			b["active"] = v
		}
	})
	return b, err
}

func personInvite(ctx context.Context, sys *system, args []string) error {
	var f personFlags
	c, pos, body, err := f.parse(sys, "people invite", args, "TENANT", "USERNAME")
	if err != nil {
		return err
	}
	body["userName"] = pos[1]
	var p personAnswer
	return c.do(ctx, "POST", tenantPath(pos[0], "users"), body, &p, func(w io.Writer) error {
		fmt.Fprintf(w, "%s invited to tenant %s as %s (id %s), active, on a %s seat.\n", p.UserName, pos[0], p.Role, p.ID, p.Seat)
		return writePerson(w, p)
	})
}

// changePerson sends a PATCH of a person and prints them with what.
func changePerson(ctx context.Context, c *cli, tenant, id string, body map[string]any, what string) error {
	var p personAnswer
	return c.do(ctx, "PATCH", tenantPath(tenant, "users", id), body, &p, func(w io.Writer) error {
		fmt.Fprintf(w, "%s of tenant %s %s.\n", p.UserName, tenant, what)
		return writePerson(w, p)
	})
}

func personUpdate(ctx context.Context, sys *system, args []string) error {
	f := personFlags{withActive: true}
	c, pos, body, err := f.parse(sys, "people update", args, "TENANT", "ID")
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return usageErr("people update: nothing to change; give --role, --display-name, --email, --active, --team or --store")
	}
	return changePerson(ctx, c, pos[0], pos[1], body, "updated")
}

// personActive is people deactivate (the seat is released, sessions end) or
// reactivate (a seat is taken again, the cap checked).
func personActive(active bool) func(context.Context, *system, []string) error {
	name, what := "people deactivate", "deactivated: the seat is released"
	if active {
		name, what = "people reactivate", "reactivated: a seat is taken again"
	}
	return func(ctx context.Context, sys *system, args []string) error {
		c, pos, err := parseArgs(sys, name, args, nil, "TENANT", "ID")
		if err != nil {
			return err
		}
		return changePerson(ctx, c, pos[0], pos[1], map[string]any{"active": active}, what)
	}
}

// confirmedDelete is "NOUN delete TENANT ID --yes" (people, teams): without
// --yes it says what the deletion does and sends nothing.
func confirmedDelete(cmd, collection, what, effect string) func(context.Context, *system, []string) error {
	name := cmd + " delete"
	return func(ctx context.Context, sys *system, args []string) error {
		var yes bool
		c, pos, err := parseArgs(sys, name, args, func(fs *flag.FlagSet) {
			fs.BoolVar(&yes, "yes", false, "confirm: the "+what+" is deleted; "+effect)
		}, "TENANT", "ID")
		if err != nil {
			return err
		}
		if !yes {
			return usageErr("%s %s %s deletes the %s (%s); add --yes to confirm", name, pos[0], pos[1], what, effect)
		}
		return c.do(ctx, "DELETE", tenantPath(pos[0], collection, pos[1]), nil, nil, func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "%s %s deleted from tenant %s; %s.\n", strings.ToUpper(what[:1])+what[1:], pos[1], pos[0], effect)
			return err
		})
	}
}

// ---- teams: the writes ----

// teamAnswer is one team as the admin API shows it, with its members.
type teamAnswer struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	MemberCount int    `json:"member_count"`
	Members     []struct {
		ID      string `json:"id"`
		Display string `json:"display"`
	} `json:"members"`
	MembersComplete bool   `json:"members_complete"`
	Managed         string `json:"managed"`
	IdP             string `json:"idp"`
	Role            string `json:"role"`
}

func writeTeam(w io.Writer, t teamAnswer) error {
	kind := "team"
	if t.Role != "" {
		kind = "role group → " + t.Role + " (change it through role-mappings)"
	}
	if err := writeFields(w, [2]string{"id", t.ID}, [2]string{"name", t.Name}, [2]string{"kind", kind},
		[2]string{"managed", managedBy(t.Managed, t.IdP)}, [2]string{"members", strconv.Itoa(t.MemberCount)}); err != nil {
		return err
	}
	if len(t.Members) == 0 {
		return nil
	}
	rows := make([][]string, 0, len(t.Members))
	for _, m := range t.Members {
		rows = append(rows, []string{m.Display, m.ID})
	}
	if err := writeTable(w, "MEMBER\tID", rows); err != nil {
		return err
	}
	if !t.MembersComplete {
		// The answer holds the first 1,000 (docs/contract.md).
		_, err := fmt.Fprintf(w, "the first %d of %d members; all of them: rosterd people list TENANT --team %s --all\n",
			len(t.Members), t.MemberCount, t.ID)
		return err
	}
	return nil
}

// teamDo sends a team request and prints the team after a line saying what
// happened (what(team)).
func teamDo(ctx context.Context, c *cli, method, path string, body any, what func(t teamAnswer) string) error {
	var t teamAnswer
	return c.do(ctx, method, path, body, &t, func(w io.Writer) error {
		if what != nil {
			fmt.Fprintln(w, what(t))
		}
		return writeTeam(w, t)
	})
}

func teamCreate(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseArgs(sys, "teams create", args, nil, "TENANT", "NAME")
	if err != nil {
		return err
	}
	return teamDo(ctx, c, "POST", tenantPath(pos[0], "teams"), map[string]string{"name": pos[1]}, func(t teamAnswer) string {
		return fmt.Sprintf("Team %s created in tenant %s (id %s).", t.Name, pos[0], t.ID)
	})
}

func teamRename(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseArgs(sys, "teams rename", args, nil, "TENANT", "ID", "NAME")
	if err != nil {
		return err
	}
	return teamDo(ctx, c, "PATCH", tenantPath(pos[0], "teams", pos[1]), map[string]string{"name": pos[2]}, func(t teamAnswer) string {
		return fmt.Sprintf("Team %s of tenant %s renamed to %s.", t.ID, pos[0], t.Name)
	})
}

// teamMembers is teams add (POST …/members) or remove (DELETE …/members).
func teamMembers(sub, method, what string) func(context.Context, *system, []string) error {
	name := "teams " + sub
	return func(ctx context.Context, sys *system, args []string) error {
		c, pos, err := parseCLI(sys, name, args, nil)
		if err != nil {
			return err
		}
		if len(pos) < 3 {
			return usageErr("%s needs TENANT ID USER_ID..., got %d argument(s)", name, len(pos))
		}
		users := pos[2:]
		return teamDo(ctx, c, method, tenantPath(pos[0], "teams", pos[1], "members"), map[string]any{"users": users}, func(t teamAnswer) string {
			return fmt.Sprintf("%d user(s) %s team %s; it has %d member(s).", len(users), what, t.Name, t.MemberCount)
		})
	}
}
