//! kassa's JSON writer: the text `serde_json` writes, written with less work per byte.
//!
//! Two outputs, both compact:
//! - [`to_vec`] and [`to_string`]: exactly `serde_json::to_vec`'s text, for API answers written
//!   straight from a record (a created session's answer is ~2.5 KB) and records' stored documents.
//! - [`to_string_without_nulls`]: a record's stored document, the same text less every object
//!   member whose value is `null` (at any depth; `null`s in arrays stay).
//!
//! # Why not `serde_json`'s serializer
//!
//! It is what this reproduces, and it stays kassa's parser and its writer everywhere else. But
//! its string escaping looks each byte up in a table and hands every run between escapes and
//! every piece of punctuation to the writer as a separate `write_all` (a call to `memcpy`
//! each), and a struct's field names are escaped again on every call. Its string escaping was
//! 18 % of the runtime workers' instructions per created session, the answer and the stored
//! document together more than a quarter (bench/README.md, session 24). Here strings are scanned
//! eight bytes at a time (one word: is any byte a control character, `"` or `\`?), field names
//! and punctuation are appended to one `Vec<u8>` directly, and a `null` member (a `RawValue`
//! whose text is `null` too) is left out by truncating what was written of it — its comma, key
//! and `null` — instead of holding every key back until its value begins.
//!
//! Everything else keeps `serde_json`'s rules: non-finite floats are `null` (and refused as map
//! keys); floats are written by `serde_json` itself; integer, boolean and char map keys are
//! quoted; bytes are an array of numbers; an enum's variant is `"name"` or `{"name":…}`; a
//! `serde_json::value::RawValue` is written as it is. The property tests below hold the text to
//! `serde_json`'s for any `Value` and for the shapes serde derives.

use serde::Serialize;
use serde::ser::{self, Impossible};

type Error = serde_json::Error;
type Result<T = (), E = Error> = std::result::Result<T, E>;

/// `value` as compact JSON: the same text as `serde_json::to_vec`.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    written(value, false)
}

/// `value` as compact JSON: the same text as `serde_json::to_string`.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    text(written(value, false)?)
}

/// Append `value` as compact JSON to `out` (the text `serde_json::to_writer` writes).
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result {
    value.serialize(&mut Writer { out, skip_nulls: false })
}

/// `value` as compact JSON without the `null` members of its objects.
pub fn to_string_without_nulls<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    text(written(value, true)?)
}

fn written<T: Serialize + ?Sized>(value: &T, skip_nulls: bool) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(1024);
    value.serialize(&mut Writer { out: &mut out, skip_nulls })?;
    Ok(out)
}

fn text(out: Vec<u8>) -> Result<String> {
    // Only valid UTF-8 is written: whole strings, and ASCII around them.
    String::from_utf8(out).map_err(|e| ser::Error::custom(e.to_string()))
}

/// The name `serde_json` gives the struct a `RawValue` serializes as (its `raw_value` feature):
/// the one field's string is JSON text already, written as it is.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    skip_nulls: bool,
}

/// Each byte's escape: 0 for none, `u` for `\u00XX`, else the letter after the backslash.
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[0x22] = b'"';
    table[0x5c] = b'\\';
    table
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` that JSON must escape (below 0x20, `"` or `\`) is set in the
/// answer. Exact in whether any is set, and the lowest set bit is the first such byte; the bits
/// above it may be wrong (a subtraction's borrow runs upwards from a flagged byte), so a word is
/// scanned again from the byte after the first escape, never read on from its flags.
#[inline]
fn to_escape(w: u64) -> u64 {
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    let q = w ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q;
    let b = w ^ (ONES * u64::from(b'\\'));
    let backslash = b.wrapping_sub(ONES) & !b;
    (control | quote | backslash) & HIGHS
}

