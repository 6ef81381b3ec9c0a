//! Granted directories, opened once and handed to every store by handle.
//!
//! A grant names a path, but a path can be made to point elsewhere while a
//! component runs: a guest that may write to the parent of a granted folder
//! can rename the folder and leave a symlink in its place. Each store of an
//! HTTP component is built afresh per request, so re-opening the path there
//! would follow the swap out of the sandbox. Instead each grant is opened
//! when its first store is built and every later store is given that same
//! open directory; and a path whose identity changed since is refused with an
//! error rather than silently served from the old handle.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::capabilities::DirGrant;

/// The open directories of a sandbox's grants, shared by the stores built
/// from it. Start from the default; the first store fills it.
#[derive(Clone, Default)]
pub struct OpenedDirs {
    opened: Arc<OnceLock<Result<Vec<OpenedDir>, String>>>,
}

/// One granted directory, open since its first store.
struct OpenedDir {
    file: File,
    identity: Identity,
}

/// What makes a directory the same one: its device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    device: u64,
    inode: u64,
}

impl std::fmt::Debug for OpenedDirs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedDirs")
            .field("opened", &self.opened.get().is_some())
            .finish()
    }
}

impl OpenedDirs {
    /// For each of `grants` (in order), a path that opens the very directory
    /// opened for it first, after checking its path still names that directory.
    pub(crate) fn paths_for(&self, grants: &[DirGrant]) -> Result<Vec<PathBuf>, String> {
        let opened = self
            .opened
            .get_or_init(|| grants.iter().map(OpenedDir::open).collect())
            .as_ref()
            .map_err(Clone::clone)?;
        grants
            .iter()
            .zip(opened)
            .map(|(grant, dir)| dir.checked_path(&grant.host))
            .collect()
    }
}

impl OpenedDir {
    fn open(grant: &DirGrant) -> Result<Self, String> {
        // Symlinks the user made are resolved once, here; the result is opened
        // without following one more.
        let file = std::fs::canonicalize(&grant.host)
            .and_then(|resolved| open_directory(&resolved))
            .map_err(|error| {
                format!(
                    "cannot open granted directory {}: {error}",
                    grant.host.display()
                )
            })?;
        let identity = identity_of(&file.metadata().map_err(|error| error.to_string())?);
        Ok(Self { file, identity })
    }

    /// A path to this open directory, if `host` still leads to it.
    fn checked_path(&self, host: &Path) -> Result<PathBuf, String> {
        let now = std::fs::metadata(host).map(|metadata| identity_of(&metadata));
        if now.ok() != Some(self.identity) {
            return Err(format!(
                "granted directory {} was replaced since the component started \
                 (it is no longer the same directory); refusing to follow it — \
                 restart the component to grant what is there now",
                host.display()
            ));
        }
        Ok(handle_path(&self.file, host))
    }
}

/// Opens `path` as a directory, refusing a symlink in its last component.
fn open_directory(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc_flags::O_DIRECTORY | libc_flags::O_NOFOLLOW);
    }
    options.open(path)
}

#[cfg(unix)]
fn identity_of(metadata: &std::fs::Metadata) -> Identity {
    use std::os::unix::fs::MetadataExt;
    Identity {
        device: metadata.dev(),
        inode: metadata.ino(),
    }
}

#[cfg(not(unix))]
fn identity_of(_metadata: &std::fs::Metadata) -> Identity {
    Identity {
        device: 0,
        inode: 0,
    }
}

/// A path that reopens the open `file` itself, not whatever its old path names now.
#[cfg(target_os = "linux")]
fn handle_path(file: &File, _host: &Path) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// A path that reopens the open `file` itself, not whatever its old path names now.
#[cfg(all(unix, not(target_os = "linux")))]
fn handle_path(file: &File, _host: &Path) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/dev/fd/{}", file.as_raw_fd()))
}

/// Without descriptor paths, the checked path itself (its identity was just verified).
#[cfg(not(unix))]
fn handle_path(_file: &File, host: &Path) -> PathBuf {
    host.to_path_buf()
}

/// The open flags this module needs, from `libc`.
#[cfg(unix)]
mod libc_flags {
    pub(super) const O_DIRECTORY: i32 = libc::O_DIRECTORY;
    pub(super) const O_NOFOLLOW: i32 = libc::O_NOFOLLOW;
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn grant(host: &Path) -> DirGrant {
        DirGrant {
            host: host.to_path_buf(),
            guest: "/data".into(),
            read_only: true,
        }
    }

    #[test]
    fn a_swapped_directory_is_refused_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let dirs = OpenedDirs::default();
        let grants = [grant(&data)];
        let first = dirs.paths_for(&grants).unwrap();
        assert_eq!(first.len(), 1);

        std::fs::rename(&data, root.path().join("moved")).unwrap();
        std::os::unix::fs::symlink("/etc", &data).unwrap();
        let error = dirs.paths_for(&grants).unwrap_err();
        assert!(error.contains("was replaced"), "{error}");
    }

    #[test]
    fn a_grant_through_a_symlink_made_before_start_is_served() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("real")).unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink("real", &link).unwrap();
        let dirs = OpenedDirs::default();
        assert!(dirs.paths_for(&[grant(&link)]).is_ok());
        assert!(
            dirs.paths_for(&[grant(&link)]).is_ok(),
            "still the same directory"
        );
    }
}
