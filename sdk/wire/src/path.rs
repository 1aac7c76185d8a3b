//! A `serde` deserializer over a borrowed `serde_json::Value` that records
//! where a failure happened: each error carries the dotted / indexed path of
//! the innermost value (or object key) being deserialised when it was
//! raised. This is what lets a rejected payload name
//! `deployment.deploy.status` instead of only the offending value.

use std::fmt;

use serde::Deserializer;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A deserialisation failure and the path it happened at (`""` = the root).
#[derive(Debug)]
pub(crate) struct PathError {
    pub path: String,
    pub message: String,
    located: bool,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PathError {}

impl de::Error for PathError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        PathError {
            path: String::new(),
            message: msg.to_string(),
            located: false,
        }
    }
}

/// Gives an error raised below `path` that location, unless a deeper level
/// already did.
fn locate<T>(result: Result<T, PathError>, path: &str) -> Result<T, PathError> {
    result.map_err(|mut e| {
        if !e.located {
            e.path = path.to_string();
            e.located = true;
        }
        e
    })
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(crate) fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, PathError> {
    T::deserialize(ValueDe {
        value,
        path: String::new(),
    })
}

struct ValueDe<'a> {
    value: &'a Value,
    path: String,
}

impl<'de> Deserializer<'de> for ValueDe<'de> {
    type Error = PathError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        let path = self.path;
        let result = match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visit_array(items, &path, visitor),
            Value::Object(map) => visit_object(map, &path, visitor),
        };
        locate(result, &path)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        if self.value.is_null() {
            let path = self.path;
            locate(visitor.visit_none(), &path)
        } else {
            let path = self.path.clone();
            locate(visitor.visit_some(self), &path)
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PathError> {
        match self.value {
            Value::String(s) => {
                let path = self.path;
                locate(
                    visitor.visit_enum(BorrowedStrDeserializer::<PathError>::new(s)),
                    &path,
                )
            }
            // Only unit variants exist in the records; anything else is a
            // type error that `deserialize_any` reports.
            _ => {
                let _ = (name, variants);
                self.deserialize_any(visitor)
            }
        }
    }

    /// Structs are JSON objects only (serde would also take the positional
    /// array form, which the original never accepts).
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PathError> {
        match self.value {
            Value::Object(_) => self.deserialize_any(visitor),
            other => locate(
                Err(de::Error::invalid_type(unexpected(other), &visitor)),
                &self.path,
            ),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        let path = self.path.clone();
        locate(visitor.visit_newtype_struct(self), &path)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map
        identifier ignored_any
    }
}

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                de::Unexpected::Unsigned(u)
            } else if let Some(i) = n.as_i64() {
                de::Unexpected::Signed(i)
            } else {
                de::Unexpected::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

fn visit_array<'de, V: Visitor<'de>>(
    items: &'de [Value],
    path: &str,
    visitor: V,
) -> Result<V::Value, PathError> {
    let mut seq = SeqDe {
        items,
        next: 0,
        path,
    };
    let value = visitor.visit_seq(&mut seq)?;
    if seq.next < items.len() {
        return Err(de::Error::invalid_length(items.len(), &"fewer elements"));
    }
    Ok(value)
}

fn visit_object<'de, V: Visitor<'de>>(
    map: &'de Map<String, Value>,
    path: &str,
    visitor: V,
) -> Result<V::Value, PathError> {
    visitor.visit_map(MapDe {
        entries: map.iter(),
        pending: None,
        path,
    })
}

struct SeqDe<'a, 'p> {
    items: &'a [Value],
    next: usize,
    path: &'p str,
}

impl<'de> SeqAccess<'de> for SeqDe<'de, '_> {
    type Error = PathError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, PathError> {
        let Some(value) = self.items.get(self.next) else {
            return Ok(None);
        };
        let path = format!("{}[{}]", self.path, self.next);
        self.next += 1;
        seed.deserialize(ValueDe { value, path }).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.next)
    }
}

struct MapDe<'a, 'p> {
    entries: serde_json::map::Iter<'a>,
    pending: Option<(&'a Value, String)>,
    path: &'p str,
}

impl<'de> MapAccess<'de> for MapDe<'de, '_> {
    type Error = PathError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, PathError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let path = child(self.path, key);
        let key = locate(
            seed.deserialize(BorrowedStrDeserializer::<PathError>::new(key)),
            &path,
        )?;
        self.pending = Some((value, path));
        Ok(Some(key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, PathError> {
        let (value, path) = self.pending.take().ok_or_else(|| {
            <PathError as de::Error>::custom("map value requested before its key")
        })?;
        seed.deserialize(ValueDe { value, path })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}
