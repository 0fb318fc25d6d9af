//! tracefs itself: finding (or mounting) it, the session's own instance directory
//! (`instances/plab-<pid>-<n>`: its own ring buffer, clock, filter and enabled
//! events), reading its files, and removing instances that dead processes left behind.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use crate::lab::kernel::KernelError;

/// Where tracefs lives on any kernel since 4.1.
const TRACEFS_DEFAULT: &str = "/sys/kernel/tracing";
/// Where older setups reach it through debugfs.
const TRACEFS_DEBUGFS: &str = "/sys/kernel/debug/tracing";
/// The event, relative to a tracefs root or instance.
pub(super) const EVENT_DIR: &str = "events/sock/inet_sock_set_state";

/// Numbers instances within this process (the pid tells processes apart).
static INSTANCE_COUNTER: AtomicU32 = AtomicU32::new(0);
/// Two sessions starting at once must not both mount tracefs.
static MOUNT_LOCK: Mutex<()> = Mutex::new(());

/// A tracefs instance directory; removed on drop.
#[derive(Debug)]
pub(super) struct Instance {
    pub(super) name: String,
    pub(super) path: PathBuf,
    removed: bool,
}

impl Instance {
    pub(super) fn create(root: &Path) -> Result<Instance, KernelError> {
        let instances = root.join("instances");
        loop {
            let n = INSTANCE_COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!("plab-{}-{n}", std::process::id());
            let path = instances.join(&name);
            match fs::create_dir(&path) {
                Ok(()) => {
                    return Ok(Instance {
                        name,
                        path,
                        removed: false,
                    })
                }
                // A previous process with our pid left one behind: take the next number.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(KernelError::trace_io(path, e)),
            }
        }
    }

    pub(super) fn file(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    pub(super) fn write(&self, rel: &str, value: &str) -> Result<(), KernelError> {
        let path = self.file(rel);
        fs::write(&path, value).map_err(|e| KernelError::trace_io(path, e))
    }

    pub(super) fn read(&self, rel: &str) -> Result<String, KernelError> {
        let path = self.file(rel);
        read_tracefs(&path).map_err(|e| KernelError::trace_io(path, e))
    }

    /// Disables the event and removes the directory. The kernel refuses (EBUSY) while a
    /// file of the instance is open, so readers must be closed first; a short retry
    /// covers a reader that is just closing.
    pub(super) fn remove(&mut self) -> io::Result<()> {
        if self.removed {
            return Ok(());
        }
        let _ = fs::write(self.file(&format!("{EVENT_DIR}/enable")), "0");
        let mut tries = 0;
        loop {
            match fs::remove_dir(&self.path) {
                Ok(()) => {
                    self.removed = true;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.removed = true;
                    return Ok(());
                }
                Err(e) if tries < 20 && e.raw_os_error() == Some(nix::libc::EBUSY) => {
                    tries += 1;
                    thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Err(e) = self.remove() {
            tracing::warn!(
                "could not remove tracing instance {}: {e}; remove it with `sudo rmdir {}`",
                self.name,
                self.path.display()
            );
        }
    }
}

/// Reads a whole tracefs file. Some (`events/header_page`) answer only the *first*
/// read and return 0 once the offset moved, so a small first read, like the 32-byte
/// probe of `fs::read_to_string`, would cut them: read with a large buffer.
pub(super) fn read_tracefs(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    String::from_utf8(out).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Opens a tracefs file for non-blocking reads: the reader polls, so stop never hangs
/// on a read that waits for an event that will not come.
pub(super) fn open_nonblocking(path: &Path) -> Result<File, KernelError> {
    OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| KernelError::trace_io(path, e))
}

/// The pid in an instance name this module creates (`plab-<pid>-<n>`).
pub(crate) fn instance_pid(name: &str) -> Option<u32> {
    let (pid, n) = name.strip_prefix("plab-")?.split_once('-')?;
    n.parse::<u32>().ok()?;
    pid.parse().ok()
}

/// Removes tracing instances left behind by protolab processes that no longer exist
/// (killed before their sessions could clean up, e.g. by SIGKILL or an exit without
/// unwinding): each one keeps a ring buffer per CPU and its tracepoint enabled. Returns
/// the names removed. Call it before starting a run; it never touches an instance whose
/// process is alive. (A process of another PID namespace sharing this tracefs would
/// look dead: do not call it where containers share the host's tracefs.)
pub fn remove_stale_instances() -> Result<Vec<String>, KernelError> {
    let root = tracefs_root()?;
    let instances = root.join("instances");
    let entries = fs::read_dir(&instances).map_err(|e| KernelError::trace_io(&instances, e))?;
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = instance_pid(&name) else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let mut stale = Instance {
            name: name.clone(),
            path: entry.path(),
            removed: false,
        };
        match stale.remove() {
            Ok(()) => removed.push(name),
            Err(e) => tracing::warn!("could not remove stale tracing instance {name}: {e}"),
        }
    }
    Ok(removed)
}

/// Finds tracefs, mounting it at /sys/kernel/tracing if needed (root only).
pub(super) fn tracefs_root() -> Result<PathBuf, KernelError> {
    let _guard = MOUNT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = find_tracefs_mount() {
        return Ok(path);
    }
    let debugfs = Path::new(TRACEFS_DEBUGFS);
    if debugfs.join("instances").is_dir() {
        return Ok(debugfs.to_path_buf());
    }
    if !nix::unistd::geteuid().is_root() {
        return Err(KernelError::TracefsMount {
            detail: "not running as root".to_string(),
        });
    }
    let output = Command::new("mount")
        .args(["-t", "tracefs", "nodev", TRACEFS_DEFAULT])
        .output()
        .map_err(|e| KernelError::TracefsMount {
            detail: format!("could not run mount: {e}"),
        })?;
    if !output.status.success() {
        return Err(KernelError::TracefsMount {
            detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(PathBuf::from(TRACEFS_DEFAULT))
}

/// The tracefs mount point from /proc/self/mounts, preferring the standard one.
fn find_tracefs_mount() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mounts").ok()?;
    let points: Vec<&str> = mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_dev, point, fstype) = (f.next()?, f.next()?, f.next()?);
            (fstype == "tracefs").then_some(point)
        })
        .collect();
    let best = points
        .iter()
        .find(|p| **p == TRACEFS_DEFAULT)
        .or_else(|| points.first())?;
    Some(PathBuf::from(best))
}
