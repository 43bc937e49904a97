//! A JSON document as a flat stream of events, in `jsonb`'s own key order.
//!
//! The validators and the privacy walk never see a tree: they consume this stream, so their depth is
//! bounded only by memory (a `Vec` of levels), never by the call stack. Two producers exist: the
//! `jsonb` binary reader (`crate::jsonb`, used inside PostgreSQL) and, for tests, a converter from
//! `serde_json::Value` that sorts keys the way `jsonb` stores them.

/// One step of a depth-first walk over a JSON document.
///
/// Strings and keys are raw UTF-8 bytes as stored; numbers carry no value because no payload field
/// of the contract is a number (a number anywhere a field is expected is a `wrong_type` issue, and
/// `1e400` is no different from `1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    BeginObject,
    Key(&'a [u8]),
    EndObject,
    BeginArray,
    EndArray,
    String(&'a [u8]),
    Number,
    Bool(bool),
    Null,
}

/// `jsonb`'s key order: shorter keys first, then bytewise. Paths use a key's position in this order.
pub fn jsonb_key_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(any(test, feature = "testing"))]
pub mod testing {
    //! A `serde_json::Value` as the event stream `jsonb` would give: for tests, the fuzz target,
    //! and the bench that measures the serde round trip against the binary reader.
    use super::*;
    use serde_json::Value;

    /// Owned events, so tests can build a document and then borrow events from it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum OwnedEvent {
        BeginObject,
        Key(Vec<u8>),
        EndObject,
        BeginArray,
        EndArray,
        String(Vec<u8>),
        Number,
        Bool(bool),
        Null,
    }

    impl OwnedEvent {
        pub fn borrow(&self) -> Event<'_> {
            match self {
                OwnedEvent::BeginObject => Event::BeginObject,
                OwnedEvent::Key(k) => Event::Key(k),
                OwnedEvent::EndObject => Event::EndObject,
                OwnedEvent::BeginArray => Event::BeginArray,
                OwnedEvent::EndArray => Event::EndArray,
                OwnedEvent::String(s) => Event::String(s),
                OwnedEvent::Number => Event::Number,
                OwnedEvent::Bool(b) => Event::Bool(*b),
                OwnedEvent::Null => Event::Null,
            }
        }
    }

    /// Flatten a value without recursion (documents in tests go 10,000 levels deep).
    pub fn events_of(value: &Value) -> Vec<OwnedEvent> {
        enum Work<'v> {
            Value(&'v Value),
            Key(&'v str),
            End(bool),
        }
        let mut out = Vec::new();
        let mut stack = vec![Work::Value(value)];
        while let Some(w) = stack.pop() {
            match w {
                Work::Key(k) => out.push(OwnedEvent::Key(k.as_bytes().to_vec())),
                Work::End(true) => out.push(OwnedEvent::EndObject),
                Work::End(false) => out.push(OwnedEvent::EndArray),
                Work::Value(v) => match v {
                    Value::Null => out.push(OwnedEvent::Null),
                    Value::Bool(b) => out.push(OwnedEvent::Bool(*b)),
                    Value::Number(_) => out.push(OwnedEvent::Number),
                    Value::String(s) => out.push(OwnedEvent::String(s.as_bytes().to_vec())),
                    Value::Array(items) => {
                        out.push(OwnedEvent::BeginArray);
                        stack.push(Work::End(false));
                        for item in items.iter().rev() {
                            stack.push(Work::Value(item));
                        }
                    }
                    Value::Object(map) => {
                        out.push(OwnedEvent::BeginObject);
                        stack.push(Work::End(true));
                        let mut keys: Vec<&String> = map.keys().collect();
                        keys.sort_by(|a, b| jsonb_key_order(a.as_bytes(), b.as_bytes()));
                        for k in keys.into_iter().rev() {
                            stack.push(Work::Value(&map[k]));
                            stack.push(Work::Key(k));
                        }
                    }
                },
            }
        }
        out
    }
}
