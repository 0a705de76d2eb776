//! A session payload read lazily: the top-level keys are located in the JSON
//! text, and a value is built only when a handler reads it.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroize as _;

use super::read::{parse_map, Parser};
use super::TAG_KEYS;
use crate::error::PayloadError;
use crate::value::{Map, Value, ValueError};

/// A session's data as it came in: the payload's text with its top-level
/// entries located, each value parsed only when it is read. A change made
/// with [`insert`](LazyMap::insert) or [`remove`](LazyMap::remove) keeps
/// the rest as it is; [`map_mut`](LazyMap::map_mut) turns it into a plain
/// [`Map`].
///
/// The payload is checked in full when the map is made ([`LazyMap::parse`]
/// fails exactly where [`parse_map`](super::parse_map) fails); what it saves
/// is the allocations: keys are slices of the text, and so are the strings
/// without escapes (the usual session value: an id, a name, a token), so a
/// request that reads one key builds one value.
///
/// A map made by [`LazyMap::parse_secret`] wipes its text when dropped or
/// turned into a [`Map`].
/// Its `Debug` shows the number of keys, never the data.
///
/// # Examples
///
/// ```
/// use websession_core::json::LazyMap;
///
/// let mut data = LazyMap::parse(br#"{"user":"alice","visits":3}"#.to_vec())?;
/// assert_eq!(data.get("user").unwrap().deserialize_into::<String>()?, "alice");
/// assert_eq!(data.keys().collect::<Vec<_>>(), ["user", "visits"]);
/// data.insert("visits", 4.into());
/// data.insert("pet", "Rex".into());
/// assert_eq!(data.keys().collect::<Vec<_>>(), ["pet", "user", "visits"]);
/// assert_eq!(data.get("visits").unwrap().to_value(), 4.into());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct LazyMap {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// `text` holds the JSON; `entries` are sorted by key, with no
    /// duplicates; `seen`: the [`key_bit`]s of every key indexed or
    /// inserted (a key whose bit is clear is absent, with no search);
    /// `inserted`: an entry was inserted or replaced since the text was
    /// read (the text no longer says what the data is); `wipe`: zero the
    /// text on drop (a secret).
    Indexed {
        text: String,
        entries: Vec<Entry>,
        seen: u64,
        inserted: bool,
        wipe: bool,
    },
    /// Parsed (or changed) data.
    Map(MapRepr),
}

/// A [`Map`] of a [`LazyMap`]'s own, or one shared with its clones
/// ([`LazyMap::shared`]): the first change copies a shared map that
/// another clone still holds.
#[derive(Clone)]
enum MapRepr {
    Owned(Map),
    Shared(Arc<Map>),
}

impl std::ops::Deref for MapRepr {
    type Target = Map;

    #[inline]
    fn deref(&self) -> &Map {
        match self {
            Self::Owned(map) => map,
            Self::Shared(map) => map,
        }
    }
}

impl MapRepr {
    /// The map, for changing it (a shared one is copied if a clone still
    /// holds it).
    fn make_mut(&mut self) -> &mut Map {
        match self {
            Self::Owned(map) => map,
            Self::Shared(map) => Arc::make_mut(map),
        }
    }

    fn into_map(self) -> Map {
        match self {
            Self::Owned(map) => map,
            Self::Shared(map) => Arc::try_unwrap(map).unwrap_or_else(|map| (*map).clone()),
        }
    }
}

impl Default for Repr {
    fn default() -> Self {
        Self::Map(MapRepr::Owned(Map::new()))
    }
}

impl Drop for Repr {
    fn drop(&mut self) {
        if let Self::Indexed {
            text, wipe: true, ..
        } = self
        {
            text.zeroize();
        }
    }
}

#[derive(Clone)]
struct Entry {
    key: EntryKey,
    value: Slot,
}

#[derive(Clone)]
enum EntryKey {
    /// A byte range of the text (a string without escapes).
    Text(u32, u32),
    /// A key inserted after the text was read.
    Owned(Box<str>),
}

