//! The `protolab` binary: parse arguments, run, map the outcome to an exit code.

fn main() -> std::process::ExitCode {
    protolab::cli::run()
}
