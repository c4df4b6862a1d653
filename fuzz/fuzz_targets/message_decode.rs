//! Any bytes, any negotiated context: decoding a whole message never panics,
//! and every error maps to a NOTIFICATION.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ribbit_wire::Message;

#[path = "context.rs"]
mod context;

fuzz_target!(|data: &[u8]| {
    let Some((ctx, bytes)) = context::split(data) else {
        return;
    };
    if let Err(e) = Message::decode(bytes, &ctx) {
        let n = e.notification();
        assert!(n.code >= 1 && n.code <= 8);
        let _ = e.to_string();
    }
});
