//! Brigade client library (being written).
