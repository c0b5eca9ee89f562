//! Directive parsing and merging: pure Rust, no Apache. The FFI layer (`apache::commands`)
//! hands each directive's raw text and scope here and stores the result in Apache's config
//! vectors.

#![forbid(unsafe_code)]


pub mod alias;
pub mod proxies;
pub mod daemon;
pub mod groups;
pub mod parsers;
pub mod table;
pub mod telemetry;
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

/// A compiled WSGIScriptAliasMatch pattern. The apache layer compiles it with Apache's regex
/// engine (so it means what it means in AliasMatch); config only keeps it.
pub trait UriPattern: Send + Sync + std::fmt::Debug {
    /// `target` with $1..$9 filled in from a match of `uri`, followed by the part of the URI
    /// after the match (which the directory walk turns into PATH_INFO); None if no match.
    fn substitute(&self, uri: &[u8], target: &str) -> Option<Vec<u8>>;
}

#[derive(Debug, Clone)]
pub enum AliasMatcher {
    /// WSGIScriptAlias: URL-path prefix, mod_alias rules.
    Prefix(String),
    /// WSGIScriptAliasMatch: the regex source and its compiled form.
    Regex { source: String, compiled: std::sync::Arc<dyn UriPattern> },
}

#[derive(Debug)]
pub struct ScriptAlias {
    pub matcher: AliasMatcher,
    pub target: String,
    pub options: AliasOptions,
    pub origin: Origin,
}

/// WSGIAccessScript / WSGIAuthUserScript / WSGIAuthGroupScript / WSGIDispatchScript: a script
/// with hook functions, run in the Apache child (main interpreter unless application-group=).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookScript {
    pub path: String,
    pub application_group: Option<GroupSpec>,
}

/// WSGIHandlerScript: requests whose Apache handler is `name` run `handle_request` in `path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerScript {
    pub name: String,
    pub path: String,
    pub options: AliasOptions,
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
    pub pass_apache_request: Option<bool>,
    pub error_override: Option<bool>,
    pub ignore_activity: Option<bool>,
    /// WSGITrustedProxyHeaders (header names) and WSGITrustedProxies (peers allowed to set them).
    pub trusted_proxy_headers: Option<Vec<String>>,
    pub trusted_proxies: Option<Vec<proxies::Network>>,
    /// WSGIRestrictProcess: the process groups allowed here ("" = embedded).
    pub restrict_process: Option<Vec<String>>,
    /// Overlaid by name: a deeper scope's definition replaces the outer one.
    pub handler_scripts: Vec<HandlerScript>,
    pub access_script: Option<HookScript>,
    pub auth_user_script: Option<HookScript>,
    pub auth_group_script: Option<HookScript>,
    pub dispatch_script: Option<HookScript>,
    /// WSGIGroupAuthoritative: parsed; no effect in Apache 2.4 (as in mod_wsgi).
    pub group_authoritative: Option<bool>,
}

impl DirSettings {
    /// `over` wins where it says something.
    pub fn merged(base: &DirSettings, over: &DirSettings) -> DirSettings {
        let mut handler_scripts: Vec<HandlerScript> =
            base.handler_scripts.iter().filter(|h| !over.handler_scripts.iter().any(|o| o.name == h.name)).cloned().collect();
        handler_scripts.extend(over.handler_scripts.iter().cloned());
        DirSettings {
            process_group: over.process_group.clone().or_else(|| base.process_group.clone()),
            application_group: over.application_group.clone().or_else(|| base.application_group.clone()),
            callable_object: over.callable_object.clone().or_else(|| base.callable_object.clone()),
            pass_authorization: over.pass_authorization.or(base.pass_authorization),
            script_reloading: over.script_reloading.or(base.script_reloading),
            chunked_request: over.chunked_request.or(base.chunked_request),
            map_head_to_get: over.map_head_to_get.or(base.map_head_to_get),
            enable_sendfile: over.enable_sendfile.or(base.enable_sendfile),
            pass_apache_request: over.pass_apache_request.or(base.pass_apache_request),
            error_override: over.error_override.or(base.error_override),
            ignore_activity: over.ignore_activity.or(base.ignore_activity),
            trusted_proxy_headers: over.trusted_proxy_headers.clone().or_else(|| base.trusted_proxy_headers.clone()),
            trusted_proxies: over.trusted_proxies.clone().or_else(|| base.trusted_proxies.clone()),
            restrict_process: over.restrict_process.clone().or_else(|| base.restrict_process.clone()),
            handler_scripts,
            access_script: over.access_script.clone().or_else(|| base.access_script.clone()),
            auth_user_script: over.auth_user_script.clone().or_else(|| base.auth_user_script.clone()),
            auth_group_script: over.auth_group_script.clone().or_else(|| base.auth_group_script.clone()),
            dispatch_script: over.dispatch_script.clone().or_else(|| base.dispatch_script.clone()),
            group_authoritative: over.group_authoritative.or(base.group_authoritative),
        }
    }

