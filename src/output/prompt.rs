//! The confirmation prompt: on the controlling terminal (`/dev/tty`), so that it asks even when
//! stdout and stderr go to a file; the terminal is put back as it was however the prompt ends.

use std::io::Write;
use std::time::Duration;

use super::{Printer, one_line, stderr_line};
use crate::error::Error;
use crate::platforms::Prompt;

impl Printer {
    /// Asks a yes/no question on the controlling terminal (`/dev/tty`, so that it asks even
    /// when stdout and stderr go to a file), after its lines of context (a server string in
    /// them must not hold a newline, see [`one_line`]); anything but yes is no.
    ///
    /// The prompt waits on its own thread, so that a signal or `--timeout` still ends the run
    /// while it waits; the terminal is then put back as it was.
    pub async fn confirm(&self, prompt: &Prompt) -> Result<bool, Error> {
        // The live line would redraw over the question: clear it; the next progress starts anew.
        if let Some(bar) = self.bar.borrow_mut().take() {
            bar.finish_and_clear();
        }
        *self.last.borrow_mut() = None;
        let Some(tty) = Tty::open() else {
            return Err(Error::Usage(
                "cannot ask for confirmation: no terminal (give --yes)".into(),
            ));
        };
        for line in &prompt.context {
            tty.line(&one_line(line));
        }
        let question = one_line(&prompt.question).into_owned();
        let mut terminal = TerminalGuard::save(tty.clone());
        let term = tty.term();
        let answer = tokio::task::spawn_blocking(move || {
            dialoguer::Confirm::new()
                .with_prompt(question)
                .default(false)
                .interact_on(&term)
        })
        .await;
        terminal.answered = true;
        let error = match answer {
            Ok(Ok(yes)) => return Ok(yes),
            Ok(Err(dialoguer::Error::IO(io))) => io,
            Err(join) => std::io::Error::other(join.to_string()),
        };
        terminal.close_prompt();
        if error.kind() == std::io::ErrorKind::Interrupted {
            return Err(Error::Interrupted(crate::error::Problem::new(
                "interrupted at the prompt; nothing was sent",
            )));
        }
        // A terminal that hangs up fails the read and raises SIGHUP at once: give the signal
        // a moment to arrive, so that the run ends saying why.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Err(Error::Usage(format!(
            "cannot ask for confirmation: {error}"
        )))
    }
}

/// Where the prompt asks: the controlling terminal, or stderr where there is no `/dev/tty`
/// (off Unix; there stderr is a terminal whenever the tool asks).
#[derive(Clone)]
struct Tty(Option<std::sync::Arc<std::fs::File>>);

impl Tty {
    fn open() -> Option<Self> {
        match crate::input::terminal() {
            Some(file) => Some(Self(Some(std::sync::Arc::new(file)))),
            None if cfg!(unix) => None,
            None => Some(Self(None)),
        }
    }

    /// One line on the terminal; a failed write is ignored, as on stderr.
    fn line(&self, text: &str) {
        match &self.0 {
            Some(file) => {
                let _ = writeln!(&**file, "{text}");
            }
            None => stderr_line(text),
        }
    }

    #[cfg(unix)]
    fn term(&self) -> dialoguer::console::Term {
        match self
            .0
            .as_deref()
            .and_then(|f| Some((f.try_clone().ok()?, f.try_clone().ok()?)))
        {
            Some((read, write)) => dialoguer::console::Term::read_write_pair(read, write),
            None => dialoguer::console::Term::stderr(),
        }
    }

    #[cfg(not(unix))]
    fn term(&self) -> dialoguer::console::Term {
        dialoguer::console::Term::stderr()
    }
}

/// Puts the terminal back as it was before the prompt when the prompt is abandoned (a signal or
/// the deadline ended the run while it waited in raw mode).
struct TerminalGuard {
    tty: Tty,
    #[cfg(unix)]
    saved: Option<libc::termios>,
    answered: bool,
}

impl TerminalGuard {
    #[cfg(unix)]
    fn save(tty: Tty) -> Self {
        use std::os::fd::AsRawFd;
        let fd = tty.0.as_ref().map_or(libc::STDIN_FILENO, |f| f.as_raw_fd());
        let mut termios = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: tcgetattr fills the struct when it returns 0; it is read only then.
        let saved = (unsafe { libc::tcgetattr(fd, termios.as_mut_ptr()) } == 0)
            .then(|| unsafe { termios.assume_init() });
        Self {
            tty,
            saved,
            answered: false,
        }
    }

    #[cfg(not(unix))]
    fn save(tty: Tty) -> Self {
        Self {
            tty,
            answered: false,
        }
    }

    /// Ends a prompt that did not end itself: it hid the cursor and left its line open.
    fn close_prompt(&self) {
        self.tty.line("\x1b[?25h");
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        #[cfg(unix)]
        if let (Some(saved), Some(file)) = (&self.saved, &self.tty.0) {
            use std::os::fd::AsRawFd;
            // SAFETY: restores attributes read from the same terminal by tcgetattr.
            unsafe { libc::tcsetattr(file.as_raw_fd(), libc::TCSANOW, saved) };
        }
        self.close_prompt();
    }
}
