package report

// Clover XML (OpenClover, PHPUnit, istanbul/jest). Lines are statements, branches
// are conditionals, as CodeBuild reads Clover. Files outside a <package> are
// grouped by directory.
type cloverRoot struct {
	Project struct {
		Packages []cloverPackage `xml:"package"`
		Files    []cloverFile    `xml:"file"`
	} `xml:"project"`
}

type cloverPackage struct {
	Name  string       `xml:"name,attr"`
	Files []cloverFile `xml:"file"`
}

type cloverFile struct {
	Name    string        `xml:"name,attr"`
	Path    string        `xml:"path,attr"`
	Metrics cloverMetrics `xml:"metrics"`
}

type cloverMetrics struct {
	Statements          string `xml:"statements,attr"`
	CoveredStatements   string `xml:"coveredstatements,attr"`
	Conditionals        string `xml:"conditionals,attr"`
	CoveredConditionals string `xml:"coveredconditionals,attr"`
}

func parseClover(data []byte) (*Report, error) {
	var root cloverRoot
	if _, err := decodeXML(data, map[string]any{"coverage": &root}); err != nil {
		return nil, err
	}
	var t coverageTotals
	for _, p := range root.Project.Packages {
		for _, f := range p.Files {
			f.addTo(&t, p.Name)
		}
	}
	for _, f := range root.Project.Files {
		path := f.Path
		if path == "" {
			path = f.Name
		}
		f.addTo(&t, dirOf(path))
	}
	return &Report{Coverage: t.summary()}, nil
}

func (f cloverFile) addTo(t *coverageTotals, pkg string) {
	m := f.Metrics
	t.addLines(pkg, atoi(m.CoveredStatements), atoi(m.Statements))
	t.addBranches(atoi(m.CoveredConditionals), atoi(m.Conditionals))
}
