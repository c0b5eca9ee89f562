//! One parser per directive; `table::DIRECTIVES` names each directive's parser, so a
//! directive cannot exist without one. Scope, options-block and not-yet checks happen
//! before (`super::parse_in`).

use super::table::DirectiveSpec;
use super::*;

/// A directive's arguments, split into words as Apache's config reader does.
pub struct Args<'a> {
    pub spec: &'static DirectiveSpec,
    /// The arguments as written (for a block's `... >`).
    pub raw: &'a str,
    pub words: Vec<String>,
}

impl Args<'_> {
    pub fn name(&self) -> &'static str {
        self.spec.name()
    }

    pub fn usage(&self) -> String {
        format!("{} takes: {} {}", self.name(), self.name(), self.spec.syntax())
    }

    pub fn single(&self) -> Result<&str, String> {
        match self.words.as_slice() {
            [one] => Ok(one.as_str()),
            _ => Err(self.usage()),
        }
    }

    pub fn flag(&self) -> Result<bool, String> {
        values::parse_on_off(self.name(), self.single()?)
    }
}

fn dir(f: impl FnOnce(&mut DirSettings)) -> Parsed {
    let mut d = DirSettings::default();
    f(&mut d);
    Parsed::Dir(d)
}

fn python(f: impl FnOnce(&mut PythonSettings)) -> Parsed {
    let mut p = PythonSettings::default();
    f(&mut p);
    Parsed::Python(p)
}

fn interp(f: impl FnOnce(&mut InterpSettings)) -> Parsed {
    let mut i = InterpSettings::default();
    f(&mut i);
    Parsed::Interp(i)
}

fn switches(f: impl FnOnce(&mut ServerSwitches)) -> Parsed {
    let mut w = ServerSwitches::default();
    f(&mut w);
    Parsed::Switches(w)
}

/// For directives recognised but not built yet: parse_in refuses them before any parser runs.
pub fn not_yet(a: &Args<'_>) -> Result<Parsed, String> {
    Err(format!("{} is not implemented yet", a.name()))
}

pub fn script_alias(a: &Args<'_>) -> Result<Parsed, String> {
    if a.words.len() < 2 {
        return Err(a.usage());
    }
    let is_regex = a.name() == "WSGIScriptAliasMatch";
    if !is_regex && !a.words[0].starts_with('/') {
        return Err(format!("{}: the URL-path must start with '/', not '{}'", a.name(), a.words[0]));
    }
    let options = parse_options(a.name(), &a.words[2..], ALIAS_OPTIONS)?;
    Ok(Parsed::Alias { is_regex, pattern: a.words[0].clone(), target: a.words[1].clone(), options })
}

pub fn handler_script(a: &Args<'_>) -> Result<Parsed, String> {
    if a.words.len() < 2 {
        return Err(a.usage());
    }
    let options = parse_options(a.name(), &a.words[2..], HANDLER_OPTIONS)?;
    let h = HandlerScript { name: a.words[0].clone(), path: a.words[1].clone(), options };
    Ok(dir(|d| d.handler_scripts = vec![h]))
}

pub fn import_script(a: &Args<'_>) -> Result<Parsed, String> {
    if a.words.is_empty() {
        return Err(a.usage());
    }
    let options = parse_options(a.name(), &a.words[1..], IMPORT_OPTIONS)?;
    let (Some(process_group), Some(application_group)) = (options.process_group, options.application_group) else {
        return Err(format!("{}: both process-group= and application-group= are required; {}", a.name(), a.usage()));
    };
    if let GroupSpec::Other(g) = &application_group {
        if g.contains("%{") {
            return Err(format!("{}: application-group must be a literal name or %{{GLOBAL}}, not '{g}'", a.name()));
        }
    }
    Ok(Parsed::ImportScript(ImportScript { path: a.words[0].clone(), process_group, application_group }))
}

pub fn callable_object(a: &Args<'_>) -> Result<Parsed, String> {
    let v = values::parse_callable_name(a.name(), a.single()?)?;
    Ok(dir(|d| d.callable_object = Some(v)))
}

pub fn pass_authorization(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(dir(|d| d.pass_authorization = Some(v)))
}

pub fn script_reloading(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(dir(|d| d.script_reloading = Some(v)))
}

pub fn chunked_request(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(dir(|d| d.chunked_request = Some(v)))
}

pub fn enable_sendfile(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(dir(|d| d.enable_sendfile = Some(v)))
}

