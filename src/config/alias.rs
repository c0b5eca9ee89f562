//! URL-path matching for WSGIScriptAlias, with mod_alias's rules: each '/' in the alias matches
//! one or more '/' in the URI, other characters match exactly, and the match must end at the
//! end of the URI or at a '/' (unless the alias itself ends with '/').

/// How many bytes of `uri` the alias matched, or None. An alias of exactly "/" matches every
/// URI with length 0, so the whole URI is appended to the script path (mod_wsgi's rule; the
/// directory walk then turns it into PATH_INFO).
pub fn prefix_match_len(uri: &str, alias: &str) -> Option<usize> {
    if alias == "/" {
        return uri.starts_with('/').then_some(0);
    }
    let (u, a) = (uri.as_bytes(), alias.as_bytes());
    let (mut ui, mut ai) = (0, 0);
    while ai < a.len() {
        if a[ai] == b'/' {
            if u.get(ui) != Some(&b'/') {
                return None;
            }
            while a.get(ai) == Some(&b'/') {
                ai += 1;
            }
            while u.get(ui) == Some(&b'/') {
                ui += 1;
            }
        } else {
            if u.get(ui) != Some(&a[ai]) {
                return None;
            }
            ui += 1;
            ai += 1;
        }
    }
    let alias_ends_with_slash = a.last() == Some(&b'/');
    if !alias_ends_with_slash && ui < u.len() && u[ui] != b'/' {
        return None;
    }
    Some(ui)
}

#[cfg(test)]
mod tests {
    use super::prefix_match_len;

    #[test]
    fn mod_alias_rules() {
        assert_eq!(prefix_match_len("/emb/t", "/emb/t"), Some(6));
        assert_eq!(prefix_match_len("/emb/t/", "/emb/t"), Some(6));
        assert_eq!(prefix_match_len("/emb/t//a", "/emb/t"), Some(6));
        assert_eq!(prefix_match_len("/emb//t/a", "/emb/t"), Some(7));
        assert_eq!(prefix_match_len("/emb/tx", "/emb/t"), None);
        assert_eq!(prefix_match_len("/emb", "/emb/t"), None);
        assert_eq!(prefix_match_len("/slash/x", "/slash/"), Some(7));
        assert_eq!(prefix_match_len("/slash", "/slash/"), None);
        assert_eq!(prefix_match_len("/anything/at/all", "/"), Some(0));
        assert_eq!(prefix_match_len("/api/v1/items", "/api/v1"), Some(7));
        assert_eq!(prefix_match_len("/api/v10", "/api/v1"), None);
    }
}
