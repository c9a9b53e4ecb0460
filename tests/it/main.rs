//! Integration tests: the real binary against local mock servers.

mod cloudsvc;
mod common;
mod config;
mod sf;
mod tls;
