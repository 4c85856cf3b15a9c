//! The load generator on its own, without building the Meridian server:
//! `cargo run --release -p meridian-bench --example s3bench -- --op put --size 1MiB --duration 10s ...`
//! takes the same flags as `meridian bench`.

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "s3bench", about = "S3 load generator (same flags as `meridian bench`)")]
struct Cli {
    #[command(flatten)]
    args: meridian_bench::BenchArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match meridian_bench::run(cli.args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
