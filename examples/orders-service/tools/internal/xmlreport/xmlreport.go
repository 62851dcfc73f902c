// Package xmlreport writes the XML reports of the module's tools (JUnit,
// Cobertura): an XML header, the document indented, and files replaced
// atomically so that a report reader never sees half a file.
package xmlreport

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write encodes doc as an XML document.
func Write(w io.Writer, doc any) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode XML: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteFile writes doc to path through a temporary file in its directory.
func WriteFile(path string, doc any) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*.xml")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o644)
	if err == nil {
		err = Write(tmp, doc)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