pub fn pass_apache_request(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(dir(|d| d.pass_apache_request = Some(v)))
}

pub fn map_head_to_get(a: &Args<'_>) -> Result<Parsed, String> {
    let v = values::parse_head_mapping(a.single()?)?;
    Ok(dir(|d| d.map_head_to_get = Some(v)))
}

pub fn application_group(a: &Args<'_>) -> Result<Parsed, String> {
    let v = GroupSpec::parse(a.single()?);
    Ok(dir(|d| d.application_group = Some(v)))
}

pub fn process_group(a: &Args<'_>) -> Result<Parsed, String> {
    let v = GroupSpec::parse(a.single()?);
    Ok(dir(|d| d.process_group = Some(v)))
}

pub fn restrict_process(a: &Args<'_>) -> Result<Parsed, String> {
    if a.words.is_empty() {
        return Err(a.usage());
    }
    let groups: Vec<String> =
        a.words.iter().map(|w| if w == "%{GLOBAL}" { String::new() } else { w.clone() }).collect();
    Ok(dir(|d| d.restrict_process = Some(groups)))
}

pub fn python_home(a: &Args<'_>) -> Result<Parsed, String> {
    let home = a.single()?.to_string();
    check_python_home(&home)?;
    Ok(python(|p| p.home = Some(home)))
}

pub fn python_optimize(a: &Args<'_>) -> Result<Parsed, String> {
    let v = values::parse_uint(a.name(), a.single()?, 2)? as u8;
    Ok(python(|p| p.optimize = Some(v)))
}

pub fn python_hash_seed(a: &Args<'_>) -> Result<Parsed, String> {
    let v = values::parse_hash_seed(a.single()?)?;
    Ok(python(|p| p.hash_seed = Some(v)))
}

pub fn python_warnings(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.single()?.to_string();
    Ok(python(|p| p.warnings = vec![v]))
}

pub fn dont_write_bytecode(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(python(|p| p.dont_write_bytecode = Some(v)))
}

pub fn python_eggs(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.single()?.to_string();
    Ok(python(|p| p.eggs = Some(v)))
}

pub fn python_path(a: &Args<'_>) -> Result<Parsed, String> {
    // `WSGIPythonPath ''` (as mod_wsgi-express writes it) adds nothing, as in mod_wsgi
    let dirs: Vec<String> =
        a.words.iter().flat_map(|w| w.split(':')).filter(|s| !s.is_empty()).map(str::to_string).collect();
    if a.words.is_empty() {
        return Err(a.usage());
    }
    Ok(interp(|i| i.python_path = dirs))
}

pub fn switch_interval(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.single()?;
    let seconds = v.parse::<f64>().ok().filter(|s| s.is_finite() && *s > 0.0).ok_or_else(|| {
        format!("WSGISwitchInterval takes a number of seconds above 0 (e.g. 0.005), not '{v}'")
    })?;
    Ok(interp(|i| i.switch_interval = Some(seconds)))
}

pub fn restrict_stdin(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(interp(|i| i.restrict_stdin = Some(v)))
}

pub fn restrict_stdout(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(interp(|i| i.restrict_stdout = Some(v)))
}

pub fn restrict_signal(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(interp(|i| i.restrict_signal = Some(v)))
}

pub fn per_interpreter_gil(a: &Args<'_>) -> Result<Parsed, String> {
    let on = a.flag()?;
    let version = embedded_python_version();
    let minor: u32 = version.split('.').nth(1).and_then(|m| m.parse().ok()).unwrap_or(0);
    // mod_wsgi 6 only warns and ignores it before 3.12; a setting that cannot act is refused.
    if on && minor < 12 {
        return Err(format!(
            "WSGIPerInterpreterGIL On needs Python 3.12 or later; this mod_wsgi_rs embeds Python {version}. \
             Build it against a newer Python (make build PYTHON=/path/to/python3.12), or write WSGIPerInterpreterGIL Off"
        ));
    }
    Ok(interp(move |i| i.per_interpreter_gil = Some(on)))
}

pub fn free_threading(a: &Args<'_>) -> Result<Parsed, String> {
    if a.flag()? {
        return Err(format!(
            "WSGIFreeThreading On needs a free-threaded Python build; this mod_wsgi_rs embeds the standard Python {}. Write WSGIFreeThreading Off or remove it",
            embedded_python_version()
        ));
    }
    Ok(interp(|_| {}))
}

