//! LZF decompression, for the strings redis-server compresses in RDB files
//! (`rdbcompression yes`, values over 20 bytes).
//!
//! The stream is a sequence of runs, each led by a control byte: below 32
//! it is a literal of `ctrl + 1` bytes that follow; otherwise a back
//! reference of `(ctrl >> 5) + 2` bytes (7 means a longer length, its rest
//! in the next byte) at distance `((ctrl & 31) << 8 | next) + 1` behind
//! the output's end. Every length and distance is checked: damaged input
//! is an error, never a read outside the buffers.

/// Decompresses `input` into exactly `len` bytes; `None` if it is damaged
/// or does not decompress to that length.
pub fn decompress(input: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    let mut at = 0;
    while at < input.len() {
        let ctrl = input[at] as usize;
        at += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let literal = input.get(at..at + run)?;
            if out.len() + run > len {
                return None;
            }
            out.extend_from_slice(literal);
            at += run;
        } else {
            let mut run = ctrl >> 5;
            if run == 7 {
                run += *input.get(at)? as usize;
                at += 1;
            }
            run += 2;
            let distance = ((ctrl & 31) << 8 | *input.get(at)? as usize) + 1;
            at += 1;
            if distance > out.len() || out.len() + run > len {
                return None;
            }
            let from = out.len() - distance;
            if distance >= run {
                out.extend_from_within(from..from + run);
            } else {
                // The reference overlaps what it writes: a repeating pattern.
                for i in 0..run {
                    out.push(out[from + i]);
                }
            }
        }
    }
    (out.len() == len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn literals_and_references() {
        // "abcabcabcabc": a literal "abc", then 9 bytes from 3 back.
        let compressed = [2, b'a', b'b', b'c', (7 << 5), 0, 2];
        assert_eq!(
            decompress(&compressed, 12).as_deref(),
            Some(&b"abcabcabcabc"[..])
        );
        // Short form: 3 bytes (ctrl>>5 = 1) from 3 back.
        let compressed = [2, b'x', b'y', b'z', (1 << 5), 2];
        assert_eq!(decompress(&compressed, 6).as_deref(), Some(&b"xyzxyz"[..]));
    }

    #[test]
    fn damage_is_refused() {
        // A reference before the start.
        assert_eq!(decompress(&[0, b'a', (1 << 5), 5], 4), None);
        // A literal cut short.
        assert_eq!(decompress(&[5, b'a'], 6), None);
        // Longer or shorter than declared.
        assert_eq!(decompress(&[1, b'a', b'b'], 1), None);
        assert_eq!(decompress(&[1, b'a', b'b'], 3), None);
        // A long reference missing its length byte.
        assert_eq!(decompress(&[0, b'a', (7 << 5)], 10), None);
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(input in proptest::collection::vec(any::<u8>(), 0..64), len in 0usize..256) {
            if let Some(out) = decompress(&input, len) {
                prop_assert_eq!(out.len(), len);
            }
        }
    }
}