    /// Folds one more directive of the same scope in: like `merged`, but repeated
    /// WSGITrustedProxyHeaders / WSGITrustedProxies lines add to the list.
    pub fn add_directive(&mut self, d: &DirSettings) {
        let mut next = DirSettings::merged(self, d);
        if let (Some(old), Some(new)) = (&self.trusted_proxy_headers, &d.trusted_proxy_headers) {
            next.trusted_proxy_headers = Some(old.iter().chain(new).cloned().collect());
        }
        if let (Some(old), Some(new)) = (&self.trusted_proxies, &d.trusted_proxies) {
            next.trusted_proxies = Some(old.iter().chain(new).cloned().collect());
        }
        *self = next;
    }

    pub fn uses_hook_scripts(&self) -> bool {
        self.access_script.is_some() || self.auth_user_script.is_some() || self.auth_group_script.is_some() || self.dispatch_script.is_some()
    }

    pub fn handler_script(&self, name: &str) -> Option<&HandlerScript> {
        self.handler_scripts.iter().rev().find(|h| h.name == name)
    }
}

/// How Python starts in a process: server-wide only (the `S` directives).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PythonSettings {
    pub home: Option<String>,
    pub optimize: Option<u8>,
    /// `Some(None)` = `random` given explicitly.
    pub hash_seed: Option<Option<u32>>,
    pub warnings: Vec<String>,
    pub dont_write_bytecode: Option<bool>,
    pub eggs: Option<String>,
}

/// Per-interpreter settings: server-wide, or scoped by `<WSGIInterpreterOptions>`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InterpSettings {
    pub python_path: Vec<String>,
    pub switch_interval: Option<f64>,
    pub restrict_stdin: Option<bool>,
    pub restrict_stdout: Option<bool>,
    pub restrict_signal: Option<bool>,
    /// `WSGIPerInterpreterGIL`: sub-interpreters get their own GIL (never the main one).
    pub per_interpreter_gil: Option<bool>,
}

impl InterpSettings {
    /// Layers `more` on top: scalars it sets win, path entries accumulate.
    pub fn apply(&mut self, more: &InterpSettings) {
        self.python_path.extend(more.python_path.iter().cloned());
        self.switch_interval = more.switch_interval.or(self.switch_interval);
        self.restrict_stdin = more.restrict_stdin.or(self.restrict_stdin);
        self.restrict_stdout = more.restrict_stdout.or(self.restrict_stdout);
        self.restrict_signal = more.restrict_signal.or(self.restrict_signal);
        self.per_interpreter_gil = more.per_interpreter_gil.or(self.per_interpreter_gil);
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptionsBlock {
    pub process_group: Option<GroupSpec>,
    pub application_group: Option<GroupSpec>,
    pub settings: InterpSettings,
}

/// The settings of interpreter `application_group` in process group `process_group`: the
/// server-wide ones, then matching blocks from least to most specific (config order among
/// equals), so the most specific block wins each setting and every path layer applies.
pub fn interpreter_settings(base: &InterpSettings, blocks: &[OptionsBlock], process_group: &str, application_group: &str) -> InterpSettings {
    let name = |g: &GroupSpec| match g {
        GroupSpec::Global => String::new(),
        GroupSpec::Other(n) => n.clone(),
    };
    let mut matching: Vec<(usize, &OptionsBlock)> = blocks
        .iter()
        .filter(|b| b.process_group.as_ref().is_none_or(|g| name(g) == process_group))
        .filter(|b| b.application_group.as_ref().is_none_or(|g| name(g) == application_group))
        .map(|b| (b.process_group.is_some() as usize + b.application_group.is_some() as usize, b))
        .collect();
    matching.sort_by_key(|(specificity, _)| *specificity);
    let mut out = base.clone();
    for (_, block) in matching {
        out.apply(&block.settings);
    }
    out
}

/// WSGIImportScript: preloaded into an interpreter when a process of its group starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportScript {
    pub path: String,
    pub process_group: GroupSpec,
    pub application_group: GroupSpec,
}

/// Server-wide switches (`S` directives that are not about starting Python).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerSwitches {
    pub restrict_embedded: Option<bool>,
    pub case_sensitive: Option<bool>,
    pub destroy_interpreter: Option<bool>,
    pub server_metrics: Option<bool>,
    pub socket_rotation: Option<bool>,
}

