//! The protobuf wire format read against the field table (`fields.txt`): a message's bytes
//! become the JSON object the API server would have decoded, field by field.

use std::collections::HashMap;
use std::sync::LazyLock;

use base64::Engine as _;
use serde_json::{Map, Value, json};

/// What a field holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Str,
    Bytes,
    Bool,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Double,
    Float,
    Message(&'static str),
    /// `map<string, V>`: entries are messages with the key at 1 and the value at 2.
    Map(Box<Ty>),
}

#[derive(Debug, Clone)]
pub struct Field {
    pub tag: u64,
    pub json: &'static str,
    pub ty: Ty,
    pub repeated: bool,
}

/// Messages by name (`api.core.v1.PodSpec`), their fields by tag.
pub static MESSAGES: LazyLock<HashMap<&'static str, Vec<Field>>> =
    LazyLock::new(|| parse_table(include_str!("fields.txt")));

fn parse_ty(s: &'static str) -> Ty {
    match s {
        "string" => Ty::Str,
        "bytes" => Ty::Bytes,
        "bool" => Ty::Bool,
        "int32" => Ty::Int32,
        "int64" => Ty::Int64,
        "uint32" => Ty::Uint32,
        "uint64" => Ty::Uint64,
        "double" => Ty::Double,
        "float" => Ty::Float,
        other => match other.strip_prefix("map:") {
            Some(value) => Ty::Map(Box::new(parse_ty(value))),
            None => Ty::Message(other),
        },
    }
}

fn parse_table(text: &'static str) -> HashMap<&'static str, Vec<Field>> {
    let mut messages: HashMap<&'static str, Vec<Field>> = HashMap::new();
    let mut current = None;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let Some(field) = line.strip_prefix(' ') else {
            messages.insert(line, Vec::new());
            current = Some(line);
            continue;
        };
        let mut parts = field.split(' ');
        let (Some(tag), Some(json), Some(ty), Some(message)) =
            (parts.next(), parts.next(), parts.next(), current)
        else {
            panic!("fields.txt: bad line {line:?}");
        };
        let (repeated, ty) = match ty.strip_prefix('*') {
            Some(t) => (true, t),
            None => (false, ty),
        };
        let field = Field {
            tag: tag.parse().expect("fields.txt: a tag is a number"),
            json,
            ty: parse_ty(ty),
            repeated,
        };
        messages.entry(message).or_default().push(field);
    }
    messages
}

/// Why bytes are not the message they should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("unexpected end of data")]
    Truncated,
    #[error("varint overflows 64 bits")]
    VarintOverflow,
    #[error("field {tag} of {message} has wire type {wire}, which its type cannot have")]
    WireType {
        message: &'static str,
        tag: u64,
        wire: u8,
    },
    #[error("unsupported wire type {0}")]
    UnknownWireType(u8),
    #[error("field {field} of {message} is not valid UTF-8")]
    Utf8 {
        message: &'static str,
        field: &'static str,
    },
    #[error("no message type {0}")]
    UnknownMessage(String),
    #[error("field {field} of {message} is not JSON: {error}")]
    RawJson {
        message: &'static str,
        field: &'static str,
        error: String,
    },
}

/// A field's value on the wire, before its type reads it.
enum Raw<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8]),
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, WireError> {
        let mut value = 0u64;
        for i in 0..10 {
            let (&b, rest) = self.buf.split_first().ok_or(WireError::Truncated)?;
            self.buf = rest;
            if i == 9 && b > 1 {
                return Err(WireError::VarintOverflow);
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError::VarintOverflow)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.buf.len() < n {
            return Err(WireError::Truncated);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn next(&mut self) -> Result<Option<(u64, u8, Raw<'a>)>, WireError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let wire = (key & 7) as u8;
        let raw = match wire {
            0 => Raw::Varint(self.varint()?),
            1 => Raw::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().expect("8 bytes"),
            )),
            2 => {
                let n = usize::try_from(self.varint()?).map_err(|_| WireError::Truncated)?;
                Raw::Len(self.take(n)?)
            }
            5 => Raw::Fixed32(u32::from_le_bytes(
                self.take(4)?.try_into().expect("4 bytes"),
            )),
            w => return Err(WireError::UnknownWireType(w)),
        };
        Ok(Some((key >> 3, wire, raw)))
    }
}

