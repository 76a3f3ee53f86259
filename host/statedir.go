package host

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// funcd keeps an app's own state (its keys, unless FUNCTIONS_SECRETS_PATH
// points elsewhere) outside the app folder, so that `git add -A` and a zip
// publish of the folder never pick it up: in a per-user folder named after
// the app's folder and a hash of its absolute path.

// legacyStateDirName is the folder inside the app that funcd kept its state
// in before; an app that has one keeps using it.
const legacyStateDirName = ".funcd"

// DefaultStateDir returns the per-user folder of funcd's state for the app
// in root (an absolute path): <state home>/funcd/apps/<folder name>-<hash>,
// where the state home is $XDG_STATE_HOME when set (to an absolute path),
// else ~/.local/state on Linux and other Unix systems, and the user's
// configuration folder (os.UserConfigDir) on macOS and Windows. Two paths to
// one folder through a symbolic link share the state.
func DefaultStateDir(root string) (string, error) {
	home, err := stateHome()
	if err != nil {
		return "", fmt.Errorf("cannot choose a folder for funcd's state (the app's keys): %w; pass --state-dir, or set XDG_STATE_HOME", err)
	}
	return filepath.Join(home, "funcd", "apps", appStateName(root)), nil
}

// stateHome is the per-user folder that state goes under.
func stateHome() (string, error) {
	if dir := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(dir) {
		return dir, nil
	}
	switch runtime.GOOS {
	case "darwin", "ios", "windows", "plan9":
		return os.UserConfigDir()
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "state"), nil
}

// appStateName names an app's state folder: its folder's name, readable in
// a listing, and a hash of its absolute path, which tells apart two apps of
// the same name.
func appStateName(root string) string {
	if resolved, err := filepath.EvalSymlinks(root); err == nil {
		root = resolved
	}
	key := filepath.Clean(root)
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		key = strings.ToLower(key) // the usual file systems there ignore case
	}
	sum := sha256.Sum256([]byte(key))
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, filepath.Base(root))
	if len(name) > 40 {
		name = name[:40]
	}
	if strings.Trim(name, "._") == "" {
		name = "app"
	}
	return name + "-" + hex.EncodeToString(sum[:6])
}

// stateLocation is where an app's state lives when no folder is given.
type stateLocation struct {
	dir string
	// legacy is set when dir is the .funcd folder inside the app; moveTo is
	// then the per-user folder it should move to ("" if there is none).
	legacy bool
	moveTo string
}

// findStateDir returns the state folder of the app in root: the .funcd
// folder inside it when an earlier funcd made one (moving it would lose
// keys that clients use), else the per-user folder.
func findStateDir(root string) (stateLocation, error) {
	userDir, err := DefaultStateDir(root)
	legacy := filepath.Join(root, legacyStateDirName)
	if info, statErr := os.Stat(legacy); statErr == nil && info.IsDir() {
		return stateLocation{dir: legacy, legacy: true, moveTo: userDir}, nil
	}
	if err != nil {
		return stateLocation{}, err
	}
	return stateLocation{dir: userDir}, nil
}

// ResolveStateDir returns the state folder of the app in root (absolute)
// when none is given, as `funcd start` uses it: see DefaultStateDir. A
// .funcd folder inside the app from an earlier funcd keeps being used;
// ResolveStateDir then protects it from git with a .gitignore and logs a
// warning with the command that moves it out.
func ResolveStateDir(root string, log *slog.Logger) (string, error) {
	loc, err := findStateDir(root)
	if err != nil {
		return "", err
	}
	loc.keepLegacy(log)
	return loc.dir, nil
}

// keepLegacy writes a .gitignore that ignores everything into a .funcd
// folder inside the app, and warns that the folder should move.
func (loc stateLocation) keepLegacy(log *slog.Logger) {
	if !loc.legacy {
		return
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ignore := filepath.Join(loc.dir, ".gitignore")
	if _, err := os.Lstat(ignore); errors.Is(err, fs.ErrNotExist) {
		const content = "# funcd's state for this app (its keys): never commit or publish it.\n*\n"
		if err := os.WriteFile(ignore, []byte(content), 0o644); err != nil {
			log.Warn("cannot write a .gitignore into funcd's state folder", "error", err)
		}
	}
	move := "move the folder to " + loc.moveTo
	switch {
	case loc.moveTo == "":
		move = "move the folder out of the app and pass --state-dir with its new place"
	case runtime.GOOS != "windows":
		move = fmt.Sprintf("stop funcd and run: mkdir -p %s && mv %s %s",
			shellQuote(filepath.Dir(loc.moveTo)), shellQuote(loc.dir), shellQuote(loc.moveTo))
	}
	log.Warn("This app's keys are in " + loc.dir + ", inside the app folder, where a zip publish or a copy of the folder picks them up " +
		"(git ignores them). funcd now keeps them outside the app; to move them, " + move)
}

// shellQuote quotes a path for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
