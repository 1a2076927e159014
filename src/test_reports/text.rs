//! Capped text: attribute values and element text cut to a size limit on a
//! character boundary, so a hostile report cannot make one field large.

use quick_xml::events::BytesStart;

use super::{Limits, ReportError};

/// `text` cut to at most `max` bytes on a character boundary, with `…`
/// appended when something was cut.
pub fn cap(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The unescaped value of attribute `name`, capped; `None` when absent.
///
/// Errors: a malformed attribute or an entity other than XML's predefined
/// ones (quick-xml resolves only those), reported at `position`.
pub fn attribute(
    start: &BytesStart,
    name: &[u8],
    limits: &Limits,
    position: u64,
) -> Result<Option<String>, ReportError> {
    let bad = |reason: String| ReportError::Malformed { position, reason };
    for attr in start.attributes() {
        let attr = attr.map_err(|e| bad(e.to_string()))?;
        if attr.key.local_name().as_ref() == name {
            let value = attr.unescape_value().map_err(|e| bad(e.to_string()))?;
            return Ok(Some(cap(&value, limits.max_text)));
        }
    }
    Ok(None)
}

/// Text gathered for the element being read, kept to a size limit: what
/// goes past it is counted but not kept.
#[derive(Debug, Default)]
pub struct CappedText {
    text: Option<String>,
    max: usize,
    cut: bool,
}

impl CappedText {
    /// Starts gathering, up to `max` bytes.
    pub fn start(&mut self, max: usize) {
        self.text = Some(String::new());
        self.max = max;
        self.cut = false;
    }

    /// Adds `piece` when gathering (and below the limit).
    pub fn push(&mut self, piece: &str) {
        let Some(text) = self.text.as_mut() else { return };
        if self.cut {
            return;
        }
        if text.len() + piece.len() <= self.max {
            text.push_str(piece);
        } else {
            let capped = cap(piece, self.max - text.len());
            text.push_str(&capped);
            self.cut = true;
        }
    }

    /// What was gathered, and stops gathering.
    pub fn take(&mut self) -> Option<String> {
        self.text.take()
    }
}
