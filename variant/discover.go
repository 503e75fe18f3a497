package variant

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// BinaryPrefix starts the file name of every plugin binary:
// aexp-variant-<name>.
const BinaryPrefix = "aexp-variant-"

// PluginDirEnv is the environment variable naming extra plugin directories
// (separated like PATH).
const PluginDirEnv = "AEXP_PLUGIN_DIR"

// Discover finds plugin binaries in dirs: executable regular files (or
// symlinks to them) named aexp-variant-<name>. It returns name -> absolute
// path. Directories that cannot be read (missing, not a directory, no
// permission) and empty strings are skipped.
// The same file reached through two directories counts once; two
// different files with the same name are an error naming both paths.
//
// Discover does not start the plugins; [Launch] tells a working plugin from
// a broken one.
func Discover(dirs ...string) (map[string]string, error) {
	found := map[string]string{}
	info := map[string]os.FileInfo{}
	var dups []string
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // missing, unreadable, or not a directory (PATH may hold such entries)
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), BinaryPrefix)
			if !ok || name == "" {
				continue
			}
			path, err := filepath.Abs(filepath.Join(dir, e.Name()))
			if err != nil {
				continue
			}
			st, err := os.Stat(path) // follows symlinks
			if err != nil || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
				continue
			}
			if prev, dup := found[name]; dup {
				if os.SameFile(info[name], st) {
					continue
				}
				dups = append(dups, fmt.Sprintf("plugin %q is provided twice: %s and %s (remove or rename one)", name, prev, path))
				continue
			}
			found[name] = path
			info[name] = st
		}
	}
	if len(dups) > 0 {
		sort.Strings(dups)
		return found, fmt.Errorf("%s", strings.Join(dups, "; "))
	}
	return found, nil
}

// SearchDirs returns the standard plugin search path, in order: flagDir
// (the --plugin-dir flag; skipped when empty), the directories in
// $AEXP_PLUGIN_DIR, the directory of the running executable (so bin/aexp
// finds bin/aexp-variant-*), then the directories of $PATH. Duplicates are
// removed. Pass the result to [Discover].
func SearchDirs(flagDir string) []string {
	var dirs []string
	seen := map[string]bool{}
	add := func(d string) {
		if d == "" {
			return
		}
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	add(flagDir)
	for _, d := range filepath.SplitList(os.Getenv(PluginDirEnv)) {
		add(d)
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		add(filepath.Dir(exe))
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		add(d)
	}
	return dirs
}

// DiscoverDefault is Discover(SearchDirs(flagDir)...).
func DiscoverDefault(flagDir string) (map[string]string, error) {
	return Discover(SearchDirs(flagDir)...)
}