impl ServerSwitches {
    pub fn apply(&mut self, more: &ServerSwitches) {
        self.restrict_embedded = more.restrict_embedded.or(self.restrict_embedded);
        self.case_sensitive = more.case_sensitive.or(self.case_sensitive);
        self.destroy_interpreter = more.destroy_interpreter.or(self.destroy_interpreter);
        self.server_metrics = more.server_metrics.or(self.server_metrics);
        self.socket_rotation = more.socket_rotation.or(self.socket_rotation);
    }
}

#[derive(Debug, Default)]
pub struct ServerConfig {
    /// Searched in order, first match wins; a vhost's own aliases come before the main server's.
    pub aliases: Vec<ScriptAlias>,
    pub dir: DirSettings,
    pub python: PythonSettings,
    pub interp: InterpSettings,
    pub options_blocks: Vec<OptionsBlock>,
    pub switches: ServerSwitches,
    /// This server's own (not inherited: child_init walks every server).
    pub import_scripts: Vec<ImportScript>,
    /// WSGIDaemonProcess groups defined in this server (own, not inherited).
    pub daemons: Vec<daemon::DaemonGroup>,
    pub socket_prefix: Option<String>,
    /// Server-wide (the main server's is the one that counts; vhosts copy it).
    pub telemetry: telemetry::TelemetrySettings,
}

impl ServerConfig {
    /// A vhost's config: its own aliases first, then the main server's.
    pub fn merged(base: &ServerConfig, over: &ServerConfig) -> ServerConfig {
        let aliases = over.aliases.iter().chain(base.aliases.iter()).map(ScriptAlias::duplicate).collect();
        ServerConfig {
            aliases,
            dir: DirSettings::merged(&base.dir, &over.dir),
            python: base.python.clone(),
            interp: base.interp.clone(),
            options_blocks: base.options_blocks.clone(),
            switches: base.switches.clone(),
            import_scripts: over.import_scripts.clone(),
            daemons: over.daemons.clone(),
            socket_prefix: base.socket_prefix.clone(),
            telemetry: base.telemetry.clone(),
        }
    }

    pub fn case_sensitive(&self) -> bool {
        self.switches.case_sensitive.unwrap_or(true)
    }
}