pub fn interpreter_options(a: &Args<'_>) -> Result<Parsed, String> {
    let inner = a.raw.trim().strip_suffix('>').ok_or_else(|| "<WSGIInterpreterOptions must end with '>'".to_string())?;
    let options = parse_options("<WSGIInterpreterOptions>", &words::split_words(inner), BLOCK_OPTIONS)?;
    Ok(Parsed::OptionsBlock(OptionsBlock {
        process_group: options.process_group,
        application_group: options.application_group,
        settings: InterpSettings::default(),
    }))
}

pub fn restrict_embedded(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(switches(|w| w.restrict_embedded = Some(v)))
}

pub fn case_sensitivity(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(switches(|w| w.case_sensitive = Some(v)))
}

pub fn destroy_interpreter(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(switches(|w| w.destroy_interpreter = Some(v)))
}

pub fn socket_rotation(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(switches(|w| w.socket_rotation = Some(v)))
}

pub fn accept_mutex(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.single()?;
    if !["default", "flock", "fcntl", "sysvsem", "posixsem", "pthread"].contains(&v.to_ascii_lowercase().as_str()) {
        return Err(format!("WSGIAcceptMutex takes default, flock, fcntl, sysvsem, posixsem or pthread, not '{v}'"));
    }
    Ok(Parsed::Notice(format!(
        "WSGIAcceptMutex {v}: mod_wsgi_rs daemon threads wait in epoll, which wakes one of them per new connection or request, so no mutex is used"
    )))
}

pub fn error_override(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(dir(|d| d.error_override = Some(v)))
}

pub fn hook_script(a: &Args<'_>) -> Result<Parsed, String> {
    if a.words.is_empty() {
        return Err(a.usage());
    }
    let options = parse_options(a.name(), &a.words[1..], HOOK_OPTIONS)?;
    let hook = HookScript { path: a.words[0].clone(), application_group: options.application_group };
    let name = a.name();
    Ok(dir(|d| match name {
        "WSGIAccessScript" => d.access_script = Some(hook),
        "WSGIAuthUserScript" => d.auth_user_script = Some(hook),
        "WSGIAuthGroupScript" => d.auth_group_script = Some(hook),
        _ => d.dispatch_script = Some(hook),
    }))
}

pub fn group_authoritative(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(dir(|d| d.group_authoritative = Some(v)))
}

pub fn trusted_proxy_headers(a: &Args<'_>) -> Result<Parsed, String> {
    if a.words.is_empty() {
        return Err(a.usage());
    }
    for w in &a.words {
        proxies::check_header(w)?;
    }
    Ok(dir(|d| d.trusted_proxy_headers = Some(a.words.clone())))
}

pub fn trusted_proxies(a: &Args<'_>) -> Result<Parsed, String> {
    if a.words.is_empty() {
        return Err(a.usage());
    }
    let nets = a.words.iter().map(|w| proxies::Network::parse(w)).collect::<Result<Vec<_>, _>>()?;
    Ok(dir(|d| d.trusted_proxies = Some(nets)))
}

pub fn ignore_activity(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(dir(|d| d.ignore_activity = Some(v)))
}

pub fn server_metrics(a: &Args<'_>) -> Result<Parsed, String> {
    let v = a.flag()?;
    Ok(switches(|w| w.server_metrics = Some(v)))
}

pub fn verbose_debugging(a: &Args<'_>) -> Result<Parsed, String> {
    a.flag()?;
    Ok(Parsed::Notice("WSGIVerboseDebugging is deprecated and has no effect (as in mod_wsgi 6)".into()))
}

pub fn socket_prefix(a: &Args<'_>) -> Result<Parsed, String> {
    Ok(Parsed::SocketPrefix(a.single()?.to_string()))
}

pub fn daemon_process(a: &Args<'_>) -> Result<Parsed, String> {
    Ok(Parsed::Daemon(daemon::parse(&a.words)?))
}

pub fn telemetry_service(a: &Args<'_>) -> Result<Parsed, String> {
    Ok(Parsed::Telemetry(telemetry::parse_service(&a.words)?))
}

pub fn slow_requests(a: &Args<'_>) -> Result<Parsed, String> {
    Ok(Parsed::Telemetry(telemetry::parse_slow_requests(&a.words)?))
}

pub fn telemetry_options(a: &Args<'_>) -> Result<Parsed, String> {
    Ok(Parsed::Telemetry(telemetry::parse_options(&a.words)?))
}
