//! Sockets: listening, connecting, socket options, and the reader and
//! writer of each connection.

pub mod connect;
pub mod connection;
pub mod sockopt;
