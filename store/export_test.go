package store

// OpenAt opens path for writing and migrates it only up to version target,
// so tests can build databases of every older schema version.
func OpenAt(path string, target int) (*DB, error) { return open(path, target) }
