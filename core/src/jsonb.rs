//! A reader of PostgreSQL's binary `jsonb` format, producing [`Event`]s without recursion.
//!
//! Why not pgrx's `JsonB`? It prints the datum to text and re-parses it with `serde_json`, whose
//! default recursion limit of 128 levels turns a deep document into a panic (XX000) — so a privacy
//! key planted 130 levels down would never be reported. PostgreSQL's `JsonbIteratorNext` walks the
//! binary form directly but costs an FFI call per token. This module reads the same on-disk layout
//! (`src/include/utils/jsonb.h`, unchanged since 9.4) straight from the detoasted bytes: every read is
//! bounds-checked, so a malformed datum ends the walk instead of reading out of bounds.
//!
//! Layout reminder: a container is a `uint32` header (count and flags) followed by one `JEntry`
//! (`uint32`) per child — for objects all keys first, then all values — then the children's data.
//! A `JEntry` holds a type and either the child's length or, every 32nd entry, its end offset.
//! Nested containers and numerics start at the next 4-byte boundary.

use crate::events::Event;

const JB_CMASK: u32 = 0x0FFF_FFFF;
const JB_FSCALAR: u32 = 0x1000_0000;
const JB_FOBJECT: u32 = 0x2000_0000;
const JB_FARRAY: u32 = 0x4000_0000;

const JENTRY_OFFLENMASK: u32 = 0x0FFF_FFFF;
const JENTRY_TYPEMASK: u32 = 0x7000_0000;
const JENTRY_HAS_OFF: u32 = 0x8000_0000;
const JENTRY_ISSTRING: u32 = 0x0000_0000;
const JENTRY_ISNUMERIC: u32 = 0x1000_0000;
const JENTRY_ISBOOL_FALSE: u32 = 0x2000_0000;
const JENTRY_ISBOOL_TRUE: u32 = 0x3000_0000;
const JENTRY_ISNULL: u32 = 0x4000_0000;
const JENTRY_ISCONTAINER: u32 = 0x5000_0000;

struct Frame {
    /// Byte offset of the first `JEntry`.
    entries: usize,
    /// Byte offset where the children's data begins.
    data: usize,
    count: usize,
    object: bool,
    /// Next child to emit (for objects: the next key/value pair).
    next: usize,
    /// For objects: true when the key of pair `next` was emitted and its value is due.
    value_due: bool,
    /// Running end offsets (relative to `data`) of the last key and the last value visited.
    key_end: usize,
    value_end: usize,
}

/// Streams the events of a `jsonb` value given as its bytes after the varlena header.
pub struct JsonbReader<'a> {
    buf: &'a [u8],
    stack: Vec<Frame>,
    /// A root scalar is stored as a one-element "raw scalar" array; emit just the scalar.
    raw_scalar: bool,
    started: bool,
    /// Set when the bytes did not follow the format; the walk then stops early.
    pub malformed: bool,
}

