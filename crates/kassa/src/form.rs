//! Stripe's form encoding, decoded into a JSON tree.
//!
//! `line_items[0][price]=price_1&line_items[0][quantity]=2&expand[]=line_items&metadata[k]=v`
//! becomes `{"line_items":[{"price":"price_1","quantity":"2"}],"expand":["line_items"],
//! "metadata":{"k":"v"}}`. Leaves stay strings; the typed requests accept strings for numbers and
//! booleans. JSON bodies decode to the same tree, so both encodings share one path into the typed
//! requests, and one `param` naming scheme for errors.
//!
//! Why by hand: the crates tried (serde_qs, serde_html_form, serde_urlencoded) either drop
//! bracketed keys silently or decode straight into types without telling which parameter failed;
//! this decoder is small, strict, and bounded:
//! - brackets may be raw or percent-encoded (`%5B%5D`, as the SDKs send them);
//! - a map whose keys are all array indices becomes an array, ordered by index (`[0]`, `[1]`, …,
//!   in any order); `[]` appends, and `a[][x]=1&a[][y]=2&a[][x]=3` groups as Rack does;
//! - at most [`MAX_DEPTH`] levels of brackets and indices up to [`MAX_INDEX`];
//! - bytes that are not UTF-8 after percent-decoding are refused, not replaced, and so is a `%`
//!   not followed by two hex digits (Rack refuses it too);
//! - a key given twice keeps the last value; a key used both as a value and as a map is refused.

use std::collections::BTreeMap;

use percent_encoding::percent_decode;
use serde_json::{Map, Value};

/// Levels of brackets after the name: `a[b][c][d][e][f][g][h]` is the deepest accepted.
pub const MAX_DEPTH: usize = 8;
/// The largest array index accepted (`line_items[10000]`).
pub const MAX_INDEX: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError {
    /// The parameter the problem is in, when there is one.
    pub param: Option<String>,
    pub message: String,
}

impl FormError {
    fn new(param: Option<&str>, message: impl Into<String>) -> Self {
        Self { param: param.map(str::to_owned), message: message.into() }
    }
}

#[derive(Debug)]
enum Node {
    Leaf(String),
    Map(BTreeMap<String, Node>),
    /// Elements appended with `[]`.
    List(Vec<Node>),
}

/// Decode an `application/x-www-form-urlencoded` body or query string.
pub fn parse(input: &[u8]) -> Result<Value, FormError> {
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for (key, value) in pairs(input)? {
        let path = split_key(&key)?;
        insert(&mut root, &key, &path, value)?;
    }
    Ok(to_value(Node::Map(root)))
}

/// Decode a body of flat `name=value` pairs, as the hosted page's own forms send them, without
/// building a tree: the names stay as they were sent (`quantity[li_1]`), in order. Percent-encoding
/// and UTF-8 are checked as in [`parse`].
pub fn pairs(input: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    let mut out = Vec::new();
    for pair in input.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (raw_key, raw_value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let key = decode(raw_key, None)?;
        if key.is_empty() {
            return Err(FormError::new(None, "A form parameter has an empty name."));
        }
        let value = decode(raw_value, Some(&key))?;
        out.push((key, value));
    }
    Ok(out)
}

