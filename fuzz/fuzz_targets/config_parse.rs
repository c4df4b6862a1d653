//! Configuration text, as a user may write it: checking it never panics,
//! and a refusal always says something (its message names where, with
//! the line it quotes, whatever characters the text holds).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ribbit::config::Config;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = Config::parse(&text, "fuzz.toml") {
        assert!(!e.to_string().is_empty());
    }
});
