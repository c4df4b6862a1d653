//! Lines a program writes to the process API (ExaBGP's text grammar): no
//! panic whatever the line, and every command that parses encodes into
//! messages that Ribbit's own decoder reads back without an error, unless
//! the command carries raw attributes (`attribute [code flags value]`),
//! which are sent as given, as ExaBGP does, even when a peer must refuse
//! them (a well-known code Ribbit does not know, say).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ribbit_exabgp::text::{self, Command, EncodeSettings};
use ribbit_wire::{DecodeContext, Message};

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    // The selectors alone, as the process API splits them for its own
    // commands: the rest is a suffix of the line.
    if let Ok((_, rest)) = text::split_selectors(&line) {
        assert!(line.ends_with(rest));
        let _ = text::column_offset(&line, rest);
    }
    let Ok(cmd) = text::parse(&line) else {
        return;
    };
    let settings = EncodeSettings::default();
    let Ok(messages) = cmd.command.encode(&settings) else {
        return;
    };
    let raw = matches!(&cmd.command, Command::Announce(a) if !a.attributes.unknown.is_empty());
    let ctx = DecodeContext::default();
    for m in &messages {
        if let (Err(e), false) = (Message::decode(m, &ctx), raw) {
            panic!("{line:?} encodes to a message Ribbit cannot decode: {e}");
        }
    }
});
