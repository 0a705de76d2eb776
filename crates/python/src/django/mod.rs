//! Django 5.2's database session backend.

mod auth;
