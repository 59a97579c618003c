//! Request-body fields read leniently: a field of the wrong type does not stop
//! deserialisation, so every problem in a body can be reported at once, in
//! each API's own words (see `topchef::extract` and `scale::extract`).

use serde::de::Visitor;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// One field of a request body.
#[derive(Debug, Default)]
pub enum Field<T> {
    /// Left out (or `null`, for every kind but [`AnyObject`], whose fields
    /// need `#[serde(default)]` to tell the two apart).
    #[default]
    Absent,
    /// Present but not of its kind: `(field suffix, TopChef's message)` pairs.
    Invalid(Vec<(String, String)>),
    Given(T),
}

impl<T> Field<T> {
    pub fn given(self) -> Option<T> {
        match self {
            Self::Given(v) => Some(v),
            _ => None,
        }
    }
}

/// How a field of one kind is read from JSON.
pub trait Kind: Sized {
    /// Whether `null` means the field was left out.
    const NULL_IS_ABSENT: bool = true;
    fn read(value: Value) -> Result<Self, Vec<(String, String)>>;
}

fn invalid<T>(message: &str) -> Result<T, Vec<(String, String)>> {
    Err(vec![(String::new(), message.to_owned())])
}

/// Deserialised through `deserialize_option`, so a field left out of the body
/// is `Absent` without `#[serde(default)]` (serde hands missing fields to
/// `visit_none`, as it does for `Option`).
impl<'de, T: Kind> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_option(FieldVisitor(std::marker::PhantomData))
    }
}

struct FieldVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Kind> Visitor<'de> for FieldVisitor<T> {
    type Value = Field<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Field<T>, E> {
        Ok(if T::NULL_IS_ABSENT {
            Field::Absent
        } else {
            read(Value::Null)
        })
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Field<T>, D::Error> {
        Ok(read(Value::deserialize(deserializer)?))
    }
}

pub fn read<T: Kind>(value: Value) -> Field<T> {
    T::read(value).map_or_else(Field::Invalid, Field::Given)
}

impl Kind for String {
    fn read(value: Value) -> Result<Self, Vec<(String, String)>> {
        match value {
            Value::String(s) => Ok(s),
            _ => invalid("Not a valid string."),
        }
    }
}

/// A strict JSON boolean.
impl Kind for bool {
    fn read(value: Value) -> Result<Self, Vec<(String, String)>> {
        value.as_bool().map_or_else(|| invalid("Not a valid boolean."), Ok)
    }
}

/// A JSON object, kept as its text (documents travel to the services as text).
#[derive(Debug)]
pub struct Object(pub String);

impl Kind for Object {
    fn read(value: Value) -> Result<Self, Vec<(String, String)>> {
        match value {
            Value::Object(_) => Ok(Self(value.to_string())),
            _ => invalid("Not a valid mapping type."),
        }
    }
}

/// A JSON object where `null` is a wrong type rather than a left-out field.
#[derive(Debug)]
pub struct AnyObject(pub Value);

impl Kind for AnyObject {
    const NULL_IS_ABSENT: bool = false;
    fn read(value: Value) -> Result<Self, Vec<(String, String)>> {
        match value {
            Value::Object(_) => Ok(Self(value)),
            _ => invalid("Not a valid mapping type."),
        }
    }
}

/// A whole number, at least 1.
#[derive(Debug)]
pub struct PositiveInt(pub i64);

impl PositiveInt {
    pub fn as_i32(&self) -> i32 {
        i32::try_from(self.0).unwrap_or(i32::MAX)
    }
}

impl Kind for PositiveInt {
    fn read(value: Value) -> Result<Self, Vec<(String, String)>> {
        match value.as_i64() {
            Some(n) if n >= 1 => Ok(Self(n)),
            _ => invalid("Must be an integer of at least 1."),
        }
    }
}

/// Scale's `parse_bool`: a JSON bool or true/t/1/false/f/0, any case.
#[derive(Debug)]
pub struct LenientBool(pub bool);

impl Kind for LenientBool {
    fn read(value: Value) -> Result<Self, Vec<(String, String)>> {
        let text = match value {
            Value::Bool(b) => return Ok(Self(b)),
            Value::String(s) => s.trim().to_ascii_lowercase(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        match text.as_str() {
            "true" | "t" | "1" => Ok(Self(true)),
            "false" | "f" | "0" => Ok(Self(false)),
            _ => invalid("Not a valid boolean."),
        }
    }
}

/// Any whole number that fits 32 bits (a priority).
#[derive(Debug)]
pub struct Int32(pub i32);

impl Kind for Int32 {
    fn read(value: Value) -> Result<Self, Vec<(String, String)>> {
        value
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .map_or_else(|| invalid("Not a valid integer."), |n| Ok(Self(n)))
    }
}

/// An RFC 3339 date and time, e.g. `2026-01-01T12:00:00Z`.
#[derive(Debug)]
pub struct Timestamp(pub prost_types::Timestamp);

impl Timestamp {
    pub fn parse(text: &str) -> Option<prost_types::Timestamp> {
        let t = chrono::DateTime::parse_from_rfc3339(text.trim()).ok()?;
        Some(prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
        })
    }
}

impl Kind for Timestamp {
    fn read(value: Value) -> Result<Self, Vec<(String, String)>> {
        match value.as_str().and_then(Self::parse) {
            Some(t) => Ok(Self(t)),
            None => invalid("Not a valid RFC 3339 datetime."),
        }
    }
}

/// A limit that `null` removes: a whole number ≥ 1, or `null` for none.
#[derive(Debug)]
pub struct Limit(pub Option<i32>);

impl Kind for Limit {
    const NULL_IS_ABSENT: bool = false;
    fn read(value: Value) -> Result<Self, Vec<(String, String)>> {
        match value {
            Value::Null => Ok(Self(None)),
            v => match v.as_i64().and_then(|n| i32::try_from(n).ok()) {
                Some(n) if n >= 1 => Ok(Self(Some(n))),
                _ => invalid("Must be an integer of at least 1, or null."),
            },
        }
    }
}

/// A progress figure, 0 to 100.
#[derive(Debug)]
pub struct Percent(pub i32);

impl Kind for Percent {
    fn read(value: Value) -> Result<Self, Vec<(String, String)>> {
        match value.as_i64() {
            Some(n @ 0..=100) => Ok(Self(i32::try_from(n).unwrap_or(0))),
            _ => invalid("Must be an integer between 0 and 100."),
        }
    }
}