impl Entry {
    #[inline]
    fn key<'a>(&'a self, text: &'a str) -> &'a str {
        match &self.key {
            EntryKey::Text(start, end) => range_str(text, (*start, *end)),
            EntryKey::Owned(key) => key,
        }
    }
}

#[derive(Clone)]
enum Slot {
    /// A string without escapes: a byte range of the text.
    Str(u32, u32),
    /// Anything else, parsed when the map was made, or inserted.
    Parsed(Value),
}

/// A value of a [`LazyMap`], borrowed: a string still in the payload's text,
/// or a parsed [`Value`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum ValueRef<'a> {
    /// A string, as a slice of the payload.
    Str(&'a str),
    /// Any value.
    Value(&'a Value),
}

impl ValueRef<'_> {
    /// The value, owned.
    #[must_use]
    pub fn to_value(self) -> Value {
        match self {
            Self::Str(s) => Value::Str(s.to_owned()),
            Self::Value(v) => v.clone(),
        }
    }

    /// Converts the value into any `T: Deserialize`, straight from the
    /// payload's text or the parsed value (see [`Value::deserialize_into`]).
    ///
    /// # Errors
    ///
    /// As [`Value::deserialize_into`].
    pub fn deserialize_into<T: serde::de::DeserializeOwned>(self) -> Result<T, ValueError> {
        match self {
            Self::Str(s) => crate::de::from_str(s),
            Self::Value(v) => v.deserialize_into(),
        }
    }

    /// Python truthiness (`bool(value)`), as Flask tests `_permanent`.
    #[must_use]
    pub fn truthy(self) -> bool {
        match self {
            Self::Str(s) => !s.is_empty(),
            Self::Value(v) => v.truthy(),
        }
    }
}

impl From<Map> for LazyMap {
    fn from(map: Map) -> Self {
        Self {
            repr: Repr::Map(MapRepr::Owned(map)),
        }
    }
}

impl PartialEq for LazyMap {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && same_entries(self.iter(), other.iter())
    }
}

/// The same entries as the map (values compared as [`Value`]s).
impl PartialEq<Map> for LazyMap {
    fn eq(&self, other: &Map) -> bool {
        let other_entries = other.iter().map(|(k, v)| (k.as_str(), ValueRef::Value(v)));
        self.len() == other.len() && same_entries(self.iter(), other_entries)
    }
}

/// Whether two runs of entries (as long as each other) hold the same keys
/// and values.
fn same_entries<'a, 'b>(
    a: impl Iterator<Item = (&'a str, ValueRef<'a>)>,
    b: impl Iterator<Item = (&'b str, ValueRef<'b>)>,
) -> bool {
    a.zip(b)
        .all(|((k1, v1), (k2, v2))| k1 == k2 && v1.to_value() == v2.to_value())
}

impl fmt::Debug for LazyMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LazyMap(<{} keys redacted>)", self.len())
    }
}

impl LazyMap {
    /// An empty map.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Indexes a session payload (tagged JSON whose top level is an object,
    /// or `null` for an empty session).
    ///
    /// # Errors
    ///
    /// Exactly those of [`parse_map`](super::parse_map) for the same bytes.
    pub fn parse(text: Vec<u8>) -> Result<Self, PayloadError> {
        Self::parse_with(text, false)
    }

    /// As [`parse`](Self::parse), for a secret payload (a sealed cookie's):
    /// the text is wiped when the map is dropped or turned into a [`Map`],
    /// or when it fails to parse.
    ///
    /// # Errors
    ///
    /// As [`parse`](Self::parse).
    pub fn parse_secret(text: Vec<u8>) -> Result<Self, PayloadError> {
        Self::parse_with(text, true)
    }

    fn parse_with(text: Vec<u8>, wipe: bool) -> Result<Self, PayloadError> {
        let mut text = match String::from_utf8(text) {
            Ok(text) => text,
            Err(e) => {
                if wipe {
                    e.into_bytes().zeroize();
                }
                return Err(PayloadError::Utf8);
            }
        };
        let parsed = match index(&text) {
            Ok(Some((entries, seen))) => {
                return Ok(Self {
                    repr: Repr::Indexed {
                        text,
                        entries,
                        seen,
                        inserted: false,
                        wipe,
                    },
                })
            }
            // Escaped or duplicate keys, a tagged top level: the full parser.
            Ok(None) => parse_map(text.as_bytes()).map(Self::from),
            Err(e) => Err(e),
        };
        if wipe {
            text.zeroize();
        }
        parsed
    }

