//! WSGIDaemonProcess and its options (reference §1.4): parsed and validated here, pure.

use super::values::parse_on_off;

/// A user or group as written: a name, or `#id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Account {
    Name(String),
    Id(u32),
}

impl Account {
    fn parse(option: &str, value: &str) -> Result<Account, String> {
        match value.strip_prefix('#') {
            Some(id) => id.parse().map(Account::Id).map_err(|_| format!("{option}: '#{id}' is not a numeric id")),
            None => Ok(Account::Name(value.to_string())),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct DaemonGroup {
    pub name: String,
    /// Whether `processes=` was given at all (makes wsgi.multiprocess True, as mod_wsgi).
    pub processes_given: bool,
    pub processes: u32,
    pub threads: u32,
    pub user: Option<Account>,
    pub group: Option<Account>,
    pub supplementary_groups: Vec<Account>,
    pub umask: Option<u32>,
    pub chroot: Option<String>,
    pub home: Option<String>,
    pub lang: Option<String>,
    pub locale: Option<String>,
    pub python_home: Option<String>,
    pub python_path: Vec<String>,
    pub python_eggs: Option<String>,
    pub switch_interval: Option<f64>,
    pub stack_size: Option<u64>,
    pub display_name: Option<String>,
    pub maximum_requests: u64,
    pub restart_interval: f64,
    pub inactivity_timeout: f64,
    pub request_timeout: f64,
    pub interrupt_timeout: f64,
    pub graceful_timeout: f64,
    pub eviction_timeout: f64,
    pub shutdown_timeout: f64,
    pub startup_timeout: f64,
    pub deadlock_timeout: f64,
    pub cpu_time_limit: u64,
    pub cpu_priority: i32,
    pub memory_limit: u64,
    pub virtual_memory_limit: u64,
    pub connect_timeout: f64,
    pub socket_timeout: f64,
    pub queue_timeout: f64,
    pub listen_backlog: u32,
    pub socket_user: Option<Account>,
    pub send_buffer_size: u32,
    pub receive_buffer_size: u32,
    pub header_buffer_size: u32,
    pub response_buffer_size: u32,
    pub response_socket_timeout: f64,
    pub response_flush_delay_ms: u32,
    pub script_user: Option<Account>,
    pub script_group: Option<Account>,
    pub server_metrics: bool,
}

impl DaemonGroup {
    /// mod_wsgi's defaults (from its option parser).
    pub fn new(name: &str) -> DaemonGroup {
        DaemonGroup {
            name: name.to_string(),
            processes_given: false,
            processes: 1,
            threads: 15,
            user: None,
            group: None,
            supplementary_groups: Vec::new(),
            umask: None,
            chroot: None,
            home: None,
            lang: None,
            locale: None,
            python_home: None,
            python_path: Vec::new(),
            python_eggs: None,
            switch_interval: None,
            stack_size: None,
            display_name: None,
            maximum_requests: 0,
            restart_interval: 0.0,
            inactivity_timeout: 0.0,
            request_timeout: 0.0,
            interrupt_timeout: 0.0,
            graceful_timeout: 15.0,
            eviction_timeout: 0.0,
            shutdown_timeout: 5.0,
            startup_timeout: 0.0,
            deadlock_timeout: 300.0,
            cpu_time_limit: 0,
            cpu_priority: 0,
            memory_limit: 0,
            virtual_memory_limit: 0,
            connect_timeout: 15.0,
            socket_timeout: 0.0,
            queue_timeout: 0.0,
            listen_backlog: 100,
            socket_user: None,
            send_buffer_size: 0,
            receive_buffer_size: 0,
            header_buffer_size: 0,
            response_buffer_size: 0,
            response_socket_timeout: 0.0,
            response_flush_delay_ms: 5,
            script_user: None,
            script_group: None,
            server_metrics: false,
        }
    }

    /// What `display-name` puts in `ps`: `%{GROUP}` becomes `(wsgi:NAME)`.
    pub fn process_title(&self) -> Option<String> {
        self.display_name.as_ref().map(|d| if d == "%{GROUP}" { format!("(wsgi:{})", self.name) } else { d.clone() })
    }
}

const OPTIONS: &str = "processes, threads, user, group, supplementary-groups, umask, chroot, home, lang, locale, \
python-home, python-path, python-eggs, switch-interval, stack-size, display-name, maximum-requests, \
restart-interval, inactivity-timeout, request-timeout, interrupt-timeout, graceful-timeout, eviction-timeout, \
shutdown-timeout, startup-timeout, deadlock-timeout, cpu-time-limit, cpu-priority, memory-limit, \
virtual-memory-limit, connect-timeout, socket-timeout, queue-timeout, listen-backlog, socket-user, \
send-buffer-size, receive-buffer-size, header-buffer-size, response-buffer-size, response-socket-timeout, \
response-flush-delay, script-user, script-group, server-metrics";

/// Options accepted by mod_wsgi that mod_wsgi_rs does not act on yet: refused when given.
const NOT_YET: &[&str] = &[];

/// Options mod_wsgi 6 accepts with an empty value, meaning the default.
const EMPTY_MEANS_UNSET: &[&str] =
    &["supplementary-groups", "lang", "locale", "python-home", "python-path", "python-eggs", "display-name"];

fn count(option: &str, value: &str, min: u64, max: u64) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("WSGIDaemonProcess option {option}= takes a whole number from {min} to {max}, not '{value}'")),
    }
}

