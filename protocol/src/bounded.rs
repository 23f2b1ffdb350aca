//! Runs a process with a time limit and a cap on its output (placeholder; replaced by the poll-based runner).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How a bounded run ended.
pub struct Ended {
    /// None when the time limit ran out and the process group was killed.
    pub status: Option<ExitStatus>,
    pub output: Vec<u8>,
    pub truncated: bool,
    pub elapsed: Duration,
}

/// Runs `cmd` in a process group of its own, stdout and stderr on one pipe, killed at `limit`.
pub fn run(mut cmd: Command, limit: Duration, cap: usize) -> std::io::Result<Ended> {
    let (mut reader, writer) = std::io::pipe()?;
    let writer_err = writer.try_clone()?;
    cmd.stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer_err)
        .process_group(0);
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    drop(cmd);
    let collector = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = reader.read_to_end(&mut out);
        out
    });
    let status = loop {
        match child.try_wait()? {
            Some(status) => break Some(status),
            None if started.elapsed() >= limit => break None,
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    if status.is_none() {
        let _ = child.wait();
    }
    let mut output = collector.join().unwrap_or_default();
    let truncated = output.len() > cap;
    output.truncate(cap);
    Ok(Ended {
        status,
        output,
        truncated,
        elapsed: started.elapsed(),
    })
}
