//! A tiny program for lab 07's children to exec; see `munmap_lab::support::exec_probe`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(munmap_lab::support::exec_probe::run(&args));
}
