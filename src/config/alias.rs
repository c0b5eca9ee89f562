//! URL-path matching for WSGIScriptAlias, with mod_alias's rules: each '/' in the alias matches
//! one or more '/' in the URI, other characters match exactly, and the match must end at the
//! end of the URI or at a '/' (unless the alias itself ends with '/').

/// How many bytes of `uri` the alias matched, or None. An alias of exactly "/" matches every
/// URI with length 0, so the whole URI is appended to the script path (mod_wsgi's rule; the
/// directory walk then turns it into PATH_INFO).
/// The URI is bytes: it may hold any byte after %-decoding, UTF-8 or not.
pub fn prefix_match_len(uri: impl AsRef<[u8]>, alias: &str) -> Option<usize> {
    let (u, a) = (uri.as_ref(), alias.as_bytes());
    if alias == "/" {
        return u.starts_with(b"/").then_some(0);
    }
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

/// Pairs (earlier, later) of prefix aliases where the earlier one catches every URL of the
/// later one, so the later one can never be reached (first match wins). The classic trap:
/// `WSGIScriptAlias /` written before `WSGIScriptAlias /api/v1`.
pub fn shadowed_pairs(prefixes: &[Option<&str>]) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    for (later, b) in prefixes.iter().enumerate() {
        let Some(b) = b else { continue };
        for (earlier, a) in prefixes[..later].iter().enumerate() {
            if let Some(a) = a {
                if prefix_match_len(b, a).is_some() {
                    pairs.push((earlier, later));
                    break;
                }
            }
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::{prefix_match_len, shadowed_pairs};

    #[test]
    fn root_before_api_is_shadowing() {
        assert_eq!(shadowed_pairs(&[Some("/"), Some("/api/v1")]), vec![(0, 1)]);
        assert!(shadowed_pairs(&[Some("/api/v1"), Some("/")]).is_empty());
        assert_eq!(shadowed_pairs(&[Some("/app"), None, Some("/app/admin")]), vec![(0, 2)]);
        assert!(shadowed_pairs(&[Some("/app"), Some("/application")]).is_empty());
    }

    #[test]
    fn mod_alias_rules() {
        assert_eq!(prefix_match_len("/emb/t", "/emb/t"), Some(6));
        assert_eq!(prefix_match_len("/emb/t/", "/emb/t"), Some(6));
        assert_eq!(prefix_match_len("/emb/t//a", "/emb/t"), Some(6));
        assert_eq!(prefix_match_len("/emb//t/a", "/emb/t"), Some(7));
        assert_eq!(prefix_match_len("/emb/tx", "/emb/t"), None);
        assert_eq!(prefix_match_len("/emb", "/emb/t"), None);
        assert_eq!(prefix_match_len("/slash/x", "/slash/"), Some(7));
        assert_eq!(prefix_match_len(b"/env/\xff\xfe", "/env"), Some(4));
        assert_eq!(prefix_match_len(b"/\xff", "/"), Some(0));
        assert_eq!(prefix_match_len("/slash", "/slash/"), None);
        assert_eq!(prefix_match_len("/anything/at/all", "/"), Some(0));
        assert_eq!(prefix_match_len("/api/v1/items", "/api/v1"), Some(7));
        assert_eq!(prefix_match_len("/api/v10", "/api/v1"), None);
    }
}
