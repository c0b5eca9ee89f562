//! URL mapping (translate_name): which WSGIScriptAlias serves a URI. The matched alias is
//! remembered on the request for the handler (its options override per-directory settings).

use crate::apache::slots::{server_config_of, set_matched_alias};
use crate::apache::{Request, Status, ffi};
use crate::config::AliasMatcher;
use crate::config::alias::prefix_match_len;

pub const WSGI_HANDLER: &std::ffi::CStr = c"wsgi-script";

/// # Safety
/// Only Apache calls it, with the arguments its hook API passes.
pub unsafe extern "C" fn translate_name(r: *mut ffi::request_rec) -> i32 {
    // SAFETY: Apache passes the live request being translated, for this call.
    translate(unsafe { Request::from_raw(r) }).raw()
}

fn translate(r: Request<'_>) -> Status {
    let uri = r.uri_bytes();
    if !uri.starts_with(b"/") {
        return Status::DECLINED;
    }
    let config = server_config_of(r.server());
    for alias in &config.aliases {
        let filename = match &alias.matcher {
            AliasMatcher::Prefix(prefix) => prefix_match_len(uri, prefix).map(|n| [alias.target.as_bytes(), &uri[n..]].concat()),
            AliasMatcher::Regex { compiled, .. } => compiled.substitute(uri, &alias.target),
        };
        if let Some(filename) = filename {
            r.set_filename(&filename);
            r.set_handler(WSGI_HANDLER);
            // Keeps mod_mime from replacing the handler by the file's extension.
            r.set_note(c"alias-forced-type", WSGI_HANDLER);
            set_matched_alias(&r, alias);
            return Status::OK;
        }
    }
    Status::DECLINED
}
