//! Closing a client connection without answering (the `close` fault). tiny_http does not expose
//! the socket behind a request, so on Linux the simulator finds it among its own file
//! descriptors: the TCP socket whose local port is the server's and whose peer is the client.

use std::net::SocketAddr;

/// Shuts down (both directions) the server-side socket of the connection from `peer` to
/// `local_port`. Returns whether it was found. The descriptor stays open; tiny_http closes it
/// when it notices the connection is gone.
#[cfg(target_os = "linux")]
pub fn shut_down_connection(local_port: u16, peer: SocketAddr) -> bool {
    use std::mem::ManuallyDrop;
    use std::net::{Shutdown, TcpStream};
    use std::os::fd::{FromRawFd, RawFd};

    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return false;
    };
    for entry in dir.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<RawFd>().ok())
        else {
            continue;
        };
        let is_socket = std::fs::read_link(entry.path())
            .map(|target| target.to_string_lossy().starts_with("socket:"))
            .unwrap_or(false);
        if !is_socket {
            continue;
        }
        // SAFETY: the descriptor is only borrowed: `ManuallyDrop` keeps it from being closed,
        // and only getsockname, getpeername and shutdown are called on it. Should it have been
        // closed and reused meanwhile, those calls fail or, for a socket, are matched against
        // both addresses before anything is done.
        let stream = ManuallyDrop::new(unsafe { TcpStream::from_raw_fd(fd) });
        let matches = stream.peer_addr().ok() == Some(peer)
            && stream.local_addr().ok().map(|a| a.port()) == Some(local_port);
        if matches {
            return stream.shutdown(Shutdown::Both).is_ok();
        }
    }
    false
}

/// Elsewhere the socket cannot be reached; the caller falls back to a long wait.
#[cfg(not(target_os = "linux"))]
pub fn shut_down_connection(_local_port: u16, _peer: SocketAddr) -> bool {
    false
}