impl<'a> JsonbReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        JsonbReader {
            buf,
            stack: Vec::with_capacity(8),
            raw_scalar: false,
            started: false,
            malformed: false,
        }
    }

    #[inline]
    fn u32_at(&self, at: usize) -> Option<u32> {
        let b = self.buf.get(at..at.checked_add(4)?)?;
        Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn open(&mut self, at: usize) -> Option<(bool, bool)> {
        let header = self.u32_at(at)?;
        let count = (header & JB_CMASK) as usize;
        let object = header & JB_FOBJECT != 0;
        let array = header & JB_FARRAY != 0;
        let scalar = header & JB_FSCALAR != 0;
        // Exactly one of object / array; a raw scalar is a one-element array, and only at the root.
        if object == array || (scalar && (object || count != 1 || !self.stack.is_empty())) {
            return None;
        }
        let n_entries = if object { count.checked_mul(2)? } else { count };
        let entries = at + 4;
        let data = entries.checked_add(n_entries.checked_mul(4)?)?;
        if data > self.buf.len() {
            return None;
        }
        let mut frame = Frame {
            entries,
            data,
            count,
            object,
            next: 0,
            value_due: false,
            key_end: 0,
            value_end: 0,
        };
        if object {
            // Values start where the last key ends: the sum of key lengths back to the last
            // entry that stores an offset.
            let mut off = 0usize;
            for i in (0..count).rev() {
                let e = self.u32_at(entries + 4 * i)?;
                off = off.checked_add((e & JENTRY_OFFLENMASK) as usize)?;
                if e & JENTRY_HAS_OFF != 0 {
                    break;
                }
            }
            frame.value_end = off;
        }
        self.stack.push(frame);
        Some((object, scalar))
    }

    /// The (type, start, end) of entry `index` of the top frame, given the previous entry's end.
    #[inline]
    fn entry(&self, index: usize, prev_end: usize) -> Option<(u32, usize, usize)> {
        let frame = self.stack.last()?;
        let e = self.u32_at(frame.entries + 4 * index)?;
        let offlen = (e & JENTRY_OFFLENMASK) as usize;
        let end = if e & JENTRY_HAS_OFF != 0 {
            offlen
        } else {
            prev_end.checked_add(offlen)?
        };
        if end < prev_end || frame.data.checked_add(end)? > self.buf.len() {
            return None;
        }
        Some((e & JENTRY_TYPEMASK, prev_end, end))
    }

    #[inline]
    fn scalar_or_open(&mut self, ty: u32, start: usize, end: usize) -> Option<Event<'a>> {
        let data = self.stack.last()?.data;
        let buf: &'a [u8] = self.buf;
        Some(match ty {
            JENTRY_ISSTRING => Event::String(buf.get(data + start..data + end)?),
            JENTRY_ISNUMERIC => Event::Number,
            JENTRY_ISBOOL_FALSE => Event::Bool(false),
            JENTRY_ISBOOL_TRUE => Event::Bool(true),
            JENTRY_ISNULL => Event::Null,
            JENTRY_ISCONTAINER => {
                let at = data + ((start + 3) & !3);
                let (object, _) = self.open(at)?;
                if object {
                    Event::BeginObject
                } else {
                    Event::BeginArray
                }
            }
            _ => return None,
        })
    }

    #[inline]
    fn step(&mut self) -> Option<Event<'a>> {
        if !self.started {
            self.started = true;
            let (object, scalar) = self.open(0)?;
            if scalar {
                self.raw_scalar = true;
                return self.step();
            }
            return Some(if object {
                Event::BeginObject
            } else {
                Event::BeginArray
            });
        }
        let frame = self.stack.last()?;
        let (object, next, count, value_due) =
            (frame.object, frame.next, frame.count, frame.value_due);
        if next >= count {
            self.stack.pop();
            if self.raw_scalar && self.stack.is_empty() {
                return None;
            }
            return Some(if object {
                Event::EndObject
            } else {
                Event::EndArray
            });
        }
        if object && !value_due {
            let (ty, start, end) = self.entry(next, self.stack.last()?.key_end)?;
            if ty != JENTRY_ISSTRING {
                return None;
            }
            let data = self.stack.last()?.data;
            let key = self.buf.get(data + start..data + end)?;
            let f = self.stack.last_mut()?;
            f.key_end = end;
            f.value_due = true;
            return Some(Event::Key(key));
        }
        let (index, prev_end) = if object {
            (count + next, frame.value_end)
        } else {
            (next, frame.value_end)
        };
        let (ty, start, end) = self.entry(index, prev_end)?;
        let f = self.stack.last_mut()?;
        f.value_end = end;
        f.next += 1;
        f.value_due = false;
        self.scalar_or_open(ty, start, end)
    }
}

impl<'a> Iterator for JsonbReader<'a> {
    type Item = Event<'a>;

