//! Splitting a `run` command line into words the way a POSIX shell does,
//! without running a shell: no variables, globbing, pipes or redirections,
//! so what is configured is exactly what is started.

/// A command line that cannot be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// A quote was opened and never closed.
    #[error("the {0} quote opened at character {1} is not closed")]
    Unclosed(&'static str, usize),
    /// The line ends with a backslash that escapes nothing.
    #[error("the line ends with a backslash")]
    TrailingBackslash,
    /// Nothing but blanks.
    #[error("the command line is empty")]
    Empty,
}

/// The words of `line`: separated by unquoted blanks; `'...'` keeps
/// everything literally; `"..."` keeps everything but `\"`, `\\`, `\$` and
/// `` \` ``, which lose their backslash; a backslash outside quotes makes the
/// next character literal. `''` and `""` are empty words.
pub fn split(line: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A word exists once something was written, even an empty quote.
    let mut in_word = false;
    let mut chars = line.chars().enumerate().peekable();
    while let Some((i, ch)) = chars.next() {
        match ch {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, c)) => word.push(c),
                        None => return Err(SplitError::Unclosed("single", i + 1)),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, c @ ('"' | '\\' | '$' | '`'))) => word.push(c),
                            // A backslash-newline inside double quotes is a
                            // line continuation in a shell: both vanish.
                            Some((_, '\n')) => {}
                            Some((_, c)) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(SplitError::Unclosed("double", i + 1)),
                        },
                        Some((_, c)) => word.push(c),
                        None => return Err(SplitError::Unclosed("double", i + 1)),
                    }
                }
            }
            '\\' => match chars.next() {
                Some((_, '\n')) => {}
                Some((_, c)) => {
                    in_word = true;
                    word.push(c);
                }
                None => return Err(SplitError::TrailingBackslash),
            },
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        return Err(SplitError::Empty);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Vec<String> {
        split(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    #[test]
    fn words_and_quotes() {
        assert_eq!(
            ok("/usr/local/bin/controller.py --flag"),
            ["/usr/local/bin/controller.py", "--flag"]
        );
        assert_eq!(ok("  a   b\tc  "), ["a", "b", "c"]);
        assert_eq!(
            ok(r#"ribbit healthcheck --cmd "curl -sf http://127.0.0.1/" --ip 192.0.2.1/32"#),
            [
                "ribbit",
                "healthcheck",
                "--cmd",
                "curl -sf http://127.0.0.1/",
                "--ip",
                "192.0.2.1/32"
            ]
        );
        assert_eq!(ok("echo 'it''s' x"), ["echo", "its", "x"]);
        assert_eq!(
            ok(r#"a "b \"c\" \\ \$HOME \n""#),
            ["a", r#"b "c" \ $HOME \n"#]
        );
        assert_eq!(ok(r"a\ b c"), ["a b", "c"]);
        assert_eq!(ok(r#"a '' """#), ["a", "", ""]);
        assert_eq!(ok("'$HOME' *"), ["$HOME", "*"]);
    }

    #[test]
    fn errors() {
        assert_eq!(split("a 'b"), Err(SplitError::Unclosed("single", 3)));
        assert_eq!(split(r#"a "b"#), Err(SplitError::Unclosed("double", 3)));
        assert_eq!(split("a \\"), Err(SplitError::TrailingBackslash));
        assert_eq!(split("   "), Err(SplitError::Empty));
    }
}