    /// The payload's JSON exactly as [`parse`](Self::parse) read it, until
    /// the data changes: [`remove`](Self::remove) leaves it as it was (the
    /// text still holds the removed keys), the first
    /// [`insert`](Self::insert) or [`map_mut`](Self::map_mut) drops it.
    /// `None` for a map that never was text, or that the full parser had to
    /// build (escaped or duplicate keys). A format issues an unchanged
    /// cookie again from it.
    ///
    /// ```
    /// use websession_core::json::LazyMap;
    /// let text = br#"{"a":"1","b":2}"#;
    /// let mut data = LazyMap::parse(text.to_vec())?;
    /// data.remove("a");
    /// assert_eq!(data.text_as_read(), Some(r#"{"a":"1","b":2}"#));
    /// data.insert("b", 3.into());
    /// assert_eq!(data.text_as_read(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn text_as_read(&self) -> Option<&str> {
        match &self.repr {
            Repr::Indexed {
                text,
                inserted: false,
                ..
            } => Some(text),
            Repr::Indexed { .. } | Repr::Map(_) => None,
        }
    }

    /// The value under `key`.
    #[must_use]
    #[inline] // most lookups are misses that `seen` answers: no call
    pub fn get(&self, key: &str) -> Option<ValueRef<'_>> {
        match &self.repr {
            Repr::Map(map) => map.get(key).map(ValueRef::Value),
            Repr::Indexed {
                text,
                entries,
                seen,
                ..
            } => {
                if seen & key_bit(key.as_bytes()) == 0 {
                    return None;
                }
                let i = find(text, entries, key)?;
                Some(slot_ref(text, &entries[i].value))
            }
        }
    }

    /// Whether `key` is present.
    #[must_use]
    #[inline]
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Map(map) => map.len(),
            Repr::Indexed { entries, .. } => entries.len(),
        }
    }

    /// Whether there are no keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys, in code-point order (as in a [`Map`]).
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// The entries, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, ValueRef<'_>)> + '_ {
        let (map, indexed) = match &self.repr {
            Repr::Map(map) => (Some(map), None),
            Repr::Indexed { text, entries, .. } => (None, Some((text, entries))),
        };
        let from_map = map
            .into_iter()
            .flat_map(|m| m.iter().map(|(k, v)| (k.as_str(), ValueRef::Value(v))));
        let from_text = indexed.into_iter().flat_map(|(text, entries)| {
            entries
                .iter()
                .map(move |e| (e.key(text), slot_ref(text, &e.value)))
        });
        from_map.chain(from_text)
    }

    /// Removes `key` and gives its value, without parsing the other entries.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        match &mut self.repr {
            // A shared map is copied only for a key it has.
            Repr::Map(MapRepr::Shared(map)) if !map.contains_key(key) => None,
            Repr::Map(map) => map.make_mut().remove(key),
            Repr::Indexed {
                text,
                entries,
                seen,
                ..
            } => {
                // `seen` keeps the removed key's bit: a bit set for an
                // absent key only costs a search.
                if *seen & key_bit(key.as_bytes()) == 0 {
                    return None;
                }
                let i = find(text, entries, key)?;
                let entry = entries.remove(i);
                Some(slot_owned(text, entry.value))
            }
        }
    }

    /// Sets `key` to `value`, replacing its value if it had one, without
    /// parsing the other entries.
    pub fn insert(&mut self, key: &str, value: Value) {
        match &mut self.repr {
            Repr::Map(map) => {
                let map = map.make_mut();
                match map.get_mut(key) {
                    Some(old) => *old = value,
                    None => {
                        map.insert(key.to_owned(), value);
                    }
                }
            }
            Repr::Indexed {
                text,
                entries,
                seen,
                inserted,
                ..
            } => {
                *inserted = true;
                let bit = key_bit(key.as_bytes());
                if *seen & bit != 0 {
                    if let Some(i) = find(text, entries, key) {
                        entries[i].value = Slot::Parsed(value);
                        return;
                    }
                }
                *seen |= bit;
                let at = entries.partition_point(|e| e.key(text) < key);
                entries.insert(
                    at,
                    Entry {
                        key: EntryKey::Owned(key.into()),
                        value: Slot::Parsed(value),
                    },
                );
            }
        }
    }

    /// The data as a [`Map`] for changing it, parsing what is left to parse
    /// (once: later calls are free).
    pub fn map_mut(&mut self) -> &mut Map {
        if let Repr::Indexed { text, entries, .. } = &mut self.repr {
            let map = build_map(text, std::mem::take(entries));
            self.repr = Repr::Map(MapRepr::Owned(map));
        }
        match &mut self.repr {
            Repr::Map(map) => map.make_mut(),
            Repr::Indexed { .. } => unreachable!("just replaced"),
        }
    }

    /// The data as a [`Map`].
    #[must_use]
    pub fn into_map(mut self) -> Map {
        match &mut self.repr {
            Repr::Map(map) => std::mem::replace(map, MapRepr::Owned(Map::new())).into_map(),
            Repr::Indexed { text, entries, .. } => build_map(text, std::mem::take(entries)),
        }
    }

    /// The data behind a reference count: its clones share it (a clone
    /// costs a count, not a copy of every key and value), and the first
    /// change of one of them copies it. For a store that hands out copies
    /// of what it holds ([`MemoryStore`](crate::store::MemoryStore)).
    /// Indexed data is made a map first.
    #[must_use]
    pub(crate) fn shared(mut self) -> Self {
        self.map_mut();
        if let Repr::Map(map) = &mut self.repr {
            if let MapRepr::Owned(owned) = map {
                *map = MapRepr::Shared(Arc::new(std::mem::take(owned)));
            }
        }
        self
    }

    /// A copy of the data as a [`Map`].
    #[must_use]
    pub fn to_map(&self) -> Map {
        match &self.repr {
            Repr::Map(map) => Map::clone(map),
            Repr::Indexed { .. } => self
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_value()))
                .collect(),
        }
    }

    /// Writes the data as Flask's tagged JSON, as [`write_map`] writes the
    /// same data as a [`Map`], with `extra` among the entries in its key's
    /// place (in place of an entry of the same key, if there is one), as if
    /// it had been inserted.
    ///
    /// [`write_map`]: super::write_map
    pub(crate) fn write_json(&self, out: &mut String, extra: Option<(&str, &Value)>) {
        let len = match extra {
            Some((key, _)) => self.len() + usize::from(!self.contains_key(key)),
            None => self.len(),
        };
        let extra = extra.map(|(k, v)| (k, ValueRef::Value(v)));
        // Without an extra entry (the usual write) no merge runs.
        match (&self.repr, extra) {
            (Repr::Map(map), None) => super::write_map(out, map),
            (Repr::Map(map), Some(extra)) => {
                let entries = map.iter().map(|(k, v)| (k.as_str(), ValueRef::Value(v)));
                super::write::write_entries(out, len, merged(entries, extra));
            }
            (Repr::Indexed { text, entries, .. }, extra) => {
                let entries = entries
                    .iter()
                    .map(|e| (e.key(text), slot_ref(text, &e.value)));
                match extra {
                    None => super::write::write_entries(out, len, entries),
                    Some(extra) => super::write::write_entries(out, len, merged(entries, extra)),
                }
            }
        }
    }
}

