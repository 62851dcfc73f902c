package runtime

import (
	"fmt"
	"regexp"
)

// validID is what Docker accepts as a container name; the process driver
// holds IDs to it too (they name log files), so that a spec runs under either.
var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{1,127}$`)

// ValidateID checks that a task ID can name a container and a file.
func ValidateID(id string) error {
	if !validID.MatchString(id) {
		return fmt.Errorf("invalid task ID %q: use 2 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit", id)
	}
	return nil
}
