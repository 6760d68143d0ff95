//! A parser for the Python literals the Kaggle files use for nested columns.
//!
//! `genres` and friends were written with Python's `repr`, not as JSON:
//! `[{'id': 16, 'name': 'Animation'}]`, strings in double quotes when they hold an
//! apostrophe (`"Children's"`), backslash escapes, `None`, `True`, `False`.
//! Rewriting quotes to make JSON breaks on exactly those cases, so this is a
//! small recursive-descent parser for the subset `repr` produces.

use std::fmt;

/// A parsed Python literal.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<PyValue>),
    Dict(Vec<(PyValue, PyValue)>),
}

impl PyValue {
    /// The value of `key` in a dict with string keys.
    pub fn get(&self, key: &str) -> Option<&PyValue> {
        match self {
            PyValue::Dict(items) => items
                .iter()
                .find(|(k, _)| matches!(k, PyValue::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            PyValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            PyValue::Int(i) => Some(*i),
            _ => None,
        }
    }
}

/// Where and why a literal could not be parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct PyLiteralError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for PyLiteralError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for PyLiteralError {}

/// How deeply lists and dicts may nest. The Kaggle columns nest two deep
/// (a list of dicts); the parser recurses once per level, so an unbounded
/// depth would let one field overflow the stack and abort the process.
pub const MAX_DEPTH: usize = 32;

/// Parses one complete literal; trailing text other than whitespace is an error.
pub fn parse(text: &str) -> Result<PyValue, PyLiteralError> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        pos: 0,
        depth: 0,
    };
    let value = p.value()?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.err("unexpected text after the literal"));
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
    /// Lists and dicts open around `pos`.
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> PyLiteralError {
        PyLiteralError {
            offset: self.pos,
            message: message.to_string(),
        }
    }

    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn value(&mut self) -> Result<PyValue, PyLiteralError> {
        self.skip_ws();
        match self.peek() {
            None => Err(self.err("expected a value, found the end")),
            Some(b'[' | b'(' | b'{') => {
                if self.depth == MAX_DEPTH {
                    return Err(self.err(&format!("nested deeper than {MAX_DEPTH} levels")));
                }
                self.depth += 1;
                let nested = match self.peek() {
                    Some(b'[') => self.sequence(b']').map(PyValue::List),
                    Some(b'(') => self.sequence(b')').map(PyValue::List),
                    _ => self.dict(),
                };
                self.depth -= 1;
                nested
            }
            Some(q @ (b'\'' | b'"')) => self.string(q).map(PyValue::Str),
            Some(c) if c == b'-' || c == b'+' || c.is_ascii_digit() || c == b'.' => self.number(),
            Some(_) => self.word(),
        }
    }

    fn sequence(&mut self, close: u8) -> Result<Vec<PyValue>, PyLiteralError> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(items);
            }
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => return Err(self.err("expected ',' or the end of the list")),
            }
        }
    }

    fn dict(&mut self) -> Result<PyValue, PyLiteralError> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some(b'}') {
                self.pos += 1;
                return Ok(PyValue::Dict(items));
            }
            let key = self.value()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expected ':' after a dict key"));
            }
            self.pos += 1;
            let value = self.value()?;
            items.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => return Err(self.err("expected ',' or '}' in a dict")),
            }
        }
    }

    fn string(&mut self, quote: u8) -> Result<String, PyLiteralError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut run_start = self.pos;
        while let Some(c) = self.peek() {
            if c == quote {
                out.push_str(&self.text[run_start..self.pos]);
                self.pos += 1;
                return Ok(out);
            }
            if c == b'\\' {
                out.push_str(&self.text[run_start..self.pos]);
                self.pos += 1;
                let escaped = self.peek().ok_or_else(|| self.err("dangling backslash"))?;
                self.pos += 1;
                match escaped {
                    b'n' => out.push('\n'),
                    b't' => out.push('\t'),
                    b'r' => out.push('\r'),
                    b'\\' => out.push('\\'),
                    b'\'' => out.push('\''),
                    b'"' => out.push('"'),
                    b'x' => out.push(self.hex_char(2)?),
                    b'u' => out.push(self.hex_char(4)?),
                    b'U' => out.push(self.hex_char(8)?),
                    // Python keeps unknown escapes as written.
                    other => {
                        out.push('\\');
                        self.pos -= 1;
                        let _ = other;
                    }
                }
                run_start = self.pos;
                continue;
            }
            // Multi-byte UTF-8 sequences never contain quote or backslash bytes.
            self.pos += 1;
        }
        self.pos = start;
        Err(self.err("unterminated string"))
    }

    fn hex_char(&mut self, digits: usize) -> Result<char, PyLiteralError> {
        let hex = self
            .text
            .get(self.pos..self.pos + digits)
            .ok_or_else(|| self.err("short hex escape"))?;
        let code = u32::from_str_radix(hex, 16).map_err(|_| self.err("bad hex escape"))?;
        self.pos += digits;
        char::from_u32(code).ok_or_else(|| self.err("escape is not a character"))
    }

    fn number(&mut self) -> Result<PyValue, PyLiteralError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E') {
                self.pos += 1;
            } else {
                break;
            }
        }
        let text = &self.text[start..self.pos];
        if let Ok(i) = text.parse::<i64>() {
            return Ok(PyValue::Int(i));
        }
        text.parse::<f64>()
            .map(PyValue::Float)
            .map_err(|_| PyLiteralError {
                offset: start,
                message: format!("bad number {text:?}"),
            })
    }

    fn word(&mut self) -> Result<PyValue, PyLiteralError> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.pos += 1;
        }
        match &self.text[start..self.pos] {
            "None" => Ok(PyValue::None),
            "True" => Ok(PyValue::Bool(true)),
            "False" => Ok(PyValue::Bool(false)),
            "nan" => Ok(PyValue::Float(f64::NAN)),
            _ => {
                self.pos = start;
                Err(self.err("expected a value"))
            }
        }
    }
}

