//! Starting this process's telemetry reporter (WSGITelemetryService), with what the
//! receiver is told about us, and mod_wsgi 6's log lines about it.

use crate::apache::Server;
use crate::apache::log::Level;
use crate::apache::server;
use crate::config::ServerConfig;
use crate::telemetry::reporter;
use crate::telemetry::sample::Identity;

/// Starts the reporter if telemetry is configured. `group` is the daemon process group
/// ("" in an Apache child), `threads` the requests the process can serve at once.
pub fn start(s: Server<'_>, config: &ServerConfig, group: &str, threads: u64, switch_interval: Option<f64>) {
    let t = &config.telemetry;
    let Some(socket) = t.socket.clone() else { return };
    let (major, minor, patch) = crate::python::mod_wsgi::MOD_WSGI_VERSION;
    let (a, b, c) = server::server_version();
    let identity = Identity {
        // The mod_wsgi release whose API and telemetry this module implements (what
        // `mod_wsgi.version` says to applications).
        mod_wsgi_version: format!("{major}.{minor}.{patch}"),
        python_version: crate::python::runtime::version(),
        apache_version: format!("Apache/{a}.{b}.{c}"),
        mpm_name: server::mpm_name(),
        process_group: group.to_string(),
        parent_pid: apache_parent_pid(group) as u64,
        // CPython's default unless WSGISwitchInterval set it.
        switch_interval: switch_interval.unwrap_or(0.005),
        ..Identity::default()
    };
    let settings = reporter::Settings {
        socket: socket.clone(),
        interval: t.interval(),
        slow_threshold_us: t.slow_threshold_us.unwrap_or(0),
        capture_user_agent: t.capture_user_agent(),
        threads_maximum: threads.max(1),
        daemon: !group.is_empty(),
        identity,
    };
    let interval = settings.interval;
    match reporter::start(settings) {
        Ok(()) => s.log(Level::Info, &format!("Telemetry reporter started; target='unix:{socket}', interval={interval:.3}s.")),
        Err(reporter::StartError::Open(why)) => s.log(
            Level::Warning,
            &format!("WSGI0132: Telemetry reporter could not open target 'unix:{socket}'; metrics will not be sent ({why})."),
        ),
        Err(reporter::StartError::Thread(why)) => {
            s.log(Level::Warning, &format!("WSGI0133: Unable to create telemetry reporter thread; metrics will not be sent ({why})."))
        }
    }
}

/// The Apache parent's pid, as mod_wsgi reports it for both kinds of process (its daemons
/// are the parent's children; ours are the children of the pool's supervisor, which is).
fn apache_parent_pid(group: &str) -> i32 {
    let parent = crate::sys::process::parent_pid();
    if group.is_empty() {
        return parent;
    }
    crate::sys::process::parent_of(parent).unwrap_or(parent)
}
