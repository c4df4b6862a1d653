//! decode -> encode -> decode is the identity for every message that
//! decodes cleanly, under every context.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ribbit_wire::{EncodeContext, Message};

#[path = "context.rs"]
mod context;

fuzz_target!(|data: &[u8]| {
    let Some((ctx, bytes)) = context::split(data) else {
        return;
    };
    let Ok(message) = Message::decode(bytes, &ctx) else {
        return;
    };
    if let Message::Update(u) = &message {
        // Issues mean something was dropped on decode: the re-encoding
        // legitimately differs.
        if !u.issues.is_empty() {
            return;
        }
    }
    let enc = EncodeContext {
        four_octet_as: ctx.four_octet_as,
        add_path: ctx.add_path,
        extended_message: ctx.extended_message,
    };
    let out = message.to_bytes(&enc);
    let again = Message::decode(&out, &ctx).expect("re-encoded message decodes");
    assert_eq!(again, message);
});
