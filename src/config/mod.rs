//! Directive parsing and merging: pure Rust, no Apache. The FFI layer (`apache::commands`)
//! hands each directive's raw text and scope here and stores the result in Apache's config
//! vectors.

pub mod alias;
pub mod table;
pub mod values;
pub mod words;

use std::collections::HashSet;
use std::path::Path;

pub use values::{GroupSpec, HeadMapping};
use table::Status;

/// Where a directive was written, as Apache tells us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Server,
    VirtualHost,
    /// `<Directory>`, `<Location>`, `<Files>` or .htaccess.
    Directory,
}

/// A config line, kept for messages that point back at the config (e.g. alias shadowing).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Origin {
    pub file: String,
    pub line: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AliasOptions {
    pub process_group: Option<GroupSpec>,
    pub application_group: Option<GroupSpec>,
    pub callable_object: Option<String>,
    pub pass_authorization: Option<bool>,
}

#[derive(Debug)]
pub enum AliasMatcher {
    /// WSGIScriptAlias: URL-path prefix, mod_alias rules.
    Prefix(String),
    /// WSGIScriptAliasMatch: the regex source; `compiled` is the `ap_regex_t` Apache compiled
    /// from it (owned by the config pool).
    Regex { source: String, compiled: *const std::ffi::c_void },
}

#[derive(Debug)]
pub struct ScriptAlias {
    pub matcher: AliasMatcher,
    pub target: String,
    pub options: AliasOptions,
    pub origin: Origin,
}

/// Settings that may be given per server, per vhost and per directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirSettings {
    pub process_group: Option<GroupSpec>,
    pub application_group: Option<GroupSpec>,
    pub callable_object: Option<String>,
    pub pass_authorization: Option<bool>,
    pub script_reloading: Option<bool>,
    pub chunked_request: Option<bool>,
    pub map_head_to_get: Option<HeadMapping>,
    pub enable_sendfile: Option<bool>,
}

impl DirSettings {
    /// `over` wins where it says something.
    pub fn merged(base: &DirSettings, over: &DirSettings) -> DirSettings {
        DirSettings {
            process_group: over.process_group.clone().or_else(|| base.process_group.clone()),
            application_group: over.application_group.clone().or_else(|| base.application_group.clone()),
            callable_object: over.callable_object.clone().or_else(|| base.callable_object.clone()),
            pass_authorization: over.pass_authorization.or(base.pass_authorization),
            script_reloading: over.script_reloading.or(base.script_reloading),
            chunked_request: over.chunked_request.or(base.chunked_request),
            map_head_to_get: over.map_head_to_get.or(base.map_head_to_get),
            enable_sendfile: over.enable_sendfile.or(base.enable_sendfile),
        }
    }
}

/// Interpreter settings: server-wide only (the `S` directives).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PythonSettings {
    pub home: Option<String>,
    pub path: Vec<String>,
    pub optimize: Option<u8>,
    /// `Some(None)` = `random` given explicitly.
    pub hash_seed: Option<Option<u32>>,
    pub warnings: Vec<String>,
    pub dont_write_bytecode: Option<bool>,
}

#[derive(Debug, Default)]
pub struct ServerConfig {
    /// Searched in order, first match wins; a vhost's own aliases come before the main server's.
    pub aliases: Vec<ScriptAlias>,
    pub dir: DirSettings,
    pub python: PythonSettings,
    pub socket_prefix: Option<String>,
}

impl ServerConfig {
    /// A vhost's config: its own aliases first, then the main server's.
    pub fn merged(base: &ServerConfig, over: &ServerConfig) -> ServerConfig {
        let aliases = over.aliases.iter().chain(base.aliases.iter()).map(ScriptAlias::duplicate).collect();
        ServerConfig {
            aliases,
            dir: DirSettings::merged(&base.dir, &over.dir),
            python: base.python.clone(),
            socket_prefix: base.socket_prefix.clone(),
        }
    }
}

impl ScriptAlias {
    fn duplicate(&self) -> ScriptAlias {
        let matcher = match &self.matcher {
            AliasMatcher::Prefix(p) => AliasMatcher::Prefix(p.clone()),
            AliasMatcher::Regex { source, compiled } => AliasMatcher::Regex { source: source.clone(), compiled: *compiled },
        };
        ScriptAlias { matcher, target: self.target.clone(), options: self.options.clone(), origin: self.origin.clone() }
    }
}

/// One parsed directive, ready to be stored.
#[derive(Debug)]
pub enum Parsed {
    /// Goes to the server (or vhost) config; the caller compiles the regex of a Match alias.
    Alias { is_regex: bool, pattern: String, target: String, options: AliasOptions },
    /// Sets one per-directory setting (in a directory config, or the server's defaults).
    Dir(DirSettings),
    Python(PythonSettings),
    SocketPrefix(String),
}