    #[inline]
    fn next(&mut self) -> Option<Event<'a>> {
        if self.malformed {
            return None;
        }
        let done = self.stack.is_empty() && self.started;
        match self.step() {
            Some(ev) => Some(ev),
            None => {
                if !(done || self.raw_scalar && self.stack.is_empty()) {
                    self.malformed = true;
                }
                None
            }
        }
    }
}

// -------------------------------------------------------------------------------------------------
// Writing: the issue list, straight into the binary format (no text rendering, no jsonb_in).

const JB_OFFSET_STRIDE: usize = 32;

/// Encode `items` — objects with string values only — as the bytes of a `jsonb` array after the
/// varlena header. Keys must be given in `jsonb` order (shorter first, then bytewise) and unique,
/// which is the canonical form `jsonb` comparison relies on.
pub fn encode_array_of_string_objects(items: &[[(&str, &str); 3]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + items.len() * 128);
    out.extend_from_slice(&(JB_FARRAY | items.len() as u32).to_ne_bytes());
    let entries_at = out.len();
    out.resize(entries_at + 4 * items.len(), 0);
    let data_start = out.len();
    for (i, item) in items.iter().enumerate() {
        let start = out.len() - data_start;
        while (out.len() - data_start) % 4 != 0 {
            out.push(0); // the padding belongs to the element
        }
        encode_object(&mut out, item);
        let end = out.len() - data_start;
        write_entry(&mut out, entries_at, i, JENTRY_ISCONTAINER, start, end);
    }
    out
}

fn encode_object(out: &mut Vec<u8>, pairs: &[(&str, &str); 3]) {
    let n = pairs.len();
    out.extend_from_slice(&(JB_FOBJECT | n as u32).to_ne_bytes());
    let entries_at = out.len();
    out.resize(entries_at + 8 * n, 0);
    let data_start = out.len();
    let strings = pairs
        .iter()
        .map(|(k, _)| *k)
        .chain(pairs.iter().map(|(_, v)| *v));
    for (i, s) in strings.enumerate() {
        let start = out.len() - data_start;
        out.extend_from_slice(s.as_bytes());
        let end = out.len() - data_start;
        write_entry(out, entries_at, i, JENTRY_ISSTRING, start, end);
    }
}

/// JEntry `i`: its length, or (every JB_OFFSET_STRIDE-th entry) its end offset.
fn write_entry(out: &mut [u8], entries_at: usize, i: usize, ty: u32, start: usize, end: usize) {
    let value = if i.is_multiple_of(JB_OFFSET_STRIDE) {
        ty | JENTRY_HAS_OFF | end as u32
    } else {
        ty | (end - start) as u32
    };
    out[entries_at + 4 * i..entries_at + 4 * i + 4].copy_from_slice(&value.to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_issue_list_reads_back() {
        let items: Vec<[(&str, &str); 3]> = (0..70)
            .map(|i| {
                [
                    ("code", if i % 2 == 0 { "unknown_key" } else { "x" }),
                    ("path", "a.b"),
                    ("message", "m"),
                ]
            })
            .collect();
        let bytes = encode_array_of_string_objects(&items);
        let events: Vec<Event> = JsonbReader::new(&bytes).collect();
        let mut expected = vec![Event::BeginArray];
        for i in 0..70 {
            expected.extend([
                Event::BeginObject,
                Event::Key(b"code"),
                Event::String(if i % 2 == 0 {
                    b"unknown_key".as_slice()
                } else {
                    b"x".as_slice()
                }),
                Event::Key(b"path"),
                Event::String(b"a.b"),
                Event::Key(b"message"),
                Event::String(b"m"),
                Event::EndObject,
            ]);
        }
        expected.push(Event::EndArray);
        assert_eq!(events, expected);
        assert!(!JsonbReader::new(&bytes).malformed);
    }

    #[test]
    fn an_empty_list_is_the_empty_array() {
        assert_eq!(
            encode_array_of_string_objects(&[]),
            JB_FARRAY.to_ne_bytes().to_vec()
        );
    }
}
