//! Splits a directive's raw arguments the way Apache's `ap_getword_conf` does:
//! whitespace separates words; a word may be wrapped in double or single quotes, inside which
//! a backslash escapes the quote character. As in mod_wsgi's option parser, the value of a
//! `name=value` word may be quoted too (`home='/srv/my app'`, `python-path=''`): the quotes
//! go, spaces inside them stay.

pub fn split_words(raw: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = raw.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            read_quoted(&mut chars, first, &mut word);
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
                // name='value': the first '=' of a word may open a quoted value
                if c == '=' && word.matches('=').count() == 1 {
                    if let Some(&q) = chars.peek().filter(|&&q| q == '"' || q == '\'') {
                        chars.next();
                        read_quoted(&mut chars, q, &mut word);
                    }
                }
            }
        }
        words.push(word);
    }
    words
}

/// Reads up to the closing `quote` (consumed); a backslash escapes the quote character.
fn read_quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, quote: char, word: &mut String) {
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&quote) {
            word.push(quote);
            chars.next();
        } else if c == quote {
            break;
        } else {
            word.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_words;

    #[test]
    fn plain_and_quoted_words() {
        assert_eq!(split_words("  /a  /b.wsgi "), vec!["/a", "/b.wsgi"]);
        assert_eq!(split_words(r#""/my dir/x" 'y z'"#), vec!["/my dir/x", "y z"]);
        assert_eq!(split_words(r#""a\"b""#), vec![r#"a"b"#]);
        assert!(split_words("   ").is_empty());
    }

    #[test]
    fn quoted_option_values_as_mod_wsgi_express_writes_them() {
        assert_eq!(
            split_words("'localhost:8000' display-name='(wsgi:localhost:8000:0)' home='/srv/my app' python-path=''"),
            vec!["localhost:8000", "display-name=(wsgi:localhost:8000:0)", "home=/srv/my app", "python-path="]
        );
        assert_eq!(split_words(r#"process-group="a b" x=y'z'"#), vec!["process-group=a b", "x=y'z'"]);
    }
}
