//! Every directive of mod_wsgi 6: where it may appear, its syntax, and whether mod_wsgi_rs
//! implements it yet. Directives not implemented yet are still registered, so that using one
//! fails at startup with a message naming it instead of Apache's "Invalid command".

/// Where a directive may appear (mod_wsgi's command table, confirmed against `apache2 -t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Contexts {
    pub server: bool,
    pub vhost: bool,
    pub directory: bool,
    /// Allowed in .htaccess under `AllowOverride FileInfo`.
    pub htaccess_fileinfo: bool,
    /// Allowed in .htaccess under `AllowOverride AuthConfig`.
    pub htaccess_authconfig: bool,
}

/// Directives that may also appear inside `<WSGIInterpreterOptions>`.
pub const INTERPRETER_OPTIONS: &[&str] = &[
    "WSGIPythonPath",
    "WSGISwitchInterval",
    "WSGIPerInterpreterGIL",
    "WSGIFreeThreading",
    "WSGIRestrictStdin",
    "WSGIRestrictStdout",
    "WSGIRestrictSignal",
];

const S: Contexts = Contexts { server: true, vhost: false, directory: false, htaccess_fileinfo: false, htaccess_authconfig: false };
const SV: Contexts = Contexts { vhost: true, ..S };
const SVD: Contexts = Contexts { directory: true, ..SV };
const SVDH: Contexts = Contexts { htaccess_fileinfo: true, ..SVD };
/// <Directory>/<Location> and .htaccess with AllowOverride AuthConfig.
const DA: Contexts = Contexts { server: false, vhost: false, directory: true, htaccess_fileinfo: false, htaccess_authconfig: true };

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Implemented,
    /// Recognised, refused at startup until the named feature lands.
    NotYet(&'static str),
}

pub struct DirectiveSpec {
    /// NUL-terminated because Apache's command table points straight at it.
    pub cname: &'static std::ffi::CStr,
    pub contexts: Contexts,
    pub csyntax: &'static std::ffi::CStr,
    pub status: Status,
    /// Turns the directive's arguments into what it configures.
    pub parse: fn(&parsers::Args<'_>) -> Result<super::Parsed, String>,
}

impl DirectiveSpec {
    pub fn name(&self) -> &'static str {
        self.cname.to_str().unwrap_or("")
    }
    pub fn syntax(&self) -> &'static str {
        self.csyntax.to_str().unwrap_or("")
    }
}

use super::parsers;

macro_rules! d {
    ($name:literal, $ctx:expr, $syntax:literal, $status:expr, $parse:path) => {
        DirectiveSpec { cname: $name, contexts: $ctx, csyntax: $syntax, status: $status, parse: $parse }
    };
}