/// `s`, quoted and escaped as `serde_json` does.
fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // `bytes[start..i]` is scanned and needs no escape; it goes out whole at the next escape.
    let mut start = 0;
    let mut i = 0;
    if bytes.len() >= 8 {
        while i < bytes.len() {
            // A word from `i`; at the end, the last eight bytes, with those already scanned
            // replaced by one that needs no escape (they would flag the bytes above them). The
            // tail is read where it lies: padding it in a copy would stall the word's load on the
            // copy's smaller stores.
            let base = i.min(bytes.len() - 8);
            let Some(chunk) = bytes.get(base..).and_then(<[u8]>::first_chunk::<8>) else { break };
            let kept = u64::MAX << (8 * (i - base));
            let word = (u64::from_le_bytes(*chunk) & kept) | ((ONES * u64::from(b'a')) & !kept);
            let flagged = to_escape(word);
            if flagged == 0 {
                i = base + 8;
                continue;
            }
            let at = base + usize::try_from(flagged.trailing_zeros() / 8).unwrap_or_default();
            out.extend_from_slice(&bytes[start..at]);
            escape(out, bytes[at]);
            i = at + 1;
            start = i;
        }
    }
    // Byte by byte: what is too short for a word (most field names).
    for (at, &byte) in bytes.iter().enumerate().skip(i) {
        if ESCAPE[usize::from(byte)] != 0 {
            out.extend_from_slice(&bytes[start..at]);
            escape(out, byte);
            start = at + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match ESCAPE[usize::from(byte)] {
        b'u' => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(byte >> 4)],
            HEX[usize::from(byte & 0xf)],
        ]),
        letter => out.extend_from_slice(&[b'\\', letter]),
    }
}

fn write_int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn write_float<F: Serialize>(out: &mut Vec<u8>, f: F) -> Result {
    // serde_json's own float text (and its `null` for NaN and infinities).
    serde_json::to_writer(out, &f)
}

impl<'a, 'b> ser::Serializer for &'b mut Writer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Seq<'a, 'b>;
    type SerializeTuple = Seq<'a, 'b>;
    type SerializeTupleStruct = Seq<'a, 'b>;
    type SerializeTupleVariant = Seq<'a, 'b>;
    type SerializeMap = Object<'a, 'b>;
    type SerializeStruct = Object<'a, 'b>;
    type SerializeStructVariant = Object<'a, 'b>;

    fn serialize_bool(self, v: bool) -> Result {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result {
        write_float(self.out, v)
    }
    fn serialize_f64(self, v: f64) -> Result {
        write_float(self.out, v)
    }
    fn serialize_char(self, v: char) -> Result {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result {
        write_str(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        self.out.push(b'{');
        let open = self.out.len();
        write_str(self.out, variant);
        self.out.push(b':');
        let at = self.out.len();
        value.serialize(&mut *self)?;
        if self.skip_nulls && &self.out[at..] == b"null" {
            self.out.truncate(open);
        }
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Seq<'a, 'b>> {
        self.out.push(b'[');
        Ok(Seq { w: self, first: true, variant: false })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a, 'b>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq<'a, 'b>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Seq<'a, 'b>> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.extend_from_slice(b":[");
        Ok(Seq { w: self, first: true, variant: true })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Object<'a, 'b>> {
        self.out.push(b'{');
        Ok(Object::new(self, false, false))
    }
    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<Object<'a, 'b>> {
        if name == RAW_VALUE_TOKEN {
            return Ok(Object::new(self, false, true));
        }
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Object<'a, 'b>> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.extend_from_slice(b":{");
        Ok(Object::new(self, true, false))
    }
}

/// An array being written (a tuple variant's array also closes the object around it).
pub struct Seq<'a, 'b> {
    w: &'b mut Writer<'a>,
    first: bool,
    variant: bool,
}

impl Seq<'_, '_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        if !std::mem::take(&mut self.first) {
            self.w.out.push(b',');
        }
        value.serialize(&mut *self.w)
    }
    fn close(self) -> Result {
        self.w.out.extend_from_slice(if self.variant { b"]}" } else { b"]" });
        Ok(())
    }
}

/// serde's four kinds of array, each an array here.
macro_rules! arrays {
    ($($kind:ident::$element:ident),*) => {$(
        impl ser::$kind for Seq<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
                self.element(value)
            }
            fn end(self) -> Result {
                self.close()
            }
        }
    )*};
}

arrays!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// An object being written (a struct variant's object also closes the object around it).
pub struct Object<'a, 'b> {
    w: &'b mut Writer<'a>,
    first: bool,
    variant: bool,
    /// A `RawValue`: its one field is written as it is.
    raw: bool,
    /// Where the member being written began (before its comma), and whether it was the first:
    /// a `null` value takes the writer back there.
    member: (usize, bool),
}

impl<'a, 'b> Object<'a, 'b> {
    fn new(w: &'b mut Writer<'a>, variant: bool, raw: bool) -> Self {
        Self { w, first: true, variant, raw, member: (0, true) }
    }

