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
    let prefix = |e: String| format!("WSGIDaemonProcess {}: {e}", g.name);
    for u in [&g.user, &g.socket_user, &g.script_user].into_iter().flatten() {
        user(u).map_err(prefix)?;
    }
    for gr in [&g.group, &g.script_group].into_iter().flatten().chain(g.supplementary_groups.iter()) {
        group(gr).map_err(prefix)?;
    }
    Ok(())
}
