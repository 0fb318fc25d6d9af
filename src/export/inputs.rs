//! The captures named on a command line: files as given, and directories
//! expanded to the `.pcap`/`.pcapng` files under them, recursively, sorted so the
//! order (and so the output) is the same on every run and every machine.

use std::path::{Path, PathBuf};

/// One capture to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub path: PathBuf,
    /// Its size in bytes (0 when unknown: standard input, or unreadable).
    pub bytes: u64,
    /// Named on the command line itself, not found in a directory.
    pub explicit: bool,
}

impl Input {
    /// The path as given (or as found under a directory), for records and messages.
    pub fn name(&self) -> String {
        self.path.display().to_string()
    }
}

fn is_capture(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("pcap") || e.eq_ignore_ascii_case("pcapng"))
}

/// Every capture file under `dir`, in path order.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else if is_capture(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// The captures `args` name, in order: a file as it is (whatever its name; a
/// missing one fails when it is read, like any unreadable capture), a directory as
/// its capture files.
pub fn expand(args: &[PathBuf]) -> std::io::Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for arg in args {
        if arg.is_dir() {
            let mut found = Vec::new();
            walk(arg, &mut found).map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot read {}: {e}", arg.display()))
            })?;
            inputs.extend(found.into_iter().map(|path| Input {
                bytes: size(&path),
                path,
                explicit: false,
            }));
        } else {
            inputs.push(Input {
                bytes: size(arg),
                path: arg.clone(),
                explicit: true,
            });
        }
    }
    Ok(inputs)
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_expand_recursively_in_path_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("b")).unwrap();
        for f in ["b/z.pcapng", "a.pcap", "notes.txt", "c.PCAP"] {
            std::fs::write(root.join(f), b"x").unwrap();
        }
        let got = expand(&[root.to_path_buf(), PathBuf::from("given.txt")]).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|i| i.path.strip_prefix(root).unwrap_or(&i.path).to_path_buf())
            .collect();
        assert_eq!(
            names,
            ["a.pcap", "b/z.pcapng", "c.PCAP", "given.txt"].map(PathBuf::from)
        );
        assert!(got[3].explicit && !got[0].explicit);
    }
}
