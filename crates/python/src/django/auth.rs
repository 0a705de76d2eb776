//! Django's `_auth_user_hash` check.
