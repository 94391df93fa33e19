//! Stored documents written without their `null` members, in the one pass that writes them.
//!
//! A record's document is compact JSON as `serde_json::to_string` writes it, less every object
//! member whose value is `null` (at any depth; `null`s in arrays stay). The members are left out
//! as the text is written: [`SkipNulls`], a `serde_json` formatter, holds back each member's key
//! until the first byte of its value. A `null` drops the key; anything else writes it (after a
//! comma if a member of the same object came before) and goes on: no second pass over the text.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

/// `value` as compact JSON without the `null` members of its objects.
pub fn to_string_without_nulls<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(1024);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, SkipNulls::default());
    value.serialize(&mut ser)?;
    // serde_json writes only valid UTF-8 (strings whole, everything else ASCII).
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// Where the writer is in an object's member.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not inside a member's key, nor before its value's first byte.
    #[default]
    Passing,
    /// Writing a member's key: into `held`.
    Key,
    /// The key and its `:` are held; the value has not begun.
    BeforeValue,
}

/// A compact formatter that leaves out object members whose value is `null`.
#[derive(Debug, Default)]
pub struct SkipNulls {
    state: State,
    /// The held member's key, quoted, and its `:`.
    held: Vec<u8>,
    /// For each open object, whether a member has been written to it (the next one needs a
    /// comma); `false` for each open array (which keeps serde's own commas).
    written: Vec<bool>,
}

impl SkipNulls {
    /// Before a value's first byte: the held key goes out now, the value is not a `null`.
    fn release<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        if self.state == State::BeforeValue {
            self.state = State::Passing;
            if let Some(written) = self.written.last_mut() {
                if *written {
                    writer.write_all(b",")?;
                }
                *written = true;
            }
            writer.write_all(&self.held)?;
        }
        Ok(())
    }
}

/// A write that goes into the held key while one is being written, and otherwise to `writer`
/// after [`SkipNulls::release`].
macro_rules! write_through {
    ($(fn $name:ident(&mut self, writer: &mut W $(, $arg:ident: $ty:ty)*);)*) => {$(
        fn $name<W: ?Sized + Write>(&mut self, writer: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            if self.state == State::Key {
                return CompactFormatter.$name(&mut self.held $(, $arg)*);
            }
            self.release(writer)?;
            CompactFormatter.$name(writer $(, $arg)*)
        }
    )*};
}

impl Formatter for SkipNulls {
    write_through! {
        fn write_bool(&mut self, writer: &mut W, value: bool);
        fn write_i8(&mut self, writer: &mut W, value: i8);
        fn write_i16(&mut self, writer: &mut W, value: i16);
        fn write_i32(&mut self, writer: &mut W, value: i32);
        fn write_i64(&mut self, writer: &mut W, value: i64);
        fn write_i128(&mut self, writer: &mut W, value: i128);
        fn write_u8(&mut self, writer: &mut W, value: u8);
        fn write_u16(&mut self, writer: &mut W, value: u16);
        fn write_u32(&mut self, writer: &mut W, value: u32);
        fn write_u64(&mut self, writer: &mut W, value: u64);
        fn write_u128(&mut self, writer: &mut W, value: u128);
        fn write_f32(&mut self, writer: &mut W, value: f32);
        fn write_f64(&mut self, writer: &mut W, value: f64);
        fn write_number_str(&mut self, writer: &mut W, value: &str);
        fn begin_string(&mut self, writer: &mut W);
        fn end_string(&mut self, writer: &mut W);
        fn write_string_fragment(&mut self, writer: &mut W, fragment: &str);
        fn write_char_escape(&mut self, writer: &mut W, char_escape: CharEscape);
        fn write_byte_array(&mut self, writer: &mut W, value: &[u8]);
        fn write_raw_fragment(&mut self, writer: &mut W, fragment: &str);
    }

