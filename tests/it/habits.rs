//! The habits of gh and kubectl: help laid out for reading, flags only where they do something,
//! flags over environment, `-v` telling where the settings came from, `-q` never hiding a
//! weakened connection, and each stuck ending saying what to do next.

mod help;
mod next;
mod progress;
mod prompt;
mod settings;
mod shown;