/// `entries` (sorted by key, unique) with `extra` in its key's place,
/// replacing an entry of the same key.
fn merged<'a>(
    entries: impl Iterator<Item = (&'a str, ValueRef<'a>)>,
    extra: (&'a str, ValueRef<'a>),
) -> impl Iterator<Item = (&'a str, ValueRef<'a>)> {
    let mut entries = entries.peekable();
    let mut extra = Some(extra);
    std::iter::from_fn(move || {
        let Some((key, _)) = extra else {
            return entries.next();
        };
        match entries.peek() {
            Some((k, _)) if *k < key => return entries.next(),
            Some((k, _)) if *k == key => {
                entries.next();
            }
            _ => {}
        }
        extra.take()
    })
}

#[inline]
fn range_str(text: &str, (start, end): (u32, u32)) -> &str {
    // The range starts and stops next to ASCII quotes: char boundaries.
    text.get(start as usize..end as usize).unwrap_or_default()
}

fn slot_ref<'a>(text: &'a str, slot: &'a Slot) -> ValueRef<'a> {
    match slot {
        Slot::Str(start, end) => ValueRef::Str(range_str(text, (*start, *end))),
        Slot::Parsed(v) => ValueRef::Value(v),
    }
}

fn slot_owned(text: &str, slot: Slot) -> Value {
    match slot {
        Slot::Str(start, end) => Value::Str(range_str(text, (start, end)).to_owned()),
        Slot::Parsed(v) => v,
    }
}

