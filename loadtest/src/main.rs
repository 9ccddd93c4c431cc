//! `roomshard-loadtest`: N simulated players against a running Roomshard set, on loopback.

use anyhow::{Result, bail};
use clap::Parser;
use roomshard_loadtest::run::{Entry, Plan, run, table};
use roomshard_loadtest::target::ensure_loopback;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "roomshard-loadtest", version, about)]
struct Args {
    /// Matchmaker base URL: players reserve there and connect where it says.
    #[arg(long, env = "MATCHMAKER_URL", conflicts_with = "worker")]
    matchmaker: Option<String>,
    /// Worker base URL(s) to connect to directly (development mode, no reservations).
    #[arg(long, value_delimiter = ',')]
    worker: Vec<String>,
    /// Track to reserve in (matchmaker mode).
    #[arg(long, default_value = "default")]
    track: String,
    /// Rooms to spread players over (direct mode).
    #[arg(long, default_value_t = 1)]
    rooms: u32,
    /// Simulated players (at most 20000).
    #[arg(long, default_value_t = 50)]
    players: u32,
    /// Moves per second per player (at most 60).
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// How long players move, in seconds (at most 600).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Players connecting at once during ramp-up.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// Random-walk step per move, in world units.
    #[arg(long, default_value_t = 5.0)]
    step: f64,
    /// Players whose `view` batches are decoded to time move-to-view; the others only
    /// count the bytes and frames they receive, which keeps a large broadcast from being
    /// limited by the load generator's own CPU. Default: every player.
    #[arg(long)]
    timed_players: Option<u32>,
    /// Print the summary as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// No progress line.
    #[arg(long)]
    quiet: bool,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let entry = match (args.matchmaker, args.worker.is_empty()) {
        (Some(url), true) => {
            ensure_loopback(&url)?;
            Entry::Matchmaker {
                url,
                track: args.track,
            }
        }
        (None, false) => {
            for w in &args.worker {
                ensure_loopback(w)?;
            }
            Entry::Direct {
                workers: args.worker,
                rooms: args.rooms,
            }
        }
        _ => bail!("give either --matchmaker URL or --worker URL[,URL…]"),
    };
    if !args.rate.is_finite() || !args.step.is_finite() {
        bail!("--rate and --step must be finite numbers");
    }
    let plan = Plan {
        entry,
        players: args.players,
        rate_hz: args.rate,
        duration: Duration::from_secs(args.duration),
        connect_concurrency: args.connect_concurrency,
        step: args.step,
        timed_players: args.timed_players.unwrap_or(u32::MAX),
    };
    let summary = run(plan, !args.quiet).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", table(&summary));
    }
    if summary.joined == 0 {
        bail!("no player joined");
    }
    Ok(())
}