const ALIAS_OPTIONS: &str = "process-group=NAME, application-group=NAME, callable-object=NAME, pass-authorization=On|Off";

/// Parses one directive. `name` is the directive as registered (see `table::DIRECTIVES`).
pub fn parse_directive(name: &str, raw_args: &str, scope: Scope) -> Result<Parsed, String> {
    let spec = table::find(name).ok_or_else(|| format!("{name} is not a mod_wsgi directive"))?;
    if let Status::NotYet(feature) = spec.status {
        return Err(format!(
            "{} is recognised but not implemented yet by mod_wsgi_rs {} ({} comes in a later release); remove it from the configuration for now",
            spec.name().trim_start_matches('<'),
            env!("CARGO_PKG_VERSION"),
            feature
        ));
    }
    check_scope(spec, scope)?;
    let words = words::split_words(raw_args);
    let usage = || format!("{} takes: {} {}", spec.name(), spec.name(), spec.syntax());
    let single = || -> Result<&str, String> {
        match words.as_slice() {
            [one] => Ok(one.as_str()),
            _ => Err(usage()),
        }
    };
    let dir = |f: &dyn Fn(&mut DirSettings)| {
        let mut d = DirSettings::default();
        f(&mut d);
        Parsed::Dir(d)
    };
    let python = |f: &dyn Fn(&mut PythonSettings)| {
        let mut p = PythonSettings::default();
        f(&mut p);
        Parsed::Python(p)
    };
    Ok(match spec.name() {
        "WSGIScriptAlias" | "WSGIScriptAliasMatch" => {
            if words.len() < 2 {
                return Err(usage());
            }
            let is_regex = spec.name() == "WSGIScriptAliasMatch";
            if !is_regex && !words[0].starts_with('/') {
                return Err(format!("{}: the URL-path must start with '/', not '{}'", spec.name(), words[0]));
            }
            let options = parse_alias_options(spec.name(), &words[2..])?;
            Parsed::Alias { is_regex, pattern: words[0].clone(), target: words[1].clone(), options }
        }
        "WSGICallableObject" => {
            let v = values::parse_callable_name(spec.name(), single()?)?;
            dir(&|d| d.callable_object = Some(v.clone()))
        }
        "WSGIPassAuthorization" => {
            let v = values::parse_on_off(spec.name(), single()?)?;
            dir(&|d| d.pass_authorization = Some(v))
        }
        "WSGIScriptReloading" => {
            let v = values::parse_on_off(spec.name(), single()?)?;
            dir(&|d| d.script_reloading = Some(v))
        }
        "WSGIChunkedRequest" => {
            let v = values::parse_on_off(spec.name(), single()?)?;
            dir(&|d| d.chunked_request = Some(v))
        }
        "WSGIEnableSendfile" => {
            let v = values::parse_on_off(spec.name(), single()?)?;
            dir(&|d| d.enable_sendfile = Some(v))
        }
        "WSGIMapHEADToGET" => {
            let v = values::parse_head_mapping(single()?)?;
            dir(&|d| d.map_head_to_get = Some(v))
        }
        "WSGIApplicationGroup" => {
            let v = embedded_only_group(spec.name(), single()?, "application")?;
            dir(&|d| d.application_group = Some(v.clone()))
        }
        "WSGIProcessGroup" => {
            let v = embedded_only_group(spec.name(), single()?, "process")?;
            dir(&|d| d.process_group = Some(v.clone()))
        }
        "WSGIPythonHome" => {
            let home = single()?.to_string();
            check_python_home(&home)?;
            python(&|p| p.home = Some(home.clone()))
        }
        "WSGIPythonPath" => {
            let dirs: Vec<String> =
                words.iter().flat_map(|w| w.split(':')).filter(|s| !s.is_empty()).map(str::to_string).collect();
            if dirs.is_empty() {
                return Err(usage());
            }
            python(&|p| p.path = dirs.clone())
        }
        "WSGIPythonOptimize" => {
            let v = values::parse_uint(spec.name(), single()?, 2)? as u8;
            python(&|p| p.optimize = Some(v))
        }
        "WSGIPythonHashSeed" => {
            let v = values::parse_hash_seed(single()?)?;
            python(&|p| p.hash_seed = Some(v))
        }
        "WSGIPythonWarnings" => {
            let v = single()?.to_string();
            python(&|p| p.warnings = vec![v.clone()])
        }
        "WSGIDontWriteBytecode" => {
            let v = values::parse_on_off(spec.name(), single()?)?;
            python(&|p| p.dont_write_bytecode = Some(v))
        }
        "WSGISocketPrefix" => Parsed::SocketPrefix(single()?.to_string()),
        other => return Err(format!("{other}: no parser (this is a bug in mod_wsgi_rs)")),
    })
}

