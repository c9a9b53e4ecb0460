//! Integration tests: the real binary against local mock servers.

mod arcgis;
mod cloudsvc;
mod common;
mod config;
mod faults;
mod hostile;
mod network;
mod prism;
mod raw;
mod secrets;
mod sf;
mod terminal;
mod tls;
mod waiting;
