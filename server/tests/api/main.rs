//! The JSON API and pages over HTTP, against a server spawned per test on a
//! random port with a fresh database (SQLite file, or a new PostgreSQL
//! database) and a store of its own (in-process, or a Redis key prefix).

mod helpers;

mod captcha;
mod cloud_sms;
mod connections;
mod deletion;
mod delivery;
mod email;
mod fake_ronglian;
mod language;
mod legal;
mod login;
mod logs;
mod lookups;
mod mail;
mod malformed;
mod metrics;
mod multi_instance;
mod oidc;
mod openapi;
mod operators;
mod pages;
mod pow;
mod process;
mod recovery;
mod register;
mod sessions;
mod settings;
mod sms_codes;
mod sms_gateway;
mod unavailable;