fn seconds(option: &str, value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
        _ => Err(format!("WSGIDaemonProcess option {option}= takes a number of seconds (0 or more), not '{value}'")),
    }
}

fn absolute(option: &str, value: &str) -> Result<String, String> {
    if value.starts_with('/') {
        Ok(value.to_string())
    } else {
        Err(format!("WSGIDaemonProcess option {option}= takes an absolute path, not '{value}'"))
    }
}

/// Parses `NAME option=value ...` (the words after the directive name).
pub fn parse(words: &[String]) -> Result<DaemonGroup, String> {
    let Some(name) = words.first() else {
        return Err(format!("WSGIDaemonProcess takes: WSGIDaemonProcess NAME [option=value ...]; options: {OPTIONS}"));
    };
    if name.contains('=') || name.is_empty() {
        return Err(format!("WSGIDaemonProcess: the first word must be the group's name, not '{name}'"));
    }
    let mut g = DaemonGroup::new(name);
    let mut seen = std::collections::HashSet::new();
    for word in &words[1..] {
        let (key, value) = word.split_once('=').ok_or_else(|| {
            format!("Invalid option '{word}' to WSGIDaemonProcess: options are written name=value; accepted names: {OPTIONS}")
        })?;
        if !seen.insert(key.to_string()) {
            return Err(format!("WSGIDaemonProcess option '{key}' given twice"));
        }
        if value.is_empty() {
            // mod_wsgi takes these empty, as not given (mod_wsgi-express writes python-path='')
            if EMPTY_MEANS_UNSET.contains(&key) {
                continue;
            }
            return Err(format!("WSGIDaemonProcess option '{key}=' needs a value"));
        }
        if key == "chroot" {
            return Err("WSGIDaemonProcess option chroot= is not supported by mod_wsgi_rs (deprecated in mod_wsgi; a container or systemd's RootDirectory= isolates better); remove it".into());
        }
        if NOT_YET.contains(&key) {
            return Err(format!(
                "WSGIDaemonProcess option {key}= is recognised but not implemented yet by mod_wsgi_rs {}; remove it for now",
                env!("CARGO_PKG_VERSION")
            ));
        }
        apply(&mut g, key, value)?;
    }
    if g.script_user.is_some() && g.script_group.is_some() {
        return Err("WSGIDaemonProcess: script-user= and script-group= cannot both be given".into());
    }
    Ok(g)
}

