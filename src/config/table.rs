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

#[derive(Debug)]
pub struct DirectiveSpec {
    /// NUL-terminated because Apache's command table points straight at it.
    pub cname: &'static std::ffi::CStr,
    pub contexts: Contexts,
    pub csyntax: &'static std::ffi::CStr,
    pub status: Status,
}

impl DirectiveSpec {
    pub fn name(&self) -> &'static str {
        self.cname.to_str().unwrap_or("")
    }
    pub fn syntax(&self) -> &'static str {
        self.csyntax.to_str().unwrap_or("")
    }
}

const TELEMETRY: Status = Status::NotYet("telemetry");

macro_rules! d {
    ($name:literal, $ctx:expr, $syntax:literal, $status:expr) => {
        DirectiveSpec { cname: $name, contexts: $ctx, csyntax: $syntax, status: $status }
    };
}

pub const DIRECTIVES: &[DirectiveSpec] = &[
    d!(c"WSGIScriptAlias", SV, c"URL-path /path/to/script.wsgi [process-group=NAME] [application-group=NAME] [callable-object=NAME] [pass-authorization=On|Off]", Status::Implemented),
    d!(c"WSGIScriptAliasMatch", SV, c"regex /path/to/$1.wsgi [process-group=NAME] [application-group=NAME] [callable-object=NAME] [pass-authorization=On|Off]", Status::Implemented),
    d!(c"WSGICallableObject", SVDH, c"NAME | %{ENV:variable}", Status::Implemented),
    d!(c"WSGIPassAuthorization", SVDH, c"On|Off", Status::Implemented),
    d!(c"WSGIScriptReloading", SVDH, c"On|Off", Status::Implemented),
    d!(c"WSGIChunkedRequest", SVDH, c"On|Off", Status::Implemented),
    d!(c"WSGIMapHEADToGET", SVDH, c"On|Off|Auto", Status::Implemented),
    d!(c"WSGIEnableSendfile", SVDH, c"On|Off", Status::Implemented),
    d!(c"WSGIApplicationGroup", SVD, c"%{GLOBAL} | %{SERVER} | %{HOST} | %{RESOURCE} | %{ENV:variable} | NAME", Status::Implemented),
    d!(c"WSGIProcessGroup", SVD, c"%{GLOBAL} | NAME of a WSGIDaemonProcess | %{ENV:variable}", Status::Implemented),
    d!(c"WSGIRestrictProcess", SVD, c"GROUP ... (%{GLOBAL} for embedded mode)", Status::Implemented),
    d!(c"WSGISocketRotation", S, c"On|Off", Status::Implemented),
    d!(c"WSGIAcceptMutex", S, c"default|flock|fcntl|sysvsem|posixsem|pthread", Status::Implemented),
    d!(c"WSGIDispatchScript", SVD, c"/path/script.py [application-group=NAME]", Status::Implemented),
    d!(c"WSGIAccessScript", DA, c"/path/script.py [application-group=NAME]", Status::Implemented),
    d!(c"WSGIAuthUserScript", DA, c"/path/script.py [application-group=NAME]", Status::Implemented),
    d!(c"WSGIAuthGroupScript", DA, c"/path/script.py [application-group=NAME]", Status::Implemented),
    d!(c"WSGIGroupAuthoritative", DA, c"On|Off", Status::Implemented),
    d!(c"WSGITrustedProxyHeaders", SVDH, c"X-Forwarded-For X-Forwarded-Proto ... (header names)", Status::Implemented),
    d!(c"WSGITrustedProxies", SVDH, c"IP|CIDR ...", Status::Implemented),
    d!(c"WSGIErrorOverride", SVDH, c"On|Off", Status::Implemented),
    d!(c"WSGIIgnoreActivity", SVDH, c"On|Off", Status::Implemented),
    d!(c"WSGIDaemonProcess", SV, c"NAME [processes=N] [threads=N] [user=NAME] [python-home=DIR] [display-name=%{GROUP}] [option=value ...]", Status::Implemented),
    d!(c"WSGIPassApacheRequest", SVD, c"On|Off", Status::Implemented),
    d!(c"WSGIHandlerScript", SVD, c"NAME /path/script.wsgi [process-group=NAME] [application-group=NAME] [pass-authorization=On|Off]", Status::Implemented),
    d!(c"WSGIImportScript", SV, c"/path/script.py process-group=NAME|%{GLOBAL} application-group=NAME|%{GLOBAL}", Status::Implemented),
    d!(c"WSGIPythonHome", S, c"/path/to/prefix-or-virtualenv", Status::Implemented),
    d!(c"WSGIPythonPath", S, c"/dir[:/dir...]", Status::Implemented),
    d!(c"WSGIPythonOptimize", S, c"0|1|2", Status::Implemented),
    d!(c"WSGIPythonHashSeed", S, c"random|0..4294967295", Status::Implemented),
    d!(c"WSGIPythonWarnings", S, c"action:message:category:module:line (as python -W)", Status::Implemented),
    d!(c"WSGIPythonEggs", S, c"/path/to/egg-cache", Status::Implemented),
    d!(c"WSGIDontWriteBytecode", S, c"On|Off", Status::Implemented),
    d!(c"WSGISocketPrefix", S, c"/path/prefix", Status::Implemented),
    d!(c"WSGIRestrictEmbedded", S, c"On|Off", Status::Implemented),
    d!(c"WSGIRestrictStdin", S, c"On|Off", Status::Implemented),
    d!(c"WSGIRestrictStdout", S, c"On|Off", Status::Implemented),
    d!(c"WSGIRestrictSignal", S, c"On|Off", Status::Implemented),
    d!(c"WSGISwitchInterval", S, c"seconds (a number above 0)", Status::Implemented),
    d!(c"WSGIPerInterpreterGIL", S, c"On|Off", Status::Implemented),
    d!(c"WSGIFreeThreading", S, c"On|Off", Status::Implemented),
    d!(c"<WSGIInterpreterOptions", S, c"[process-group=NAME] [application-group=NAME]>", Status::Implemented),
    d!(c"WSGICaseSensitivity", S, c"On|Off", Status::Implemented),
    d!(c"WSGIDestroyInterpreter", S, c"On|Off", Status::Implemented),
    d!(c"WSGIServerMetrics", S, c"On|Off", Status::Implemented),
    d!(c"WSGIVerboseDebugging", S, c"On|Off", Status::Implemented),
    // Recognised, not implemented yet.
    d!(c"WSGITelemetryService", S, c"unix:/path [interval=N]", TELEMETRY),
    d!(c"WSGISlowRequests", S, c"seconds", TELEMETRY),
    d!(c"WSGITelemetryOptions", S, c"flags", TELEMETRY),
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
}
