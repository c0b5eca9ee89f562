//! The pools Apache's parent runs: one listening socket and one supervisor per
//! WSGIDaemonProcess. Apache children inherit this registry by fork and find a pool's socket
//! and secret here.

use super::supervisor;
use super::wire::SECRET_LEN;
use crate::apache::log::Level;
use crate::apache::server;
use crate::apache::slots::server_config_of;
use crate::apache::{Pool as AprPool, Server};
use crate::config::daemon::DaemonGroup;
use crate::sys::process::{self, Forked, Pid};
use crate::sys::socket;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One WSGIDaemonProcess group as the parent runs it (not an APR pool).
pub struct DaemonPool {
    pub group: DaemonGroup,
    pub socket_path: PathBuf,
    /// None once closed in this process (children that do not serve the pool).
    pub listener: Option<OwnedFd>,
    pub secret: [u8; SECRET_LEN],
    /// The server (vhost) whose config defined the pool: only it may use the pool.
    pub server: usize,
    pub defined_in_vhost: bool,
    pub supervisor: Option<Pid>,
    /// The registration with Apache's other-child monitoring.
    watch: Option<usize>,
}

/// Set once Apache has begun restarting or stopping: a supervisor that dies then is not
/// replaced.
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The parent's main server and configuration pool, while the pools run (set by start,
/// which Apache calls again for each configuration generation).
static PARENT: Mutex<Option<(Server<'static>, AprPool<'static>)>> = Mutex::new(None);

fn parent() -> Option<(Server<'static>, AprPool<'static>)> {
    *PARENT.lock().unwrap_or_else(|e| e.into_inner())
}

static POOLS: Mutex<Vec<DaemonPool>> = Mutex::new(Vec::new());

/// A pool's details for an Apache child proxying a request.
#[derive(Clone)]
pub struct Target {
    pub group: DaemonGroup,
    pub socket_path: PathBuf,
    pub secret: [u8; SECRET_LEN],
    pub server: usize,
    pub defined_in_vhost: bool,
}

pub fn find(name: &str) -> Option<Target> {
    let pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    pools.iter().find(|p| p.group.name == name).map(|p| Target {
        group: p.group.clone(),
        socket_path: p.socket_path.clone(),
        secret: p.secret,
        server: p.server,
        defined_in_vhost: p.defined_in_vhost,
    })
}

/// Runs `f` with the pool list (supervisors and workers read their own entry).
pub fn with_pool<R>(name: &str, f: impl FnOnce(&DaemonPool) -> R) -> Option<R> {
    let pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    pools.iter().find(|p| p.group.name == name).map(f)
}

/// In the Apache parent, once per (re)start: sockets and supervisors for every pool.
/// `pconf` and `main` are the parent's configuration pool and main server: they last until
/// pconf is cleared, when `stop` (registered on it here) ends the pools.
pub fn start(pconf: AprPool<'static>, main: Server<'static>) -> Result<(), String> {
    let prefix = server_config_of(main)
        .socket_prefix
        .clone()
        .unwrap_or_else(|| server::runtime_dir_relative(pconf, "wsgi"));
    let (apache_uid, apache_gid, _) = server::apache_user();
    let generation = server::config_generation();
    let mut created = Vec::new();
    let mut index = 0;
    for s in main.and_following() {
        let defined_in_vhost = s != main;
        for group in server_config_of(s).daemons.clone() {
            index += 1;
            // Rotation On (default): a new name per configuration generation, so children of an
            // old generation never reach new daemons; Off: stable names per daemon user.
            let rotation = server_config_of(main).switches.socket_rotation.unwrap_or(true);
            let socket_path = if rotation {
                PathBuf::from(format!("{prefix}.{}.{generation}.{index}.sock", process::pid()))
            } else {
                let uid = match &group.user {
                    Some(u) => super::accounts::user(u)?.0,
                    None => apache_uid,
                };
                PathBuf::from(format!("{prefix}.{}.u{uid}.{index}.sock", process::pid()))
            };
            let owner = match &group.socket_user {
                Some(u) => super::accounts::user(u).map(|(uid, gid, _, _)| (uid, gid))?,
                None => (apache_uid, apache_gid),
            };
            let listener = socket::listen(&socket_path, group.listen_backlog, Some(owner)).map_err(|e| {
                format!(
                    "WSGIDaemonProcess {}: cannot create the socket {}: {e} (the directory must exist and be writable; set WSGISocketPrefix)",
                    group.name,
                    socket_path.display()
                )
            })?;
            let mut secret = [0u8; SECRET_LEN];
            socket::random_bytes(&mut secret).map_err(|e| format!("reading /dev/urandom: {e}"))?;
            created.push(DaemonPool { group, socket_path, listener: Some(listener), secret, server: s.raw() as usize, defined_in_vhost, supervisor: None, watch: None });
        }
    }
    if created.is_empty() {
        return Ok(());
    }
    *POOLS.lock().unwrap_or_else(|e| e.into_inner()) = created;
    STOPPING.store(false, std::sync::atomic::Ordering::Release);
    *PARENT.lock().unwrap_or_else(|e| e.into_inner()) = Some((main, pconf));
    let names: Vec<String> = POOLS.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|p| p.group.name.clone()).collect();
    for (index, name) in names.iter().enumerate() {
        spawn_supervisor(index, name)?;
    }
    main.log(Level::Info, &format!("mod_wsgi: started {} daemon process group(s)", index));
    crate::apache::pool::on_cleanup(pconf, Box::new(stop));
    Ok(())
}