    /// The comma (unless first) and the key, written by `key`.
    fn key(&mut self, key: impl FnOnce(&mut Vec<u8>) -> Result) -> Result {
        self.member = (self.w.out.len(), self.first);
        if !std::mem::take(&mut self.first) {
            self.w.out.push(b',');
        }
        key(self.w.out)
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.w.out.push(b':');
        let at = self.w.out.len();
        value.serialize(&mut *self.w)?;
        if self.w.skip_nulls && &self.w.out[at..] == b"null" {
            let (start, first) = self.member;
            self.w.out.truncate(start);
            self.first = first;
        }
        Ok(())
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Result {
        if self.raw {
            // A `RawValue` (rare: an event's object): its one field is its text.
            return match serde_json::to_value(value)? {
                serde_json::Value::String(text) => {
                    self.w.out.extend_from_slice(text.as_bytes());
                    Ok(())
                }
                _ => Err(ser::Error::custom("a raw JSON value must be its text")),
            };
        }
        self.key(|out| {
            write_str(out, name);
            Ok(())
        })?;
        self.value(value)
    }

    fn close(self) -> Result {
        if !self.raw {
            self.w.out.extend_from_slice(if self.variant { b"}}" } else { b"}" });
        }
        Ok(())
    }
}

impl ser::SerializeMap for Object<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.key(|out| key.serialize(Key(out)))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.value(value)
    }
    fn end(self) -> Result {
        self.close()
    }
}

/// A struct's fields, and a struct variant's.
macro_rules! structs {
    ($($kind:ident),*) => {$(
        impl ser::$kind for Object<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Result {
                self.field(name, value)
            }
            fn end(self) -> Result {
                self.close()
            }
        }
    )*};
}

structs!(SerializeStruct, SerializeStructVariant);

fn key_must_be_a_string() -> Error {
    ser::Error::custom("key must be a string")
}

/// A map's key: a string, or a number, boolean or char written as one (as `serde_json` does).
struct Key<'o>(&'o mut Vec<u8>);

