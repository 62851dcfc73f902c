package cli

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"os"

	"github.com/greenlight-ci/greenlight/internal/control/remote"
)

// serverURL is the server the commands talk to: --server, else
// $GREENLIGHT_SERVER; "" runs them on this machine's state directory.
func (a *app) serverURL() string { return cmp.Or(a.server, os.Getenv("GREENLIGHT_SERVER")) }

// openRemote opens the backend of a running `greenlight serve` when --server
// (or GREENLIGHT_SERVER) names one; ok is false otherwise. The token comes
// from --token or GREENLIGHT_TOKEN, and the server records its name as who
// acts.
func (a *app) openRemote() (b *remote.Backend, ok bool, err error) {
	addr, token, ok, err := a.remoteTarget()
	if !ok || err != nil {
		return nil, ok, err
	}
	return remote.New(addr, token), true, nil
}

// openRemoteAdmin opens the administration client (audit log, tokens,
// notification deliveries) of the server --server names; ok is false when
// none is named.
func (a *app) openRemoteAdmin() (ad *remote.Admin, ok bool, err error) {
	addr, token, ok, err := a.remoteTarget()
	if !ok || err != nil {
		return nil, ok, err
	}
	return remote.NewAdmin(addr, token), true, nil
}

// remoteTarget checks --server and the token; ok is false when no server is
// named, and err says what is wrong with one that is.
func (a *app) remoteTarget() (addr, token string, ok bool, err error) {
	addr = a.serverURL()
	if addr == "" {
		return "", "", false, nil
	}
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", true, fmt.Errorf("--server %q: want a URL like http://127.0.0.1:8080", addr)
	}
	if a.backend != "" && a.backend != backendLocal {
		return "", "", true, fmt.Errorf("--server and --backend %s: choose one", a.backend)
	}
	token = cmp.Or(a.token, os.Getenv("GREENLIGHT_TOKEN"))
	if token == "" {
		return "", "", true, errors.New("--server needs a token: --token or GREENLIGHT_TOKEN (greenlight tokens create NAME --role ...)")
	}
	return addr, token, true, nil
}