/// Forks the supervisor of pool `index` and has Apache's MPM watch it.
fn spawn_supervisor(index: usize, name: &str) -> Result<(), String> {
    let Some((main, pconf)) = parent() else { return Ok(()) };
    let apache = process::pid();
    match process::fork() {
        Ok(Forked::Child) => supervisor::run(name, main, apache),
        Ok(Forked::Parent(pid)) => {
            let watch = server::watch_other_child(pconf, pid, index, on_supervisor_event);
            let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(p) = pools.get_mut(index) {
                p.supervisor = Some(pid);
                p.watch = Some(watch);
            }
            Ok(())
        }
        Err(e) => Err(format!("WSGIDaemonProcess {name}: cannot fork its supervisor: {e}")),
    }
}

/// Called by Apache's MPM in the parent: a supervisor that died is replaced (its workers went
/// with it); when Apache restarts or stops, pools are told to stop at once, while Apache is
/// still waiting for its children (a child proxying to a daemon is then released).
fn on_supervisor_event(event: server::OtherChildEvent, index: usize) {
    let Some((main, _)) = parent() else { return };
    match event {
        server::OtherChildEvent::Stopping => {
            STOPPING.store(true, std::sync::atomic::Ordering::Release);
            let pid = POOLS.lock().unwrap_or_else(|e| e.into_inner()).get(index).and_then(|p| p.supervisor);
            if let Some(pid) = pid {
                process::signal(pid, libc::SIGTERM);
            }
        }
        server::OtherChildEvent::Died if !STOPPING.load(std::sync::atomic::Ordering::Acquire) => {
            let (name, watch) = {
                let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
                let Some(p) = pools.get_mut(index) else { return };
                p.supervisor = None;
                (p.group.name.clone(), p.watch.take())
            };
            if let Some(w) = watch {
                server::unwatch_other_child(w);
            }
            main.log(Level::Error, &format!("mod_wsgi: the supervisor of daemon process group '{name}' died; starting it again"));
            if let Err(e) = spawn_supervisor(index, &name) {
                main.log(Level::Error, &e);
            }
        }
        _ => {}
    }
}

/// At Apache restart or stop (parent): supervisors stop their workers within the pools'
/// shutdown-timeout; then the sockets go.
fn stop() {
    STOPPING.store(true, std::sync::atomic::Ordering::Release);
    let mut pools = std::mem::take(&mut *POOLS.lock().unwrap_or_else(|e| e.into_inner()));
    let wait = pools.iter().map(|p| p.group.shutdown_timeout).fold(0.0, f64::max) + 2.0;
    for p in &pools {
        if let Some(pid) = p.supervisor {
            process::signal(pid, libc::SIGTERM);
        }
    }
    let deadline = Instant::now() + Duration::from_secs_f64(wait);
    for p in &mut pools {
        if let Some(pid) = p.supervisor {
            // Apache's MPM may already have reaped it (it watches its "other children").
            while process::alive(pid) && process::reap(pid).is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if process::alive(pid) {
                process::signal(pid, libc::SIGKILL);
                let _ = process::reap(pid);
            }
        }
        drop(p.listener.take());
        let _ = std::fs::remove_file(&p.socket_path);
    }
}

/// Closes listener descriptors this process does not serve (Apache children, other pools),
/// and forgets them: a process forked from this one (a supervisor's workers) must not close
/// those numbers again, as they may have been reused (the supervisor's control pipe was).
pub fn close_listeners_except(keep: Option<&str>) {
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    for p in pools.iter_mut().filter(|p| Some(p.group.name.as_str()) != keep) {
        drop(p.listener.take());
    }
}

/// This process's own descriptor for pool `name`'s listening socket (a duplicate).
pub fn listener_of(name: &str) -> Option<std::io::Result<OwnedFd>> {
    with_pool(name, |p| p.listener.as_ref().map(|l| l.try_clone())).flatten()
}
