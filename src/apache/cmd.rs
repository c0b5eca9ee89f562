//! A directive being parsed (cmd_parms): where it is, and the few services Apache offers a
//! directive handler (its pools, the server being configured, walking a block's body).

use super::ffi;
use super::pool::{Pool, cstr_opt, cstring, pstrdup};
use super::regex::Regex;
use super::server::Server;
use crate::config::{Origin, Scope};
use std::marker::PhantomData;

/// The cmd_parms of the directive being handled, valid for 'a (that handler call).
#[derive(Clone, Copy)]
pub struct Cmd<'a> {
    cmd: *mut ffi::cmd_parms,
    _life: PhantomData<&'a ffi::cmd_parms>,
}

impl<'a> Cmd<'a> {
    /// # Safety
    /// `cmd` is the cmd_parms Apache passed to the directive handler running now, which lasts 'a.
    pub unsafe fn from_raw(cmd: *mut ffi::cmd_parms) -> Cmd<'a> {
        Cmd { cmd, _life: PhantomData }
    }

    fn rec(&self) -> &'a ffi::cmd_parms {
        // SAFETY: from_raw's contract.
        unsafe { &*self.cmd }
    }

    /// The `cmd_data` the directive table gave this directive.
    pub fn info(&self) -> usize {
        self.rec().info as usize
    }

    /// The configuration pool (outlives every request of this configuration).
    pub fn pool(&self) -> Pool<'a> {
        // SAFETY: cmd->pool is the live configuration pool.
        unsafe { Pool::from_raw(self.rec().pool) }
    }

    /// The server (main or virtual host) being configured.
    pub fn server(&self) -> Server<'a> {
        // SAFETY: cmd->server is the live server_rec being configured.
        unsafe { Server::from_raw(self.rec().server) }
    }

    /// Where the directive appears: a directory section, a virtual host or the main server.
    pub fn scope(&self) -> Scope {
        // SAFETY: cmd->server is the live server_rec being configured.
        let is_vhost = unsafe { (*self.rec().server).is_virtual } != 0;
        if !self.rec().path.is_null() {
            Scope::Directory
        } else if is_vhost {
            Scope::VirtualHost
        } else {
            Scope::Server
        }
    }

    /// The directive's file and line.
    pub fn origin(&self) -> Origin {
        let d = self.rec().directive;
        if d.is_null() {
            return Origin::default();
        }
        // SAFETY: a non-null cmd->directive is the config tree node being processed; its filename lives in the config pool.
        let (file, line) = unsafe { (cstr_opt((*d).filename).unwrap_or(""), (*d).line_num) };
        Origin { file: file.to_string(), line: line as u32 }
    }

    /// An error message for Apache to print (it must live in the config pool).
    pub fn error(&self, msg: &str) -> *const std::os::raw::c_char {
        pstrdup(self.pool(), msg)
    }

    pub fn compile_regex(&self, pattern: &str) -> Option<Regex> {
        Regex::compile(self.pool(), pattern)
    }

    /// A path relative to ServerRoot made absolute (as Apache does for its own paths).
    pub fn server_root_relative(&self, path: &str) -> String {
        let c = cstring(path);
        // SAFETY: allocates the result in the live config pool, read right away.
        unsafe { cstr_opt(ffi::ap_server_root_relative(self.rec().pool, c.as_ptr())) }.unwrap_or(path).to_string()
    }

    /// Runs the directives inside the block being handled (like Apache's own containers do).
    pub fn walk_block_body(&self) -> Result<(), String> {
        let rec = self.rec();
        if rec.directive.is_null() {
            return Ok(());
        }
        // SAFETY: walks the block's children with the same cmd_parms, as Apache's containers do; the result is NULL or an error string in cmd->pool.
        let err = unsafe { ffi::ap_walk_config((*rec.directive).first_child, self.cmd, rec.context) };
        // SAFETY: an error string from ap_walk_config lives in the config pool.
        match unsafe { cstr_opt(err) } {
            Some(msg) => Err(msg.to_string()),
            None => Ok(()),
        }
    }
}
