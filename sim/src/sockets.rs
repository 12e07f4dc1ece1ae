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

/// A listener whose connections send each write at once (`TCP_NODELAY`). tiny_http writes a
/// response's head and body separately and does not expose the accepted sockets; with Nagle's
/// algorithm on, the body then waits for the client's delayed ACK of the head, which stalls
/// every other keep-alive request by about 40 ms, far from how Vipps answers. Linux copies the
/// option from the listening socket to the sockets it accepts, so it is set once, here.
pub fn nodelay_listener(listen: &str) -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(listen)?;
    #[cfg(unix)]
    {
        use std::mem::ManuallyDrop;
        use std::net::TcpStream;
        use std::os::fd::{AsRawFd, FromRawFd};
        // The same descriptor seen as a stream only to reach setsockopt; never closed here.
        // SAFETY: the fd is the listener's, open for the whole call; ManuallyDrop keeps this
        // view from closing it.
        let view = ManuallyDrop::new(unsafe { TcpStream::from_raw_fd(listener.as_raw_fd()) });
        view.set_nodelay(true)?;
    }
    Ok(listener)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The listener's `TCP_NODELAY` reaches the sockets it accepts (what the server relies on).
    #[test]
    fn accepted_sockets_send_without_delay() {
        let listener = super::nodelay_listener("127.0.0.1:0").unwrap();
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert!(accepted.nodelay().unwrap());
        let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _c = std::net::TcpStream::connect(plain.local_addr().unwrap()).unwrap();
        assert!(!plain.accept().unwrap().0.nodelay().unwrap(), "without it, Nagle is on");
    }
}