    fn write_null<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        match self.state {
            // The member's whole value: nothing of it is written.
            State::BeforeValue => {
                self.state = State::Passing;
                Ok(())
            }
            State::Key => CompactFormatter.write_null(&mut self.held),
            State::Passing => CompactFormatter.write_null(writer),
        }
    }

    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.release(writer)?;
        self.written.push(false);
        CompactFormatter.begin_array(writer)
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.written.pop();
        CompactFormatter.end_array(writer)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.release(writer)?;
        self.written.push(false);
        CompactFormatter.begin_object(writer)
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.written.pop();
        CompactFormatter.end_object(writer)
    }

    /// The comma is the formatter's to write, once it knows the member is kept.
    fn begin_object_key<W: ?Sized + Write>(&mut self, _writer: &mut W, _first: bool) -> io::Result<()> {
        self.held.clear();
        self.state = State::Key;
        Ok(())
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.held.push(b':');
        self.state = State::BeforeValue;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn text(v: &Value) -> String {
        to_string_without_nulls(v).unwrap()
    }

    #[test]
    fn null_members_are_left_out_and_nothing_else() {
        assert_eq!(text(&json!({"a": null})), "{}");
        assert_eq!(text(&json!({"a": null, "b": 1, "c": null})), r#"{"b":1}"#);
        assert_eq!(text(&json!({"a": 1, "b": null})), r#"{"a":1}"#);
        assert_eq!(
            text(&json!({"a": {"b": null, "c": [null, {"d": null}]}, "e": null})),
            r#"{"a":{"c":[null,{}]}}"#
        );
        assert_eq!(
            text(&json!([null, "k", null, {"x": null, "y": [null]}])),
            r#"[null,"k",null,{"y":[null]}]"#
        );
        assert_eq!(
            text(&json!({"\"": null, "a\\": null, "b": 0, "c\n": "\"x\":null"})),
            r#"{"b":0,"c\n":"\"x\":null"}"#
        );
        assert_eq!(text(&json!(null)), "null");
        assert_eq!(
            text(&json!({"ünï": "✓", "a": [1, 2.5, true], "e": {}})),
            r#"{"ünï":"✓","a":[1,2.5,true],"e":{}}"#
        );
    }

    #[test]
    fn struct_fields_and_map_keys_of_every_kind() {
        #[derive(Serialize)]
        struct Inner {
            gone: Option<u8>,
            unit: (),
            kept: Option<&'static str>,
        }
        #[derive(Serialize)]
        struct Outer {
            first: Option<i64>,
            inner: Inner,
            numbers: std::collections::BTreeMap<u32, Option<bool>>,
            raw: Box<serde_json::value::RawValue>,
            last: Option<Inner>,
        }
        let v = Outer {
            first: None,
            inner: Inner { gone: None, unit: (), kept: Some("k") },
            numbers: [(1, None), (2, Some(false))].into(),
            raw: serde_json::value::RawValue::from_string(r#"{"r":null}"#.into()).unwrap(),
            last: None,
        };
        // A raw fragment is written as it is: it is text already.
        assert_eq!(
            to_string_without_nulls(&v).unwrap(),
            r#"{"inner":{"kept":"k"},"numbers":{"2":false},"raw":{"r":null}}"#
        );
    }

    /// `v` without the members whose value is `null`, at every depth: what the formatter must
    /// write.
    fn nulls_dropped(v: Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, nulls_dropped(v))).collect(),
            ),
            Value::Array(a) => Value::Array(a.into_iter().map(nulls_dropped).collect()),
            v => v,
        }
    }

    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        // Strings full of what must come out as written: quotes, backslashes, `:null`, non-ASCII.
        let text = || proptest::string::string_regex(r#"([a-z"\\:,{}\[\]é✓]|:null|\\")*"#).unwrap();
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((text(), inner), 0..6)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn exactly_the_null_members_are_left_out(v in any_json()) {
            let expected = serde_json::to_string(&nulls_dropped(v.clone())).unwrap();
            proptest::prop_assert_eq!(to_string_without_nulls(&v).unwrap(), expected);
        }
    }
}
