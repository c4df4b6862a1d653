//! Decode one MRT file with ribbit-mrt and with bgpkit-parser, one after
//! the other in the same process, and print the time of each.
//!
//! `cargo run --release --manifest-path crates/mrt/benches/side_by_side/Cargo.toml -- FILE`
//!
//! Each reader goes through every route of the file and touches what it
//! decoded (so that nothing is optimised away):
//! - `ribbit-mrt records`: `MrtReader` and the full decode into `Record`
//!   (every RIB entry's attributes into a `PathAttributes`), the
//!   counterpart of bgpkit-parser's records;
//! - `ribbit-mrt views`: the zero-copy views (`RibView`, `AttrView`) and the
//!   origin AS of each path, what the filters of `ribbit mrt` use;
//! - `ribbit-mrt bgpdump`: the `bgpdump -m` text of every path, into a
//!   buffer that is cleared after each record;
//! - `bgpkit-parser elems`: `BgpkitParser::into_elem_iter`, one `BgpElem`
//!   per path with its attributes;
//! - `bgpkit-parser records`: `into_record_iter`, the records decoded.

use std::fs::File;
use std::io::BufReader;
use std::time::Instant;

use ribbit_mrt::bgpdump::Bgpdump;
use ribbit_mrt::filter::Filter;
use ribbit_mrt::view::{origin_as, AttrView, RibView};
use ribbit_mrt::{Body, MrtReader, TableDumpV2};

fn open(path: &str) -> BufReader<File> {
    BufReader::with_capacity(1 << 16, File::open(path).expect("open the file"))
}

fn report(name: &str, secs: f64, routes: u64, check: u64) {
    println!(
        "{name:<24} {secs:7.3} s  {routes:>9} paths  {:6.1} ns/path  (check {check})",
        secs * 1e9 / routes.max(1) as f64
    );
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: mrt-side-by-side FILE");
    let mut results = Vec::new();

    let t = Instant::now();
    let (mut routes, mut check) = (0u64, 0u64);
    for r in MrtReader::new(open(&path)).expect("read") {
        if let Body::TableDumpV2(TableDumpV2::Rib(rib)) = r.expect("record").body {
            for e in &rib.entries {
                routes += 1;
                check += e.attributes.as_path.as_ref().map_or(0, |p| p.path_len() as u64);
            }
        }
    }
    results.push(("ribbit-mrt records", t.elapsed().as_secs_f64(), routes, check));

    let t = Instant::now();
    let (mut routes, mut check) = (0u64, 0u64);
    let mut reader = MrtReader::new(open(&path)).expect("read");
    while let Some(raw) = reader.next_raw().expect("record") {
        if let Some(rib) = RibView::of(&raw) {
            for e in rib.expect("rib").entries() {
                let e = e.expect("entry");
                let a = AttrView::read(e.attributes).expect("attributes");
                routes += 1;
                if let Some(ribbit_mrt::view::OriginAs::One(o)) =
                    a.as_path.and_then(|p| origin_as(p, 4))
                {
                    check += u64::from(o & 1);
                }
            }
        }
    }
    results.push(("ribbit-mrt views", t.elapsed().as_secs_f64(), routes, check));

    let t = Instant::now();
    let (mut routes, mut check) = (0u64, 0u64);
    let mut reader = MrtReader::new(open(&path)).expect("read");
    let mut f = Bgpdump::new();
    let filter = Filter::default();
    let mut out = Vec::with_capacity(1 << 16);
    while let Some(raw) = reader.next_raw().expect("record") {
        routes += f.format(&raw, &filter, &mut out).expect("format") as u64;
        check += out.len() as u64;
        out.clear();
    }
    results.push(("ribbit-mrt bgpdump", t.elapsed().as_secs_f64(), routes, check));

    let t = Instant::now();
    let (mut routes, mut check) = (0u64, 0u64);
    for elem in bgpkit_parser::BgpkitParser::from_reader(open(&path)).into_elem_iter() {
        routes += 1;
        check += elem.as_path.as_ref().map_or(0, |p| p.route_len() as u64);
    }
    results.push(("bgpkit-parser elems", t.elapsed().as_secs_f64(), routes, check));

    let t = Instant::now();
    let (mut routes, mut check) = (0u64, 0u64);
    for record in bgpkit_parser::BgpkitParser::from_reader(open(&path)).into_record_iter() {
        routes += 1;
        check += u64::from(record.common_header.length);
    }
    results.push(("bgpkit-parser records", t.elapsed().as_secs_f64(), routes, check));

    for (name, secs, routes, check) in results {
        report(name, secs, routes, check);
    }
}
