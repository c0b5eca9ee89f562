//! Resolving user=, group=, socket-user= and friends to ids.

use crate::config::daemon::{Account, DaemonGroup};
use crate::sys::process;

/// (uid, primary gid, user name, home) of a user= value.
pub fn user(account: &Account) -> Result<(u32, u32, String, String), String> {
    match account {
        Account::Name(name) => process::user_by_name(name)
            .map(|(uid, gid, home)| (uid, gid, name.clone(), home))
            .ok_or_else(|| format!("user '{name}' does not exist")),
        Account::Id(uid) => Ok(match process::user_by_id(*uid) {
            Some((name, gid, home)) => (*uid, gid, name, home),
            None => (*uid, *uid, format!("#{uid}"), "/".into()),
        }),
    }
}

pub fn group(account: &Account) -> Result<u32, String> {
    match account {
        Account::Name(name) => process::group_by_name(name).ok_or_else(|| format!("group '{name}' does not exist")),
        Account::Id(gid) => Ok(*gid),
    }
}

/// Checks at config time that every account named by a pool exists.
pub fn check(g: &DaemonGroup) -> Result<(), String> {
    let err = |option: &str, e: String| format!("WSGIDaemonProcess {}: option {option}=: {e}", g.name);
    for (option, u) in [("user", &g.user), ("socket-user", &g.socket_user), ("script-user", &g.script_user)] {
        if let Some(u) = u {
            user(u).map_err(|e| err(option, e))?;
        }
    }
    for (option, gr) in [("group", &g.group), ("script-group", &g.script_group)] {
        if let Some(gr) = gr {
            group(gr).map_err(|e| err(option, e))?;
        }
    }
    for gr in &g.supplementary_groups {
        group(gr).map_err(|e| err("supplementary-groups", e))?;
    }
    Ok(())
}

/// script-user= / script-group=: the script and its directory must belong to that user (or
/// group) and not be writable by others (nor by the group, for script-user).
pub fn check_script_owner(g: &DaemonGroup, script: &str) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let (owner, by_group) = match (&g.script_user, &g.script_group) {
        (Some(u), _) => (user(u)?.0, false),
        (None, Some(gr)) => (group(gr)?, true),
        (None, None) => return Ok(()),
    };
    let dir = std::path::Path::new(script).parent().unwrap_or(std::path::Path::new("/"));
    for path in [std::path::Path::new(script), dir] {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let id = if by_group { meta.gid() } else { meta.uid() };
        if id != owner {
            return Err(format!("{} is not owned by the script-{} of the pool", path.display(), if by_group { "group" } else { "user" }));
        }
        let forbidden = if by_group { 0o002 } else { 0o022 };
        if meta.mode() & forbidden != 0 {
            return Err(format!("{} is writable by others", path.display()));
        }
    }
    Ok(())
}
