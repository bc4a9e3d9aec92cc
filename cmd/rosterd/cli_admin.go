package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ---- tenant ----

func tenantCmd(ctx context.Context, sys *system, args []string) error {
	return subcommand(ctx, sys, "tenant", args, map[string]func(context.Context, *system, []string) error{
		"create": tenantCreate, "get": tenantGet, "list": tenantList, "update": tenantUpdate, "delete": tenantDelete,
	}, "create", "get", "list", "update", "delete")
}

// tenantAnswer is a tenant as the admin API answers it.
type tenantAnswer struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Plan      string         `json:"plan"`
	Seats     int            `json:"seats"`
	Addons    []string       `json:"addons"`
	Settings  map[string]any `json:"settings"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	SCIMReady *scimReady     `json:"scim_ready"` // GET of one tenant
}

// scimReady is the admin API's answer to "is this tenant ready for SCIM?".
type scimReady struct {
	Ready  bool `json:"ready"`
	Checks []struct {
		Gate   string `json:"gate"`
		OK     bool   `json:"ok"`
		Detail string `json:"detail"`
	} `json:"checks"`
	Warnings []string `json:"warnings"`
}

// writeReadiness prints the readiness answer: one line per gate, what to
// change for each that fails, and the warnings.
func writeReadiness(w io.Writer, r *scimReady) error {
	if r == nil {
		return nil
	}
	verdict := "yes"
	if !r.Ready {
		verdict = "no"
	}
	if _, err := fmt.Fprintf(w, "SCIM ready: %s\n", verdict); err != nil {
		return err
	}
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %-5s %s\n", mark, c.Gate, c.Detail)
	}
	for _, x := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", x)
	}
	return nil
}

// tenantFlags are the fields of tenant create and update; unset flags are
// not sent.
type tenantFlags struct {
	name, plan, addons string
	seats              int
	settings           settingFlags
	set                map[string]bool
}

// settingFlags collects repeated --setting KEY=VALUE; a VALUE that is JSON
// (true, 100, "x") is sent as such, anything else as a string.
type settingFlags map[string]json.RawMessage

func (s settingFlags) String() string { return "" }
func (s settingFlags) Set(v string) error {
	key, val, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(key) == "" {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	raw := json.RawMessage(val)
	if !json.Valid(raw) {
		raw, _ = json.Marshal(val)
	}
	s[strings.TrimSpace(key)] = raw
	return nil
}

func (f *tenantFlags) setup(fs *flag.FlagSet) {
	f.settings = settingFlags{}
	fs.StringVar(&f.name, "name", "", "display name")
	fs.StringVar(&f.plan, "plan", "", "plan: trial, enterprise, enterprise_bundle, ultimate")
	fs.IntVar(&f.seats, "seats", 0, "purchased seats")
	fs.StringVar(&f.addons, "addons", "", "comma-separated add-ons (ai_copilot, hipaa); \"\" for none")
	fs.Var(f.settings, "setting", "KEY=VALUE, repeatable (rate_limit_per_second, overage, privileged_roles, …)")
}

// body is the JSON object of the flags that were given.
func (f *tenantFlags) body(fs *flag.FlagSet, id string) ([]byte, error) {
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	m := map[string]any{}
	if id != "" {
		m["id"] = id
	}
	if f.set["name"] {
		m["name"] = f.name
	}
	if f.set["plan"] {
		m["plan"] = f.plan
	}
	if f.set["seats"] {
		m["seats"] = f.seats
	}
	if f.set["addons"] {
		addons := []string{}
		for _, a := range strings.Split(f.addons, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addons = append(addons, a)
			}
		}
		m["addons"] = addons
	}
	if len(f.settings) > 0 {
		m["settings"] = map[string]json.RawMessage(f.settings)
	}
	return json.Marshal(m)
}

func tenantCreate(ctx context.Context, sys *system, args []string) error {
	var f tenantFlags
	var fs *flag.FlagSet
	c, pos, err := parseCLI(sys, "tenant create", args, func(s *flag.FlagSet) { fs = s; f.setup(s) })
	if err != nil {
		return err
	}
	if err := wantArgs("tenant create", pos, "ID"); err != nil {
		return err
	}
	body, err := f.body(fs, pos[0])
	if err != nil {
		return err
	}
	var t tenantAnswer
	raw, err := c.call(ctx, "POST", "/admin/v1/tenants", body, "application/json", &t)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		fmt.Fprintf(w, "Tenant %s created.\n", t.ID)
		return writeTenant(w, t)
	})
}

func tenantGet(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "tenant get", args, nil)
	if err != nil {
		return err
	}
	if err := wantArgs("tenant get", pos, "ID"); err != nil {
		return err
	}
	var t tenantAnswer
	raw, err := c.call(ctx, "GET", "/admin/v1/tenants/"+escape(pos[0]), nil, "", &t)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		if err := writeTenant(w, t); err != nil {
			return err
		}
		return writeReadiness(w, t.SCIMReady)
	})
}

func tenantList(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "tenant list", args, nil)
	if err != nil {
		return err
	}
	if err := wantArgs("tenant list", pos); err != nil {
		return err
	}
	var list struct {
		Tenants []tenantAnswer `json:"tenants"`
	}
	raw, err := c.call(ctx, "GET", "/admin/v1/tenants", nil, "", &list)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPLAN\tSEATS\tADD-ONS\tCREATED")
		for _, t := range list.Tenants {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", t.ID, t.Name, t.Plan, t.Seats,
				orDash(strings.Join(t.Addons, ",")), t.CreatedAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	})
}

func tenantUpdate(ctx context.Context, sys *system, args []string) error {
	var f tenantFlags
	var fs *flag.FlagSet
	c, pos, err := parseCLI(sys, "tenant update", args, func(s *flag.FlagSet) { fs = s; f.setup(s) })
	if err != nil {
		return err
	}
	if err := wantArgs("tenant update", pos, "ID"); err != nil {
		return err
	}
	body, err := f.body(fs, "")
	if err != nil {
		return err
	}
	if string(body) == "{}" {
		return usageErr("tenant update: nothing to change; give --plan, --name, --seats, --addons or --setting")
	}
	var t tenantAnswer
	raw, err := c.call(ctx, "PATCH", "/admin/v1/tenants/"+escape(pos[0]), body, "application/json", &t)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		fmt.Fprintf(w, "Tenant %s updated.\n", t.ID)
		return writeTenant(w, t)
	})
}

func tenantDelete(ctx context.Context, sys *system, args []string) error {
	var yes bool
	c, pos, err := parseCLI(sys, "tenant delete", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&yes, "yes", false, "confirm: the tenant's users, groups, tokens and history are removed")
	})
	if err != nil {
		return err
	}
	if err := wantArgs("tenant delete", pos, "ID"); err != nil {
		return err
	}
	if !yes {
		return usageErr("tenant delete %s removes all its users, groups, tokens and history; add --yes to confirm", pos[0])
	}
	raw, err := c.call(ctx, "DELETE", "/admin/v1/tenants/"+escape(pos[0])+"?confirm="+escape(pos[0]), nil, "", nil)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Tenant %s deleted.\n", pos[0])
		return err
	})
}

func writeTenant(w io.Writer, t tenantAnswer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "id:\t%s\n", t.ID)
	fmt.Fprintf(tw, "name:\t%s\n", t.Name)
	fmt.Fprintf(tw, "plan:\t%s\n", t.Plan)
	fmt.Fprintf(tw, "seats:\t%d\n", t.Seats)
	fmt.Fprintf(tw, "add-ons:\t%s\n", orDash(strings.Join(t.Addons, ", ")))
	keys := make([]string, 0, len(t.Settings))
	for k := range t.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		label := ""
		if i == 0 {
			label = "settings:"
		}
		v, _ := json.Marshal(t.Settings[k])
		fmt.Fprintf(tw, "%s\t%s = %s\n", label, k, v)
	}
	fmt.Fprintf(tw, "created:\t%s\n", t.CreatedAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "updated:\t%s\n", t.UpdatedAt.UTC().Format(time.RFC3339))
	return tw.Flush()
}

// ---- token ----

func tokenCmd(ctx context.Context, sys *system, args []string) error {
	return subcommand(ctx, sys, "token", args, map[string]func(context.Context, *system, []string) error{
		"create": tokenCreate, "list": tokenList, "revoke": tokenRevoke,
	}, "create", "list", "revoke")
}

type tokenAnswer struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Token      string     `json:"token"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func tokenCreate(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "token create", args, nil)
	if err != nil {
		return err
	}
	if err := wantArgs("token create", pos, "TENANT", "NAME"); err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]string{"name": pos[1]})
	var t tokenAnswer
	raw, err := c.call(ctx, "POST", "/admin/v1/tenants/"+escape(pos[0])+"/tokens", body, "application/json", &t)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, `SCIM token %q created for tenant %s (id %s).
Copy it into your IdP now: Roster stores only a hash and cannot show it again.

  %s

SCIM base URL: %s/scim/v2/%s/
`, t.Name, pos[0], t.ID, t.Token, c.baseURL, pos[0])
		return err
	})
}