pub const DIRECTIVES: &[DirectiveSpec] = &[
    d!(c"WSGIScriptAlias", SV, c"URL-path /path/to/script.wsgi [process-group=NAME] [application-group=NAME] [callable-object=NAME] [pass-authorization=On|Off]", Status::Implemented, parsers::script_alias),
    d!(c"WSGIScriptAliasMatch", SV, c"regex /path/to/$1.wsgi [process-group=NAME] [application-group=NAME] [callable-object=NAME] [pass-authorization=On|Off]", Status::Implemented, parsers::script_alias),
    d!(c"WSGICallableObject", SVDH, c"NAME | %{ENV:variable}", Status::Implemented, parsers::callable_object),
    d!(c"WSGIPassAuthorization", SVDH, c"On|Off", Status::Implemented, parsers::pass_authorization),
    d!(c"WSGIScriptReloading", SVDH, c"On|Off", Status::Implemented, parsers::script_reloading),
    d!(c"WSGIChunkedRequest", SVDH, c"On|Off", Status::Implemented, parsers::chunked_request),
    d!(c"WSGIMapHEADToGET", SVDH, c"On|Off|Auto", Status::Implemented, parsers::map_head_to_get),
    d!(c"WSGIEnableSendfile", SVDH, c"On|Off", Status::Implemented, parsers::enable_sendfile),
    d!(c"WSGIApplicationGroup", SVD, c"%{GLOBAL} | %{SERVER} | %{HOST} | %{RESOURCE} | %{ENV:variable} | NAME", Status::Implemented, parsers::application_group),
    d!(c"WSGIProcessGroup", SVD, c"%{GLOBAL} | NAME of a WSGIDaemonProcess | %{ENV:variable}", Status::Implemented, parsers::process_group),
    d!(c"WSGIRestrictProcess", SVD, c"GROUP ... (%{GLOBAL} for embedded mode)", Status::Implemented, parsers::restrict_process),
    d!(c"WSGISocketRotation", S, c"On|Off", Status::Implemented, parsers::socket_rotation),
    d!(c"WSGIAcceptMutex", S, c"default|flock|fcntl|sysvsem|posixsem|pthread", Status::Implemented, parsers::accept_mutex),
    d!(c"WSGIDispatchScript", SVD, c"/path/script.py [application-group=NAME]", Status::Implemented, parsers::hook_script),
    d!(c"WSGIAccessScript", DA, c"/path/script.py [application-group=NAME]", Status::Implemented, parsers::hook_script),
    d!(c"WSGIAuthUserScript", DA, c"/path/script.py [application-group=NAME]", Status::Implemented, parsers::hook_script),
    d!(c"WSGIAuthGroupScript", DA, c"/path/script.py [application-group=NAME]", Status::Implemented, parsers::hook_script),
    d!(c"WSGIGroupAuthoritative", DA, c"On|Off", Status::Implemented, parsers::group_authoritative),
    d!(c"WSGITrustedProxyHeaders", SVDH, c"X-Forwarded-For X-Forwarded-Proto ... (header names)", Status::Implemented, parsers::trusted_proxy_headers),
    d!(c"WSGITrustedProxies", SVDH, c"IP|CIDR ...", Status::Implemented, parsers::trusted_proxies),
    d!(c"WSGIErrorOverride", SVDH, c"On|Off", Status::Implemented, parsers::error_override),
    d!(c"WSGIIgnoreActivity", SVDH, c"On|Off", Status::Implemented, parsers::ignore_activity),
    d!(c"WSGIDaemonProcess", SV, c"NAME [processes=N] [threads=N] [user=NAME] [python-home=DIR] [display-name=%{GROUP}] [option=value ...]", Status::Implemented, parsers::daemon_process),
    d!(c"WSGIPassApacheRequest", SVD, c"On|Off", Status::Implemented, parsers::pass_apache_request),
    d!(c"WSGIHandlerScript", SVD, c"NAME /path/script.wsgi [process-group=NAME] [application-group=NAME] [pass-authorization=On|Off]", Status::Implemented, parsers::handler_script),
    d!(c"WSGIImportScript", SV, c"/path/script.py process-group=NAME|%{GLOBAL} application-group=NAME|%{GLOBAL}", Status::Implemented, parsers::import_script),
    d!(c"WSGIPythonHome", S, c"/path/to/prefix-or-virtualenv", Status::Implemented, parsers::python_home),
    d!(c"WSGIPythonPath", S, c"/dir[:/dir...]", Status::Implemented, parsers::python_path),
    d!(c"WSGIPythonOptimize", S, c"0|1|2", Status::Implemented, parsers::python_optimize),
    d!(c"WSGIPythonHashSeed", S, c"random|0..4294967295", Status::Implemented, parsers::python_hash_seed),
    d!(c"WSGIPythonWarnings", S, c"action:message:category:module:line (as python -W)", Status::Implemented, parsers::python_warnings),
    d!(c"WSGIPythonEggs", S, c"/path/to/egg-cache", Status::Implemented, parsers::python_eggs),
    d!(c"WSGIDontWriteBytecode", S, c"On|Off", Status::Implemented, parsers::dont_write_bytecode),
    d!(c"WSGISocketPrefix", S, c"/path/prefix", Status::Implemented, parsers::socket_prefix),
    d!(c"WSGIRestrictEmbedded", S, c"On|Off", Status::Implemented, parsers::restrict_embedded),
    d!(c"WSGIRestrictStdin", S, c"On|Off", Status::Implemented, parsers::restrict_stdin),
    d!(c"WSGIRestrictStdout", S, c"On|Off", Status::Implemented, parsers::restrict_stdout),
    d!(c"WSGIRestrictSignal", S, c"On|Off", Status::Implemented, parsers::restrict_signal),
    d!(c"WSGISwitchInterval", S, c"seconds (a number above 0)", Status::Implemented, parsers::switch_interval),
    d!(c"WSGIPerInterpreterGIL", S, c"On|Off", Status::Implemented, parsers::per_interpreter_gil),
    d!(c"WSGIFreeThreading", S, c"On|Off", Status::Implemented, parsers::free_threading),
    d!(c"<WSGIInterpreterOptions", S, c"[process-group=NAME] [application-group=NAME]>", Status::Implemented, parsers::interpreter_options),
    d!(c"WSGICaseSensitivity", S, c"On|Off", Status::Implemented, parsers::case_sensitivity),
    d!(c"WSGIDestroyInterpreter", S, c"On|Off", Status::Implemented, parsers::destroy_interpreter),
    d!(c"WSGIServerMetrics", S, c"On|Off", Status::Implemented, parsers::server_metrics),
    d!(c"WSGIVerboseDebugging", S, c"On|Off", Status::Implemented, parsers::verbose_debugging),
    d!(c"WSGITelemetryService", S, c"unix:/path [interval=N]", Status::Implemented, parsers::telemetry_service),
    d!(c"WSGISlowRequests", S, c"seconds", Status::Implemented, parsers::slow_requests),
    d!(c"WSGITelemetryOptions", S, c"[+|-]CaptureUserAgent ... | None | All", Status::Implemented, parsers::telemetry_options),
];

pub fn find(name: &str) -> Option<&'static DirectiveSpec> {
    DIRECTIVES.iter().find(|d| d.name().eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for (i, d) in DIRECTIVES.iter().enumerate() {
            assert!(DIRECTIVES[i + 1..].iter().all(|e| e.name() != d.name()), "{} twice", d.name());
            assert_eq!(find(&d.name().to_lowercase()).unwrap().name(), d.name());
        }
        assert!(find("WSGINoSuchThing").is_none());
    }

    #[test]
    fn implemented_directives_have_their_own_parser() {
        let placeholder = parsers::not_yet as fn(&parsers::Args<'_>) -> Result<super::super::Parsed, String>;
        for d in DIRECTIVES {
            let own = !std::ptr::fn_addr_eq(d.parse, placeholder);
            assert_eq!(own, d.status == Status::Implemented, "{}", d.name());
        }
    }
}
