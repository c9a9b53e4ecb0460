//! The live table of a fleet on a terminal: one row a running target (name, phase, upgrade
//! domains done, elapsed) on stderr, redrawn in place; a finished target's line is written
//! above it.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use crate::config::{OutputFormat, show_duration};
use crate::output::{self, Watch};

/// A running target's row.
struct Row {
    name: String,
    watch: Watch,
    since: Instant,
}

/// The table, and how many lines of it are on the screen.
pub struct Board {
    rows: Vec<Row>,
    drawn: usize,
}

impl Board {
    /// A table when the run's text goes to a person: text output, not `-q`, stderr a terminal.
    pub fn new(format: OutputFormat, quiet: bool) -> Option<Self> {
        (format == OutputFormat::Text && !quiet && std::io::stderr().is_terminal()).then(|| Self {
            rows: Vec::new(),
            drawn: 0,
        })
    }

    /// `name` started; its printer keeps its readings in `watch`.
    pub fn start(&mut self, name: &str, watch: Watch) {
        self.rows.push(Row {
            name: name.to_string(),
            watch,
            since: Instant::now(),
        });
    }

    /// `name` ended: its row goes.
    pub fn finish(&mut self, name: &str) {
        self.rows.retain(|row| row.name != name);
    }

    /// Takes the table off the screen (before a line is written above it).
    pub fn clear(&mut self) {
        if self.drawn > 0 {
            // Up to the table's first line, then erase everything below the cursor.
            write_err(&format!("\x1b[{}A\r\x1b[J", self.drawn));
            self.drawn = 0;
        }
    }

    /// Draws the table anew where it was.
    pub fn draw(&mut self) {
        self.clear();
        if self.rows.is_empty() {
            return;
        }
        let (height, width) = dialoguer::console::Term::stderr().size();
        // A line that wrapped would break the count of lines to go back up: each is cut to
        // the width, and the rows to the height (less the header and the `… more` line).
        let room = usize::from(height).saturating_sub(3).max(1);
        let mut cells = vec![vec![
            "TARGET".to_string(),
            "PHASE".into(),
            "PROGRESS".into(),
            "ELAPSED".into(),
        ]];
        for row in self.rows.iter().take(room) {
            let latest = row.watch.borrow();
            cells.push(vec![
                row.name.clone(),
                latest.phase.map_or("starting", |p| p.as_str()).to_string(),
                latest.domains.as_ref().map_or(String::new(), |d| {
                    format!("UD {}/{}", d.domains_done, d.domains_total)
                }),
                show_duration(row.since.elapsed()),
            ]);
        }
        // Every cell is made one terminal-safe line by the table.
        let mut text = output::table(&cells);
        if self.rows.len() > room {
            text.push_str(&format!("… and {} more running\n", self.rows.len() - room));
        }
        let width = usize::from(width).saturating_sub(1).max(10);
        let mut screen = String::new();
        for line in text.lines() {
            screen.push_str("\x1b[2K");
            screen.push_str(&dialoguer::console::truncate_str(line, width, "…"));
            screen.push('\n');
            self.drawn += 1;
        }
        write_err(&screen);
    }
}

/// Writes to stderr; a closed or full stderr is ignored (it never ends a run).
fn write_err(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}
