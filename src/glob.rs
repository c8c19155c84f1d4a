//! Glob patterns with Redis's rules (`KEYS`, `SCAN MATCH`), over bytes:
//! `*` any run of bytes, `?` any one byte, `[abc]` `[^abc]` `[a-z]` a byte
//! in (or not in) a set, `\x` the byte `x` itself. A `[` without its `]`
//! ends the set at the end of the pattern, as in Redis.

/// Whether `text` matches `pattern`.
pub fn matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, text index).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    if p == pattern.len() {
                        return true;
                    }
                    star = Some((p, t));
                    continue;
                }
                _ if t < text.len() => {
                    if let Some(next) = match_one(pattern, p, text[t]) {
                        p = next;
                        t += 1;
                        continue;
                    }
                }
                _ => {}
            }
        } else if t == text.len() {
            return true;
        }
        // Mismatch: let the last `*` swallow one more byte, if there is one.
        match star {
            Some((after, from)) if from < text.len() => {
                star = Some((after, from + 1));
                p = after;
                t = from + 1;
            }
            _ => return false,
        }
    }
}

/// Matches the single-byte element at `pattern[p]` (not `*`) against
/// `byte`; the index after the element when it matches.
fn match_one(pattern: &[u8], p: usize, byte: u8) -> Option<usize> {
    match pattern[p] {
        b'?' => Some(p + 1),
        b'\\' if p + 1 < pattern.len() => (pattern[p + 1] == byte).then_some(p + 2),
        b'[' => {
            let mut i = p + 1;
            let negate = pattern.get(i) == Some(&b'^');
            if negate {
                i += 1;
            }
            let mut found = false;
            while i < pattern.len() && pattern[i] != b']' {
                if pattern[i] == b'\\' && i + 1 < pattern.len() {
                    found |= pattern[i + 1] == byte;
                    i += 2;
                } else if i + 2 < pattern.len() && pattern[i + 1] == b'-' && pattern[i + 2] != b']'
                {
                    let (lo, hi) = (
                        pattern[i].min(pattern[i + 2]),
                        pattern[i].max(pattern[i + 2]),
                    );
                    found |= (lo..=hi).contains(&byte);
                    i += 3;
                } else {
                    found |= pattern[i] == byte;
                    i += 1;
                }
            }
            // Past the `]` (or at the end of an unterminated set).
            let next = (i + 1).min(pattern.len());
            (found != negate).then_some(next)
        }
        literal => (literal == byte).then_some(p + 1),
    }
}

/// The bytes every match starts with: the pattern up to its first special
/// byte, with escapes resolved. Listing keys by this prefix first keeps a
/// glob such as `user:*` from reading the whole keyspace.
pub fn literal_prefix(pattern: &[u8]) -> Vec<u8> {
    let mut prefix = Vec::new();
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'*' | b'?' | b'[' => break,
            b'\\' if i + 1 < pattern.len() => {
                prefix.push(pattern[i + 1]);
                i += 2;
            }
            b'\\' => break,
            byte => {
                prefix.push(byte);
                i += 1;
            }
        }
    }
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_glob_rules() {
        let yes = |p: &str, t: &str| assert!(matches(p.as_bytes(), t.as_bytes()), "{p} ~ {t}");
        let no = |p: &str, t: &str| assert!(!matches(p.as_bytes(), t.as_bytes()), "{p} !~ {t}");
        // The examples of Redis's KEYS documentation.
        yes("h?llo", "hello");
        yes("h?llo", "hallo");
        yes("h?llo", "hxllo");
        yes("h*llo", "hllo");
        yes("h*llo", "heeeello");
        yes("h[ae]llo", "hello");
        yes("h[ae]llo", "hallo");
        no("h[ae]llo", "hillo");
        yes("h[^e]llo", "hallo");
        yes("h[^e]llo", "hbllo");
        no("h[^e]llo", "hello");
        yes("h[a-b]llo", "hallo");
        yes("h[a-b]llo", "hbllo");
        no("h[a-b]llo", "hcllo");
        yes("h[b-a]llo", "hallo");
        yes("*", "");
        yes("*", "anything");
        yes("a*", "a");
        no("a*", "b");
        yes("*a*b*", "xxaxxbxx");
        no("*a*b*", "xxbxxaxx");
        yes("user:*", "user:1");
        no("user:*", "users");
        yes("\\*", "*");
        no("\\*", "x");
        yes("[\\]]", "]");
        yes("a[bc", "ab");
        no("?", "");
        no("", "a");
        yes("", "");
        yes("**a**", "a");
        yes("a*b", "ab");
        no("a*b", "abc");
    }

    #[test]
    fn non_utf8_bytes_match_as_bytes() {
        assert!(matches(b"\xff*", b"\xff\x00"));
        assert!(matches(b"[\x80-\xff]", b"\x90"));
        assert!(!matches(b"[\x80-\xff]", b"a"));
    }

    #[test]
    fn literal_prefixes() {
        assert_eq!(literal_prefix(b"user:*"), b"user:");
        assert_eq!(literal_prefix(b"a\\*b*"), b"a*b");
        assert_eq!(literal_prefix(b"*x"), b"");
        assert_eq!(literal_prefix(b"abc"), b"abc");
        assert_eq!(literal_prefix(b"a[bc]"), b"a");
    }
}