/// The index of `key`'s entry, once its bit in `seen` said it may be
/// there (most lookups are of keys a session doesn't have, the engine's
/// hidden keys, and stop at the bit). A session has a handful of keys:
/// comparing lengths first rules most out without reading them; many keys
/// are searched by halves.
fn find(text: &str, entries: &[Entry], key: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if entries.len() <= 8 {
        return entries.iter().position(|e| match &e.key {
            EntryKey::Text(start, end) => {
                let (start, end) = (*start as usize, *end as usize);
                end - start == key.len() && bytes.get(start..end) == Some(key.as_bytes())
            }
            EntryKey::Owned(owned) => **owned == *key,
        });
    }
    entries.binary_search_by(|e| e.key(text).cmp(key)).ok()
}

/// One of 64 bits for a key, from its length and last byte: the engine's
/// hidden keys (`_permanent`, `_ws_created`, `_ws_lifetime`, `_ws_sid`,
/// `_ws_user`, `_ws_gen`) each get their own.
#[inline]
fn key_bit(key: &[u8]) -> u64 {
    let last = u32::from(key.last().copied().unwrap_or(0));
    // `len as u32` may wrap for a huge key: it only picks a bit.
    #[allow(clippy::cast_possible_truncation)]
    let len = key.len() as u32;
    1 << (len.wrapping_add(last.wrapping_mul(7)) & 63)
}

fn build_map(text: &str, entries: Vec<Entry>) -> Map {
    // Sorted and unique: BTreeMap builds this in one pass.
    entries
        .into_iter()
        .map(|e| {
            let value = slot_owned(text, e.value);
            let key = match e.key {
                EntryKey::Text(start, end) => range_str(text, (start, end)).to_owned(),
                EntryKey::Owned(key) => key.into_string(),
            };
            (key, value)
        })
        .collect()
}