fn apply(g: &mut DaemonGroup, key: &str, value: &str) -> Result<(), String> {
    match key {
        "processes" => {
            g.processes = count(key, value, 1, 1_000)? as u32;
            g.processes_given = true;
        }
        "threads" => g.threads = count(key, value, 0, 65_533)? as u32,
        "user" => {
            let user = Account::parse(key, value)?;
            if user == Account::Id(0) || user == Account::Name("root".into()) {
                return Err("WSGI process blocked from running as root: choose another user= for WSGIDaemonProcess".into());
            }
            g.user = Some(user);
        }
        "group" => g.group = Some(Account::parse(key, value)?),
        "supplementary-groups" => {
            g.supplementary_groups =
                value.split(',').filter(|s| !s.is_empty()).map(|s| Account::parse(key, s)).collect::<Result<_, _>>()?
        }
        "umask" => {
            let mask = u32::from_str_radix(value, 8)
                .ok()
                .filter(|m| *m <= 0o777)
                .ok_or_else(|| format!("WSGIDaemonProcess option umask= takes an octal mask such as 0022, not '{value}'"))?;
            g.umask = Some(mask);
        }
        "chroot" => g.chroot = Some(absolute(key, value)?),
        "home" => g.home = Some(absolute(key, value)?),
        "lang" => g.lang = Some(value.to_string()),
        "locale" => g.locale = Some(value.to_string()),
        "python-home" => {
            super::check_python_home(value).map_err(|e| format!("WSGIDaemonProcess option python-home=: {e}"))?;
            g.python_home = Some(value.to_string());
        }
        "python-path" => g.python_path = value.split(':').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        "python-eggs" => g.python_eggs = Some(value.to_string()),
        "switch-interval" => {
            let s = seconds(key, value)?;
            if s == 0.0 {
                return Err("WSGIDaemonProcess option switch-interval= must be above 0".into());
            }
            g.switch_interval = Some(s);
        }
        "stack-size" => g.stack_size = Some(count(key, value, 65_536, 1 << 34)?),
        "display-name" => g.display_name = Some(value.to_string()),
        "maximum-requests" => g.maximum_requests = count(key, value, 0, u64::MAX)?,
        "restart-interval" => g.restart_interval = seconds(key, value)?,
        "inactivity-timeout" => g.inactivity_timeout = seconds(key, value)?,
        "request-timeout" => g.request_timeout = seconds(key, value)?,
        "interrupt-timeout" => g.interrupt_timeout = seconds(key, value)?,
        "graceful-timeout" => g.graceful_timeout = seconds(key, value)?,
        "eviction-timeout" => g.eviction_timeout = seconds(key, value)?,
        "shutdown-timeout" => g.shutdown_timeout = seconds(key, value)?,
        "startup-timeout" => g.startup_timeout = seconds(key, value)?,
        "deadlock-timeout" => g.deadlock_timeout = seconds(key, value)?,
        "cpu-time-limit" => g.cpu_time_limit = count(key, value, 0, u32::MAX as u64)?,
        "cpu-priority" => {
            g.cpu_priority = value
                .parse::<i32>()
                .ok()
                .filter(|p| (-20..=19).contains(p))
                .ok_or_else(|| format!("WSGIDaemonProcess option cpu-priority= takes a nice value from -20 to 19, not '{value}'"))?
        }
        "memory-limit" => g.memory_limit = count(key, value, 0, u64::MAX)?,
        "virtual-memory-limit" => g.virtual_memory_limit = count(key, value, 0, u64::MAX)?,
        "connect-timeout" => g.connect_timeout = seconds(key, value)?,
        "socket-timeout" => g.socket_timeout = seconds(key, value)?,
        "queue-timeout" => g.queue_timeout = seconds(key, value)?,
        "listen-backlog" => g.listen_backlog = count(key, value, 1, 65_535)? as u32,
        "socket-user" => g.socket_user = Some(Account::parse(key, value)?),
        "send-buffer-size" => g.send_buffer_size = buffer(key, value, 512)?,
        "receive-buffer-size" => g.receive_buffer_size = buffer(key, value, 512)?,
        "header-buffer-size" => g.header_buffer_size = buffer(key, value, 8_192)?,
        "response-buffer-size" => g.response_buffer_size = buffer(key, value, 65_536)?,
        "response-socket-timeout" => g.response_socket_timeout = seconds(key, value)?,
        "response-flush-delay" => g.response_flush_delay_ms = count(key, value, 0, 60_000)? as u32,
        "script-user" => g.script_user = Some(Account::parse(key, value)?),
        "script-group" => g.script_group = Some(Account::parse(key, value)?),
        "server-metrics" => g.server_metrics = parse_on_off("WSGIDaemonProcess option server-metrics=", value)?,
        _ => return Err(format!("Invalid option '{key}={value}' to WSGIDaemonProcess; accepted names: {OPTIONS}")),
    }
    Ok(())
}

