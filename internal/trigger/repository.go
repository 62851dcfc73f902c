package trigger

import (
	"path/filepath"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// SourceRepositoryMatches reports whether a source action reads repo:
//   - CodeStarSourceConnection: FullRepositoryId is owner/name (case-insensitive,
//     as GitHub names are);
//   - Git with a URL: the URL is one of the repository's (https, ssh, scp-like
//     git@host:owner/name), ignoring a trailing .git and the case of the host;
//   - Git with a local path (resolved against dir, the definition's directory):
//     the directory is named like the repository. A local clone says nothing else
//     about which GitHub repository it mirrors.
func SourceRepositoryMatches(a *manifest.Action, dir string, repo Repository) bool {
	if repo.FullName == "" {
		return false
	}
	switch a.Provider {
	case manifest.ProviderCodeStar:
		return strings.EqualFold(a.Configuration["FullRepositoryId"], repo.FullName)
	case manifest.ProviderGit:
		return gitRepositoryMatches(a.Configuration["Repository"], dir, repo)
	}
	return false
}

func gitRepositoryMatches(location, dir string, repo Repository) bool {
	if isURL(location) {
		want := normalizeURL(location)
		for _, u := range []string{repo.CloneURL, repo.SSHURL, repo.HTMLURL} {
			if u != "" && normalizeURL(u) == want {
				return true
			}
		}
		return strings.HasSuffix(want, "/"+strings.ToLower(repo.FullName))
	}
	if !filepath.IsAbs(location) {
		location = filepath.Join(dir, location)
	}
	return strings.EqualFold(filepath.Base(filepath.Clean(location)), repo.Name())
}

func isURL(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, "git@")
}

// normalizeURL reduces a repository URL to host/path, lowercased: https://,
// ssh://git@ and scp-like git@host:path forms of one repository compare equal.
func normalizeURL(u string) string {
	u = strings.TrimSpace(u)
	if _, rest, ok := strings.Cut(u, "://"); ok {
		u = rest
	} else if rest, ok := strings.CutPrefix(u, "git@"); ok {
		u = strings.Replace(rest, ":", "/", 1)
	}
	if at := strings.Index(u, "@"); at >= 0 && at < strings.Index(u+"/", "/") {
		u = u[at+1:]
	}
	u = strings.TrimSuffix(strings.TrimSuffix(u, "/"), ".git")
	return strings.ToLower(u)
}