/// The sorted entries of a payload, or `None` when the full parser must
/// decide (it then gives the same result or the same error as always).
///
/// One pass over the bytes with an index, not the full parser's methods:
/// this runs on every request that reads a cookie, and the usual payload
/// (`{"_permanent":true,"user":"alice"}`) is keys and plain strings. Any
/// other value goes to the full parser's [`Parser::value`], at the same
/// depth it would be parsed at, so its errors are the parser's own.
fn index(s: &str) -> Result<Option<(Vec<Entry>, u64)>, PayloadError> {
    let b = s.as_bytes();
    if u32::try_from(b.len()).is_err() {
        return Ok(None); // ranges are u32; no cookie comes near
    }
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Ok(None); // `null`, or an error the full parser names
    }
    i = skip_ws(b, i + 1);
    let mut entries: Vec<Entry> = Vec::with_capacity(4);
    // Flask and websession write sorted keys: checked as they come, so
    // only other writers' payloads pay for the sort.
    let mut sorted = true;
    let mut last_key: &[u8] = &[];
    let mut seen = 0;
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            let Some((key, next)) = plain_string(b, i) else {
                return Ok(None);
            };
            i = skip_ws(b, next);
            if b.get(i) != Some(&b':') {
                return Ok(None);
            }
            i = skip_ws(b, i + 1);
            let value = match plain_string(b, i) {
                Some(((start, end), next)) => {
                    i = next;
                    Slot::Str(start, end)
                }
                None => {
                    let mut p = Parser {
                        s: b,
                        pos: i,
                        depth: 1, // inside the top-level object, as the full parser counts
                        tagged: true,
                    };
                    let value = p.value()?;
                    i = p.pos;
                    Slot::Parsed(value)
                }
            };
            // UTF-8's byte order is its code points' order.
            let key_bytes = b.get(key.0 as usize..key.1 as usize).unwrap_or_default();
            if !entries.is_empty() {
                sorted = sorted && last_key < key_bytes;
            }
            last_key = key_bytes;
            seen |= key_bit(key_bytes);
            entries.push(Entry {
                key: EntryKey::Text(key.0, key.1),
                value,
            });
            i = skip_ws(b, i);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return Ok(None),
            }
        }
    }
    if skip_ws(b, i) != b.len() {
        return Ok(None);
    }
    if entries.len() == 1 && TAG_KEYS.contains(&entries[0].key(s)) {
        return Ok(None); // a tagged value at the top level
    }
    if !sorted {
        entries.sort_unstable_by(|a, b| a.key(s).cmp(b.key(s)));
        if entries.windows(2).any(|w| w[0].key(s) == w[1].key(s)) {
            return Ok(None); // duplicate keys: the last one wins, as the parser knows
        }
    }
    Ok(Some((entries, seen)))
}

