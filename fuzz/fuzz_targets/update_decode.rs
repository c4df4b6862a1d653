//! UPDATE bodies under every context: no panic, RFC 7606 issues never ask
//! for a session reset (those must be errors instead), and decoding into a
//! used UPDATE (its buffers reused) gives what decoding afresh gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ribbit_wire::{Action, Update};

#[path = "context.rs"]
mod context;

fuzz_target!(|data: &[u8]| {
    let Some((ctx, body)) = context::split(data) else {
        return;
    };
    if let Ok(update) = Update::decode(body, &ctx) {
        assert!(update
            .issues
            .iter()
            .all(|i| i.action != Action::SessionReset));
        let _ = update.end_of_rib_family();
        let mut reused = update.clone();
        assert!(reused.decode_into(body, &ctx).is_ok());
        assert_eq!(reused, update);
    }
});
