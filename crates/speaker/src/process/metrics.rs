//! The programs' queues on `/metrics`: what a scrape learns of each
//! `[[process]]` entry, read from the counters the supervisor keeps (no
//! work at scrape time beyond a short lock per program).

use std::sync::Arc;

use super::{ProcessStatus, Shared};
use crate::api::metrics::{Exposition, Kind, MetricsSource};

/// The [`MetricsSource`] of the running programs
/// ([`super::Processes::metrics`]).
pub(crate) struct ProcessMetrics(pub(crate) Arc<Shared>);

impl MetricsSource for ProcessMetrics {
    fn collect(&self, out: &mut Exposition) {
        let all: Vec<ProcessStatus> = self.0.programs.iter().map(|p| p.status()).collect();
        write(&all, out);
    }
}

/// A family: its name, its help, and how a program's value is read.
type Family = (&'static str, &'static str, fn(&ProcessStatus) -> u64);

/// Write the programs' families.
fn write(all: &[ProcessStatus], out: &mut Exposition) {
    if all.is_empty() {
        return;
    }
    let gauges: [Family; 3] = [
        (
            "ribbit_process_up",
            "1 while the program runs, 0 while it waits to be restarted or was stopped",
            |s| u64::from(s.state == "running"),
        ),
        (
            "ribbit_process_queue_lines",
            "Lines (events and replies) waiting in the program's queue",
            |s| s.queued as u64,
        ),
        (
            "ribbit_process_queue_capacity_lines",
            "The size of the program's queue (`queue`)",
            |s| s.queue as u64,
        ),
    ];
    for (name, help, value) in gauges {
        let mut family = out.family(name, Kind::Gauge, help);
        for s in all {
            family.sample(&[("process", &s.name)], value(s));
        }
    }
    let counters: [Family; 9] = [
        (
            "ribbit_process_starts_total",
            "Times the program was started",
            |s| s.counters.starts,
        ),
        (
            "ribbit_process_exits_total",
            "Times the program exited or could not be started",
            |s| s.counters.exits,
        ),
        (
            "ribbit_process_commands_total",
            "Command lines the program wrote",
            |s| s.counters.commands,
        ),
        (
            "ribbit_process_command_errors_total",
            "Commands answered with `error`",
            |s| s.counters.errors,
        ),
        (
            "ribbit_process_lines_total",
            "Lines queued for the program",
            |s| s.counters.lines,
        ),
        (
            "ribbit_process_events_dropped_total",
            "Events dropped because the program's queue was full (on-overflow = \"drop\")",
            |s| s.counters.events_dropped,
        ),
        (
            "ribbit_process_events_missed_total",
            "Events the program missed by falling behind the speaker",
            |s| s.counters.events_missed,
        ),
        (
            "ribbit_process_replies_dropped_total",
            "Replies dropped because the program's queue was full",
            |s| s.counters.replies_dropped,
        ),
        (
            "ribbit_process_gaps_total",
            "Gap events sent to the program, each followed by a re-sync",
            |s| s.counters.gaps,
        ),
    ];
    for (name, help, value) in counters {
        let mut family = out.family(name, Kind::Counter, help);
        for s in all {
            family.sample(&[("process", &s.name)], value(s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::queue::CounterValues;

    #[test]
    fn every_program_is_a_sample_of_each_family() {
        let status = |name: &str, state, queued, dropped| ProcessStatus {
            name: name.to_string(),
            run: "prog".to_string(),
            state,
            pid: None,
            queue: 1000,
            queued,
            on_overflow: "drop",
            restart_in: None,
            counters: CounterValues {
                events_dropped: dropped,
                ..CounterValues::default()
            },
        };
        let mut e = Exposition::new();
        write(
            &[
                status("a", "running", 7, 3),
                status("b", "restarting", 0, 0),
            ],
            &mut e,
        );
        let text = e.finish();
        for line in [
            "ribbit_process_up{process=\"a\"} 1",
            "ribbit_process_up{process=\"b\"} 0",
            "ribbit_process_queue_lines{process=\"a\"} 7",
            "ribbit_process_queue_capacity_lines{process=\"b\"} 1000",
            "ribbit_process_events_dropped_total{process=\"a\"} 3",
            "# TYPE ribbit_process_gaps_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        let mut e = Exposition::new();
        write(&[], &mut e);
        assert_eq!(e.finish(), "");
    }
}
