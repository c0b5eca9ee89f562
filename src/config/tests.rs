use super::*;

fn dir_of(p: Parsed) -> DirSettings {
    match p {
        Parsed::Dir(d) => d,
        other => panic!("expected dir settings, got {other:?}"),
    }
}

#[test]
fn script_alias_with_options() {
    let p = parse_directive(
        "WSGIScriptAlias",
        "/api/v1 /srv/rest_api.wsgi application-group=%{GLOBAL} pass-authorization=On callable-object=app",
        Scope::VirtualHost,
    )
    .unwrap();
    let Parsed::Alias { is_regex, pattern, target, options } = p else { panic!() };
    assert!(!is_regex);
    assert_eq!((pattern.as_str(), target.as_str()), ("/api/v1", "/srv/rest_api.wsgi"));
    assert_eq!(options.application_group, Some(GroupSpec::Global));
    assert_eq!(options.pass_authorization, Some(true));
    assert_eq!(options.callable_object.as_deref(), Some("app"));
}

#[test]
fn misspelt_alias_option_names_accepted_forms() {
    let err = parse_directive("WSGIScriptAlias", "/ /x.wsgi proces-group=x", Scope::Server).unwrap_err();
    assert!(err.contains("proces-group=x"), "{err}");
    assert!(err.contains("process-group=NAME") && err.contains("pass-authorization=On|Off"), "{err}");
    let err = parse_directive("WSGIScriptAlias", "/ /x.wsgi callable-object=", Scope::Server).unwrap_err();
    assert!(err.contains("needs a value"), "{err}");
    let err = parse_directive("WSGIScriptAlias", "/ /x.wsgi noequals", Scope::Server).unwrap_err();
    assert!(err.contains("Invalid option 'noequals'"), "{err}");
}

#[test]
fn alias_needs_two_words_and_a_slash() {
    assert!(parse_directive("WSGIScriptAlias", "/only", Scope::Server).unwrap_err().contains("takes"));
    assert!(parse_directive("WSGIScriptAlias", "api /x.wsgi", Scope::Server).unwrap_err().contains("must start with '/'"));
    let p = parse_directive("WSGIScriptAliasMatch", "^/m/([^/]+) /app/$1.wsgi", Scope::Server).unwrap();
    assert!(matches!(p, Parsed::Alias { is_regex: true, .. }));
}

#[test]
fn flags_and_bad_values() {
    assert_eq!(dir_of(parse_directive("WSGIPassAuthorization", "On", Scope::Directory).unwrap()).pass_authorization, Some(true));
    let err = parse_directive("WSGIPassAuthorization", "Maybe", Scope::Directory).unwrap_err();
    assert!(err.contains("On or Off"), "{err}");
    let err = parse_directive("WSGIScriptReloading", "On Off", Scope::Server).unwrap_err();
    assert!(err.contains("WSGIScriptReloading takes"), "{err}");
    assert_eq!(
        dir_of(parse_directive("WSGIMapHEADToGET", "auto", Scope::Server).unwrap()).map_head_to_get,
        Some(HeadMapping::Auto)
    );
}

#[test]
fn scope_rules() {
    let err = parse_directive("WSGIPythonOptimize", "1", Scope::VirtualHost).unwrap_err();
    assert!(err.contains("cannot occur within <VirtualHost>") && err.contains("main server config"), "{err}");
    let err = parse_directive("WSGIScriptAlias", "/ /x.wsgi", Scope::Directory).unwrap_err();
    assert!(err.contains("cannot occur within <Directory>"), "{err}");
    assert!(parse_directive("WSGICallableObject", "app", Scope::Directory).is_ok());
}

#[test]
fn daemon_and_telemetry_directives_parse_at_server_level() {
    let err = parse_directive("WSGIDaemonProcess", "web proceses=2", Scope::Server).unwrap_err();
    assert!(err.contains("Invalid option 'proceses=2'"), "{err}");
    assert!(matches!(parse_directive("WSGIDaemonProcess", "web processes=2", Scope::Server), Ok(Parsed::Daemon(_))));
    assert!(matches!(parse_directive("WSGITelemetryService", "unix:/x.sock", Scope::Server), Ok(Parsed::Telemetry(_))));
    let err = parse_directive("WSGISlowRequests", "2", Scope::VirtualHost).unwrap_err();
    assert!(err.contains("cannot occur within <VirtualHost>"), "{err}");
}

#[test]
fn process_and_application_groups() {
    assert_eq!(dir_of(parse_directive("WSGIApplicationGroup", "%{GLOBAL}", Scope::Directory).unwrap()).application_group, Some(GroupSpec::Global));
    assert_eq!(
        dir_of(parse_directive("WSGIApplicationGroup", "%{RESOURCE}", Scope::Directory).unwrap()).application_group,
        Some(GroupSpec::Other("%{RESOURCE}".into()))
    );
    assert_eq!(dir_of(parse_directive("WSGIProcessGroup", "web", Scope::Server).unwrap()).process_group, Some(GroupSpec::Other("web".into())));
}

