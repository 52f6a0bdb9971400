package proc

import "os"

// readDir lists a directory as os.ReadDir does, but unsorted: the callers
// need no order, and os.ReadDir's sort would be linked into every program.
func readDir(name string) ([]os.DirEntry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: nothing to lose
	return f.ReadDir(-1)
}
