//! The server's RESP request parser: any bytes, both limit sets. A parse
//! never panics, never takes more than the buffer holds, and a request it
//! returns re-encodes to bytes that parse to the same arguments.
#![no_main]

use hoardhaven::resp::{Limits, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for limits in [Limits::AUTHENTICATED, Limits::UNAUTHENTICATED] {
        let mut rest = data;
        for _ in 0..10_000 {
            match parse(rest, &limits) {
                Ok(Some(request)) => {
                    assert!(request.consumed > 0 && request.consumed <= rest.len());
                    let mut encoded = format!("*{}\r\n", request.args.len()).into_bytes();
                    for arg in &request.args {
                        encoded.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
                        encoded.extend_from_slice(arg);
                        encoded.extend_from_slice(b"\r\n");
                    }
                    let again = parse(&encoded, &Limits::AUTHENTICATED)
                        .expect("a re-encoded request parses")
                        .expect("and is whole");
                    assert_eq!(again.args, request.args);
                    rest = &rest[request.consumed..];
                }
                _ => break,
            }
        }
    }
});
