//! Local input, bounded: the length and characters of the ids, names and URLs that go into
//! requests, the size and type of the files the tool reads, and reads of stdin and FIFOs that
//! give way to `--timeout` and Ctrl-C.

use std::fs::{File, FileType};
use std::io::{self, Read};
use std::path::Path;

use crate::error::Error;

/// The longest id, name, URL or header value taken from the command line, the environment or
/// a profile.
pub const MAX_VALUE: usize = 1024;
/// The longest secret (token, password): a bearer token goes into a header, and Azure AD
/// tokens are a few KiB.
pub const MAX_SECRET: usize = 16 * 1024;
/// The largest config file, and the most read of a secret file or stdin.
pub const MAX_SMALL_FILE: u64 = 1024 * 1024;
/// The largest certificate, key, CA bundle or publish-settings file.
pub const MAX_CERT_FILE: u64 = 4 * 1024 * 1024;

/// `value` for a message: quoted and escaped, cut to its first 40 characters.
pub fn shown(value: &str) -> String {
    const KEEP: usize = 40;
    match value.char_indices().nth(KEEP) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &value[..cut], value.len()),
    }
}

/// `value` itself when it is not over [`MAX_VALUE`], else its first 40 characters and `…`.
pub fn cut(value: String) -> String {
    if value.len() <= MAX_VALUE {
        return value;
    }
    let end = value.char_indices().nth(40).map_or(value.len(), |(i, _)| i);
    format!("{}…", &value[..end])
}