/// Decodes `bytes` as the message `name` into the JSON the API server would read.
pub fn decode(name: &'static str, bytes: &[u8]) -> Result<Value, WireError> {
    let fields = MESSAGES
        .get(name)
        .ok_or_else(|| WireError::UnknownMessage(name.to_owned()))?;
    let mut out = Map::new();
    let mut reader = Reader { buf: bytes };
    while let Some((tag, wire, raw)) = reader.next()? {
        // Fields this table does not know are skipped, as protobuf decoders do.
        let Some(field) = fields.iter().find(|f| f.tag == tag) else {
            continue;
        };
        let bad = || WireError::WireType {
            message: name,
            tag,
            wire,
        };
        if field.repeated {
            let list = out
                .entry(field.json)
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(list) = list else {
                unreachable!("a repeated field is an array")
            };
            match raw {
                // Packed numbers: one length-delimited run of values.
                Raw::Len(run) if is_numeric(&field.ty) => {
                    let mut r = Reader { buf: run };
                    while !r.buf.is_empty() {
                        let raw = match field.ty {
                            Ty::Double => Raw::Fixed64(u64::from_le_bytes(
                                r.take(8)?.try_into().expect("8 bytes"),
                            )),
                            Ty::Float => Raw::Fixed32(u32::from_le_bytes(
                                r.take(4)?.try_into().expect("4 bytes"),
                            )),
                            _ => Raw::Varint(r.varint()?),
                        };
                        list.push(scalar(name, field, raw).ok_or_else(bad)?);
                    }
                }
                raw => list.push(value(name, field, &field.ty, raw)?.ok_or_else(bad)?),
            }
            continue;
        }
        match &field.ty {
            Ty::Map(value_ty) => {
                let Raw::Len(entry) = raw else {
                    return Err(bad());
                };
                let (key, val) = map_entry(name, field, value_ty, entry)?;
                let map = out
                    .entry(field.json)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(map) = map {
                    map.insert(key, val);
                }
            }
            ty => {
                let v = value(name, field, ty, raw)?.ok_or_else(bad)?;
                match (field.json, v) {
                    // A struct Go embeds inline: its fields are this object's.
                    ("-", Value::Object(inner)) => out.extend(inner),
                    ("-", _) => return Err(bad()),
                    (json, v) => {
                        out.insert(json.to_owned(), v);
                    }
                }
            }
        }
    }
    special(name, out)
}

fn is_numeric(ty: &Ty) -> bool {
    matches!(
        ty,
        Ty::Bool | Ty::Int32 | Ty::Int64 | Ty::Uint32 | Ty::Uint64 | Ty::Double | Ty::Float
    )
}

fn map_entry(
    message: &'static str,
    field: &Field,
    value_ty: &Ty,
    entry: &[u8],
) -> Result<(String, Value), WireError> {
    let mut key = String::new();
    let mut val = None;
    let mut r = Reader { buf: entry };
    while let Some((tag, wire, raw)) = r.next()? {
        let bad = WireError::WireType { message, tag, wire };
        match (tag, raw) {
            (1, Raw::Len(k)) => {
                key = std::str::from_utf8(k)
                    .map_err(|_| WireError::Utf8 {
                        message,
                        field: field.json,
                    })?
                    .to_owned();
            }
            (1, _) => return Err(bad),
            (2, raw) => val = Some(value(message, field, value_ty, raw)?.ok_or(bad)?),
            _ => {}
        }
    }
    // An entry without its value holds the value type's zero.
    let val = val.unwrap_or_else(|| match value_ty {
        Ty::Str => json!(""),
        Ty::Bytes => json!(""),
        Ty::Message(m) => decode(m, &[]).unwrap_or(Value::Null),
        Ty::Bool => json!(false),
        _ => json!(0),
    });
    Ok((key, val))
}

/// One value of `ty`; `None` when the wire type does not fit it.
fn value(
    message: &'static str,
    field: &Field,
    ty: &Ty,
    raw: Raw<'_>,
) -> Result<Option<Value>, WireError> {
    Ok(match (ty, raw) {
        (Ty::Str, Raw::Len(b)) => Some(Value::String(
            std::str::from_utf8(b)
                .map_err(|_| WireError::Utf8 {
                    message,
                    field: field.json,
                })?
                .to_owned(),
        )),
        (Ty::Bytes, Raw::Len(b)) => {
            Some(json!(base64::engine::general_purpose::STANDARD.encode(b)))
        }
        (Ty::Message(m), Raw::Len(b)) => Some(decode(m, b)?),
        (Ty::Str | Ty::Bytes | Ty::Message(_) | Ty::Map(_), _) => None,
        (_, raw) => scalar(message, field, raw),
    })
}

