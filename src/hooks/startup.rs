//! Start-up: the checks before Apache serves, the version banner, daemon pools, and whether
//! an Apache child needs Python.

use crate::apache::log::Level;
use crate::apache::server;
use crate::apache::slots::server_config_of;
use crate::apache::{Pool, Server};
use crate::config::GroupSpec;

pub fn version_component() -> String {
    format!("mod_wsgi_rs/{} Python/{}", env!("CARGO_PKG_VERSION"), crate::config::embedded_python_version())
}

/// Runs before Apache starts serving (and for `apachectl -t`).
pub fn check_config(s: Server<'_>) -> Result<(), String> {
    if server::other_mod_wsgi_loaded() {
        return Err("mod_wsgi_rs cannot run in the same Apache as mod_wsgi: both provide the WSGI* directives. \
                    Remove the other LoadModule wsgi_module line (Debian: a2dismod wsgi)."
            .into());
    }
    if server::is_config_test() {
        warn_shadowed_aliases(s);
    }
    Ok(())
}

/// Once per (re)start, with the configuration Apache will serve: warnings, daemon pools.
pub fn post_config(pconf: Pool<'static>, s: Server<'static>) -> Result<(), String> {
    if server::is_final_config_pass() {
        warn_shadowed_aliases(s);
        share_metrics(s);
        crate::daemon::pools::start(pconf, s)?;
    }
    Ok(())
}

/// The counters of this generation, shared with every process forked from here on. The
/// mapping of the previous generation stays (64 KB): its children may still be finishing.
fn share_metrics(main: Server<'_>) {
    use crate::metrics::table::{self, Table};
    let Some(table) = crate::sys::shm::shared_counters(table::WORDS).and_then(Table::over) else {
        main.log(Level::Warning, "mod_wsgi_rs: no shared memory for metrics; the wsgi-metrics handler will report nothing");
        return;
    };
    let names: Vec<String> = main.and_following().into_iter().flat_map(|s| server_config_of(s).daemons.iter().map(|g| g.name.clone()).collect::<Vec<_>>()).collect();
    table.name_groups(names.iter().map(String::as_str));
    table::install(table);
}

/// mod_wsgi silently routes /api/v1 to `/` when `WSGIScriptAlias /` comes first; we say so.
fn warn_shadowed_aliases(main: Server<'_>) {
    let mut seen = std::collections::HashSet::new();
    for s in main.and_following() {
        let aliases = &server_config_of(s).aliases;
        let prefixes: Vec<Option<&str>> = aliases
            .iter()
            .map(|a| match &a.matcher {
                crate::config::AliasMatcher::Prefix(p) => Some(p.as_str()),
                crate::config::AliasMatcher::Regex { .. } => None,
            })
            .collect();
        for (earlier, later) in crate::config::alias::shadowed_pairs(&prefixes) {
            let (a, b) = (&aliases[earlier], &aliases[later]);
            if !seen.insert((a.origin.clone(), b.origin.clone())) {
                continue;
            }
            s.log(
                Level::Warning,
                &format!(
                    "WSGIScriptAlias {} (line {} of {}) is never used: WSGIScriptAlias {} (line {} of {}) comes first and matches all its URLs. Put the longer URL-path first.",
                    prefix_of(b), b.origin.line, b.origin.file, prefix_of(a), a.origin.line, a.origin.file
                ),
            );
        }
    }
}

fn prefix_of(a: &crate::config::ScriptAlias) -> &str {
    match &a.matcher {
        crate::config::AliasMatcher::Prefix(p) => p,
        crate::config::AliasMatcher::Regex { source, .. } => source,
    }
}

/// Whether Python must run in Apache children at all.
pub fn embedded_python_needed(s: Server<'_>) -> bool {
    let config = server_config_of(s);
    !config.switches.restrict_embedded.unwrap_or(false)
        || super::directives::hook_scripts_used()
        || s.and_following()
            .into_iter()
            .any(|v| server_config_of(v).import_scripts.iter().any(|i| i.process_group == GroupSpec::Global))
}
