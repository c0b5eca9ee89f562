//! Apache's side of the Python hooks: the access checker, the `wsgi` authn provider and the
//! `wsgi-group` authz provider. The decisions are made in `host::access`.

use crate::apache::log::Level;
use crate::apache::pool::{cstr_opt, pstrdup};
use crate::apache::{Pool, Request, ffi};
use crate::host::access::{self, Password};
use std::ffi::{c_char, c_void};

#[repr(transparent)]
struct Authn(ffi::authn_provider);
// SAFETY: never written; holds only function pointers.
unsafe impl Sync for Authn {}

#[repr(transparent)]
struct Authz(ffi::authz_provider);
// SAFETY: never written; holds only function pointers.
unsafe impl Sync for Authz {}

static AUTHN: Authn = Authn(ffi::authn_provider { check_password: Some(check_password), get_realm_hash: Some(realm_hash) });
static AUTHZ: Authz = Authz(ffi::authz_provider { check_authorization: Some(check_group), parse_require_line: None });

/// Registers the providers (`AuthBasicProvider wsgi`, `Require wsgi-group`) and the access
/// checker; called from register_hooks.
pub fn register(pool: Pool<'_>) {
    // SAFETY: registering 'static provider tables and a hook function during register_hooks, in the pool Apache passed it.
    unsafe {
        ffi::ap_register_auth_provider(pool.raw(), c"authn".as_ptr(), c"wsgi".as_ptr(), c"0".as_ptr(), &raw const AUTHN as *const c_void, ffi::AP_AUTH_INTERNAL_PER_CONF);
        ffi::ap_register_auth_provider(pool.raw(), c"authz".as_ptr(), c"wsgi-group".as_ptr(), c"0".as_ptr(), &raw const AUTHZ as *const c_void, ffi::AP_AUTH_INTERNAL_PER_CONF);
        ffi::ap_hook_access_checker(Some(access_checker), std::ptr::null(), std::ptr::null(), ffi::APR_HOOK_MIDDLE);
    }
}

unsafe extern "C" fn access_checker(r: *mut ffi::request_rec) -> i32 {
    // SAFETY: Apache passes the live request being checked.
    let r = unsafe { Request::from_raw(r) };
    match access::allow_access(r) {
        None => ffi::DECLINED,
        Some(true) => ffi::OK,
        Some(false) => {
            r.log(Level::Error, &format!("client denied by server configuration (WSGIAccessScript): {}", r.filename()));
            ffi::HTTP_FORBIDDEN
        }
    }
}

unsafe extern "C" fn check_password(r: *mut ffi::request_rec, user: *const c_char, password: *const c_char) -> ffi::authn_status {
    // SAFETY: Apache passes the live request and NUL-terminated strings, unchanged during this call.
    let (r, user, password) = unsafe { (Request::from_raw(r), cstr_opt(user).unwrap_or(""), cstr_opt(password).unwrap_or("")) };
    match access::check_password(r, user, password) {
        Password::Granted(rename) => {
            if let Some(name) = rename {
                r.set_user(&name);
            }
            ffi::authn_status_AUTH_GRANTED
        }
        Password::Denied => ffi::authn_status_AUTH_DENIED,
        Password::UnknownUser => ffi::authn_status_AUTH_USER_NOT_FOUND,
        Password::Error => ffi::authn_status_AUTH_GENERAL_ERROR,
    }
}

unsafe extern "C" fn realm_hash(r: *mut ffi::request_rec, user: *const c_char, realm: *const c_char, rethash: *mut *mut c_char) -> ffi::authn_status {
    // SAFETY: Apache passes the live request, NUL-terminated strings (unchanged during this call) and a result pointer.
    let (r, user, realm) = unsafe { (Request::from_raw(r), cstr_opt(user).unwrap_or(""), cstr_opt(realm).unwrap_or("")) };
    match access::realm_hash(r, user, realm) {
        Ok(Some(hash)) => {
            // SAFETY: the hash is copied into the request pool, as mod_auth_digest expects.
            unsafe { *rethash = pstrdup(r.pool(), &hash) };
            ffi::authn_status_AUTH_USER_FOUND
        }
        Ok(None) => ffi::authn_status_AUTH_USER_NOT_FOUND,
        Err(()) => ffi::authn_status_AUTH_GENERAL_ERROR,
    }
}

unsafe extern "C" fn check_group(r: *mut ffi::request_rec, require_line: *const c_char, _parsed: *const c_void) -> ffi::authz_status {
    // SAFETY: Apache passes the live request and the NUL-terminated require line, unchanged during this call.
    let (r, require_line) = unsafe { (Request::from_raw(r), cstr_opt(require_line).unwrap_or("")) };
    let Some(user) = r.user().map(str::to_string) else { return ffi::authz_status_AUTHZ_DENIED_NO_USER };
    let wanted: Vec<String> = crate::config::words::split_words(require_line);
    match access::groups_for_user(r, &user) {
        Ok(groups) if groups.iter().any(|g| wanted.contains(g)) => ffi::authz_status_AUTHZ_GRANTED,
        Ok(_) => {
            r.log(Level::Error, &format!("user {user}: not in the required groups ({})", wanted.join(" ")));
            ffi::authz_status_AUTHZ_DENIED
        }
        Err(()) => ffi::authz_status_AUTHZ_GENERAL_ERROR,
    }
}
