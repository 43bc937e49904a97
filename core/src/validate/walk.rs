//! The walk: one pass over the event stream does the privacy walk (every key at every depth), the
//! strict field checks of the top-level object, and the bookkeeping the cross-field rules need.
//! No recursion: depth costs one `Vec` entry per level.

use super::kinds::{Kind, Ty, Val, Values, KINDS, MAX_FIELDS};
use super::path::{Path, Seg};
use super::scalars::{check_scalar, expected, EXPECTED_CODE_ELEMENT, EXPECTED_OBJECT};
use crate::events::Event;
use crate::issues::{IssueCode, Issues};
use crate::privacy::forbidden_key;

/// The field names shown as written in `pilot_disallowed_key_paths`: those of every kind.
fn any_field_name(key: &[u8]) -> Option<&'static str> {
    KINDS
        .iter()
        .flat_map(|k| k.fields.iter())
        .map(|f| f.name)
        .find(|n| n.as_bytes() == key)
}

struct Level {
    object: bool,
    count: usize,
}

pub(crate) struct Walk<'a> {
    kind: Option<&'static Kind>,
    /// Whose field names paths show as written: the payload's kind, or every kind.
    names: Option<&'static Kind>,
    levels: Vec<Level>,
    path: Path,
    issues: Issues,
    vals: [Val<'a>; MAX_FIELDS],
    /// The field the next top-level value belongs to (None: unknown or forbidden key).
    field: Option<usize>,
    /// While inside a top-level array field: (field index, all elements valid so far). The
    /// element count is the array level's own `count`.
    array_field: Option<(usize, bool)>,
    root_object: bool,
}

impl<'a> Walk<'a> {
    pub(crate) fn new(
        kind: Option<&'static Kind>,
        names: Option<&'static Kind>,
        keep: usize,
    ) -> Self {
        Walk {
            kind,
            names,
            levels: Vec::with_capacity(8),
            path: Path::default(),
            issues: Issues::new(keep),
            vals: [Val::Absent; MAX_FIELDS],
            field: None,
            array_field: None,
            root_object: false,
        }
    }

    /// A value starts at the current position: give it its path segment when inside an array.
    fn value_start(&mut self) {
        if let Some(level) = self.levels.last_mut() {
            if !level.object {
                self.path.push(Seg::Index(level.count));
                level.count += 1;
            }
        }
    }

    fn value_done(&mut self) {
        if !self.levels.is_empty() {
            self.path.pop();
        }
    }

    fn report(&mut self, code: IssueCode, message: impl FnOnce() -> String) {
        let path = &self.path;
        self.issues.other(|| path.render(), code, message);
    }