func tokenList(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "token list", args, nil)
	if err != nil {
		return err
	}
	if err := wantArgs("token list", pos, "TENANT"); err != nil {
		return err
	}
	var list struct {
		Tokens []tokenAnswer `json:"tokens"`
	}
	raw, err := c.call(ctx, "GET", "/admin/v1/tenants/"+escape(pos[0])+"/tokens", nil, "", &list)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST USED\tREVOKED")
		for _, t := range list.Tokens {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.UTC().Format(time.RFC3339),
				timeOrDash(t.LastUsedAt), timeOrDash(t.RevokedAt))
		}
		return tw.Flush()
	})
}

func tokenRevoke(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "token revoke", args, nil)
	if err != nil {
		return err
	}
	if err := wantArgs("token revoke", pos, "TENANT", "TOKEN_ID"); err != nil {
		return err
	}
	raw, err := c.call(ctx, "DELETE", "/admin/v1/tenants/"+escape(pos[0])+"/tokens/"+escape(pos[1]), nil, "", nil)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Token %s of tenant %s revoked; SCIM requests with it are refused from now on.\n", pos[1], pos[0])
		return err
	})
}

// ---- saml ----

func samlCmd(ctx context.Context, sys *system, args []string) error {
	return subcommand(ctx, sys, "saml", args, map[string]func(context.Context, *system, []string) error{
		"set": samlSet, "get": samlGet, "delete": samlDelete,
	}, "set", "get", "delete")
}

