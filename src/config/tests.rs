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
fn not_yet_implemented_directives_are_named() {
    let err = parse_directive("WSGIDaemonProcess", "web processes=2", Scope::Server).unwrap_err();
    assert!(err.starts_with("WSGIDaemonProcess is recognised but not implemented yet"), "{err}");
    let err = parse_directive("<WSGIInterpreterOptions", "process-group=x>", Scope::Server).unwrap_err();
    assert!(err.starts_with("WSGIInterpreterOptions is recognised"), "{err}");
}

#[test]
fn groups_other_than_global_are_refused_for_now() {
    assert_eq!(dir_of(parse_directive("WSGIApplicationGroup", "%{GLOBAL}", Scope::Directory).unwrap()).application_group, Some(GroupSpec::Global));
    let err = parse_directive("WSGIProcessGroup", "web", Scope::Server).unwrap_err();
    assert!(err.contains("only %{GLOBAL}") && err.contains("WSGIProcessGroup %{GLOBAL}"), "{err}");
    let err = parse_directive("WSGIScriptAlias", "/ /x.wsgi process-group=web", Scope::Server).unwrap_err();
    assert!(err.contains("daemon process groups"), "{err}");
}

#[test]
fn python_settings() {
    let Parsed::Python(p) = parse_directive("WSGIPythonPath", "/a:/b /c", Scope::Server).unwrap() else { panic!() };
    assert_eq!(p.path, vec!["/a", "/b", "/c"]);
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
