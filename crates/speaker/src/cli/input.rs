//! Command-line inputs: each argument is one item, and `-` stands for the
//! lines of standard input (blank lines and `#` comments skipped).

use std::fmt;
use std::io::{self, BufRead};

/// Where an input came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The n-th argument (1-based).
    Argument(usize),
    /// A line of standard input (1-based, counting skipped lines).
    Stdin(usize),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Argument(n) => write!(f, "argument {n}"),
            Origin::Stdin(n) => write!(f, "standard input, line {n}"),
        }
    }
}

/// One input item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The text.
    pub text: String,
    /// Where it came from.
    pub origin: Origin,
}

/// The arguments, with `-` replaced by the lines of standard input.
pub fn gather(args: &[String]) -> io::Result<Vec<Input>> {
    gather_from(args, io::stdin().lock())
}

/// [`gather`] with standard input given, for tests.
pub fn gather_from(args: &[String], stdin: impl BufRead) -> io::Result<Vec<Input>> {
    let mut inputs = Vec::with_capacity(args.len());
    let mut stdin = Some(stdin);
    for (i, arg) in args.iter().enumerate() {
        if arg != "-" {
            inputs.push(Input {
                text: arg.clone(),
                origin: Origin::Argument(i.saturating_add(1)),
            });
            continue;
        }
        // A second `-` finds standard input at its end: nothing more to read.
        let Some(reader) = stdin.take() else {
            continue;
        };
        for (n, line) in reader.lines().enumerate() {
            let line = line?;
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            inputs.push(Input {
                text: line,
                origin: Origin::Stdin(n.saturating_add(1)),
            });
        }
    }
    Ok(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_and_stdin() {
        let args: Vec<String> = ["a", "-", "b", "-"].iter().map(|s| s.to_string()).collect();
        let stdin = io::Cursor::new("x\n\n# comment\ny\n");
        let got = gather_from(&args, stdin).unwrap();
        let texts: Vec<_> = got.iter().map(|i| (i.text.as_str(), i.origin)).collect();
        assert_eq!(
            texts,
            [
                ("a", Origin::Argument(1)),
                ("x", Origin::Stdin(1)),
                ("y", Origin::Stdin(4)),
                ("b", Origin::Argument(3)),
            ]
        );
        assert_eq!(Origin::Stdin(4).to_string(), "standard input, line 4");
    }
}
