//! The server binary: serves the site (the default), or runs an operator's
//! `user` command against the same configuration (`server::cli`).

fn main() {
    server::cli::main()
}
