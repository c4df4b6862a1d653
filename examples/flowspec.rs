//! A program that embeds Ribbit: one neighbor, one Flowspec rule, every
//! event printed. `cargo run --example flowspec`, with a BGP peer at
//! 127.0.0.2 (AS 65001) that connects to 127.0.0.1:1179; Ctrl-C stops it
//! with a Cease to the peer.

use ribbit::route::{Flow, Op};
use ribbit::{Neighbor, Speaker};
use ribbit_wire::Family;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let speaker = Speaker::builder()
        .asn(65000)
        .router_id("192.0.2.1".parse()?)
        .listen(["127.0.0.1:1179".parse()?])
        .build()?;
    speaker.add_neighbor(
        Neighbor::new("127.0.0.2".parse()?, 65001)
            .families([Family::IPV4_UNICAST, Family::IPV4_FLOWSPEC])
            .passive(true),
    )?;
    // Drop DNS answers to 10.0.0.0/24, tagged 100:100.
    speaker.announce_flow(
        Flow::matching()
            .destination("10.0.0.0/24".parse()?)
            .protocol(Op::eq(17))
            .source_port(Op::eq(53))
            .then()
            .discard()
            .community("100:100".parse()?),
    )?;
    let mut events = speaker.subscribe();
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            println!("{event}");
        }
    });
    tokio::select! {
        served = speaker.serve() => served?,
        _ = tokio::signal::ctrl_c() => speaker.stop(Some("stopped by its operator".into())).await,
    }
    Ok(())
}
