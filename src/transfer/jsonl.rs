//! JSON Lines: one object a line, `{"key": .., "value": .., "expires_at_ms": ..}`.
//! A key or value that is not UTF-8 is base64, flagged by
//! `"key_encoding": "base64"` / `"value_encoding": "base64"`. Unknown
//! fields are ignored; blank lines are skipped.

use std::io::{BufRead, Write};

use base64::Engine as _;
use serde_json::{Map, Value as Json};

use super::{Entry, ParseError, ReadError, read_line};

/// Inserts `bytes` into `object` under `field`: a string when they are
/// UTF-8, else base64 flagged by `<field>_encoding: "base64"`.
pub fn put_bytes(object: &mut Map<String, Json>, field: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            object.insert(field.to_string(), Json::String(text.to_string()));
        }
        Err(_) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            object.insert(field.to_string(), Json::String(encoded));
            object.insert(
                format!("{field}_encoding"),
                Json::String("base64".to_string()),
            );
        }
    }
}

pub fn write(out: &mut impl Write, entry: &Entry) -> std::io::Result<()> {
    let mut object = Map::new();
    put_bytes(&mut object, "key", &entry.key);
    put_bytes(&mut object, "value", &entry.value);
    if let Some(at) = entry.expiry_ms {
        object.insert("expires_at_ms".to_string(), Json::from(at));
    }
    serde_json::to_writer(&mut *out, &Json::Object(object))?;
    out.write_all(b"\n")
}

fn get_bytes(object: &Map<String, Json>, field: &str) -> Result<Vec<u8>, String> {
    let text = match object.get(field) {
        None => return Err(format!("missing \"{field}\"")),
        Some(value) => value
            .as_str()
            .ok_or_else(|| format!("\"{field}\" must be a string"))?,
    };
    match object.get(&format!("{field}_encoding")).map(|e| e.as_str()) {
        None | Some(Some("utf-8" | "utf8")) => Ok(text.as_bytes().to_vec()),
        Some(Some("base64")) => base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| format!("\"{field}\" is not valid base64: {e}")),
        Some(other) => Err(format!(
            "unknown \"{field}_encoding\" {other:?}: expected \"base64\""
        )),
    }
}

pub fn read(input: &mut impl BufRead, line: &mut u64) -> Result<Option<Entry>, ReadError> {
    loop {
        let Some(text) = read_line(input, line)? else {
            return Ok(None);
        };
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let bad = |message: String| ParseError {
            line: *line,
            message,
        };
        let object = match serde_json::from_slice::<Json>(&text) {
            Ok(Json::Object(object)) => object,
            Ok(_) => return Err(bad("expected a JSON object".to_string()).into()),
            Err(e) => return Err(bad(format!("invalid JSON: {e}")).into()),
        };
        let key = get_bytes(&object, "key").map_err(bad)?;
        let value = get_bytes(&object, "value").map_err(bad)?;
        let expiry_ms = match object.get("expires_at_ms") {
            None | Some(Json::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|ms| *ms > 0 && *ms < i64::MAX as u64)
                    .ok_or_else(
                        || bad("\"expires_at_ms\" must be Unix milliseconds".to_string()),
                    )?,
            ),
        };
        return Ok(Some(Entry {
            key,
            value,
            expiry_ms,
        }));
    }
}
