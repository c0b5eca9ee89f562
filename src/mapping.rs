//! URL mapping (translate_name): which WSGIScriptAlias serves a URI. The matched alias is
//! remembered on the request for the handler (its options override per-directory settings).

use crate::apache::ffi;
use crate::apache::module::{server_config_of, set_request_note};
use crate::apache::request::Request;
use crate::config::alias::prefix_match_len;
use crate::config::{AliasMatcher, ScriptAlias};

pub const WSGI_HANDLER: &std::ffi::CStr = c"wsgi-script";

pub fn translate(r: Request) -> i32 {
    let uri = r.uri_bytes();
    if !uri.starts_with(b"/") {
        return ffi::DECLINED;
    }
    let config = server_config_of(r.server());
    for alias in &config.aliases {
        let filename = match &alias.matcher {
            AliasMatcher::Prefix(prefix) => prefix_match_len(uri, prefix).map(|n| [alias.target.as_bytes(), &uri[n..]].concat()),
            AliasMatcher::Regex { compiled, .. } => r.regex_substitute(*compiled, &alias.target),
        };
        if let Some(filename) = filename {
            r.set_filename(&filename);
            r.set_handler(WSGI_HANDLER);
            // Keeps mod_mime from replacing the handler by the file's extension.
            r.set_note(c"alias-forced-type", WSGI_HANDLER);
            set_request_note(r.raw(), alias as *const ScriptAlias as *mut std::ffi::c_void);
            return ffi::OK;
        }
    }
    ffi::DECLINED
}

/// The alias that mapped this request, if one did.
pub fn matched_alias<'a>(r: Request) -> Option<&'a ScriptAlias> {
    let p = crate::apache::module::request_note(r.raw()) as *const ScriptAlias;
    crate::apache::module::alias_ref(p)
}
