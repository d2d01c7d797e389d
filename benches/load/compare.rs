//! `--against ngircd`: the same scenarios against `natter serve` and ngIRCd in one run, each
//! scenario against Natter and then against ngIRCd before the next, so that a machine whose
//! speed drifts during the run weighs on both alike; then a table of the figures and their
//! ratios. Running one scenario is `run.rs`'s; starting ngIRCd is `irc.rs`'s.

use crate::run::{Storm, Target, Traffic, run_storm, run_traffic};
use crate::{Args, Mode};

/// The fewest messages a blast or window run sends in all (`--messages` each, raised): at
/// N=10 that is 900,000 copies to others, long enough to be a rate on either server.
const MIN_SENT: usize = 100_000;

/// One line of the table: what, Natter's figure, ngIRCd's, and which way is better.
struct Row {
    what: String,
    natter: f64,
    ngircd: f64,
    unit: &'static str,
    higher_is_better: bool,
    /// Lost deliveries or dropped members on either side, said beside the figure.
    note: String,
}

fn traffic_note(natter: &Traffic, ngircd: &Traffic) -> String {
    let side = |name: &str, t: &Traffic| {
        (t.lost > 0 || t.dropped > 0)
            .then(|| format!("{name}: lost {} dropped {}", t.lost, t.dropped))
    };
    [side("natter", natter), side("ngircd", ngircd)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

fn storm_note(clients: usize, natter: &Storm, ngircd: &Storm) -> String {
    let side = |name: &str, s: &Storm| {
        (s.ready < clients).then(|| format!("{name}: only {}/{clients} ready", s.ready))
    };
    [side("natter", natter), side("ngircd", ngircd)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs every scenario against both servers and prints the table.
pub(crate) fn against_ngircd(args: &Args) {
    let natter = Target::Natter {
        tls: false,
        ws: false,
    };
    let mut rows = Vec::new();
    // The peak resident memory of each server, per member count: the highest of its runs.
    let mut peaks: Vec<(usize, u64, u64)> = Vec::new();
    let mut peak = |clients: usize, n: u64, i: u64| match peaks.iter_mut().find(|p| p.0 == clients)
    {
        Some(p) => {
            p.1 = p.1.max(n);
            p.2 = p.2.max(i);
        }
        None => peaks.push((clients, n, i)),
    };
    let window = args.window.unwrap_or(1024);
    let scenarios = [
        ("rate", Mode::Rate, None),
        ("blast", Mode::Blast, None),
        ("window", Mode::Blast, Some(window)),
    ];
    for (name, mode, window) in scenarios {
        let args = Args {
            mode,
            window,
            ..args.clone()
        };
        for &clients in &args.clients {
            // IRC sends no copy to the sender: a room of one would measure nothing.
            let clients = clients.max(2);
            // A small room's blast of 200 each is over in hundredths of a second, which
            // measures start-up and the 1/100 s CPU tick: at least MIN_SENT messages a run.
            let args = Args {
                messages: args.messages.max(MIN_SENT.div_ceil(clients)),
                ..args.clone()
            };
            println!("-- {name} N={clients}");
            let n = run_traffic(&args, clients, natter);
            let i = run_traffic(&args, clients, Target::Ngircd);
            peak(clients, n.peak_kb, i.peak_kb);
            let note = traffic_note(&n, &i);
            if mode == Mode::Rate {
                let rate = args.rate;
                rows.push(Row {
                    what: format!("rate N={clients} ({rate}/s each): p99"),
                    natter: n.p99_ms,
                    ngircd: i.p99_ms,
                    unit: "ms",
                    higher_is_better: false,
                    note: note.clone(),
                });
                rows.push(Row {
                    what: format!("rate N={clients}: p50"),
                    natter: n.p50_ms,
                    ngircd: i.p50_ms,
                    unit: "ms",
                    higher_is_better: false,
                    note: String::new(),
                });
                rows.push(Row {
                    what: format!("rate N={clients}: server busy (cores)"),
                    natter: n.busy,
                    ngircd: i.busy,
                    unit: "",
                    higher_is_better: false,
                    note: String::new(),
                });
            } else {
                let what = match window {
                    Some(w) => format!("window {w} N={clients}: deliveries/s"),
                    None => format!("blast N={clients}: deliveries/s"),
                };
                rows.push(Row {
                    what,
                    natter: n.to_others_per_s,
                    ngircd: i.to_others_per_s,
                    unit: "",
                    higher_is_better: true,
                    note,
                });
            }
        }
    }
    for &clients in &args.joins {
        println!("-- joins N={clients}");
        let storm = Args {
            mode: Mode::Storm,
            ..args.clone()
        };
        let n = run_storm(&storm, clients, natter);
        let i = run_storm(&storm, clients, Target::Ngircd);
        peak(clients, n.peak_kb, i.peak_kb);
        rows.push(Row {
            what: format!("{clients} joined and ready"),
            natter: n.all_ready_s,
            ngircd: i.all_ready_s,
            unit: "s",
            higher_is_better: false,
            note: storm_note(clients, &n, &i),
        });
    }
    peaks.sort_unstable();
    for (clients, n, i) in peaks {
        rows.push(Row {
            what: format!("server peak RSS at N={clients}"),
            natter: n as f64 / 1024.0,
            ngircd: i as f64 / 1024.0,
            unit: "MB",
            higher_is_better: false,
            note: String::new(),
        });
    }
    print_table(&rows);
}

/// A figure as people read it: 2.52 M, 40.3, 0.49.
fn show(value: f64, unit: &str) -> String {
    let number = match value {
        v if v.is_nan() => "-".to_string(),
        v if v >= 1e6 => format!("{:.2} M", v / 1e6),
        v if v >= 1e4 => format!("{:.0} k", v / 1e3),
        v if v >= 100.0 => format!("{v:.0}"),
        v if v >= 10.0 => format!("{v:.1}"),
        v => format!("{v:.2}"),
    };
    if unit.is_empty() {
        number
    } else {
        format!("{number} {unit}")
    }
}

fn print_table(rows: &[Row]) {
    println!();
    println!("Natter against ngIRCd, one run (ratio = Natter / ngIRCd; deliveries count copies to");
    println!(
        "members other than the sender on both; `better` says which server's figure is better)"
    );
    println!();
    println!("| scenario | Natter | ngIRCd | ratio | better | notes |");
    println!("|---|---|---|---|---|---|");
    for row in rows {
        // Figures too small to divide (0.00 of a core) get no ratio.
        let ratio = if row.ngircd.abs() < 1e-9 {
            f64::NAN
        } else {
            row.natter / row.ngircd
        };
        let natter_ahead = if row.higher_is_better {
            ratio > 1.0
        } else {
            ratio < 1.0
        };
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            row.what,
            show(row.natter, row.unit),
            show(row.ngircd, row.unit),
            // Two figures, however small the ratio (0.0020, not 0.00).
            if ratio < 0.1 {
                format!("{ratio:.2e}")
            } else {
                format!("{ratio:.2}")
            },
            if ratio.is_nan() {
                "-"
            } else if natter_ahead {
                "Natter"
            } else {
                "ngIRCd"
            },
            row.note,
        );
    }
}
