package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// ---- apikey: a tenant's admin API keys ----

func apikeyCmd(ctx context.Context, sys *system, args []string) error {
	return subcommand(ctx, sys, "apikey", args, map[string]func(context.Context, *system, []string) error{
		"create": apikeyCreate, "list": apikeyList, "revoke": apikeyRevoke,
	}, "create", "list", "revoke")
}

type apikeyAnswer struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Permissions []string  `json:"permissions"`
	Key         string    `json:"key"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"created_by"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func apikeyCreate(ctx context.Context, sys *system, args []string) error {
	var perms string
	c, pos, err := parseCLI(sys, "apikey create", args, func(fs *flag.FlagSet) {
		fs.StringVar(&perms, "permissions", "", "comma-separated permission flags the key grants (users.view, users.*, …)")
	})
	if err != nil {
		return err
	}
	if err := wantArgs("apikey create", pos, "TENANT", "NAME"); err != nil {
		return err
	}
	list := []string{}
	for _, p := range strings.Split(perms, ",") {
		if p = strings.TrimSpace(p); p != "" {
			list = append(list, p)
		}
	}
	body, _ := json.Marshal(map[string]any{"name": pos[1], "permissions": list})
	var k apikeyAnswer
	raw, err := c.call(ctx, "POST", "/admin/v1/tenants/"+escape(pos[0])+"/api-keys", body, "application/json", &k)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, `API key %q created for tenant %s (id %s), with: %s.
Copy it now: Roster stores only a hash and cannot show it again.

  %s

It reaches %s/admin/v1/tenants/%s/… as Authorization: Bearer <key>.
`, k.Name, pos[0], k.ID, permissionList(k.Permissions), k.Key, c.baseURL, pos[0])
		return err
	})
}

func permissionList(p []string) string {
	if len(p) == 0 {
		return "no permissions (it can read the tenant only)"
	}
	return strings.Join(p, ", ")
}

func apikeyList(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "apikey list", args, nil)
	if err != nil {
		return err
	}
	if err := wantArgs("apikey list", pos, "TENANT"); err != nil {
		return err
	}
	var list struct {
		Keys []apikeyAnswer `json:"api_keys"`
	}
	raw, err := c.call(ctx, "GET", "/admin/v1/tenants/"+escape(pos[0])+"/api-keys", nil, "", &list)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPERMISSIONS\tCREATED BY\tCREATED\tLAST USED\tREVOKED")
		for _, k := range list.Keys {
			perms := strings.Join(k.Permissions, ",")
			if perms == "" {
				perms = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s:%s\t%s\t%s\t%s\n", k.ID, k.Name, perms, k.CreatedBy.Kind, k.CreatedBy.ID,
				k.CreatedAt.UTC().Format(time.RFC3339), timeOrDash(k.LastUsedAt), timeOrDash(k.RevokedAt))
		}
		return tw.Flush()
	})
}

func apikeyRevoke(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "apikey revoke", args, nil)
	if err != nil {
		return err
	}
	if err := wantArgs("apikey revoke", pos, "TENANT", "KEY_ID"); err != nil {
		return err
	}
	raw, err := c.call(ctx, "DELETE", "/admin/v1/tenants/"+escape(pos[0])+"/api-keys/"+escape(pos[1]), nil, "", nil)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "API key %s of tenant %s revoked; requests with it are refused from now on.\n", pos[1], pos[0])
		return err
	})
}
