package jail

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Root is the file system a confined program sees: a tmpfs built by the
// sandbox child in its own mount namespace (it disappears with the child).
type Root struct {
	Dir string // the root's path as the sandbox child sees it
}

// RootOptions says what a root holds besides its fixed contents.
type RootOptions struct {
	Dir      string   // where to build it (created; must be empty)
	ReadOnly []string // absolute paths made visible read-only at the same path
	Size     int64    // bytes for the tmpfs (everything the programs may write)
	UID, GID int      // owner of /tmp's and the home's contents
}

// devices are the device nodes a program may need: Go's runtime and standard
// library use /dev/null and /dev/urandom.
var devices = []string{"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"}

// BuildRoot builds a root in opt.Dir. It must run in a mount namespace of the
// caller's own whose mounts do not propagate out (sandbox.Enter makes one).
func BuildRoot(opt RootOptions) (*Root, error) {
	r := &Root{Dir: opt.Dir}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("jail: %w", err)
	}
	data := "mode=0755,size=" + strconv.FormatInt(opt.Size, 10)
	if err := unix.Mount("wirelab-jail", opt.Dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, data); err != nil {
		return nil, fmt.Errorf("jail: mount a tmpfs on %s: %w", opt.Dir, err)
	}
	for _, d := range []struct {
		path string
		mode os.FileMode
		own  bool
	}{
		{"/proc", 0o555, false},
		{"/dev", 0o755, false},
		{"/etc", 0o755, false},
		{"/tmp", 0o1777, false},
		{"/home", 0o755, false},
		{Home, 0o700, true},
	} {
		p := r.path(d.path)
		if err := os.Mkdir(p, d.mode); err != nil {
			return nil, fmt.Errorf("jail: %w", err)
		}
		if err := os.Chmod(p, d.mode); err != nil { // past the umask
			return nil, fmt.Errorf("jail: %w", err)
		}
		if d.own {
			if err := os.Chown(p, opt.UID, opt.GID); err != nil {
				return nil, fmt.Errorf("jail: %w", err)
			}
		}
	}
	files := map[string]string{
		"/etc/hosts":         "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
		"/etc/passwd":        fmt.Sprintf("root:x:0:0:root:/root:/bin/false\nstudent:x:%d:%d:wirelab student:%s:/bin/false\n", opt.UID, opt.GID, Home),
		"/etc/group":         fmt.Sprintf("root:x:0:\nstudent:x:%d:\n", opt.GID),
		"/etc/nsswitch.conf": "hosts: files dns\n",
	}
	for name, content := range files {
		if err := os.WriteFile(r.path(name), []byte(content), 0o644); err != nil {
			return nil, fmt.Errorf("jail: %w", err)
		}
	}
	if err := unix.Mount("/proc", r.path("/proc"), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return nil, fmt.Errorf("jail: bind /proc: %w", err)
	}
	for _, dev := range devices {
		if err := r.bind(dev, false); err != nil {
			return nil, err
		}
	}
	for _, p := range opt.ReadOnly {
		if err := r.BindReadOnly(p); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// path is where the absolute path p of the root is, seen from outside it.
func (r *Root) path(p string) string { return filepath.Join(r.Dir, p) }

// BindReadOnly makes the file or directory at the absolute path p visible,
// read-only, at the same path inside the root. Binding a path twice does
// nothing.
func (r *Root) BindReadOnly(p string) error { return r.bind(p, true) }

func (r *Root) bind(p string, readOnly bool) error {
	if !filepath.IsAbs(p) {
		return fmt.Errorf("jail: %s: not an absolute path", p)
	}
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("jail: %w", err)
	}
	target := r.path(p)
	if mounted(target) {
		return nil
	}
	if st.IsDir() {
		err = os.MkdirAll(target, 0o755)
	} else if err = os.MkdirAll(filepath.Dir(target), 0o755); err == nil {
		var f *os.File
		if f, err = os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			err = f.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("jail: make a place for %s: %w", p, err)
	}
	if err := unix.Mount(p, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("jail: bind %s: %w", p, err)
	}
	if !readOnly {
		return nil
	}
	// A read-only bind is a remount of the bind; in a user namespace it must
	// keep the flags the original mount locked (nosuid, nodev, ...).
	var fs unix.Statfs_t
	if err := unix.Statfs(target, &fs); err != nil {
		return fmt.Errorf("jail: statfs %s: %w", target, err)
	}
	flags := uintptr(unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID) | mountFlags(fs.Flags)
	if err := unix.Mount("", target, "", flags, ""); err != nil {
		return fmt.Errorf("jail: make %s read-only: %w", p, err)
	}
	return nil
}

// mountFlags turns statfs's ST_* flags into the MS_* flags a remount keeps.
func mountFlags(st int64) uintptr {
	var f uintptr
	for stFlag, msFlag := range map[int64]uintptr{
		unix.ST_NODEV: unix.MS_NODEV, unix.ST_NOEXEC: unix.MS_NOEXEC, unix.ST_NOATIME: unix.MS_NOATIME,
		unix.ST_NODIRATIME: unix.MS_NODIRATIME, unix.ST_RELATIME: unix.MS_RELATIME,
	} {
		if st&stFlag != 0 {
			f |= msFlag
		}
	}
	return f
}

// mounted reports whether something is mounted on path: its mount ID (statx)
// differs from its parent directory's.
func mounted(path string) bool {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &st); err != nil {
		return false
	}
	var parent unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, filepath.Dir(path), 0, unix.STATX_MNT_ID, &parent); err != nil {
		return false
	}
	return st.Mnt_id != parent.Mnt_id
}

// DiskFull reports whether the root at dir (its tmpfs, which is all the
// confined programs may write) has less than 1 MiB left.
func DiskFull(dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	return st.Bavail*uint64(st.Bsize) < 1<<20
}