/// Checks a value that goes into a request (an id, a name, a URL, a header value): at most
/// [`MAX_VALUE`] bytes and no control characters. `what` names it in the error ("--service").
pub fn plain_value(value: &str, what: &str) -> Result<(), Error> {
    if value.len() > MAX_VALUE {
        return Err(Error::Usage(format!(
            "{what} {}: longer than {MAX_VALUE} bytes",
            shown(value)
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::Usage(format!(
            "{what} {}: contains a control character",
            shown(value)
        )));
    }
    Ok(())
}

/// Checks a secret before it goes into a header or a form: at most [`MAX_SECRET`] bytes and no
/// control characters. The error never shows the secret.
pub fn plain_secret(value: &str, source: &str) -> Result<(), Error> {
    if value.len() > MAX_SECRET {
        return Err(Error::Usage(format!(
            "{source} is longer than {} KiB",
            MAX_SECRET / 1024
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::Usage(format!(
            "{source} contains a control character"
        )));
    }
    Ok(())
}

fn kind_name(kind: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

#[cfg(unix)]
fn is_fifo(kind: FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    kind.is_fifo()
}

#[cfg(not(unix))]
fn is_fifo(_: FileType) -> bool {
    false
}

fn size(bytes: u64) -> String {
    format!("{} MiB", bytes / (1024 * 1024))
}

/// Reads to the end, refusing more than `cap` bytes.
fn read_capped(reader: impl Read, cap: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(io::Error::other(format!("larger than {}", size(cap))));
    }
    Ok(bytes)
}

/// Reads a file that must be a regular one (config, certificate, key, CA, publish settings), at
/// most `cap` bytes: a device such as `/dev/zero` or a FIFO is refused before it is opened.
pub fn read_regular(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let kind = std::fs::metadata(path)?.file_type();
    if !kind.is_file() {
        return Err(io::Error::other(format!(
            "{}, not a regular file",
            kind_name(kind)
        )));
    }
    let file = File::open(path)?;
    // It may have been replaced since it was looked at.
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    read_capped(file, cap)
}

/// Reads a secret file: a regular file, or a FIFO that a secret agent writes. At most
/// [`MAX_SMALL_FILE`]; the read runs on a thread of its own, so that a FIFO nobody writes gives
/// way to `--timeout` and Ctrl-C, which bound the run around this future.
pub async fn read_secret_file(path: &Path) -> io::Result<Vec<u8>> {
    let kind = std::fs::metadata(path)?.file_type();
    if !kind.is_file() && !is_fifo(kind) {
        return Err(io::Error::other(format!(
            "{}, neither a regular file nor a FIFO",
            kind_name(kind)
        )));
    }
    let path = path.to_owned();
    off_thread(move || {
        // Opening a FIFO waits for its writer.
        let file = File::open(&path)?;
        read_capped(file, MAX_SMALL_FILE)
    })
    .await
}

/// Reads stdin to its end, at most [`MAX_SMALL_FILE`], on a thread of its own (see
/// [`read_secret_file`]): a pipe held open gives way to `--timeout` and Ctrl-C.
pub async fn read_stdin() -> io::Result<Vec<u8>> {
    off_thread(|| read_capped(io::stdin(), MAX_SMALL_FILE)).await
}

/// Runs a blocking read on a plain thread and waits for it without blocking the runtime. A read
/// that never ends is abandoned with the run; the thread does not hold the process open
/// (a blocking task of the runtime would, when the runtime shuts down).
async fn off_thread<T: Send + 'static>(
    read: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("read".into())
        .spawn(move || {
            let _ = done.send(read());
        })?;
    result
        .await
        .map_err(|_| io::Error::other("the reading thread ended without a result"))?
}

/// The controlling terminal, for reading and writing (`/dev/tty`); `None` when the process has
/// none (CI, a service), or off Unix.
pub fn terminal() -> Option<std::fs::File> {
    if cfg!(unix) {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_shown_as_a_short_prefix() {
        let long = "a".repeat(100_000);
        let err = plain_value(&long, "--service").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert_eq!(
            err.to_string(),
            format!(
                "--service \"{}\"… (100000 bytes): longer than 1024 bytes",
                "a".repeat(40)
            )
        );
        assert!(plain_value(&"a".repeat(MAX_VALUE), "x").is_ok());
        assert_eq!(cut("b".repeat(MAX_VALUE)), "b".repeat(MAX_VALUE));
        assert_eq!(
            cut("b".repeat(MAX_VALUE + 1)),
            format!("{}…", "b".repeat(40))
        );
        assert_eq!(shown("é".repeat(41).as_str()).chars().count(), 40 + 2 + 12);
    }

    #[test]
    fn control_characters_are_refused_escaped() {
        for bad in ["a\nb", "a\u{1b}[31mb", "a\u{7f}", "a\u{85}b", "\t"] {
            let err = plain_value(bad, "--to").unwrap_err();
            assert!(err.to_string().contains("control character"), "{err}");
            assert!(!err.to_string().contains('\u{1b}'), "{err}");
        }
        let err = plain_secret("tok\nen", "ROLLBACK_SF_TOKEN").unwrap_err();
        assert_eq!(
            err.to_string(),
            "ROLLBACK_SF_TOKEN contains a control character"
        );
        assert!(plain_secret(&"t".repeat(MAX_SECRET), "x").is_ok());
        assert!(plain_secret(&"t".repeat(MAX_SECRET + 1), "x").is_err());
    }

    #[test]
    fn files_are_capped_and_devices_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 2048]).unwrap();
        assert_eq!(read_regular(&big, 2048).unwrap().len(), 2048);
        let err = read_regular(&big, 2047).unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
        let err = read_regular(Path::new("/dev/zero"), MAX_SMALL_FILE).unwrap_err();
        assert_eq!(err.to_string(), "a character device, not a regular file");
        let err = read_regular(dir.path(), MAX_SMALL_FILE).unwrap_err();
        assert_eq!(err.to_string(), "a directory, not a regular file");
    }

    /// A named pipe in `dir` (`mkfifo`).
    fn make_fifo(dir: &Path) -> std::path::PathBuf {
        let fifo = dir.join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        fifo
    }

    #[tokio::test]
    async fn secret_files_may_be_fifos_but_not_devices() {
        let err = read_secret_file(Path::new("/dev/zero")).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "a character device, neither a regular file nor a FIFO"
        );
        let dir = tempfile::tempdir().unwrap();
        let fifo = make_fifo(dir.path());
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, "from-a-pipe\n").unwrap())
        };
        assert_eq!(read_secret_file(&fifo).await.unwrap(), b"from-a-pipe\n");
        writer.join().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_fifo_nobody_writes_gives_way_to_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = make_fifo(dir.path());
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
        let result = crate::engine::wait::bounded(deadline, read_secret_file(&fifo)).await;
        assert_eq!(result.unwrap_err(), crate::engine::wait::Stop::TimedOut);
    }
}