#[test]
fn import_script_needs_both_groups() {
    let err = parse_directive("WSGIImportScript", "/x.py application-group=%{GLOBAL}", Scope::Server).unwrap_err();
    assert!(err.contains("both process-group= and application-group="), "{err}");
    let Parsed::ImportScript(i) =
        parse_directive("WSGIImportScript", "/x.py process-group=%{GLOBAL} application-group=web", Scope::VirtualHost).unwrap()
    else {
        panic!()
    };
    assert_eq!(i.application_group, GroupSpec::Other("web".into()));
    assert!(parse_directive("WSGIImportScript", "/x.py process-group=%{GLOBAL} application-group=%{RESOURCE}", Scope::Server).is_err());
}

#[test]
fn handler_scripts_overlay_by_name() {
    let a = dir_of(parse_directive("WSGIHandlerScript", "my-handler /a.wsgi", Scope::Server).unwrap());
    let b = dir_of(parse_directive("WSGIHandlerScript", "my-handler /b.wsgi application-group=x", Scope::Directory).unwrap());
    let merged = DirSettings::merged(&a, &b);
    assert_eq!(merged.handler_script("my-handler").unwrap().path, "/b.wsgi");
    let err = parse_directive("WSGIHandlerScript", "h /a.wsgi callable-object=x", Scope::Server).unwrap_err();
    assert!(err.contains("Invalid option"), "{err}");
}

#[test]
fn interpreter_options_blocks() {
    let Parsed::OptionsBlock(b) =
        parse_in("<WSGIInterpreterOptions", "application-group=web>", Scope::Server, false).unwrap()
    else {
        panic!()
    };
    assert_eq!(b.application_group, Some(GroupSpec::Other("web".into())));
    let err = parse_in("WSGIScriptAlias", "/ /x.wsgi", Scope::Server, true).unwrap_err();
    assert!(err.contains("cannot be used inside <WSGIInterpreterOptions>"), "{err}");
    assert!(parse_in("WSGIPythonPath", "/lib", Scope::Server, true).is_ok());
    let path = |p: &str| InterpSettings { python_path: vec![p.into()], ..Default::default() };
    let base = InterpSettings { restrict_stdin: Some(false), ..path("/base") };
    let blocks = vec![
        OptionsBlock { application_group: Some(GroupSpec::Other("web".into())), process_group: Some(GroupSpec::Global), settings: InterpSettings { restrict_stdin: Some(true), ..path("/both") } },
        OptionsBlock { application_group: Some(GroupSpec::Other("web".into())), process_group: None, settings: InterpSettings { restrict_stdin: Some(false), ..path("/web") } },
        OptionsBlock { application_group: Some(GroupSpec::Other("api".into())), process_group: None, settings: path("/api") },
    ];
    let web = interpreter_settings(&base, &blocks, "", "web");
    assert_eq!(web.python_path, vec!["/base", "/web", "/both"]);
    assert_eq!(web.restrict_stdin, Some(true), "the most specific block wins");
    let main = interpreter_settings(&base, &blocks, "", "");
    assert_eq!(main.python_path, vec!["/base"]);
}

#[test]
fn interpreter_features_of_newer_pythons_are_refused_when_on() {
    assert!(parse_directive("WSGIPerInterpreterGIL", "Off", Scope::Server).is_ok());
    let minor: u32 = embedded_python_version().split('.').nth(1).unwrap().parse().unwrap();
    let on = parse_directive("WSGIPerInterpreterGIL", "On", Scope::Server);
    if minor < 12 {
        assert!(on.unwrap_err().contains("needs Python 3.12 or later"));
    } else {
        let Ok(Parsed::Interp(_)) = on else { panic!("WSGIPerInterpreterGIL On refused on Python 3.{minor}") };
    }
    assert!(parse_directive("WSGIFreeThreading", "On", Scope::Server).unwrap_err().contains("free-threaded"));
    assert!(parse_directive("WSGISwitchInterval", "0", Scope::Server).unwrap_err().contains("above 0"));
}

#[test]
fn python_settings() {
    let Parsed::Interp(p) = parse_directive("WSGIPythonPath", "/a:/b /c", Scope::Server).unwrap() else { panic!() };
    assert_eq!(p.python_path, vec!["/a", "/b", "/c"]);
    let Parsed::Python(p) = parse_directive("WSGIPythonHashSeed", "42", Scope::Server).unwrap() else { panic!() };
    assert_eq!(p.hash_seed, Some(Some(42)));
    assert!(parse_directive("WSGIPythonOptimize", "3", Scope::Server).unwrap_err().contains("0 to 2"));
}