/// The first byte at or after `i` that isn't JSON whitespace.
#[inline]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// At a `"` at `i`: the byte range of a string without escapes or control
/// characters, and the index after its closing quote. Otherwise `None`.
#[inline]
fn plain_string(b: &[u8], i: usize) -> Option<((u32, u32), usize)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let start = i + 1;
    let end = super::scan::read_stop(b, start);
    if b.get(end) != Some(&b'"') {
        return None; // an escape, a control character, or no end
    }
    // `index` checked that the text's length fits in u32.
    Some(((start as u32, end as u32), end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_as_parse_map(text: &str) {
        let lazy = LazyMap::parse(text.as_bytes().to_vec());
        let full = parse_map(text.as_bytes());
        match (lazy, full) {
            (Ok(lazy), Ok(full)) => {
                assert_eq!(lazy.to_map(), full, "{text}");
                assert_eq!(lazy.len(), full.len(), "{text}");
                assert!(lazy.keys().eq(full.keys().map(String::as_str)), "{text}");
                for (k, v) in &full {
                    assert_eq!(lazy.get(k).map(ValueRef::to_value).as_ref(), Some(v));
                }
                assert_eq!(lazy.into_map(), full, "{text}");
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "{text}"),
            (a, b) => panic!("{text}: lazy {a:?}, full {b:?}"),
        }
    }

    #[test]
    fn lazy_and_full_parsing_agree() {
        for text in [
            r#"{"a":"x","b":1}"#,
            r#"{}"#,
            r#" { } "#,
            r#"null"#,
            r#"{"b":"2","a":"1"}"#,
            r#"{"a":"1","a":"2"}"#,
            r#"{"a":"1","b":0,"a":"2"}"#,
            r#"{"a":"1","b":"2","b":"3"}"#,
            r#"{"a":"1","c":"2","b":"3"}"#,
            r#"{"b":"1","a":"2","a":"3"}"#,
            r#"{"a\u0062":"x","ab":"y"}"#,
            r#"{"k":"esc\"aped","n":"\ud800"}"#,
            r#"{" t":["a"]}"#,
            r#"{" di":{"a ":1}}"#,
            r#"{" t":["a"],"b":1}"#,
            r#"{"_permanent":true,"x":{" b":"YWJj"},"y":[1,2.5,Infinity]}"#,
            r#"{"a":"x",}"#,
            r#"{"a":"x"} x"#,
            r#"{"a" "x"}"#,
            r#"{"a":"x""#,
            r#"{"a":"unterminated}"#,
            r#"{"a":"ctl"#,
            "{\"a\":\"tab\there\"}",
            r#"{"a":{" b":"!!"}}"#,
            r#"[1]"#,
            r#""#,
            r#"{"a":1e400,"b":-0,"c":123456789012345678901234567890}"#,
            r#"{"é":"ünïcödé","ß":"x"}"#,
        ] {
            same_as_parse_map(text);
        }
        assert_eq!(
            LazyMap::parse(b"{\"a\":\"\xff\"}".to_vec()).unwrap_err(),
            PayloadError::Utf8
        );
    }

    /// The data written from the index (entries as read, inserted and
    /// removed ones) is the bytes `write_map` writes for the same `Map`.
    #[test]
    fn changes_are_written_as_the_map_of_the_same_data_would_be() {
        let texts = [
            r#"{"_permanent":true,"pet_name":"Rex"}"#,
            r#"{"b":"2","a":"1"}"#,
            r#"{}"#,
            r#"{" di":{" t__":"x"}}"#,
            r#"{"é":"ünïcödé","ß":"x","ctl":"tab\there","q":"\"q\""}"#,
            r#"{"_permanent":true,"x":{" b":"YWJj"},"y":[1,2.5,Infinity],"z":{" d":"Thu, 01 Jan 1970 00:00:00 GMT"}}"#,
            r#"{"k00":0,"k01":1,"k02":2,"k03":3,"k04":4,"k05":5,"k06":6,"k07":7,"k08":8,"k09":9}"#,
        ];
        let changes: [&[(&str, Option<Value>)]; 6] = [
            &[],
            &[("pet_name", Some(Value::from("Fido")))],
            &[("_permanent", Some(Value::Bool(true))), ("a", None)],
            &[(" t", Some(Value::from("tag"))), ("b", None), ("y", None)],
            &[
                ("aa", Some(Value::Int(1))),
                ("zz", Some(Value::from("é"))),
                ("aa", None),
            ],
            &[
                ("k05", None),
                ("k055", Some(Value::Null)),
                ("é", Some(Value::Int(2))),
            ],
        ];
        for text in texts {
            for ops in changes {
                let mut lazy = LazyMap::parse(text.as_bytes().to_vec()).expect(text);
                let mut map = parse_map(text.as_bytes()).expect(text);
                for (key, value) in ops {
                    match value {
                        Some(v) => {
                            lazy.insert(key, v.clone());
                            map.insert((*key).to_owned(), v.clone());
                        }
                        None => {
                            assert_eq!(lazy.remove(key), map.remove(*key), "{text} {ops:?}");
                        }
                    }
                }
                let (mut from_lazy, mut from_map) = (String::new(), String::new());
                lazy.write_json(&mut from_lazy, None);
                super::super::write_map(&mut from_map, &map);
                assert_eq!(from_lazy, from_map, "{text} {ops:?}");
                // With an extra entry: new, first, last, or in place of one.
                for key in [
                    "_ws_created",
                    "",
                    "\u{10ffff}",
                    "pet_name",
                    "k05",
                    "b",
                    " t",
                ] {
                    let extra = Value::Int(7);
                    let (mut from_lazy, mut from_map) = (String::new(), String::new());
                    lazy.write_json(&mut from_lazy, Some((key, &extra)));
                    let mut with = map.clone();
                    with.insert(key.to_owned(), extra);
                    super::super::write_map(&mut from_map, &with);
                    assert_eq!(from_lazy, from_map, "{text} {ops:?} {key}");
                    let as_map = LazyMap::from(map.clone());
                    from_lazy.clear();
                    as_map.write_json(&mut from_lazy, Some((key, &Value::Int(7))));
                    assert_eq!(from_lazy, from_map, "{text} {ops:?} {key} (a Map)");
                }
                assert_eq!(lazy.to_map(), map, "{text} {ops:?}");
                assert!(lazy.keys().eq(map.keys().map(String::as_str)), "{text}");
                for (k, v) in &map {
                    assert_eq!(lazy.get(k).map(ValueRef::to_value).as_ref(), Some(v));
                }
                let inserted = ops.iter().any(|(_, v)| v.is_some());
                assert_eq!(
                    lazy.text_as_read().is_some(),
                    !inserted && !text.starts_with(r#"{" di""#)
                );
                assert_eq!(lazy.into_map(), map, "{text} {ops:?}");
            }
        }
    }

    #[test]
    fn shared_data_is_copied_by_the_first_change() {
        let mut map = Map::new();
        map.insert("user".into(), Value::from("alice"));
        let kept = LazyMap::from(map).shared();
        let mut copy = kept.clone();
        assert_eq!(copy.remove("absent"), None);
        copy.insert("user", Value::from("bob"));
        assert_eq!(
            kept.get("user").map(ValueRef::to_value),
            Some(Value::from("alice"))
        );
        assert_eq!(
            copy.get("user").map(ValueRef::to_value),
            Some(Value::from("bob"))
        );
        let mut gone = kept.clone();
        assert_eq!(gone.remove("user"), Some(Value::from("alice")));
        assert!(gone.is_empty() && kept.len() == 1);
        assert_eq!(kept.clone().into_map(), kept.to_map());
    }

    #[test]
    fn the_hidden_keys_have_bits_of_their_own() {
        let keys = [
            "_permanent",
            "_ws_created",
            "_ws_lifetime",
            "_ws_sid",
            "_ws_user",
            "_ws_gen",
            "_fresh",
            "_user_id",
            "_flashes",
        ];
        let bits: Vec<u64> = keys.iter().map(|k| key_bit(k.as_bytes())).collect();
        for (i, a) in bits.iter().enumerate() {
            assert_eq!(a.count_ones(), 1);
            for (j, b) in bits.iter().enumerate().skip(i + 1) {
                assert_ne!(a, b, "{} and {}", keys[i], keys[j]);
            }
        }
    }

    #[test]
    fn a_key_sharing_a_bit_is_still_searched() {
        // "ab" and "xb" share a bit (same length, same last byte).
        assert_eq!(key_bit(b"ab"), key_bit(b"xb"));
        let mut m = LazyMap::parse(br#"{"ab":"1","c":2}"#.to_vec()).unwrap();
        assert_eq!(m.get("xb"), None);
        assert_eq!(m.get("ab"), Some(ValueRef::Str("1")));
        assert_eq!(m.get(""), None);
        assert_eq!(m.remove("xb"), None);
        assert_eq!(m.remove("ab"), Some(Value::Str("1".into())));
        // The removed key's bit stays set; the key is gone all the same.
        assert_eq!(m.get("ab"), None);
        assert!(!m.contains_key("ab") && m.contains_key("c"));
        // Many keys: searched by halves after the bit.
        let many: String = (0..20)
            .map(|i| format!(r#""k{i:02}":{i}"#))
            .collect::<Vec<_>>()
            .join(",");
        let m = LazyMap::parse(format!("{{{many}}}").into_bytes()).unwrap();
        for i in 0..20 {
            assert_eq!(
                m.get(&format!("k{i:02}")),
                Some(ValueRef::Value(&Value::Int(i)))
            );
        }
        assert_eq!(m.get("k20"), None);
        assert_eq!(m.get("k1"), None);
    }

    #[test]
    fn remove_and_change() {
        let mut m = LazyMap::parse(br#"{"_ws_created":5,"b":"x","c":"y"}"#.to_vec()).unwrap();
        assert_eq!(m.remove("_ws_created"), Some(Value::Int(5)));
        assert_eq!(m.remove("nope"), None);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(m.get("b"), Some(ValueRef::Str("x")));
        m.map_mut().insert("d".into(), Value::Null);
        assert_eq!(m.len(), 3);
        assert_eq!(m.get("d"), Some(ValueRef::Value(&Value::Null)));
        assert!(format!("{m:?}").contains("3 keys"));
        assert!(!format!("{m:?}").contains('x'));
    }
}
