//! Integration tests: the real binary against local mock servers.

mod action;
mod arcgis;
mod audit;
mod cloudsvc;
mod common;
mod config;
mod crash;
mod echo;
mod faults;
mod hostile;
mod injection;
mod network;
mod once;
mod prism;
mod raw;
mod sandbox;
mod scenario;
mod schema;
mod secrets;
mod sf;
mod signals;
mod terminal;
mod tls;
mod tools;
mod verify;
mod waiting;
