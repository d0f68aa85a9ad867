//! A rule's condition: its matchers combined with `and`, `or`, `not` and
//! parentheses; `any` and `all` stand for any or all of the rule's matchers.
//! `not` binds tightest, then `and`, then `or`.

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Matcher(usize),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Any,
    All,
}

/// A problem at a character offset of the condition text.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    And,
    Or,
    Not,
    Open,
    Close,
}

fn lex(text: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((at, Tok::Open));
                i += 1;
            }
            ')' => {
                out.push((at, Tok::Close));
                i += 1;
            }
            c if c.is_alphanumeric() || c == '_' || c == '-' => {
                let start = i;
                while i < chars.len() && (chars[i].1.is_alphanumeric() || chars[i].1 == '_' || chars[i].1 == '-') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().map(|(_, c)| c).collect();
                out.push((
                    at,
                    match word.as_str() {
                        "and" => Tok::And,
                        "or" => Tok::Or,
                        "not" => Tok::Not,
                        _ => Tok::Ident(word),
                    },
                ));
            }
            other => {
                return Err(ParseError {
                    offset: at,
                    message: format!("unexpected `{other}`: use matcher names, and, or, not, ( )"),
                });
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
    names: &'a [String],
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn offset(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(o, _)| *o)
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap()
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.unary()?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap()
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let offset = self.offset();
        match self.toks.get(self.pos).map(|(_, t)| t.clone()) {
            Some(Tok::Not) => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some(Tok::Open) => {
                self.pos += 1;
                let e = self.or()?;
                if self.peek() != Some(&Tok::Close) {
                    return Err(ParseError {
                        offset: self.offset(),
                        message: "missing `)`".into(),
                    });
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Tok::Ident(name)) => {
                self.pos += 1;
                match name.as_str() {
                    "any" => Ok(Expr::Any),
                    "all" => Ok(Expr::All),
                    _ => match self.names.iter().position(|n| *n == name) {
                        Some(i) => Ok(Expr::Matcher(i)),
                        None => Err(ParseError {
                            offset,
                            message: format!(
                                "`{name}` is not a matcher of this rule (its matchers: {})",
                                if self.names.is_empty() {
                                    "none".into()
                                } else {
                                    self.names.join(", ")
                                }
                            ),
                        }),
                    },
                }
            }
            Some(t) => Err(ParseError {
                offset,
                message: format!("expected a matcher name, `not` or `(`, found {t:?}").to_lowercase(),
            }),
            None => Err(ParseError {
                offset,
                message: "the condition ends too early".into(),
            }),
        }
    }
}

/// Parses `text` against the rule's matcher names.
pub fn parse(text: &str, names: &[String]) -> Result<Expr, ParseError> {
    let toks = lex(text)?;
    if toks.is_empty() {
        return Err(ParseError {
            offset: 0,
            message: "the condition is empty".into(),
        });
    }
    let mut p = Parser {
        toks,
        pos: 0,
        end: text.len(),
        names,
    };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err(ParseError {
            offset: p.offset(),
            message: "unexpected text after the condition; join parts with `and` or `or`".into(),
        });
    }
    Ok(e)
}

impl Expr {
    pub fn eval(&self, hits: &[bool]) -> bool {
        match self {
            Expr::Matcher(i) => hits[*i],
            Expr::Not(e) => !e.eval(hits),
            Expr::And(es) => es.iter().all(|e| e.eval(hits)),
            Expr::Or(es) => es.iter().any(|e| e.eval(hits)),
            Expr::Any => hits.iter().any(|h| *h),
            Expr::All => !hits.is_empty() && hits.iter().all(|h| *h),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["a".into(), "b".into(), "c".into()]
    }

    #[test]
    fn precedence_and_evaluation() {
        let e = parse("a or b and not c", &names()).unwrap();
        assert!(e.eval(&[true, false, true]));
        assert!(e.eval(&[false, true, false]));
        assert!(!e.eval(&[false, true, true]));
        let e = parse("(a or b) and not c", &names()).unwrap();
        assert!(!e.eval(&[true, false, true]));
        assert!(parse("any", &names()).unwrap().eval(&[false, false, true]));
        assert!(!parse("all", &names()).unwrap().eval(&[true, true, false]));
        assert!(parse("not a", &names()).unwrap().eval(&[false, false, false]));
    }

    #[test]
    fn errors_point_into_the_text() {
        let e = parse("a and bogus", &names()).unwrap_err();
        assert_eq!(e.offset, 6);
        assert!(
            e.message
                .contains("`bogus` is not a matcher of this rule (its matchers: a, b, c)")
        );
        assert_eq!(parse("(a or b", &names()).unwrap_err().message, "missing `)`");
        assert_eq!(parse("a b", &names()).unwrap_err().offset, 2);
        assert_eq!(parse("a and", &names()).unwrap_err().offset, 5);
        assert_eq!(parse("a & b", &names()).unwrap_err().offset, 2);
        assert!(parse("  ", &names()).is_err());
    }
}