#[test]
fn python_home_checks() {
    let err = parse_directive("WSGIPythonHome", "/nonexistent/venv", Scope::Server).unwrap_err();
    assert!(err.contains("'/nonexistent/venv' does not exist"), "{err}");
    assert!(check_python_home("relative/venv").unwrap_err().contains("absolute"));
    let dir = std::env::temp_dir().join(format!("wsgi-home-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pyvenv.cfg"), "home = /usr/bin\nversion = 2.7.18\n").unwrap();
    let err = check_python_home(dir.to_str().unwrap()).unwrap_err();
    assert!(err.contains("Python 2.7.18") && err.contains(&embedded_python_version()), "{err}");
    std::fs::write(dir.join("pyvenv.cfg"), format!("home = /usr/bin\nversion = {}.2\n", embedded_python_version())).unwrap();
    assert!(check_python_home(dir.to_str().unwrap()).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn vhost_merge_puts_its_aliases_first() {
    let alias = |p: &str| ScriptAlias {
        matcher: AliasMatcher::Prefix(p.into()),
        target: format!("{p}.wsgi"),
        options: AliasOptions::default(),
        origin: Origin::default(),
    };
    let base = ServerConfig {
        aliases: vec![alias("/main")],
        dir: DirSettings { script_reloading: Some(false), pass_authorization: Some(true), ..Default::default() },
        ..Default::default()
    };
    let vhost = ServerConfig {
        aliases: vec![alias("/vhost")],
        dir: DirSettings { script_reloading: Some(true), ..Default::default() },
        ..Default::default()
    };
    let merged = ServerConfig::merged(&base, &vhost);
    let names: Vec<_> = merged.aliases.iter().map(|a| a.target.clone()).collect();
    assert_eq!(names, vec!["/vhost.wsgi", "/main.wsgi"]);
    assert_eq!(merged.dir.script_reloading, Some(true));
    assert_eq!(merged.dir.pass_authorization, Some(true));
}

#[test]
fn trusted_proxy_directives_add_up_in_one_scope() {
    let mut d = DirSettings::default();
    d.add_directive(&dir_of(parse_directive("WSGITrustedProxyHeaders", "X-Forwarded-For", Scope::Server).unwrap()));
    d.add_directive(&dir_of(parse_directive("WSGITrustedProxyHeaders", "X-Forwarded-Proto", Scope::Server).unwrap()));
    assert_eq!(d.trusted_proxy_headers, Some(vec!["X-Forwarded-For".to_string(), "X-Forwarded-Proto".to_string()]));
    assert!(parse_directive("WSGITrustedProxyHeaders", "X-Evil", Scope::Server).is_err());
    assert!(parse_directive("WSGITrustedProxies", "10.0.0.0/8 ::1", Scope::Directory).is_ok());
    let err = parse_directive("WSGITrustedProxies", "10.0.0.0/40", Scope::Server).unwrap_err();
    assert!(err.contains("CIDR"), "{err}");
}

#[test]
fn hook_scripts() {
    let d = dir_of(parse_directive("WSGIAuthUserScript", "/auth.py application-group=auth", Scope::Directory).unwrap());
    assert_eq!(d.auth_user_script, Some(HookScript { path: "/auth.py".into(), application_group: Some(GroupSpec::Other("auth".into())) }));
    assert!(d.uses_hook_scripts());
    assert!(parse_directive("WSGIAccessScript", "/a.py", Scope::Server).unwrap_err().contains("cannot occur"));
    assert!(parse_directive("WSGIAccessScript", "/a.py process-group=x", Scope::Directory).unwrap_err().contains("Invalid option"));
    assert!(parse_directive("WSGIDispatchScript", "/d.py", Scope::Server).is_ok());
}

#[test]
fn per_interpreter_gil_is_resolved_like_the_other_block_settings() {
    let gil = |on: bool| InterpSettings { per_interpreter_gil: Some(on), ..Default::default() };
    let base = gil(true);
    let blocks = vec![
        OptionsBlock { process_group: Some(GroupSpec::Other("web".into())), application_group: None, settings: gil(false) },
        OptionsBlock { process_group: Some(GroupSpec::Other("web".into())), application_group: Some(GroupSpec::Other("api".into())), settings: gil(true) },
        OptionsBlock { process_group: None, application_group: Some(GroupSpec::Other("legacy".into())), settings: gil(false) },
    ];
    let of = |pg: &str, ag: &str| interpreter_settings(&base, &blocks, pg, ag).per_interpreter_gil;
    assert_eq!(of("", "shop"), Some(true), "server-wide setting");
    assert_eq!(of("web", "shop"), Some(false), "process-group block");
    assert_eq!(of("web", "api"), Some(true), "the most specific block wins");
    assert_eq!(of("", "legacy"), Some(false));
}