impl ScriptAlias {
    fn duplicate(&self) -> ScriptAlias {
        let matcher = match &self.matcher {
            AliasMatcher::Prefix(p) => AliasMatcher::Prefix(p.clone()),
            AliasMatcher::Regex { source, compiled } => AliasMatcher::Regex { source: source.clone(), compiled: compiled.clone() },
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
    /// Server-wide, or for the enclosing `<WSGIInterpreterOptions>` block.
    Interp(InterpSettings),
    Switches(ServerSwitches),
    ImportScript(ImportScript),
    Daemon(daemon::DaemonGroup),
    /// `<WSGIInterpreterOptions ...>`: the caller parses the block's body into it.
    OptionsBlock(OptionsBlock),
    SocketPrefix(String),
    /// WSGITelemetryService / WSGISlowRequests / WSGITelemetryOptions: folded into
    /// `ServerConfig::telemetry` in config order.
    Telemetry(telemetry::TelemetrySettings),
    /// Accepted for compatibility; the message is logged at startup.
    Notice(String),
}

/// Parses one directive. `name` is the directive as registered (see `table::DIRECTIVES`);
/// `in_options_block` is true inside `<WSGIInterpreterOptions>`.
pub fn parse_directive(name: &str, raw_args: &str, scope: Scope) -> Result<Parsed, String> {
    parse_in(name, raw_args, scope, false)
}

pub fn parse_in(name: &str, raw_args: &str, scope: Scope, in_options_block: bool) -> Result<Parsed, String> {
    let spec = table::find(name).ok_or_else(|| format!("{name} is not a mod_wsgi directive"))?;
    if let Status::NotYet(feature) = spec.status {
        return Err(format!(
            "{} is recognised but not implemented yet by mod_wsgi_rs {} ({} comes in a later release); remove it from the configuration for now",
            spec.name().trim_start_matches('<'),
            env!("CARGO_PKG_VERSION"),
            feature
        ));
    }
    if in_options_block && !table::INTERPRETER_OPTIONS.contains(&spec.name()) {
        return Err(format!(
            "{} cannot be used inside <WSGIInterpreterOptions>; allowed there: {}",
            spec.name(),
            table::INTERPRETER_OPTIONS.join(", ")
        ));
    }
    check_scope(spec, scope)?;
    let args = parsers::Args { spec, raw: raw_args, words: words::split_words(raw_args) };
    (spec.parse)(&args)
}

fn check_scope(spec: &table::DirectiveSpec, scope: Scope) -> Result<(), String> {
    let c = spec.contexts;
    let allowed = match scope {
        Scope::Server => c.server,
        Scope::VirtualHost => c.vhost,
        Scope::Directory => c.directory || c.htaccess_fileinfo || c.htaccess_authconfig,
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

/// Which `name=value` options a directive takes.
struct OptionSet {
    accepted: &'static str,
    process_group: bool,
    application_group: bool,
    callable_object: bool,
    pass_authorization: bool,
}

const ALIAS_OPTIONS: OptionSet = OptionSet {
    accepted: "process-group=NAME, application-group=NAME, callable-object=NAME, pass-authorization=On|Off",
    process_group: true,
    application_group: true,
    callable_object: true,
    pass_authorization: true,
};
const HANDLER_OPTIONS: OptionSet = OptionSet {
    accepted: "process-group=NAME, application-group=NAME, pass-authorization=On|Off",
    callable_object: false,
    ..ALIAS_OPTIONS
};
const IMPORT_OPTIONS: OptionSet =
    OptionSet { accepted: "process-group=NAME, application-group=NAME", pass_authorization: false, ..HANDLER_OPTIONS };
const BLOCK_OPTIONS: OptionSet = IMPORT_OPTIONS;
const HOOK_OPTIONS: OptionSet = OptionSet { accepted: "application-group=NAME", process_group: false, ..IMPORT_OPTIONS };

fn parse_options(directive: &str, words: &[String], set: OptionSet) -> Result<AliasOptions, String> {
    let mut options = AliasOptions::default();
    let mut seen = HashSet::new();
    for word in words {
        let invalid = || format!("Invalid option '{word}' to {directive}; the accepted options are {}", set.accepted);
        let (key, value) = word.split_once('=').ok_or_else(invalid)?;
        if value.is_empty() {
            return Err(format!("{directive}: option '{key}=' needs a value; the accepted options are {}", set.accepted));
        }
        if !seen.insert(key.to_ascii_lowercase()) {
            return Err(format!("{directive}: option '{key}' given twice"));
        }
        match key.to_ascii_lowercase().as_str() {
            "process-group" if set.process_group => options.process_group = Some(GroupSpec::parse(value)),
            "application-group" if set.application_group => options.application_group = Some(GroupSpec::parse(value)),
            "callable-object" if set.callable_object => {
                options.callable_object = Some(values::parse_callable_name(key, value)?)
            }
            "pass-authorization" if set.pass_authorization => {
                options.pass_authorization = Some(values::parse_on_off(key, value)?)
            }
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
                    "WSGIPythonHome '{home}' is a virtualenv of Python {v}, but mod_wsgi_rs embeds Python {wanted}; recreate it with {} -m venv",
                    env!("MOD_WSGI_RS_PYTHON")
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
        if more.eggs.is_some() {
            self.eggs = more.eggs;
        }
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