fn decode(raw: &[u8], param: Option<&str>) -> Result<String, FormError> {
    // `percent_decode` passes a stray `%` through as it is; Rack (and so Stripe) refuses it.
    let malformed = raw.iter().enumerate().any(|(i, &b)| {
        b == b'%' && !raw.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if malformed {
        return Err(FormError::new(
            param,
            "The request body has an invalid %-encoding: `%` must be followed by two hexadecimal digits.",
        ));
    }
    let plus: Vec<u8> = raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
    let bytes: Vec<u8> = percent_decode(&plus).collect();
    String::from_utf8(bytes)
        .map_err(|_| FormError::new(param, "The request body is not valid UTF-8 once percent-decoded."))
}

/// `a[b][]` → `["a", "b", ""]`.
fn split_key(key: &str) -> Result<Vec<&str>, FormError> {
    let (name, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => return Ok(vec![key]),
    };
    if name.is_empty() {
        return Err(FormError::new(Some(key), format!("Invalid parameter name: {}", shorten(key))));
    }
    let mut path = vec![name];
    while !rest.is_empty() {
        let inner = rest
            .strip_prefix('[')
            .and_then(|r| r.find(']').map(|end| (&r[..end], &r[end + 1..])))
            .filter(|(seg, _)| !seg.contains('['));
        let Some((seg, after)) = inner else {
            return Err(FormError::new(Some(key), format!("Invalid parameter name: {}", shorten(key))));
        };
        path.push(seg);
        rest = after;
        if path.len() > MAX_DEPTH + 1 {
            return Err(FormError::new(
                Some(key),
                format!("Parameters may be nested at most {MAX_DEPTH} levels deep: {}", shorten(key)),
            ));
        }
    }
    Ok(path)
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(100).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn conflict(key: &str) -> FormError {
    FormError::new(
        Some(key),
        format!("Parameter {} is given both as a value and as an object.", shorten(key)),
    )
}

fn insert(
    map: &mut BTreeMap<String, Node>,
    key: &str,
    path: &[&str],
    value: String,
) -> Result<(), FormError> {
    let (first, rest) = match path.split_first() {
        Some(x) => x,
        None => return Ok(()),
    };
    if first.is_empty() {
        // `[]` directly inside a map: treat like an index-less key, which Rack refuses too.
        return Err(FormError::new(Some(key), format!("Invalid parameter name: {}", shorten(key))));
    }
    if let Ok(i) = first.parse::<usize>()
        && i > MAX_INDEX
    {
        return Err(FormError::new(Some(key), format!("Array indices may be at most {MAX_INDEX}.")));
    }
    if rest.is_empty() {
        match map.get(*first) {
            Some(Node::Map(_)) | Some(Node::List(_)) => return Err(conflict(key)),
            _ => {
                map.insert((*first).to_owned(), Node::Leaf(value));
            }
        }
        return Ok(());
    }
    let child = map.entry((*first).to_owned()).or_insert_with(|| {
        if rest[0].is_empty() { Node::List(Vec::new()) } else { Node::Map(BTreeMap::new()) }
    });
    insert_into(child, key, rest, value)
}

fn insert_into(node: &mut Node, key: &str, path: &[&str], value: String) -> Result<(), FormError> {
    match node {
        Node::Leaf(_) => Err(conflict(key)),
        Node::Map(m) => insert(m, key, path, value),
        Node::List(list) => {
            // path[0] is "" (an append).
            if !path[0].is_empty() {
                return Err(conflict(key));
            }
            let rest = &path[1..];
            if rest.is_empty() {
                list.push(Node::Leaf(value));
                return Ok(());
            }
            if rest[0].is_empty() {
                return Err(FormError::new(Some(key), format!("Invalid parameter name: {}", shorten(key))));
            }
            // Rack: add to the last element unless it already has this key.
            let start_new = match list.last() {
                Some(Node::Map(m)) => rest.len() == 1 && m.contains_key(rest[0]),
                _ => true,
            };
            if start_new {
                list.push(Node::Map(BTreeMap::new()));
            }
            match list.last_mut() {
                Some(last) => insert_into_map_node(last, key, rest, value),
                None => Ok(()),
            }
        }
    }
}

fn insert_into_map_node(node: &mut Node, key: &str, path: &[&str], value: String) -> Result<(), FormError> {
    match node {
        Node::Map(m) => insert(m, key, path, value),
        _ => Err(conflict(key)),
    }
}

fn to_value(node: Node) -> Value {
    match node {
        Node::Leaf(s) => Value::String(s),
        Node::List(items) => Value::Array(items.into_iter().map(to_value).collect()),
        Node::Map(m) => {
            let all_indices = !m.is_empty() && m.keys().all(|k| is_index(k));
            if all_indices {
                let mut items: Vec<(usize, Node)> =
                    m.into_iter().map(|(k, v)| (k.parse::<usize>().unwrap_or(usize::MAX), v)).collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(items.into_iter().map(|(_, v)| to_value(v)).collect())
            } else {
                Value::Object(m.into_iter().map(|(k, v)| (k, to_value(v))).collect::<Map<String, Value>>())
            }
        }
    }
}

/// `0`, `1`, `42` — not `01` or `-1`.
fn is_index(k: &str) -> bool {
    !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) && (k == "0" || !k.starts_with('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn p(s: &str) -> Value {
        parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn stripe_shapes() {
        assert_eq!(
            p(
                "line_items[0][price]=price_1&line_items[0][quantity]=2&line_items[1][price]=price_2&mode=payment"
            ),
            json!({"line_items": [{"price": "price_1", "quantity": "2"}, {"price": "price_2"}], "mode": "payment"})
        );
        assert_eq!(p("expand[]=a&expand[]=b"), json!({"expand": ["a", "b"]}));
        assert_eq!(p("expand[0]=a&expand[1]=b"), json!({"expand": ["a", "b"]}));
        assert_eq!(
            p("metadata[order]=6735&metadata[x]=y+z"),
            json!({"metadata": {"order": "6735", "x": "y z"}})
        );
        assert_eq!(
            p(
                "line_items%5B0%5D%5Bprice%5D=price_1&line_items%5B0%5D%5Badjustable_quantity%5D%5Benabled%5D=true"
            ),
            json!({"line_items": [{"price": "price_1", "adjustable_quantity": {"enabled": "true"}}]})
        );
        assert_eq!(
            p("line_items[1][price]=b&line_items[0][price]=a"),
            json!({"line_items": [{"price": "a"}, {"price": "b"}]})
        );
        assert_eq!(
            p(
                "line_items[][price]=a&line_items[][quantity]=1&line_items[][price]=b&line_items[][quantity]=2"
            ),
            json!({"line_items": [{"price": "a", "quantity": "1"}, {"price": "b", "quantity": "2"}]})
        );
        assert_eq!(p("a=&b"), json!({"a": "", "b": ""}));
        assert_eq!(
            p("success_url=https%3A%2F%2Fx.test%2Fok%3Fs%3D%7BCHECKOUT_SESSION_ID%7D"),
            json!({"success_url": "https://x.test/ok?s={CHECKOUT_SESSION_ID}"})
        );
        assert_eq!(p(""), json!({}));
        assert_eq!(p("mode=a&mode=b"), json!({"mode": "b"}));
        assert_eq!(p("metadata[01]=x"), json!({"metadata": {"01": "x"}}));
    }

    #[test]
    fn refusals() {
        assert!(parse(b"a=1&a[b]=2").is_err());
        assert!(parse(b"a[b]=2&a=1").is_err());
        assert!(parse(b"a%FF=1").is_err());
        assert!(parse(b"a=%C3%28").is_err());
        assert!(parse(b"a=%ZZ").is_err());
        assert!(parse(b"a=50%").is_err());
        assert!(parse(b"a=%4").is_err());
        assert!(parse(b"a%G1=1").is_err());
        assert_eq!(parse(b"a=%4a%4B").unwrap(), serde_json::json!({"a": "JK"}));
        assert!(parse(b"[x]=1").is_err());
        assert!(parse(b"a[b=1").is_err());
        assert!(parse(b"a[100001]=1").is_err());
        let deep = format!("a{}=1", "[x]".repeat(9));
        assert!(parse(deep.as_bytes()).is_err());
        let ok = format!("a{}=1", "[x]".repeat(8));
        assert!(parse(ok.as_bytes()).is_ok());
    }

    /// A tree of the shapes Stripe's form encoding can express: maps whose keys are not array
    /// indices, non-empty arrays, and string leaves, nested a few levels deep.
    fn tree() -> impl Strategy<Value = Value> {
        let leaf = "\\PC{0,8}".prop_map(Value::String);
        leaf.prop_recursive(4, 32, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 1..13).prop_map(Value::Array),
                proptest::collection::btree_map(name(), inner, 1..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A parameter name: any text without brackets that is not an array index.
    fn name() -> impl Strategy<Value = String> {
        prop_oneof!["[a-z_]{1,6}", "\\PC{1,4}"]
            .prop_filter("a name", |k| !k.contains(['[', ']']) && !is_index(k))
    }

    /// The encoder's choices, from a seed (xorshift).
    struct Choices(u64);

    impl Choices {
        fn flip(&mut self) -> bool {
            self.below(2) == 1
        }

        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            usize::try_from(self.0 % u64::try_from(n).unwrap_or(1)).unwrap_or(0)
        }
    }

    /// One `key=value` pair on its way out: the bracket segments after the name, the value, and,
    /// for an element appended with `[]`, its array and place (those must stay in order).
    struct Pair {
        segments: Vec<Option<String>>,
        value: String,
        append: Option<(usize, usize)>,
    }

    /// Flatten `v` into pairs under `segments` (`None` is `[]`). An array of leaves is sent with
    /// `[]` or with indices, by choice; any other array with indices.
    fn flatten(
        v: &Value,
        segments: &mut Vec<Option<String>>,
        out: &mut Vec<Pair>,
        c: &mut Choices,
        arrays: &mut usize,
    ) {
        match v {
            Value::String(s) => out.push(Pair { segments: segments.clone(), value: s.clone(), append: None }),
            Value::Array(items) if items.iter().all(Value::is_string) && c.flip() => {
                *arrays += 1;
                for (i, item) in items.iter().enumerate() {
                    let mut path = segments.clone();
                    path.push(None);
                    out.push(Pair {
                        segments: path,
                        value: item.as_str().unwrap_or_default().to_owned(),
                        append: Some((*arrays, i)),
                    });
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    segments.push(Some(i.to_string()));
                    flatten(item, segments, out, c, arrays);
                    segments.pop();
                }
            }
            Value::Object(m) => {
                for (k, item) in m {
                    segments.push(Some(k.clone()));
                    flatten(item, segments, out, c, arrays);
                    segments.pop();
                }
            }
            other => unreachable!("not generated: {other}"),
        }
    }

    /// `text` percent-encoded, with spaces as `+` or `%20` by choice.
    fn encode_text(text: &str, c: &mut Choices) -> String {
        let encoded =
            percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string();
        if c.flip() { encoded.replace("%20", "+") } else { encoded }
    }

    /// Stripe's form encoding of `root`, with the encoder's free choices made by `c`: brackets raw or
    /// percent-encoded (either case) one by one, `[]` or indices for arrays of leaves, `+` or `%20`,
    /// and the pairs in any order that keeps each `[]` array's elements in theirs.
    fn encode_tree(root: &Map<String, Value>, c: &mut Choices) -> String {
        let mut pairs = Vec::new();
        let mut arrays = 0;
        for (name, v) in root {
            flatten(v, &mut vec![Some(name.clone())], &mut pairs, c, &mut arrays);
        }
        for i in (1..pairs.len()).rev() {
            let j = c.below(i + 1);
            pairs.swap(i, j);
        }
        // Put each `[]` array's elements back in their order, in the places they landed.
        for array in 1..=arrays {
            let places: Vec<usize> =
                (0..pairs.len()).filter(|&i| pairs[i].append.is_some_and(|(a, _)| a == array)).collect();
            let mut mine: Vec<Pair> = Vec::new();
            for &i in places.iter().rev() {
                mine.push(pairs.remove(i));
            }
            mine.sort_by_key(|p| p.append.map(|(_, n)| n));
            for (&i, p) in places.iter().zip(mine) {
                pairs.insert(i, p);
            }
        }
        let brackets = ["[", "]", "%5B", "%5D", "%5b", "%5d"];
        pairs
            .iter()
            .map(|p| {
                let mut key = String::new();
                for (depth, seg) in p.segments.iter().enumerate() {
                    let text = seg.as_deref().map(|s| encode_text(s, c)).unwrap_or_default();
                    if depth == 0 {
                        key.push_str(&text);
                    } else {
                        let style = 2 * c.below(3);
                        key.push_str(&format!("{}{text}{}", brackets[style], brackets[style + 1]));
                    }
                }
                format!("{key}={}", encode_text(&p.value, c))
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    #[test]
    fn the_tree_encoder_makes_stripes_shapes() {
        let root = json!({"line_items": [{"price": "p 1", "quantity": "2"}], "expand": ["a", "b"]});
        let Value::Object(root) = root else { unreachable!() };
        // Some seed gives each shape; all of them decode to the same tree.
        let mut seen = std::collections::BTreeSet::new();
        for seed in 1..200 {
            let body = encode_tree(&root, &mut Choices(seed));
            assert_eq!(parse(body.as_bytes()).unwrap(), Value::Object(root.clone()), "{body}");
            seen.insert(body);
        }
        for shape in [
            "expand[]=a",
            "expand%5B%5D=a",
            "expand[1]=b",
            "%5b0%5d%5bprice%5d=p+1",
            "[0][price]=p",
            "=p%201",
        ] {
            assert!(seen.iter().any(|b| b.contains(shape)), "no body has {shape}: {seen:#?}");
        }
    }

    proptest! {
        #[test]
        fn nested_trees_round_trip(
            root in proptest::collection::btree_map(name(), tree(), 0..5),
            seed in 1..u64::MAX,
        ) {
            let root: Map<String, Value> = root.into_iter().collect();
            let body = encode_tree(&root, &mut Choices(seed));
            let decoded = parse(body.as_bytes());
            prop_assert_eq!(decoded, Ok(Value::Object(root)), "{}", body);
        }

        #[test]
        fn never_panics(input in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&input);
        }

        #[test]
        fn bracket_soup_never_panics(input in "[a-c\\[\\]=&0-2%5BD]{0,80}") {
            let _ = parse(input.as_bytes());
        }

        #[test]
        fn simple_pairs_round_trip(pairs in proptest::collection::btree_map("[a-z]{1,8}", "[ -~]{0,20}", 0..10)) {
            let encoded: Vec<String> = pairs.iter().map(|(k, v)| {
                format!("{k}={}", percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC))
            }).collect();
            let value = parse(encoded.join("&").as_bytes()).unwrap();
            let expected: Map<String, Value> = pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
            prop_assert_eq!(value, Value::Object(expected));
        }
    }
}