type samlAnswer struct {
	EntityID            string     `json:"entity_id"`
	SSOURL              string     `json:"sso_url"`
	CertificateNotAfter time.Time  `json:"certificate_not_after"`
	UpdatedAt           *time.Time `json:"updated_at"`
	Valid               *bool      `json:"valid"`
	Problem             string     `json:"problem"`
	Warnings            []string   `json:"warnings"`   // PUT
	SCIMReady           *scimReady `json:"scim_ready"` // PUT
}

// maxMetadataFile is the largest IdP metadata file samlSet sends (the server caps at 1 MiB).
const maxMetadataFile = 1 << 20

func samlSet(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "saml set", args, nil)
	if err != nil {
		return err
	}
	if err := wantArgs("saml set", pos, "TENANT", "FILE"); err != nil {
		return err
	}
	var rd io.Reader
	if pos[1] == "-" {
		rd = sys.stdin
		if rd == nil {
			rd = strings.NewReader("")
		}
	} else {
		f, err := os.Open(pos[1])
		if err != nil {
			return &exitError{code: ExitRefused, err: fmt.Errorf("saml set: %w", err)}
		}
		defer f.Close()
		rd = f
	}
	doc, err := io.ReadAll(io.LimitReader(rd, maxMetadataFile+1))
	if err != nil {
		return &exitError{code: ExitRefused, err: fmt.Errorf("saml set: read %s: %w", pos[1], err)}
	}
	if len(doc) > maxMetadataFile {
		return &exitError{code: ExitRefused, err: fmt.Errorf("saml set: %s is larger than %d bytes; IdP metadata is much smaller: is it the right file?", pos[1], maxMetadataFile)}
	}
	var s samlAnswer
	raw, err := c.call(ctx, "PUT", "/admin/v1/tenants/"+escape(pos[0])+"/saml", doc, "application/samlmetadata+xml", &s)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		if len(s.Warnings) > 0 {
			fmt.Fprintf(w, "SAML metadata of tenant %s stored, with warnings:\n", pos[0])
			for _, x := range s.Warnings {
				fmt.Fprintf(w, "  warning: %s\n", x)
			}
		} else {
			fmt.Fprintf(w, "SAML SSO of tenant %s configured.\n", pos[0])
		}
		if err := writeSAML(w, s, c.baseURL, pos[0]); err != nil {
			return err
		}
		return writeReadiness(w, s.SCIMReady)
	})
}

func samlGet(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "saml get", args, nil)
	if err != nil {
		return err
	}
	if err := wantArgs("saml get", pos, "TENANT"); err != nil {
		return err
	}
	var s samlAnswer
	raw, err := c.call(ctx, "GET", "/admin/v1/tenants/"+escape(pos[0])+"/saml", nil, "", &s)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error { return writeSAML(w, s, c.baseURL, pos[0]) })
}

func samlDelete(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "saml delete", args, nil)
	if err != nil {
		return err
	}
	if err := wantArgs("saml delete", pos, "TENANT"); err != nil {
		return err
	}
	raw, err := c.call(ctx, "DELETE", "/admin/v1/tenants/"+escape(pos[0])+"/saml", nil, "", nil)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "SAML SSO of tenant %s removed; SCIM is refused until it is configured again.\n", pos[0])
		return err
	})
}

func writeSAML(w io.Writer, s samlAnswer, baseURL, tenant string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "IdP entity ID:\t%s\n", s.EntityID)
	fmt.Fprintf(tw, "IdP SSO URL:\t%s\n", s.SSOURL)
	fmt.Fprintf(tw, "certificate valid until:\t%s\n", s.CertificateNotAfter.UTC().Format(time.RFC3339))
	if s.UpdatedAt != nil {
		fmt.Fprintf(tw, "updated:\t%s\n", s.UpdatedAt.UTC().Format(time.RFC3339))
	}
	if s.Valid != nil {
		fmt.Fprintf(tw, "valid now:\t%s\n", strconv.FormatBool(*s.Valid))
	}
	if s.Problem != "" {
		fmt.Fprintf(tw, "problem:\t%s\n", s.Problem)
	}
	fmt.Fprintf(tw, "SP metadata for the IdP:\t%s/saml/%s/metadata\n", baseURL, escape(tenant))
	return tw.Flush()
}
