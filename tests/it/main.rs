//! Integration tests: the real binary against local mock servers.

mod arcgis;
mod audit;
mod cloudsvc;
mod common;
mod config;
mod faults;
mod hostile;
mod once;
mod prism;
mod raw;
mod secrets;
mod sf;
mod terminal;
mod tls;
