//! Paths as shown in issues (SPEC §6): dotted segments that never carry a key's own text, unless
//! it is a field name or a forbidden key's canonical name; cut to [`MAX_PATH_BYTES`] from the end.

/// One step of a path, as shown (SPEC §6). A key name is user data, so only names that are not:
/// a forbidden key by its canonical name, a field name of the payload's kind, and otherwise the
/// key's 0-based position in its object's `jsonb` key order.
#[derive(Clone, Copy)]
pub(crate) enum Seg {
    Name(&'static str),
    Key(usize),
    Index(usize),
}

/// Paths longer than this are shown as `#depth:<d>.` and their last segments that fit.
pub const MAX_PATH_BYTES: usize = 512;

#[inline]
fn digits(mut n: usize) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

impl Seg {
    #[inline]
    fn len(self) -> usize {
        match self {
            Seg::Name(n) => n.len(),
            Seg::Key(pos) => 1 + digits(pos),
            Seg::Index(i) => digits(i),
        }
    }

    fn push_to(self, out: &mut String) {
        use std::fmt::Write;
        let _ = match self {
            Seg::Name(n) => out.write_str(n),
            Seg::Key(pos) => write!(out, "#{pos}"),
            Seg::Index(i) => write!(out, "{i}"),
        };
    }
}

/// The current position in the document, with its rendered length kept up to date, so that a
/// path is rendered in at most [`MAX_PATH_BYTES`] of work however deep it is.
#[derive(Default)]
pub(crate) struct Path {
    segs: Vec<Seg>,
    /// Rendered length: segments plus the dots between them.
    bytes: usize,
}

impl Path {
    #[inline]
    pub(crate) fn push(&mut self, seg: Seg) {
        self.bytes += seg.len() + usize::from(!self.segs.is_empty());
        self.segs.push(seg);
    }

    #[inline]
    pub(crate) fn pop(&mut self) {
        if let Some(seg) = self.segs.pop() {
            self.bytes -= seg.len() + usize::from(!self.segs.is_empty());
        }
    }

    pub(crate) fn render(&self) -> String {
        let mut out = String::with_capacity(self.bytes.min(MAX_PATH_BYTES));
        let from = if self.bytes <= MAX_PATH_BYTES {
            0
        } else {
            use std::fmt::Write;
            let _ = write!(out, "#depth:{}", self.segs.len());
            // Take segments from the end while `.segment` still fits.
            let mut used = out.len();
            let mut from = self.segs.len();
            while from > 0 && used + 1 + self.segs[from - 1].len() <= MAX_PATH_BYTES {
                from -= 1;
                used += 1 + self.segs[from].len();
            }
            out.push('.');
            from
        };
        for (n, seg) in self.segs[from..].iter().enumerate() {
            if n > 0 {
                out.push('.');
            }
            seg.push_to(&mut out);
        }
        out
    }
}
