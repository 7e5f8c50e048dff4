//! What to show now.
