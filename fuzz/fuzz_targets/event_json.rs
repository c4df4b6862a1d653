//! The JSON a program gets for a received UPDATE: for any UPDATE body that
//! decodes (under every context), ExaBGP's shape is made without a panic,
//! and when the direct text writer takes the UPDATE (the common shapes),
//! its text is valid JSON with the same members and values as the general
//! path's.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ribbit::process::encode::fast_update;
use ribbit_wire::Update;

#[path = "context.rs"]
mod context;

fuzz_target!(|data: &[u8]| {
    let Some((ctx, body)) = context::split(data) else {
        return;
    };
    let Ok(update) = Update::decode(body, &ctx) else {
        return;
    };
    let value = ribbit_exabgp::json::update(&update);
    let mut fast = String::new();
    if fast_update(&update, &mut fast) {
        let parsed: serde_json::Value = match serde_json::from_str(&fast) {
            Ok(v) => v,
            Err(e) => panic!("not JSON ({e}): {fast}"),
        };
        assert_eq!(parsed, value, "{fast}");
    } else {
        assert!(fast.is_empty());
    }
});
