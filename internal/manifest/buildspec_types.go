package manifest

// Buildspec is a CodeBuild buildspec, version 0.2.
type Buildspec struct {
	Path      string          `json:"path"`
	Version   string          `json:"version"` // "0.2"
	RunAs     string          `json:"run-as,omitempty"`
	Env       BuildEnv        `json:"env"`
	Phases    BuildPhases     `json:"phases"`
	Reports   []*ReportGroup  `json:"reports,omitempty"` // in file order
	Artifacts *BuildArtifacts `json:"artifacts,omitempty"`
	Cache     *BuildCache     `json:"cache,omitempty"`
	Pos       Pos             `json:"-"`
}

// KeyValue is one ordered mapping entry from a buildspec (order matters: later
// variables may refer to earlier ones).
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Pos   Pos    `json:"-"`
}

// BuildEnv is a buildspec's env section.
type BuildEnv struct {
	Shell               string     `json:"shell,omitempty"` // bash (default) or sh
	Variables           []KeyValue `json:"variables,omitempty"`
	ParameterStore      []KeyValue `json:"parameter-store,omitempty"`
	SecretsManager      []KeyValue `json:"secrets-manager,omitempty"` // value: secret-id[:json-key[:version-stage[:version-id]]]
	ExportedVariables   []string   `json:"exported-variables,omitempty"`
	GitCredentialHelper bool       `json:"git-credential-helper,omitempty"`
}

// BuildPhases in the order they run.
type BuildPhases struct {
	Install   *Phase `json:"install,omitempty"`
	PreBuild  *Phase `json:"pre_build,omitempty"`
	Build     *Phase `json:"build,omitempty"`
	PostBuild *Phase `json:"post_build,omitempty"`
}

// Phase on-failure values.
const (
	OnFailureAbort    = "ABORT"
	OnFailureContinue = "CONTINUE"
)

// Phase is one buildspec phase: its commands, on-failure and finally.
type Phase struct {
	Name            string            `json:"name"` // install, pre_build, build, post_build
	RunAs           string            `json:"run-as,omitempty"`
	OnFailure       string            `json:"on-failure,omitempty"` // default ABORT
	RuntimeVersions map[string]string `json:"runtime-versions,omitempty"`
	// RuntimeVersionPos is where each runtime's version is written.
	RuntimeVersionPos map[string]Pos `json:"-"`
	Commands          []Command      `json:"commands,omitempty"`
	Finally           []Command      `json:"finally,omitempty"`
	Pos               Pos            `json:"-"`
}

// Command is one shell command line of a phase, with where it was written.
type Command struct {
	Text string `json:"text"`
	Pos  Pos    `json:"-"`
}

// Report file formats.
const (
	ReportJUnitXML     = "JUNITXML"
	ReportCucumberJSON = "CUCUMBERJSON"
	ReportNUnitXML     = "NUNITXML"
	ReportNUnit3XML    = "NUNIT3XML"
	ReportTestNGXML    = "TESTNGXML"
	ReportVisualStudio = "VISUALSTUDIOTRX"
	CoverageClover     = "CLOVERXML"
	CoverageCobertura  = "COBERTURAXML"
	CoverageJaCoCo     = "JACOCOXML"
	CoverageSimpleCov  = "SIMPLECOV"
	// Greenlight's own additions: `go test -json` output and a `go test -coverprofile`.
	ReportGoTestJSON = "GOTESTJSON"
	CoverageGoCover  = "GOCOVER"
)

// ReportGroup is one report group of a buildspec's reports section.
type ReportGroup struct {
	Name          string   `json:"name"`
	Files         []string `json:"files"`
	BaseDirectory string   `json:"base-directory,omitempty"`
	DiscardPaths  bool     `json:"discard-paths,omitempty"`
	FileFormat    string   `json:"file-format"` // default JUNITXML
	Pos           Pos      `json:"-"`
}

// BuildArtifacts is a buildspec's artifacts section (or one secondary artifact).
type BuildArtifacts struct {
	Identifier         string            `json:"identifier,omitempty"` // for secondary artifacts
	Files              []string          `json:"files"`
	Name               string            `json:"name,omitempty"`
	DiscardPaths       bool              `json:"discard-paths,omitempty"`
	BaseDirectory      string            `json:"base-directory,omitempty"`
	ExcludePaths       []string          `json:"exclude-paths,omitempty"`
	EnableSymlinks     bool              `json:"enable-symlinks,omitempty"`
	SecondaryArtifacts []*BuildArtifacts `json:"secondary-artifacts,omitempty"` // in file order
	Pos                Pos               `json:"-"`
}

// BuildCache is a buildspec's cache section. With a key, a cache is saved once
// under it and never updated; a build whose key has no cache restores the newest
// one whose key starts with a fallback key, in order. Without a key there is one
// cache per project, replaced after every successful build.
type BuildCache struct {
	Key          string   `json:"key,omitempty"`
	FallbackKeys []string `json:"fallback-keys,omitempty"` // prefixes; ignored without a key
	Action       string   `json:"action,omitempty"`        // restore or save; default both
	Paths        []string `json:"paths"`
	Pos          Pos      `json:"-"`
}

// Cache actions: only restore, or only save.
const (
	CacheRestore = "restore"
	CacheSave    = "save"
)

// maxFallbackKeys is CodeBuild's limit.
const maxFallbackKeys = 5
