//! Splits a directive's raw arguments the way Apache's `ap_getword_conf` does:
//! whitespace separates words; a word may be wrapped in double or single quotes, inside which
//! a backslash escapes the quote character.

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
            while let Some(c) = chars.next() {
                if c == '\\' && chars.peek() == Some(&first) {
                    word.push(first);
                    chars.next();
                } else if c == first {
                    break;
                } else {
                    word.push(c);
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
    words
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
}
