//! Inside a test process that a judge started: the token, and the markers that tell
//! the judge what happened.
//!
//! The judge (the harness's own [`isolated`](crate::isolated) under `cargo test`, or
//! the grader) passes a one-time token in [`protocol::TOKEN_ENV`]. It is taken out of
//! the environment, and hidden, before lab code runs ([`take_token`]); every marker
//! this process prints carries it, the pass marker only after the body returned.
//! Outside a judged process (no token) nothing here prints a marker.

use std::io::Write;
use std::sync::OnceLock;

use munmap_lab_protocol::{self as protocol, Kind};

/// The token of this test process, once taken from the environment.
static TOKEN: OnceLock<String> = OnceLock::new();

/// In a test process started by a judge: takes the token (and the witness window and seed) out
/// of the environment, and remembers the `INSTA_*` settings, before any lab code runs.
pub(crate) fn take_token() -> Option<&'static String> {
    if let Some(token) = TOKEN.get() {
        return Some(token);
    }
    let token = super::secret_env::take(protocol::TOKEN_ENV)?;
    super::insta_env::remember();
    super::witness::take_from_env();
    super::draw::take_from_env();
    Some(TOKEN.get_or_init(|| token))
}

/// Writes a marker straight to file descriptor 1, past libtest's output capture.
pub(crate) fn emit(kind: Kind, token: &str, text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(protocol::marker(kind, token, text).as_bytes());
    let _ = out.flush();
}

/// Ends the current test body as skipped, with the reason shown to the student and
/// the grader. Use it only for limits of the machine, never for wrong lab code.
pub fn skip(reason: impl AsRef<str>) -> ! {
    let token = TOKEN.get().expect("skip() is only meaningful inside isolated(|| ...)");
    super::scratch::remove_live(); // exit() below runs no destructors
    emit(Kind::Skip, token, reason.as_ref());
    std::process::exit(0);
}

/// Shows a measured fact (how long a case took, what limit the machine has) to whoever
/// runs the test, whether it passes or fails. Not part of the snapshot: for a fact that
/// belongs with the picture, use [`Story::fact`](crate::Story::fact).
pub fn note(text: impl AsRef<str>) {
    match TOKEN.get() {
        Some(token) => emit(Kind::Note, token, text.as_ref()),
        None => println!("{}", text.as_ref()),
    }
}

/// Tells the judge that the test now calls lab code, described as `call`, which must do
/// `needs` (see [`expect::call`](crate::expect::call)); [`returned`] ends it.
pub(crate) fn calling(call: &str, needs: &str) {
    if let Some(token) = TOKEN.get() {
        // A tab separates the two parts of the marker; the texts keep none of their own.
        let clean = |text: &str| text.replace('\t', " ");
        emit(Kind::Call, token, &format!("{}\t{}", clean(call), clean(needs)));
    }
}

/// Tells the judge that the lab code named by the last [`calling`] returned.
pub(crate) fn returned() {
    if let Some(token) = TOKEN.get() {
        emit(Kind::Return, token, "");
    }
}