fn scalar(_message: &'static str, field: &Field, raw: Raw<'_>) -> Option<Value> {
    // Casts reinterpret the wire's two's complement, as protobuf defines them.
    #[allow(clippy::cast_possible_wrap, clippy::cast_possible_truncation)]
    Some(match (&field.ty, raw) {
        (Ty::Bool, Raw::Varint(v)) => json!(v != 0),
        (Ty::Int32, Raw::Varint(v)) => json!(v as i64 as i32),
        (Ty::Int64, Raw::Varint(v)) => json!(v as i64),
        (Ty::Uint32, Raw::Varint(v)) => json!(v as u32),
        (Ty::Uint64, Raw::Varint(v)) => json!(v),
        (Ty::Double, Raw::Fixed64(v)) => json!(f64::from_bits(v)),
        (Ty::Float, Raw::Fixed32(v)) => json!(f32::from_bits(v)),
        _ => return None,
    })
}

/// The messages whose JSON is not an object of their fields (times, quantities, …), and
/// the fields Go writes even when unset (an empty string is an unset string).
fn special(name: &'static str, mut out: Map<String, Value>) -> Result<Value, WireError> {
    let short = name.rsplit('.').next().unwrap_or(name);
    let int = |out: &Map<String, Value>, k: &str| out.get(k).and_then(Value::as_i64).unwrap_or(0);
    Ok(match (name, short) {
        (_, "Time" | "MicroTime") if name.starts_with("apimachinery.pkg.apis.meta.v1.") => {
            time_json(
                int(&out, "seconds"),
                int(&out, "nanos"),
                short == "MicroTime",
            )
        }
        ("apimachinery.pkg.api.resource.Quantity", _) => out
            .remove("string")
            .unwrap_or_else(|| Value::String("0".to_owned())),
        ("apimachinery.pkg.util.intstr.IntOrString", _) => {
            if int(&out, "type") == 1 {
                out.remove("strVal").unwrap_or_else(|| json!(""))
            } else {
                out.remove("intVal").unwrap_or_else(|| json!(0))
            }
        }
        ("apimachinery.pkg.apis.meta.v1.Duration", _) => json!(go_duration(int(&out, "duration"))),
        ("apimachinery.pkg.apis.meta.v1.FieldsV1" | "apimachinery.pkg.runtime.RawExtension", _) => {
            let raw = match out.get("raw").or_else(|| out.get("Raw")) {
                Some(Value::String(b64)) => base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            if raw.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&raw).map_err(|e| WireError::RawJson {
                    message: name,
                    field: "raw",
                    error: e.to_string(),
                })?
            }
        }
        _ => {
            out.retain(|_, v| !(v.is_null() || v.as_str() == Some("")));
            // The server sets an object's generation; Go writes its unset 0.
            if name == "apimachinery.pkg.apis.meta.v1.ObjectMeta"
                && out.get("generation").and_then(Value::as_i64) == Some(0)
            {
                out.remove("generation");
            }
            Value::Object(out)
        }
    })
}

/// Seconds before 1970 of Go's zero time (0001-01-01T00:00:00Z): a `Time` left unset.
const GO_ZERO_TIME: i64 = -62_135_596_800;

fn time_json(seconds: i64, nanos: i64, micro: bool) -> Value {
    if (seconds == 0 && nanos == 0) || seconds == GO_ZERO_TIME {
        return Value::Null;
    }
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(seconds) else {
        return Value::Null;
    };
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if micro {
        Value::String(format!("{base}.{:06}Z", nanos / 1000))
    } else {
        Value::String(format!("{base}Z"))
    }
}

/// Go's `time.Duration.String()` of `nanos`, e.g. `1h0m0s`, `1.5s`.
pub(super) fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    let (h, rest) = (n / 3_600_000_000_000, n % 3_600_000_000_000);
    let (m, rest) = (rest / 60_000_000_000, rest % 60_000_000_000);
    if n < 1_000_000_000 {
        let (unit, per) = match n {
            0..1_000 => ("ns", 1),
            1_000..1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        let frac = format!("{:0width$}", n % per, width = per.ilog10() as usize);
        let frac = frac.trim_end_matches('0');
        let dot = if frac.is_empty() { "" } else { "." };
        return format!("{sign}{}{dot}{frac}{unit}", n / per);
    }
    let (s, frac) = (rest / 1_000_000_000, rest % 1_000_000_000);
    let secs = if frac == 0 {
        format!("{s}s")
    } else {
        format!("{s}.{}s", format!("{frac:09}").trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => format!("{sign}{secs}"),
        (0, m) => format!("{sign}{m}m{secs}"),
        (h, m) => format!("{sign}{h}h{m}m{secs}"),
    }
}
