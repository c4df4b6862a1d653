//! A program that embeds Ribbit to announce an anycast service address
//! while a local check passes, and withdraws it when the check fails: the
//! job of `ribbit healthcheck`, in a few lines of Rust.
//! `cargo run --example anycast -- 'curl -fs http://127.0.0.1/'`

use std::time::Duration;

use ribbit::route::Route;
use ribbit::{Neighbor, Speaker};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let check = std::env::args().nth(1).unwrap_or_else(|| "true".into());
    let speaker = Speaker::builder()
        .asn(65000)
        .router_id("192.0.2.1".parse()?)
        .listen(["127.0.0.1:1179".parse()?])
        .build()?;
    speaker.add_neighbor(Neighbor::new("127.0.0.2".parse()?, 65001).passive(true))?;
    let service = || Route::new("192.0.2.53/32".parse().expect("a prefix")).next_hop_self();
    let mut up = false;
    loop {
        let ok = tokio::process::Command::new("sh")
            .args(["-c", &check])
            .status()
            .await
            .is_ok_and(|s| s.success());
        if ok != up {
            if ok {
                speaker.announce_route(service())?;
            } else {
                speaker.withdraw_route(service())?;
            }
            println!(
                "service {}",
                if ok {
                    "up: announced"
                } else {
                    "down: withdrawn"
                }
            );
            up = ok;
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    speaker.stop(None).await;
    Ok(())
}
