//! Flowspec NLRI of both AFIs, with and without RD and path identifier:
//! decoding never panics, and what decodes re-encodes to an equal rule.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ribbit_wire::nlri::FlowspecNlri;
use ribbit_wire::reader::Reader;
use ribbit_wire::Afi;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let afi = if mode & 1 == 0 { Afi::IPV4 } else { Afi::IPV6 };
    let vpn = mode & 2 != 0;
    let add_path = mode & 4 != 0;
    let mut r = Reader::new(bytes, 0);
    while !r.is_empty() {
        let Ok(rule) = FlowspecNlri::decode(&mut r, afi, vpn, add_path) else {
            return;
        };
        let mut out = Vec::new();
        rule.encode(afi, add_path, &mut out);
        assert_eq!(out.len(), rule.encoded_len(afi, add_path));
        let again = FlowspecNlri::decode(&mut Reader::new(&out, 0), afi, vpn, add_path)
            .expect("a decoded rule re-encodes to a decodable one");
        assert_eq!(again, rule);
    }
});