    fn event(&mut self, ev: Event<'a>) {
        let depth = self.levels.len();
        match ev {
            Event::Key(key) => {
                // A key outside an object cannot come from a well-formed document: ignore it
                // rather than trust the stream (the jsonb reader reports malformed input).
                let Some(level) = self.levels.last_mut().filter(|l| l.object) else {
                    return;
                };
                let pos = level.count;
                level.count += 1;
                let forbidden = forbidden_key(key);
                // The key's field in `names` — the payload's kind whenever `kind` is set — found
                // once, for the path segment and for the field checks below.
                let field = self
                    .names
                    .and_then(|k| k.fields.iter().position(|f| f.name.as_bytes() == key));
                // How the key is shown in paths (SPEC §6): never its own text unless it is a
                // forbidden key (by canonical name) or a field name.
                let shown = forbidden.or_else(|| match self.names {
                    Some(k) => field.map(|i| k.fields[i].name),
                    None => any_field_name(key),
                });
                self.path.push(shown.map_or(Seg::Key(pos), Seg::Name));
                if forbidden.is_some() {
                    let path = &self.path;
                    self.issues.privacy(|| path.render());
                }
                if depth == 1 && self.root_object {
                    if let Some(kind) = self.kind {
                        self.field = None;
                        debug_assert!(self.names.is_some_and(|n| std::ptr::eq(n, kind)));
                        if forbidden.is_none() {
                            match field {
                                Some(i) => self.field = Some(i),
                                None => self.report(IssueCode::UnknownKey, || {
                                    "this key is not part of the payload".into()
                                }),
                            }
                        }
                    }
                }
            }
            Event::BeginObject | Event::BeginArray => {
                let object = ev == Event::BeginObject;
                self.value_start();
                if let Some(kind) = self.kind {
                    if depth == 0 {
                        self.root_object = object;
                        if !object {
                            self.report(IssueCode::WrongType, || EXPECTED_OBJECT.into());
                        }
                    } else if depth == 1 && self.root_object {
                        if let Some(i) = self.field.take() {
                            match (kind.fields[i].ty, object) {
                                (Ty::Codes { .. }, false) => self.array_field = Some((i, true)),
                                (ty, _) => {
                                    self.report(IssueCode::WrongType, || expected(ty).into());
                                    self.vals[i] = Val::Invalid;
                                }
                            }
                        }
                    } else if depth == 2 {
                        if let Some((_, ok)) = self.array_field.as_mut() {
                            *ok = false;
                            self.report(IssueCode::WrongType, || EXPECTED_CODE_ELEMENT.into());
                        }
                    }
                }
                self.levels.push(Level { object, count: 0 });
            }
            Event::EndObject | Event::EndArray => {
                let Some(level) = self.levels.pop() else {
                    return;
                };
                if self.levels.len() == 1 && !level.object {
                    if let (Some((i, ok)), Some(kind)) = (self.array_field.take(), self.kind) {
                        let n = level.count;
                        let min = match kind.fields[i].ty {
                            Ty::Codes { min_items, .. } => min_items,
                            _ => 0,
                        };
                        self.vals[i] = if ok { Val::Items(n) } else { Val::Invalid };
                        if n < min {
                            self.report(IssueCode::TooFewItems, || {
                                format!("must hold at least {min} item(s)")
                            });
                            self.vals[i] = Val::Invalid;
                        }
                    }
                }
                self.value_done();
            }
            scalar => {
                self.value_start();
                if let Some(kind) = self.kind {
                    if depth == 0 {
                        self.report(IssueCode::WrongType, || EXPECTED_OBJECT.into());
                    } else if depth == 1 && self.root_object {
                        if let Some(i) = self.field.take() {
                            let path = &self.path;
                            self.vals[i] =
                                check_scalar(kind.fields[i].ty, scalar, &mut self.issues, &|| {
                                    path.render()
                                });
                        }
                    } else if depth == 2 {
                        if let Some((i, ok)) = self.array_field.as_mut() {
                            let max = match kind.fields[*i].ty {
                                Ty::Codes { max, .. } => max,
                                _ => 100,
                            };
                            let elem = match scalar {
                                Event::Null => Event::Number, // a null element is a wrong type, not absent
                                other => other,
                            };
                            let path = &self.path;
                            if check_scalar(Ty::Code(max), elem, &mut self.issues, &|| {
                                path.render()
                            }) == Val::Invalid
                            {
                                *ok = false;
                            }
                        }
                    }
                }
                self.value_done();
            }
        }
    }

    pub(crate) fn finish(mut self) -> Issues {
        if let (Some(kind), true) = (self.kind, self.root_object) {
            for (i, f) in kind.fields.iter().enumerate() {
                if f.required && self.vals[i] == Val::Absent {
                    self.issues.other(
                        || f.name.to_string(),
                        IssueCode::MissingKey,
                        || "this key is required".into(),
                    );
                }
            }
            let values = Values {
                kind,
                vals: self.vals,
            };
            (kind.rules)(&values, &mut self.issues);
        }
        self.issues
    }
}

/// The walks call `interrupt` once per this many events: inside PostgreSQL it is
/// `check_for_interrupts!`, so `statement_timeout` and cancellation stop any input (SPEC §6).
/// It may unwind (a PostgreSQL error); the walks hold nothing that needs more than a drop.
pub const INTERRUPT_EVERY: usize = 4096;

pub(crate) fn run<'a>(
    walk: &mut Walk<'a>,
    events: impl Iterator<Item = Event<'a>>,
    interrupt: &mut dyn FnMut(),
) {
    for (n, ev) in events.enumerate() {
        if n % INTERRUPT_EVERY == 0 {
            interrupt();
        }
        walk.event(ev);
    }
}