fn check_scope(spec: &table::DirectiveSpec, scope: Scope) -> Result<(), String> {
    let c = spec.contexts;
    let allowed = match scope {
        Scope::Server => c.server,
        Scope::VirtualHost => c.vhost,
        Scope::Directory => c.directory || c.htaccess_fileinfo,
    };
    if allowed {
        return Ok(());
    }
    let place = match scope {
        Scope::Server => "at server level",
        Scope::VirtualHost => "within <VirtualHost>",
        Scope::Directory => "within <Directory>, <Location>, <Files> or .htaccess",
    };
    let mut fits = Vec::new();
    if c.server {
        fits.push("the main server config");
    }
    if c.vhost {
        fits.push("<VirtualHost>");
    }
    if c.directory {
        fits.push("<Directory>/<Location>/<Files>");
    }
    Err(format!("{} cannot occur {place}; put it in {}", spec.name(), fits.join(" or ")))
}

/// Until sub-interpreters and daemon mode land, the only group that can act is `%{GLOBAL}`.
fn embedded_only_group(directive: &str, value: &str, kind: &str) -> Result<GroupSpec, String> {
    match GroupSpec::parse(value) {
        GroupSpec::Global => Ok(GroupSpec::Global),
        GroupSpec::Other(name) => Err(format!(
            "{directive} '{name}': only %{{GLOBAL}} is implemented yet by mod_wsgi_rs {} ({}); write {directive} %{{GLOBAL}}",
            env!("CARGO_PKG_VERSION"),
            if kind == "process" { "daemon process groups come in a later release" } else { "sub-interpreters come in a later release" }
        )),
    }
}

fn parse_alias_options(directive: &str, words: &[String]) -> Result<AliasOptions, String> {
    let mut options = AliasOptions::default();
    let mut seen = HashSet::new();
    for word in words {
        let invalid = || format!("Invalid option '{word}' to {directive}; the accepted options are {ALIAS_OPTIONS}");
        let (key, value) = word.split_once('=').ok_or_else(invalid)?;
        if value.is_empty() {
            return Err(format!("{directive}: option '{key}=' needs a value; the accepted options are {ALIAS_OPTIONS}"));
        }
        if !seen.insert(key.to_ascii_lowercase()) {
            return Err(format!("{directive}: option '{key}' given twice"));
        }
        match key.to_ascii_lowercase().as_str() {
            "process-group" => {
                options.process_group = Some(embedded_only_group(&format!("{directive} process-group="), value, "process")?)
            }
            "application-group" => {
                options.application_group =
                    Some(embedded_only_group(&format!("{directive} application-group="), value, "application")?)
            }
            "callable-object" => options.callable_object = Some(values::parse_callable_name(key, value)?),
            "pass-authorization" => options.pass_authorization = Some(values::parse_on_off(key, value)?),
            _ => return Err(invalid()),
        }
    }
    Ok(options)
}

/// A python-home must exist, and a virtualenv's must have been made by the Python we embed
/// (the classic mod_wsgi trap: a venv of another Python version fails at import time).
pub fn check_python_home(home: &str) -> Result<(), String> {
    let path = Path::new(home);
    if !path.is_absolute() {
        return Err(format!("WSGIPythonHome '{home}' must be an absolute path"));
    }
    if !path.is_dir() {
        return Err(format!("WSGIPythonHome '{home}' does not exist or is not a directory"));
    }
    if let Ok(cfg) = std::fs::read_to_string(path.join("pyvenv.cfg")) {
        let wanted = embedded_python_version();
        let version = cfg.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            let k = k.trim();
            (k == "version" || k == "version_info").then(|| v.trim().to_string())
        });
        if let Some(v) = version {
            let major_minor: String = v.split('.').take(2).collect::<Vec<_>>().join(".");
            if major_minor != wanted {
                return Err(format!(
                    "WSGIPythonHome '{home}' is a virtualenv of Python {v}, but mod_wsgi_rs embeds Python {wanted}; recreate it with /usr/bin/python3 -m venv"
                ));
            }
        }
    }
    Ok(())
}

/// "3.11": the Python this module was built against.
pub fn embedded_python_version() -> String {
    env!("MOD_WSGI_RS_PYTHON_VERSION").to_string()
}

#[cfg(test)]
mod tests;

impl PythonSettings {
    /// Folds one more directive in: scalars are replaced, path entries and warnings accumulate.
    pub fn apply(&mut self, more: PythonSettings) {
        if more.home.is_some() {
            self.home = more.home;
        }
        self.path.extend(more.path);
        if more.optimize.is_some() {
            self.optimize = more.optimize;
        }
        if more.hash_seed.is_some() {
            self.hash_seed = more.hash_seed;
        }
        self.warnings.extend(more.warnings);
        if more.dont_write_bytecode.is_some() {
            self.dont_write_bytecode = more.dont_write_bytecode;
        }
    }
}