/// Buffer sizes: 0 = the default, else at least `min` bytes.
fn buffer(option: &str, value: &str, min: u32) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(0) => Ok(0),
        Ok(n) if n >= min => Ok(n),
        _ => Err(format!("WSGIDaemonProcess option {option}= takes 0 (the default) or at least {min} bytes, not '{value}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        super::super::words::split_words(s)
    }

    #[test]
    fn a_pool_as_mod_wsgi_express_writes_it() {
        let g = parse(&words(
            "'localhost:8000' display-name='(wsgi:localhost:8000:0)' home='/srv/my app' processes=1 threads=5 \
             python-path='' python-eggs='/srv/eggs' lang='en_US.UTF-8' locale='en_US.UTF-8' server-metrics=Off",
        ))
        .unwrap();
        assert_eq!(g.name, "localhost:8000");
        assert_eq!(g.display_name.as_deref(), Some("(wsgi:localhost:8000:0)"));
        assert!(g.python_path.is_empty());
        assert_eq!(g.lang.as_deref(), Some("en_US.UTF-8"));
        assert!(parse(&words("p threads=")).unwrap_err().contains("needs a value"));
    }

    #[test]
    fn the_seeds_pool() {
        let g = parse(&words("reporting_app processes=2 threads=5 display-name=%{GROUP} home=/var/www")).unwrap();
        assert_eq!((g.processes, g.threads, g.processes_given), (2, 5, true));
        assert_eq!(g.process_title().as_deref(), Some("(wsgi:reporting_app)"));
        assert_eq!(g.home.as_deref(), Some("/var/www"));
        assert_eq!(g.graceful_timeout, 15.0, "mod_wsgi's parser default");
    }

    #[test]
    fn defaults() {
        let g = parse(&words("web")).unwrap();
        assert_eq!((g.processes, g.threads, g.listen_backlog, g.connect_timeout), (1, 15, 100, 15.0));
        assert!(!g.processes_given);
    }

    #[test]
    fn errors_name_the_option_and_the_fix() {
        let e = parse(&words("web proceses=2")).unwrap_err();
        assert!(e.contains("proceses=2") && e.contains("processes,"), "{e}");
        let e = parse(&words("web processes=0")).unwrap_err();
        assert!(e.contains("from 1 to"), "{e}");
        let e = parse(&words("web user=root")).unwrap_err();
        assert!(e.contains("blocked from running as root"), "{e}");
        assert!(parse(&words("web user=#0")).is_err());
        assert!(parse(&words("web umask=999")).unwrap_err().contains("octal"));
        assert!(parse(&words("web home=relative")).unwrap_err().contains("absolute"));
        assert!(parse(&words("web header-buffer-size=100")).unwrap_err().contains("8192"));
        assert!(parse(&words("web script-user=a script-group=b")).unwrap_err().contains("cannot both"));
        assert!(parse(&words("web threads=2 threads=3")).unwrap_err().contains("twice"));
        assert!(parse(&words("web graceful-timeout=-1")).unwrap_err().contains("seconds"));
        assert!(parse(&words("web chroot=/srv")).unwrap_err().contains("not supported"));
        assert!(parse(&words("web python-home=/no/such/venv")).unwrap_err().contains("does not exist"));
        assert!(parse(&words("")).is_err());
    }

    #[test]
    fn accounts_and_lists() {
        let g = parse(&words("web user=#33 group=www-data supplementary-groups=adm,#4 umask=0027 python-path=/a:/b")).unwrap();
        assert_eq!(g.user, Some(Account::Id(33)));
        assert_eq!(g.group, Some(Account::Name("www-data".into())));
        assert_eq!(g.supplementary_groups, vec![Account::Name("adm".into()), Account::Id(4)]);
        assert_eq!(g.umask, Some(0o027));
        assert_eq!(g.python_path, vec!["/a", "/b"]);
    }
}