impl Key<'_> {
    fn quoted(self, text: &str) -> Result {
        self.0.push(b'"');
        self.0.extend_from_slice(text.as_bytes());
        self.0.push(b'"');
        Ok(())
    }
    fn int(self, n: impl itoa::Integer) -> Result {
        self.quoted(itoa::Buffer::new().format(n))
    }
    fn float<F: Serialize>(self, f: F, finite: bool) -> Result {
        if !finite {
            return Err(ser::Error::custom("float key must be finite (got NaN or +/-inf)"));
        }
        self.0.push(b'"');
        write_float(self.0, f)?;
        self.0.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for Key<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result {
        write_str(self.0, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result {
        write_str(self.0, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_bool(self, v: bool) -> Result {
        self.quoted(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result {
        self.int(v)
    }
    fn serialize_i16(self, v: i16) -> Result {
        self.int(v)
    }
    fn serialize_i32(self, v: i32) -> Result {
        self.int(v)
    }
    fn serialize_i64(self, v: i64) -> Result {
        self.int(v)
    }
    fn serialize_i128(self, v: i128) -> Result {
        self.int(v)
    }
    fn serialize_u8(self, v: u8) -> Result {
        self.int(v)
    }
    fn serialize_u16(self, v: u16) -> Result {
        self.int(v)
    }
    fn serialize_u32(self, v: u32) -> Result {
        self.int(v)
    }
    fn serialize_u64(self, v: u64) -> Result {
        self.int(v)
    }
    fn serialize_u128(self, v: u128) -> Result {
        self.int(v)
    }
    fn serialize_f32(self, v: f32) -> Result {
        self.float(v, v.is_finite())
    }
    fn serialize_f64(self, v: f64) -> Result {
        self.float(v, v.is_finite())
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeTupleStruct> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

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
        assert_eq!(text(&json!({"a": "null", "b": [], "c": {}})), r#"{"a":"null","b":[],"c":{}}"#);
        assert_eq!(
            text(&json!({"ünï": "✓", "a": [1, 2.5, true], "e": {}})),
            r#"{"ünï":"✓","a":[1,2.5,true],"e":{}}"#
        );
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let every_byte: String = (0u8..0x80).map(char::from).collect();
        for s in [
            "",
            "a",
            "\"",
            "\\",
            "\u{1f}",
            "1234567\"",
            "12345678\"",
            "\\]a:null",
            "a\\\"\u{1}\\]b",
            "123456789\u{0}",
            "\u{7f}é✓\u{10ffff}",
            "https://shop.test/ok?s={CHECKOUT_SESSION_ID}",
            every_byte.as_str(),
        ] {
            assert_eq!(to_vec(s).unwrap(), serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(Option<u8>),
        Tuple(i8, Option<String>),
        Struct { a: Option<()>, b: char },
    }

    #[test]
    fn struct_fields_enums_and_map_keys_of_every_kind() {
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
            numbers: BTreeMap<u32, Option<bool>>,
            negative: BTreeMap<i128, u128>,
            flags: BTreeMap<bool, f32>,
            letters: BTreeMap<char, ()>,
            raw: Box<serde_json::value::RawValue>,
            shapes: Vec<Shape>,
            bytes: serde_bytes_like::Bytes,
            floats: (f64, f64, f64),
            last: Option<Inner>,
        }
        mod serde_bytes_like {
            pub struct Bytes(pub Vec<u8>);
            impl serde::Serialize for Bytes {
                fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    s.serialize_bytes(&self.0)
                }
            }
        }
        let v = Outer {
            first: None,
            inner: Inner { gone: None, unit: (), kept: Some("k") },
            numbers: [(1, None), (2, Some(false))].into(),
            negative: [(-3, u128::MAX)].into(),
            flags: [(true, 0.5)].into(),
            letters: [('"', ())].into(),
            raw: serde_json::value::RawValue::from_string(r#"{"r":null}"#.into()).unwrap(),
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(None),
                Shape::Tuple(-1, None),
                Shape::Struct { a: None, b: '\n' },
            ],
            bytes: serde_bytes_like::Bytes(vec![0, 255]),
            floats: (1e21, f64::NAN, -0.0),
            last: None,
        };
        // The compact text is serde_json's, byte for byte.
        assert_eq!(String::from_utf8(to_vec(&v).unwrap()).unwrap(), serde_json::to_string(&v).unwrap());
        // Without nulls: an object member whose value is null goes, wherever it is; a raw
        // fragment is written as it is (it is text already), nulls in arrays stay.
        assert_eq!(
            to_string_without_nulls(&v).unwrap(),
            concat!(
                r#"{"inner":{"kept":"k"},"numbers":{"2":false},"#,
                r#""negative":{"-3":340282366920938463463374607431768211455},"#,
                r#""flags":{"true":0.5},"letters":{},"raw":{"r":null},"#,
                r#""shapes":["Unit",{},{"Tuple":[-1,null]},{"Struct":{"b":"\n"}}],"#,
                r#""bytes":[0,255],"floats":[1e+21,null,-0.0]}"#
            )
        );
    }

    #[test]
    fn keys_that_cannot_be_strings_are_refused_as_serde_json_refuses_them() {
        let v: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        assert!(serde_json::to_vec(&v).is_err());
        assert_eq!(to_vec(&v).unwrap_err().to_string(), "key must be a string");
        struct Keys(f64);
        impl Serialize for Keys {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(None)?;
                m.serialize_entry(&self.0, &0)?;
                m.end()
            }
        }
        assert!(to_vec(&Keys(f64::NAN)).is_err());
        assert!(serde_json::to_vec(&Keys(f64::NAN)).is_err());
        assert_eq!(to_vec(&Keys(2.5)).unwrap(), br#"{"2.5":0}"#);
        assert_eq!(serde_json::to_vec(&Keys(2.5)).unwrap(), br#"{"2.5":0}"#);
    }

    /// `v` without the members whose value is `null`, at every depth: what must be written.
    fn nulls_dropped(v: Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, nulls_dropped(v))).collect(),
            ),
            Value::Array(a) => Value::Array(a.into_iter().map(nulls_dropped).collect()),
            v => v,
        }
    }

    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![
            // Full of what must come out as written, or escaped: quotes, backslashes, `:null`,
            // control characters, non-ASCII, at every offset in a word.
            proptest::string::string_regex(r#"([a-z"\\:,{}\[\]é✓\x00-\x1f\x7f]|:null|\\")*"#).unwrap(),
            any::<String>(),
        ]
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            any_text().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((any_text(), inner), 0..6)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_text_is_serde_json_s(v in any_json()) {
            prop_assert_eq!(to_vec(&v).unwrap(), serde_json::to_vec(&v).unwrap());
            prop_assert_eq!(to_string(&v).unwrap(), serde_json::to_string(&v).unwrap());
        }

        #[test]
        fn exactly_the_null_members_are_left_out(v in any_json()) {
            let expected = serde_json::to_string(&nulls_dropped(v.clone())).unwrap();
            prop_assert_eq!(to_string_without_nulls(&v).unwrap(), expected);
        }

        #[test]
        fn any_string_is_escaped_as_serde_json_escapes_it(s in any_text()) {
            prop_assert_eq!(to_vec(&s).unwrap(), serde_json::to_vec(&s).unwrap());
        }
    }
}
