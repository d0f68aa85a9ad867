//! Located diagnostics for files people edit (config, rule packs): each
//! problem at file:line:col with a hint, all of a file's problems at once.

use serde::de::DeserializeOwned;
use std::fmt;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

/// A place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub at: Option<Location>,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(at: Option<Location>, message: impl Into<String>, hint: Option<String>) -> Self {
        Diagnostic {
            at,
            message: message.into(),
            hint,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = &self.at {
            write!(f, "{at}: ")?;
        }
        write!(f, "error: {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl Diagnostics {
    pub fn one(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }

    pub fn sorted(mut self) -> Self {
        self.0.sort_by(|a, b| {
            let key = |d: &Diagnostic| d.at.as_ref().map(|l| (l.file.clone(), l.line, l.col));
            key(a).cmp(&key(b))
        });
        self
    }
}

/// A TOML text being read, collecting diagnostics as it goes.
pub struct Source<'a> {
    pub text: &'a str,
    pub origin: &'a str,
    pub errors: Vec<Diagnostic>,
}

pub type Item<'i> = Spanned<DeValue<'i>>;

impl<'a> Source<'a> {
    pub fn new(text: &'a str, origin: &'a str) -> Self {
        Source {
            text,
            origin,
            errors: Vec::new(),
        }
    }

    pub fn location(&self, offset: usize) -> Location {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Location {
            file: self.origin.to_owned(),
            line,
            col,
        }
    }

    pub fn error(&mut self, span: Option<Range<usize>>, message: impl Into<String>, hint: Option<String>) {
        let at = span.map(|s| self.location(s.start));
        self.errors.push(Diagnostic::new(at, message, hint));
    }

    pub fn error_at(&mut self, at: Location, message: impl Into<String>, hint: Option<String>) {
        self.errors.push(Diagnostic::new(Some(at), message, hint));
    }

    /// Deserializes one value on its own, so that its errors do not hide
    /// those of its neighbours.
    pub fn value<T: DeserializeOwned>(&mut self, value: Item<'_>) -> Option<T> {
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(v) => Some(v),
            Err(e) => {
                let hint = e
                    .message()
                    .contains("unknown field")
                    .then(|| "check the spelling against the documented fields".to_owned());
                self.error(e.span(), e.message().trim().to_owned(), hint);
                None
            }
        }
    }

    /// The tables of a `[[name]]` array.
    pub fn entries<'i>(&mut self, value: Item<'i>, name: &str) -> Vec<Item<'i>> {
        let span = value.span();
        match value.into_inner() {
            DeValue::Array(items) => items.into_iter().collect(),
            _ => {
                self.error(
                    Some(span),
                    format!("`{name}` must be an array of tables"),
                    Some(format!("write each entry as a [[{name}]] table")),
                );
                Vec::new()
            }
        }
    }

    pub fn finish(self) -> Result<(), Diagnostics> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Diagnostics(self.errors).sorted())
        }
    }
}
