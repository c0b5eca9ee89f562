//! Generates Rust bindings for the Apache/APR API the module uses and compiles the C shim.
//! Apache's symbols stay undefined in the .so and resolve from httpd at LoadModule time.

use std::path::PathBuf;
use std::process::Command;

fn tool_output(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {cmd}: {e} (install apache2-dev: `make deps`)"));
    assert!(out.status.success(), "{cmd} {args:?} failed");
    String::from_utf8(out.stdout).expect("utf-8 tool output")
}

/// Include dirs and -D flags from apxs / apr-1-config / apu-1-config.
fn apache_cflags() -> Vec<String> {
    let mut flags = vec![format!("-I{}", tool_output("apxs", &["-q", "INCLUDEDIR"]).trim())];
    let apr = tool_output("apr-1-config", &["--includes", "--cppflags"]);
    let apu = tool_output("apu-1-config", &["--includes"]);
    for f in apr.split_whitespace().chain(apu.split_whitespace()) {
        if !flags.iter().any(|g| g == f) {
            flags.push(f.to_string());
        }
    }
    flags
}

/// "3.11" of the Python pyo3 links (PYO3_PYTHON), for config checks of python-home venvs.
fn embedded_python_version() -> String {
    let python = std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
    let v = tool_output(&python, &["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]);
    v.trim().to_string()
}

/// A libpython outside the system's library directories is found through an rpath in the
/// module; Apache's workers (www-data) must be able to read it, so a private one (under
/// /root, as pyenv's are) is refused with what to do instead.
fn link_libpython_dir() {
    let python = std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
    // The installation's own lib/ when its libpython is there: a copied (relocated) Python
    // still reports the LIBDIR it was built for.
    let find = "import os, sys, sysconfig\n\
                own = os.path.join(sys.base_prefix, 'lib')\n\
                lib = sysconfig.get_config_var('LDLIBRARY') or ''\n\
                print(own if lib and os.path.exists(os.path.join(own, lib)) else sysconfig.get_config_var('LIBDIR') or '')";
    let libdir = tool_output(&python, &["-c", find]);
    let libdir = libdir.trim();
    let system = ["/usr/lib", "/lib", "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64"];
    if libdir.is_empty() || system.contains(&libdir) {
        return;
    }
    let mut dir = std::path::Path::new(libdir);
    loop {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir).map(|m| m.permissions().mode()).unwrap_or(0);
        assert!(
            mode & 0o005 == 0o005,
            "{python}'s libpython is in {libdir}, which Apache's workers cannot read ({} is not world-readable). \
             Copy the installation to a world-readable prefix (cp -a it under /opt and chmod -R a+rX), and build with its python3.",
            dir.display()
        );
        match dir.parent() {
            Some(p) if p != dir => dir = p,
            _ => break,
        }
    }
    println!("cargo:rustc-cdylib-link-arg=-Wl,-rpath,{libdir}");
}

fn main() {
    println!("cargo:rerun-if-changed=apache-headers");
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    let version = embedded_python_version();
    println!("cargo:rustc-env=MOD_WSGI_RS_PYTHON_VERSION={version}");
    // PEP 684 (a GIL per sub-interpreter) is in CPython 3.12 and later.
    println!("cargo::rustc-check-cfg=cfg(python_own_gil)");
    let minor: u32 = version.split('.').nth(1).and_then(|m| m.parse().ok()).unwrap_or(0);
    if minor >= 12 {
        println!("cargo:rustc-cfg=python_own_gil");
    }
    // named in the message that refuses a venv of another Python
    println!("cargo:rustc-env=MOD_WSGI_RS_PYTHON={}", std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into()));
    link_libpython_dir();
    let flags = apache_cflags();

    let mut cc = cc::Build::new();
    cc.file("apache-headers/shim.c").include("apache-headers").warnings(true);
    for f in &flags {
        if let Some(dir) = f.strip_prefix("-I") {
            cc.include(dir);
        } else if let Some(def) = f.strip_prefix("-D") {
            let mut kv = def.splitn(2, '=');
            cc.define(kv.next().unwrap(), kv.next());
        }
    }
    cc.compile("wsgi_shim");

    let bindings = bindgen::Builder::default()
        .header("apache-headers/wrapper.h")
        .clang_args(&flags)
        .clang_arg("-Iapache-headers")
        .allowlist_function("ap_.*|apr_.*|wsgi_shim_.*")
        .allowlist_type("authn_provider|authz_provider|authn_status|authz_status|unixd_config_rec|request_rec|server_rec|conn_rec|module|command_rec|cmd_parms|ap_.*|apr_.*|process_rec|core_dir_config")
        .allowlist_var("AUTHN_.*|AUTHZ_.*|AUTH_.*|ap_top_module|ap_unixd_config|ap_server_conf|AP_.*|APR_.*|OK|DECLINED|DONE|HTTP_.*|M_.*|RSRC_CONF|ACCESS_CONF|OR_.*|APLOG_.*|REQUEST_CHUNKED_.*|OPT_.*|NOT_IN_.*|GLOBAL_ONLY|MODULE_MAGIC_.*")
        .default_macro_constant_type(bindgen::MacroTypeVariation::Signed)
        .default_enum_style(bindgen::EnumVariation::Consts)
        .derive_default(true)
        .layout_tests(true)
        .generate_comments(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("bindgen failed on apache-headers/wrapper.h (install libclang-dev)");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("apache_bindings.rs");
    bindings.write_to_file(out).expect("writing bindings");
}
