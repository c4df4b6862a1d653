//! BMP messages of any kind through `ribbit_bmp::decode`: no panic, and a
//! message that decodes encodes back to bytes that decode the same
//! (RFC 7854 framing round trip).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some(len)) = ribbit_bmp::frame_len(rest) {
        let Ok((message, used)) = ribbit_bmp::decode(rest) else {
            break;
        };
        assert_eq!(used, len);
        let bytes = message.to_bytes().expect("a decoded message encodes");
        let (again, _) = ribbit_bmp::decode(&bytes).expect("re-encoded message decodes");
        assert_eq!(again, message);
        rest = rest.get(used..).unwrap_or_default();
    }
});