/// Writes `value` the way Python's `repr` does (used by the generator, so the
/// files it writes round-trip through [`parse`]).
pub fn repr_str(s: &str) -> String {
    // repr prefers single quotes; it switches to double quotes when the string has
    // an apostrophe and no double quote.
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &PyValue) -> Vec<&str> {
        match v {
            PyValue::List(items) => items
                .iter()
                .filter_map(|d| d.get("name")?.as_str())
                .collect(),
            _ => panic!("not a list: {v:?}"),
        }
    }

    #[test]
    fn genres_list() {
        let v = parse("[{'id': 16, 'name': 'Animation'}, {'id': 35, 'name': 'Comedy'}]").unwrap();
        assert_eq!(names(&v), ["Animation", "Comedy"]);
        assert_eq!(
            v,
            parse("[{'id':16,'name':'Animation'},{'id':35,'name':'Comedy'}]").unwrap()
        );
        assert_eq!(parse("[]").unwrap(), PyValue::List(vec![]));
    }

    #[test]
    fn apostrophes_switch_to_double_quotes() {
        let v = parse(r#"[{'id': 15101, 'name': "based on children's book"}]"#).unwrap();
        assert_eq!(names(&v), ["based on children's book"]);
        let v = parse(r#"[{'name': 'it\'s "quoted"'}]"#).unwrap();
        assert_eq!(names(&v), [r#"it's "quoted""#]);
    }

    #[test]
    fn none_bools_floats_and_unicode() {
        let v =
            parse("{'poster_path': None, 'adult': False, 'x': True, 'p': 7.5, 'n': 'Amélie 東京'}")
                .unwrap();
        assert_eq!(v.get("poster_path"), Some(&PyValue::None));
        assert_eq!(v.get("adult"), Some(&PyValue::Bool(false)));
        assert_eq!(v.get("x"), Some(&PyValue::Bool(true)));
        assert_eq!(v.get("p"), Some(&PyValue::Float(7.5)));
        assert_eq!(v.get("n").and_then(PyValue::as_str), Some("Amélie 東京"));
        assert_eq!(parse("'\\xe9\\u6771'").unwrap(), PyValue::Str("é東".into()));
    }

    #[test]
    fn nested_quotes_inside_strings_do_not_end_them() {
        let v = parse(r#"[{'character': 'Bob "The Rock" Smith', 'name': "O'Brien"}]"#).unwrap();
        let d = match &v {
            PyValue::List(d) => &d[0],
            _ => unreachable!(),
        };
        assert_eq!(
            d.get("character").and_then(PyValue::as_str),
            Some(r#"Bob "The Rock" Smith"#)
        );
        assert_eq!(d.get("name").and_then(PyValue::as_str), Some("O'Brien"));
    }

    #[test]
    fn malformed_literals_are_errors_with_an_offset() {
        for bad in [
            "[{'id': 16, 'name': 'Anim",
            "[{'id' 16}]",
            "[1, 2",
            "Null",
            "[1] x",
            "",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.offset <= bad.len(), "{bad}: {e}");
        }
    }

    #[test]
    fn repr_round_trips() {
        for s in [
            "plain",
            "children's",
            r#"say "hi""#,
            r#"both ' and ""#,
            "back\\slash",
            "é",
        ] {
            assert_eq!(parse(&repr_str(s)).unwrap(), PyValue::Str(s.into()), "{s}");
        }
        assert_eq!(repr_str("children's"), "\"children's\"");
    }

    #[test]
    fn nesting_is_bounded_instead_of_overflowing_the_stack() {
        // The depth that aborted the process (exit 134) before the limit.
        let deep = "[".repeat(19_300) + &"]".repeat(19_300);
        let e = parse(&deep).unwrap_err();
        assert!(e.message.contains("nested deeper than 32"), "{e}");
        assert_eq!(e.offset, MAX_DEPTH);
        let dicts = "{'a': ".repeat(40) + "1" + &"}".repeat(40);
        assert!(parse(&dicts).is_err());
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
    }
}
